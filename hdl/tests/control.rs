//! The control block (`tbn_hdl::control`: Wishbone slave, register file and
//! start checks composed) in lockstep with its emitted Verilog: scripted
//! accesses (ack timing, reads, byte lanes, unmapped addresses, JOB_ABITS'
//! reserved bits) and random traffic, with a reference of the ack logic.
//! Each part has its own test file (`wishbone.rs`, `regfile.rs`,
//! `startcheck.rs`); the whole control runs against the golden model in
//! `core_e2e.rs`, `misuse.rs` and sim/tests.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::regmap;
use tbn_hdl::control::{Control, IdValues};

fn control() -> Control {
    Control::new(IdValues {
        lanes: 8,
        tile_max: 1024,
        max_in: 256,
        max_rows: 32,
        max_abits: 8,
    })
}

/// Control inputs: rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc, out_rdata, seq_busy, seq_done.
#[allow(clippy::too_many_arguments)]
fn cin(
    rst: bool,
    adr: u32,
    dw: u32,
    we: bool,
    sel: u32,
    stb: bool,
    out: u32,
    busy: bool,
    done: bool,
) -> Vec<u128> {
    vec![
        rst as u128,
        (adr >> 2) as u128,
        dw as u128,
        we as u128,
        sel as u128,
        stb as u128,
        stb as u128,
        out as u128,
        busy as u128,
        done as u128,
    ]
}

/// Wishbone protocol of the register slave: registered ack one cycle after
/// `stb & cyc`, one cycle long; unmapped addresses ack with 0; byte-lane
/// selects on writes; then random traffic, Rust model == Verilog.
#[test]
fn control_bus_protocol_and_lockstep() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 31;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stim = vec![cin(true, 0, 0, false, 0, false, 0, false, false); 2];
    // scripted accesses: (we, addr, data, sel, expected read value)
    let script: Vec<(bool, u32, u32, u32, Option<u32>)> = vec![
        (false, regmap::ID_MAGIC, 0, 0xF, Some(regmap::MAGIC)),
        (true, regmap::SCRATCH, 0x1122_3344, 0xF, None),
        (false, regmap::SCRATCH, 0, 0xF, Some(0x1122_3344)),
        (true, regmap::SCRATCH, 0xAABB_CCDD, 0b0101, None),
        (false, regmap::SCRATCH, 0, 0x0, Some(0x11BB_33DD)),
        (true, regmap::SCRATCH, 0xAABB_CCDD, 0b1010, None),
        (false, regmap::SCRATCH, 0, 0xF, Some(0xAABB_CCDD)),
        (true, regmap::CTRL, regmap::CTRL_IRQ_ENABLE, 0b0001, None),
        (false, regmap::CTRL, 0, 0xF, Some(0)),
        (true, regmap::CTRL, regmap::CTRL_IRQ_ENABLE, 0b0010, None),
        (false, regmap::CTRL, 0, 0xF, Some(regmap::CTRL_IRQ_ENABLE)),
        (true, 0xFC, 0xFFFF_FFFF, 0xF, None),
        (false, 0xFC, 0, 0xF, Some(0)),
        (false, 0x4_0000, 0, 0xF, Some(0)),
        (false, 0x2_0000, 0, 0xF, Some(0)),
        (false, 0x3_0004, 0, 0xF, Some(0)),
        (false, 0x0_8000, 0, 0xF, Some(0)),
        (true, regmap::JOB_ABITS, 0xFFFF_FFFF, 0xF, None),
        (false, regmap::JOB_ABITS, 0, 0xF, Some(0x10F)),
    ];
    let mut access_cycles = Vec::new();
    for &(we, a, d, sel, _) in &script {
        access_cycles.push(stim.len());
        // stb held until the ack (2 cycles for a write, 3 for a read), then
        // one idle cycle
        let held = if we { 2 } else { 3 };
        for _ in 0..held {
            stim.push(cin(false, a, d, we, sel, true, 0xDEAD, false, false));
        }
        stim.push(cin(false, 0, 0, false, 0, false, 0, false, false));
    }
    let scripted = stim.len();
    // random traffic (stb held for random lengths, random sel, addresses near registers/windows)
    let addrs = [
        0x00u32, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40, 0x100, 0x1_0000,
        0x1_0004, 0x1_FFFC, 0x2_0000, 0x3_0000, 0x4_0000, 0x7_FFFC,
    ];
    for _ in 0..1500 {
        let a = addrs[rng.gen_range(0..addrs.len())];
        stim.push(cin(
            rng.gen_ratio(1, 200),
            a,
            rng.gen(),
            rng.gen_bool(0.4),
            rng.gen_range(0..16),
            rng.gen_bool(0.6),
            rng.gen(),
            rng.gen_bool(0.3),
            rng.gen_bool(0.05),
        ));
    }
    let out = run_lockstep(control, &stim, 0);
    // outputs: wb_dat_r, wb_ack, irq, ...
    for (k, &c) in access_cycles.iter().enumerate() {
        // writes: ack one cycle after stb & cyc; reads: two cycles after
        let wait = if script[k].0 { 1 } else { 2 };
        for i in 0..wait {
            assert_eq!(out[c + i][1], 0, "no ack before the wait states ({k})");
        }
        assert_eq!(
            out[c + wait][1],
            1,
            "ack {wait} cycle(s) after stb & cyc ({k})"
        );
        assert_eq!(out[c + wait + 1][1], 0, "ack lasts one cycle ({k})");
        if let Some(v) = script[k].4 {
            assert_eq!(
                out[c + wait][0] as u32,
                v,
                "read of access {k}: {:?}",
                script[k]
            );
        }
    }
    // protocol on random traffic (a reference of the ack logic): an access is
    // a request with no ack pending and no read in flight; a write access is
    // acked in the next cycle, a read access in the one after if the request
    // is still there (an abandoned read is never acked); the ack output is
    // high only with a live request (`stb & cyc`); reset cancels both
    let req_at = |c: usize| stim[c][5] == 1 && stim[c][6] == 1;
    let (mut reading, mut ack_q) = (false, false);
    for c in scripted + 1..stim.len() {
        let p = &stim[c - 1];
        let (rst, we, req) = (p[0] == 1, p[3] == 1, req_at(c - 1));
        let access = req && !ack_q && !reading;
        let ack_next = !rst && ((access && we) || (reading && req));
        reading = !rst && access && !we;
        ack_q = ack_next;
        let want = ack_q && req_at(c);
        assert_eq!(out[c][1] == 1, want, "ack at cycle {c}");
    }
}
