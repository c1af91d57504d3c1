//! Misuse scenarios against the accelerator RTL: every one checks the documented
//! reaction (docs/register-map.md) and then that a valid job still runs
//! bit-exactly without any hardware reset.

use tbn_driver::regmap::{self as rm, ErrorCode};

use crate::accel::{Accelerator, LayerJob, RegisterBus};
use crate::error::{Result, SimError};
use crate::regress::{random_layer, RandomLayer};

fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(SimError::Accelerator(format!(
            "misuse check failed: {}",
            what()
        )))
    }
}

fn code_of(status: u32) -> Option<ErrorCode> {
    ErrorCode::from_status(status)
}

/// A valid layer that keeps the core busy for a while (`m` several chunks, many rows).
fn long_layer(acc: &Accelerator, seed: u64) -> Result<RandomLayer> {
    let hw = acc.info();
    // Try seeds of the "Random" case until the job is long enough.
    let mut s = seed;
    loop {
        let l = random_layer(s * 10, &hw, None)?;
        let job = l.job();
        if job.ideal_cycles(hw.lanes) >= 200 {
            return Ok(l);
        }
        s += 1;
    }
}

/// Runs a fresh valid layer and compares it with the golden model.
pub fn check_recovery(acc: &mut Accelerator, seed: u64) -> Result<()> {
    let l = random_layer(seed * 10 + 3, &acc.info(), None)?;
    let res = acc.run_layer(&l.job(), &l.x)?;
    expect(res.acc == l.stage.accumulators(&l.x), || {
        format!(
            "valid job after misuse differs from golden ({})",
            l.describe()
        )
    })
}

/// START while busy is refused with START_WHILE_BUSY; the running job completes correctly.
pub fn start_while_busy(acc: &mut Accelerator) -> Result<()> {
    let l = long_layer(acc, 11)?;
    let job = l.job();
    acc.load_layer(&job)?;
    acc.load_activations(&l.x, job.abits, job.signed)?;
    acc.start()?;
    let st = acc.status()?;
    expect(st & rm::STATUS_BUSY != 0, || {
        format!("not busy after START (STATUS {st:#x})")
    })?;
    acc.write32(rm::CTRL, rm::CTRL_START | rm::CTRL_IRQ_ENABLE)?;
    let st = acc.status()?;
    expect(
        st & rm::STATUS_ERROR != 0 && code_of(st) == Some(ErrorCode::StartWhileBusy),
        || format!("second START not flagged as START_WHILE_BUSY (STATUS {st:#x})"),
    )?;
    expect(st & rm::STATUS_BUSY != 0, || {
        "the running job stopped".into()
    })?;
    let bound = rm::job_cycle_bound(
        job.distinct_rows(),
        job.m,
        acc.info().lanes,
        job.abits as u32,
    );
    // The error raised irq already: wait for BUSY to drop by polling.
    let mut polls = 0;
    while acc.status()? & rm::STATUS_BUSY != 0 {
        acc.dut().tick_n(32)?;
        polls += 1;
        expect(polls * 32 < 4 * bound as u64 + 2000, || {
            "job never finished".into()
        })?;
    }
    let st = acc.status()?;
    expect(st & rm::STATUS_DONE != 0, || {
        format!("job did not complete (STATUS {st:#x})")
    })?;
    let got = acc.read_accumulators(job.distinct_rows())?;
    expect(got == l.stage.accumulators(&l.x), || {
        format!("job disturbed by the refused START ({})", l.describe())
    })?;
    acc.write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)?;
    let st = acc.status()?;
    expect(
        st & (rm::STATUS_DONE | rm::STATUS_ERROR) == 0 && code_of(st) == Some(ErrorCode::None),
        || format!("W1C did not clear DONE/ERROR (STATUS {st:#x})"),
    )?;
    check_recovery(acc, 1)
}

/// Job parameters beyond capacity or invalid: the job does not start, the first
/// failing check (in the documented order) is reported.
pub fn capacity_errors(acc: &mut Accelerator) -> Result<()> {
    let hw = acc.info();
    // The invalid jobs shared with the Icarus misuse test (hdl/tests/misuse.rs).
    let cases = tbn_hdl::testbench::bad_jobs(hw.max_in, hw.tile_max, hw.max_rows);
    for (i, c) in cases.into_iter().enumerate() {
        let (a, m, q, d, signed, want) = (c.abits, c.m, c.q, c.rows, c.signed, c.code);
        acc.write32(rm::JOB_M, m)?;
        acc.write32(rm::JOB_Q, q)?;
        acc.write32(rm::JOB_ROWS, d)?;
        acc.write32(rm::JOB_ABITS, rm::job_abits(a, signed))?;
        let jobs_before = acc.read32(rm::JOB_COUNT)?;
        acc.start()?;
        acc.dut().tick_n(8)?;
        let st = acc.status()?;
        expect(
            st & rm::STATUS_BUSY == 0 && st & rm::STATUS_DONE == 0,
            || format!("case {i}: invalid job started (STATUS {st:#x})"),
        )?;
        expect(
            st & rm::STATUS_ERROR != 0 && code_of(st) == Some(want),
            || {
                format!(
                    "case {i} (A={a} m={m} q={q} D={d}): expected {want:?}, STATUS {st:#x} = {:?}",
                    code_of(st)
                )
            },
        )?;
        expect(acc.read32(rm::JOB_COUNT)? == jobs_before, || {
            format!("case {i}: JOB_COUNT moved")
        })?;
        let irq = acc.dut().get_by_name("irq")?;
        expect(irq == 1, || {
            format!("case {i}: irq low with ERROR and IRQ_ENABLE")
        })?;
        acc.write32(rm::STATUS, rm::STATUS_ERROR)?;
        let st = acc.status()?;
        expect(
            st & rm::STATUS_ERROR == 0 && code_of(st) == Some(ErrorCode::None),
            || format!("case {i}: ERROR not cleared (STATUS {st:#x})"),
        )?;
        expect(acc.dut().get_by_name("irq")? == 0, || {
            format!("case {i}: irq stuck high")
        })?;
    }
    check_recovery(acc, 2)
}

/// Unmapped addresses are acknowledged, read 0, and writes to them (and to
/// read-only registers) change nothing.
pub fn unmapped_addresses(acc: &mut Accelerator) -> Result<()> {
    let hw = acc.info();
    for a in tbn_hdl::testbench::UNMAPPED_PROBES {
        acc.write32(a, 0xDEAD_BEEF)?;
        let v = acc.read32(a)?;
        expect(v == 0, || format!("unmapped {a:#x} reads {v:#x}"))?;
    }
    for (reg, want) in [
        (rm::ID_MAGIC, rm::MAGIC),
        (rm::ID_VERSION, rm::VERSION),
        (rm::CFG_LANES, hw.lanes),
        (rm::CFG_TILE_MAX, hw.tile_max),
        (rm::CFG_MAX_IN, hw.max_in),
        (rm::CFG_MAX_ROWS, hw.max_rows),
        (rm::CFG_MAX_ABITS, hw.max_abits),
    ] {
        acc.write32(reg, !want)?;
        let v = acc.read32(reg)?;
        expect(v == want, || {
            format!("read-only register {reg:#x} changed to {v:#x}")
        })?;
    }
    for v in [0u32, 0xFFFF_FFFF, 0x1234_5678] {
        acc.write32(rm::SCRATCH, v)?;
        let r = acc.read32(rm::SCRATCH)?;
        expect(r == v, || {
            format!("SCRATCH reads {r:#x} after writing {v:#x}")
        })?;
    }
    let c = acc.read32(rm::CTRL)?;
    expect(c & (rm::CTRL_START | rm::CTRL_SOFT_RESET) == 0, || {
        format!("CTRL reads {c:#x}: START/SOFT_RESET must read 0")
    })?;
    let st = acc.status()?;
    expect(st & rm::STATUS_ERROR == 0, || {
        format!("unmapped accesses set ERROR (STATUS {st:#x})")
    })?;
    check_recovery(acc, 3)
}

/// SOFT_RESET during a job aborts it within the documented bound and clears status.
pub fn soft_reset_mid_layer(acc: &mut Accelerator) -> Result<()> {
    let l = long_layer(acc, 21)?;
    let job = l.job();
    acc.load_layer(&job)?;
    acc.load_activations(&l.x, job.abits, job.signed)?;
    acc.start()?;
    let lanes = acc.info().lanes;
    acc.dut().tick_n(job.ideal_cycles(lanes) / 2)?;
    let st = acc.status()?;
    expect(st & rm::STATUS_BUSY != 0, || {
        format!("job not running mid-way (STATUS {st:#x})")
    })?;
    acc.write32(rm::CTRL, rm::CTRL_SOFT_RESET | rm::CTRL_IRQ_ENABLE)?;
    acc.dut().tick_n(rm::SOFT_RESET_MAX_CYCLES as u64)?;
    let st = acc.status()?;
    expect(
        st & (rm::STATUS_BUSY | rm::STATUS_DONE | rm::STATUS_ERROR) == 0,
        || format!("soft reset left STATUS {st:#x}"),
    )?;
    expect(acc.read32(rm::JOB_COUNT)? == 0, || {
        "soft reset did not clear JOB_COUNT".into()
    })?;
    acc.dut().tick_n(100)?;
    let st = acc.status()?;
    expect(st & (rm::STATUS_BUSY | rm::STATUS_DONE) == 0, || {
        format!("aborted job resumed (STATUS {st:#x})")
    })?;
    // The same job restarts from scratch (tile and activations are kept) ...
    let res = acc.run(&job)?;
    expect(res.acc == l.stage.accumulators(&l.x), || {
        format!("job after soft reset differs ({})", l.describe())
    })?;
    // ... and soft reset while idle is harmless.
    acc.write32(rm::CTRL, rm::CTRL_SOFT_RESET)?;
    check_recovery(acc, 4)
}

/// TILE/ACT writes while busy are ignored and flagged MEMORY_BUSY; TILE reads return 0.
pub fn memory_write_while_busy(acc: &mut Accelerator) -> Result<()> {
    let l = long_layer(acc, 31)?;
    let job = l.job();
    acc.load_layer(&job)?;
    acc.load_activations(&l.x, job.abits, job.signed)?;
    acc.start()?;
    acc.write32(rm::TILE_BASE, 0xA5A5_A5A5)?;
    acc.write32(rm::act_word_offset(0, 0), 0x5A5A_5A5A)?;
    let st = acc.status()?;
    expect(
        code_of(st) == Some(ErrorCode::MemoryBusy) && st & rm::STATUS_ERROR != 0,
        || format!("write while busy not flagged (STATUS {st:#x})"),
    )?;
    let t = acc.read32(rm::TILE_BASE)?;
    expect(t == 0, || {
        format!("TILE read while busy gives {t:#x}, expected 0")
    })?;
    let mut polls = 0;
    while acc.status()? & rm::STATUS_BUSY != 0 {
        acc.dut().tick_n(32)?;
        polls += 1;
        expect(polls < 100_000, || "job never finished".into())?;
    }
    let got = acc.read_accumulators(job.distinct_rows())?;
    expect(got == l.stage.accumulators(&l.x), || {
        format!("ignored writes changed the job ({})", l.describe())
    })?;
    // The ignored writes did not reach the memories: the same job, run again
    // without reloading anything, still gives the golden result.
    acc.write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)?;
    let again = acc.run(&job)?;
    expect(again.acc == l.stage.accumulators(&l.x), || {
        format!(
            "tile or activations changed by writes while busy ({})",
            l.describe()
        )
    })?;
    acc.write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)?;
    check_recovery(acc, 5)
}

/// The interrupt follows IRQ_ENABLE & (DONE | ERROR).
pub fn interrupt(acc: &mut Accelerator) -> Result<()> {
    let l = random_layer(7 * 10, &acc.info(), None)?;
    let job: LayerJob = l.job();
    acc.load_layer(&job)?;
    acc.load_activations(&l.x, job.abits, job.signed)?;
    // Without IRQ_ENABLE the line stays low.
    acc.write32(rm::CTRL, rm::CTRL_START)?;
    let bound = rm::job_cycle_bound(
        job.distinct_rows(),
        job.m,
        acc.info().lanes,
        job.abits as u32,
    );
    acc.dut().tick_n(bound as u64 + 16)?;
    let st = acc.status()?;
    expect(st & rm::STATUS_DONE != 0, || {
        format!("job not done within its bound {bound} (STATUS {st:#x})")
    })?;
    expect(acc.dut().get_by_name("irq")? == 0, || {
        "irq high with IRQ_ENABLE clear".into()
    })?;
    acc.write32(rm::CTRL, rm::CTRL_IRQ_ENABLE)?;
    expect(acc.dut().get_by_name("irq")? == 1, || {
        "irq low with DONE and IRQ_ENABLE".into()
    })?;
    let cyc = acc.cycles()?;
    expect(cyc <= bound, || {
        format!("CYCLES {cyc} above the documented bound {bound}")
    })?;
    let jc = acc.read32(rm::JOB_COUNT)?;
    expect(jc >= 1, || "JOB_COUNT did not count".into())?;
    acc.write32(rm::STATUS, rm::STATUS_DONE)?;
    expect(acc.dut().get_by_name("irq")? == 0, || {
        "irq high after clearing DONE".into()
    })?;
    check_recovery(acc, 6)
}

/// Job registers read back what was written; Wishbone byte selects write only the
/// selected bytes (SCRATCH, and the tile memory, checked through a job's result).
pub fn registers_and_byte_selects(acc: &mut Accelerator) -> Result<()> {
    for (reg, v) in [
        (rm::JOB_M, 100u32),
        (rm::JOB_Q, 300),
        (rm::JOB_ROWS, 3),
        (rm::JOB_ABITS, rm::job_abits(5, true)),
    ] {
        acc.write32(reg, v)?;
        let r = acc.read32(reg)?;
        expect(r == v, || {
            format!("register {reg:#x} reads {r:#x} after writing {v:#x}")
        })?;
    }
    let crate::accel::Link::Wishbone(mut wb) = acc.link().clone() else {
        return check_recovery(acc, 7);
    };
    acc.write32(rm::SCRATCH, 0x1122_3344)?;
    wb.write_sel(acc.dut(), rm::SCRATCH >> 2, 0xAABB_CCDD, 0b0101)?;
    let r = acc.read32(rm::SCRATCH)?;
    expect(r == 0x11BB_33DD, || {
        format!("SCRATCH with byte selects 0101 reads {r:#x}, expected 0x11bb33dd")
    })?;
    // Load a layer, then rewrite tile word 0 byte by byte (other bytes garbage first).
    let l = random_layer(8 * 10, &acc.info(), None)?;
    let job = l.job();
    acc.load_layer(&job)?;
    let w0 = rm::extended_tile_word(&job.tile, job.q, acc.info().lanes, 0);
    acc.write32(rm::TILE_BASE, !w0)?;
    for b in 0..4u32 {
        wb.write_sel(acc.dut(), rm::TILE_BASE >> 2, w0, 1 << b)?;
    }
    acc.load_activations(&l.x, job.abits, job.signed)?;
    let res = acc.run(&job)?;
    expect(res.acc == l.stage.accumulators(&l.x), || {
        format!(
            "tile word written by byte selects is wrong ({})",
            l.describe()
        )
    })?;
    check_recovery(acc, 7)
}

/// All scenarios in sequence on one instance (no reset in between).
pub fn run_all(acc: &mut Accelerator) -> Result<Vec<&'static str>> {
    type Check = fn(&mut Accelerator) -> Result<()>;
    let all: [(&'static str, Check); 7] = [
        ("registers_and_byte_selects", registers_and_byte_selects),
        ("start_while_busy", start_while_busy),
        ("capacity_errors", capacity_errors),
        ("unmapped_addresses", unmapped_addresses),
        ("soft_reset_mid_layer", soft_reset_mid_layer),
        ("memory_write_while_busy", memory_write_while_busy),
        ("interrupt", interrupt),
    ];
    let mut done = Vec::new();
    for (name, f) in all {
        f(acc).map_err(|e| SimError::Accelerator(format!("{name}: {e}")))?;
        done.push(name);
    }
    Ok(done)
}
