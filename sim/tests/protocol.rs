//! Bus protocol regressions of the core (issue 17, RTL bugs (a)-(c) and the
//! documented CTRL behaviour), on the Verilated core with the bus driven
//! cycle by cycle where the harness's master would hide the problem.

use tbn_driver::regmap as rm;
use tbn_sim::{hw, Accelerator, BuildOptions, Dut, RegisterBus};

fn open(lanes: usize) -> Accelerator {
    hw::open_core(&hw::config_for_lanes(lanes), &BuildOptions::default())
        .unwrap_or_else(|e| panic!("core L = {lanes}: {e}"))
}

/// A small job (tile and activations of a fixed pattern) ready to START.
fn load_job(acc: &mut Accelerator, m: u32, q: u32, d: u32) {
    let tile: Vec<u32> = (0..q.div_ceil(32))
        .map(|i| 0x9E37_79B9u32.wrapping_mul(i + 1))
        .collect();
    acc.load_tile(&tile, q).unwrap();
    let x: Vec<i32> = (0..m as i32).map(|k| (k * 7 + 3) % 16).collect();
    acc.load_activations(&x, 4, false).unwrap();
    acc.configure(m, q, d, 4, false).unwrap();
}

/// (a) Polling STATUS back to back from START, at every phase of the poll
/// against the end of the job: the first read with BUSY = 0 has DONE = 1.
#[test]
fn status_never_reads_neither_busy_nor_done() {
    let mut acc = open(32);
    for (m, q, d) in [(32, 64, 2), (40, 80, 2), (100, 200, 3), (17, 64, 5)] {
        load_job(&mut acc, m, q, d);
        for phase in 0..6 {
            acc.write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)
                .unwrap();
            acc.start().unwrap();
            acc.dut().tick_n(phase).unwrap();
            let mut polls = 0;
            let status = loop {
                let s = acc.status().unwrap();
                polls += 1;
                assert!(polls < 10_000, "job (m {m}, q {q}, D {d}) never ended");
                if s & rm::STATUS_BUSY == 0 {
                    break s;
                }
            };
            assert_eq!(
                status & (rm::STATUS_DONE | rm::STATUS_ERROR),
                rm::STATUS_DONE,
                "m {m} q {q} D {d} phase {phase}: first STATUS without BUSY is {status:#x} after {polls} polls"
            );
        }
    }
}

struct Bus {
    cyc: tbn_sim::Port,
    stb: tbn_sim::Port,
    we: tbn_sim::Port,
    adr: tbn_sim::Port,
    dat_w: tbn_sim::Port,
    dat_r: tbn_sim::Port,
    sel: tbn_sim::Port,
    ack: tbn_sim::Port,
}

impl Bus {
    fn new(dut: &Dut) -> Bus {
        Bus {
            cyc: dut.input("wb_cyc").unwrap(),
            stb: dut.input("wb_stb").unwrap(),
            we: dut.input("wb_we").unwrap(),
            adr: dut.input("wb_adr").unwrap(),
            dat_w: dut.input("wb_dat_w").unwrap(),
            dat_r: dut.port("wb_dat_r").unwrap(),
            sel: dut.input("wb_sel").unwrap(),
            ack: dut.port("wb_ack").unwrap(),
        }
    }

    /// Drive one cycle of the bus (`None`: idle) and return `(ack, dat_r)`
    /// sampled before the rising edge.
    fn cycle(&self, dut: &mut Dut, req: Option<(bool, u32, u32)>, cyc_only: bool) -> (bool, u32) {
        match req {
            Some((we, addr, data)) => {
                dut.set(self.cyc, 1);
                dut.set(self.stb, 1);
                dut.set(self.we, we as u64);
                dut.set(self.adr, (addr >> 2) as u64);
                dut.set(self.dat_w, data as u64);
                dut.set(self.sel, 0xf);
            }
            None => {
                dut.set(self.cyc, cyc_only as u64);
                dut.set(self.stb, 0);
                dut.set(self.we, 0);
            }
        }
        dut.eval();
        let r = (dut.get(self.ack) != 0, dut.get(self.dat_r) as u32);
        dut.tick().unwrap();
        r
    }

    /// A complete classic cycle; returns the read data.
    fn transfer(&self, dut: &mut Dut, we: bool, addr: u32, data: u32) -> u32 {
        for _ in 0..16 {
            let (ack, d) = self.cycle(dut, Some((we, addr, data)), false);
            if ack {
                self.cycle(dut, None, false);
                return d;
            }
        }
        panic!(
            "no ack for {} at {addr:#x}",
            if we { "write" } else { "read" }
        );
    }
}

/// (c) A master abandons a read (drops STB, with or without CYC) after 0, 1
/// or 2 cycles and starts a write at once or after a gap: the write gets its
/// own ack and lands; no ack is ever seen outside a live request.
#[test]
fn abandoned_cycle_leaves_no_stale_ack() {
    let mut acc = open(8);
    let bus = Bus::new(acc.dut());
    let dut = acc.dut();
    let mut value = 0x1234_0000u32;
    for held in 1..=3 {
        for gap in 1..=2 {
            for keep_cyc in [false, true] {
                value += 1;
                // the abandoned read (SCRATCH), held for `held` cycles: not
                // long enough for its ack (two wait states)
                for _ in 0..held.min(2) {
                    let (ack, _) = bus.cycle(dut, Some((false, rm::SCRATCH, 0)), false);
                    assert!(!ack, "read acked before its wait states");
                }
                for _ in 0..gap {
                    let (ack, _) = bus.cycle(dut, None, keep_cyc);
                    assert!(!ack, "ack while STB is low (held {held}, gap {gap})");
                }
                bus.transfer(dut, true, rm::SCRATCH, value);
                let got = bus.transfer(dut, false, rm::SCRATCH, 0);
                assert_eq!(
                    got, value,
                    "write after an abandoned read (held {held}, gap {gap}, cyc kept {keep_cyc}) was lost"
                );
            }
        }
    }
    // an abandoned write may land, but must not ack the next access early
    bus.cycle(dut, Some((true, rm::SCRATCH, 0xAAAA_5555)), false);
    let (ack, _) = bus.cycle(dut, None, false);
    assert!(!ack, "ack after STB dropped");
    assert_eq!(bus.transfer(dut, false, rm::SCRATCH, 0), 0xAAAA_5555);
}

/// (b) TILE words at or past the end of the image memory (TILE_MAX + L
/// bits) are ignored: a job computes the same before and after writing junk
/// at every address that the old, partial decode folded onto the tile.
#[test]
fn tile_writes_past_the_image_do_not_alias() {
    for lanes in [8, 128] {
        let mut acc = open(lanes);
        let info = acc.info();
        let (m, q, d) = (48, 96, 4);
        load_job(&mut acc, m, q, d);
        acc.start().unwrap();
        acc.wait(100_000).unwrap();
        let before = acc.read_accumulators(d).unwrap();
        // the image memory in 32-bit words, rounded up to whole W-bit words
        let w = info.lanes.max(32);
        let words32 = (info.tile_max + info.lanes).div_ceil(w) * (w / 32);
        let window_words = rm::TILE_SIZE / 4;
        let mut junk: Vec<u32> = (0..4).map(|k| words32 + k).collect();
        let mut p = words32.next_power_of_two();
        while p < window_words {
            junk.extend([p, p + 1, p + 2]);
            p *= 2;
        }
        junk.push(window_words - 1);
        for &wi in &junk {
            acc.write32(rm::TILE_BASE + 4 * wi, 0xFFFF_FFFF ^ wi)
                .unwrap();
        }
        acc.write32(rm::STATUS, rm::STATUS_DONE).unwrap();
        acc.start().unwrap();
        acc.wait(100_000).unwrap();
        let after = acc.read_accumulators(d).unwrap();
        assert_eq!(
            before, after,
            "L = {lanes}: TILE writes past {words32} words changed the tile"
        );
    }
}

/// The documented CTRL behaviour: a whole-word START write clears
/// IRQ_ENABLE; SOFT_RESET and START in one write do not start a job.
#[test]
fn ctrl_whole_word_semantics() {
    let mut acc = open(8);
    load_job(&mut acc, 16, 32, 2);
    acc.write32(rm::CTRL, rm::CTRL_IRQ_ENABLE).unwrap();
    assert_eq!(acc.read32(rm::CTRL).unwrap(), rm::CTRL_IRQ_ENABLE);
    acc.write32(rm::CTRL, rm::CTRL_START).unwrap();
    assert_eq!(
        acc.read32(rm::CTRL).unwrap() & rm::CTRL_IRQ_ENABLE,
        0,
        "START alone clears IRQ_ENABLE (documented)"
    );
    acc.wait(100_000).unwrap();
    let jobs = acc.read32(rm::JOB_COUNT).unwrap();
    assert_eq!(jobs, 1);
    acc.write32(rm::CTRL, rm::CTRL_SOFT_RESET | rm::CTRL_START)
        .unwrap();
    acc.dut().tick_n(50).unwrap();
    let status = acc.status().unwrap();
    assert_eq!(status, 0, "soft reset wins, START ignored: {status:#x}");
    assert_eq!(acc.read32(rm::JOB_COUNT).unwrap(), 0, "cleared, no new job");
}

/// Issue 17: the Rust API refuses misaligned and out-of-map offsets with a
/// typed error (the driver's own range check) instead of letting the core's
/// partial address decode alias them onto a register such as SCRATCH.
#[test]
fn misaligned_and_out_of_map_offsets_are_refused() {
    use tbn_driver::bus::BusError;
    use tbn_sim::SimError;
    let mut acc = open(32);
    acc.write32(rm::SCRATCH, 0x1234_5678).unwrap();
    for off in [rm::SCRATCH + 2, rm::SPAN_BYTES + rm::SCRATCH, u32::MAX - 3] {
        let e = acc.write32(off, 0xDEAD_BEEF).unwrap_err();
        assert!(matches!(e, SimError::Offset(_)), "write {off:#x}: {e}");
        let e = acc.read32(off).unwrap_err();
        assert!(matches!(e, SimError::Offset(_)), "read {off:#x}: {e}");
    }
    let e = acc.write_words(rm::SPAN_BYTES - 4, &[1, 2]).unwrap_err();
    assert!(
        matches!(e, SimError::Offset(BusError::OutOfRange { words: 2, .. })),
        "{e}"
    );
    let e = acc.read_words(rm::SPAN_BYTES - 4, 2).unwrap_err();
    assert!(
        matches!(e, SimError::Offset(BusError::OutOfRange { .. })),
        "{e}"
    );
    assert_eq!(
        acc.read32(rm::SCRATCH).unwrap(),
        0x1234_5678,
        "nothing aliased"
    );
}
