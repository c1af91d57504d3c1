//! The register file (`tbn_hdl::regfile`) in lockstep with its emitted
//! Verilog, every cycle against a reference written from the register map
//! (docs/register-map.md): byte-lane writes, read-only ID/CFG words,
//! JOB_ABITS' reserved bits, STATUS W1C, CTRL (IRQ_ENABLE, START,
//! SOFT_RESET wins over START), the first error code kept, memory writes
//! refused while busy (error 6), the counters, the interrupt, the reset.
//! Timing as the slave delivers requests: the index and CTRL bits decoded
//! in the access cycle, the write acting in the next.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::regmap;
use tbn_hdl::control::IdValues;
use tbn_hdl::regfile::RegFile;

const ID: IdValues = IdValues {
    lanes: 8,
    tile_max: 1024,
    max_in: 256,
    max_rows: 32,
    max_abits: 8,
};

/// One cycle of inputs (the block's input ports, in order).
#[derive(Clone, Copy, Debug, Default)]
struct In {
    rst: bool,
    reg_write_access: bool,
    reg_index: u32,
    bus_data: u32,
    bus_sel: u32,
    write_regs: bool,
    write_tile: bool,
    write_act: bool,
    write_data: u32,
    write_sel: u32,
    read_index: u32,
    check_fail: bool,
    check_code: u32,
    seq_busy: bool,
    seq_done: bool,
}

impl In {
    fn vec(&self) -> Vec<u128> {
        [
            self.rst as u32,
            self.reg_write_access as u32,
            self.reg_index,
            self.bus_data & 3,
            self.bus_sel & 1,
            self.write_regs as u32,
            self.write_tile as u32,
            self.write_act as u32,
            self.write_data,
            self.write_sel,
            self.read_index,
            self.check_fail as u32,
            self.check_code,
            self.seq_busy as u32,
            self.seq_done as u32,
        ]
        .iter()
        .map(|&v| v as u128)
        .collect()
    }
}

/// The reference register file.
#[derive(Default)]
struct RegRef {
    scratch: u32,
    irq_enable: bool,
    done: bool,
    error: bool,
    code: u32,
    cycles: u32,
    job_count: u32,
    job: [u32; 4],
    /// The index decoded in the access cycle (for the write that follows).
    write_index: u32,
    /// START / abort decided in the access cycle, acting in the next.
    start_req: bool,
    abort: bool,
    /// An accepted START, handed to the sequencer in the next cycle.
    start_q: bool,
    /// BUSY of the previous cycle (gates the memory writes).
    busy_q: bool,
    rdata: u32,
}

fn index(off: u32) -> u32 {
    off >> 2
}

impl RegRef {
    /// rdata, irq, tile_we, act_we, seq_start, seq_abort, job_m, job_q, job_rows, A, SIGNED.
    fn outputs(&self, i: &In) -> Vec<u128> {
        [
            self.rdata,
            (self.irq_enable && (self.done || self.error)) as u32,
            (i.write_tile && !self.busy_q) as u32,
            (i.write_act && !self.busy_q) as u32,
            self.start_q as u32,
            self.abort as u32,
            self.job[0],
            self.job[1],
            self.job[2],
            self.job[3] & 0xF,
            (self.job[3] >> 8) & 1,
        ]
        .iter()
        .map(|&v| v as u128)
        .collect()
    }

    fn word(&self, idx: u32, busy: bool, seq_done: bool) -> u32 {
        let r = |off| idx == index(off);
        if r(regmap::ID_MAGIC) {
            regmap::MAGIC
        } else if r(regmap::ID_VERSION) {
            regmap::VERSION
        } else if r(regmap::CFG_LANES) {
            ID.lanes
        } else if r(regmap::CFG_TILE_MAX) {
            ID.tile_max
        } else if r(regmap::CFG_MAX_IN) {
            ID.max_in
        } else if r(regmap::CFG_MAX_ROWS) {
            ID.max_rows
        } else if r(regmap::CFG_MAX_ABITS) {
            ID.max_abits
        } else if r(regmap::SCRATCH) {
            self.scratch
        } else if r(regmap::CTRL) {
            if self.irq_enable {
                regmap::CTRL_IRQ_ENABLE
            } else {
                0
            }
        } else if r(regmap::STATUS) {
            (busy as u32)
                | ((self.done || seq_done) as u32) << 1
                | (self.error as u32) << 2
                | self.code << 8
        } else if r(regmap::CYCLES) {
            self.cycles
        } else if r(regmap::JOB_COUNT) {
            self.job_count
        } else if r(regmap::JOB_M) {
            self.job[0]
        } else if r(regmap::JOB_Q) {
            self.job[1]
        } else if r(regmap::JOB_ROWS) {
            self.job[2]
        } else if r(regmap::JOB_ABITS) {
            self.job[3]
        } else {
            0
        }
    }

    /// ERROR set; the code only if ERROR was clear (the first error is kept).
    fn fail(&mut self, was_error: bool, code: u32) {
        if !was_error {
            self.code = code;
        }
        self.error = true;
    }

    fn step(&mut self, i: &In) {
        let busy = i.seq_busy || self.start_q;
        let lanes = (0..4)
            .filter(|b| (i.write_sel >> b) & 1 == 1)
            .fold(0u32, |m, b| m | 0xFF << (8 * b));
        let merge = |old: u32| (old & !lanes) | (i.write_data & lanes);
        let was_error = self.error;
        let mut next = RegRef {
            rdata: self.word(i.read_index, busy, i.seq_done),
            busy_q: busy,
            write_index: i.reg_index,
            ..*self
        };
        // the write decoded in the previous cycle
        if i.write_regs {
            let w = self.write_index;
            if w == index(regmap::SCRATCH) {
                next.scratch = merge(self.scratch);
            }
            for (k, off) in [
                regmap::JOB_M,
                regmap::JOB_Q,
                regmap::JOB_ROWS,
                regmap::JOB_ABITS,
            ]
            .into_iter()
            .enumerate()
            {
                if w == index(off) {
                    next.job[k] = merge(self.job[k]);
                }
            }
            if w == index(regmap::JOB_ABITS) {
                next.job[3] &= 0x10F;
            }
            if w == index(regmap::STATUS) {
                let clear = i.write_data & lanes;
                if clear & regmap::STATUS_DONE != 0 {
                    next.done = false;
                }
                if clear & regmap::STATUS_ERROR != 0 {
                    next.error = false;
                    next.code = 0;
                }
            }
            if w == index(regmap::CTRL) && (i.write_sel >> 1) & 1 == 1 {
                next.irq_enable = i.write_data & regmap::CTRL_IRQ_ENABLE != 0;
            }
        }
        let mut start_ok = false;
        if self.start_req {
            if i.check_fail {
                next.fail(was_error, i.check_code);
            } else {
                start_ok = true;
            }
        }
        if (i.write_tile || i.write_act) && self.busy_q {
            next.fail(was_error, 6);
        }
        if i.seq_busy {
            next.cycles = self.cycles.wrapping_add(1);
        }
        if i.seq_done {
            next.done = true;
            next.job_count = self.job_count.wrapping_add(1);
        }
        if self.start_q {
            next.cycles = 1;
        }
        next.start_q = start_ok;
        if start_ok {
            next.done = false;
            next.error = false;
            next.code = 0;
        }
        if self.abort {
            next.start_q = false;
            next.done = false;
            next.error = false;
            next.code = 0;
            next.job_count = 0;
            next.cycles = 0;
        }
        // the access cycle: CTRL's START and SOFT_RESET
        let ctrl = i.reg_write_access && i.reg_index == index(regmap::CTRL) && i.bus_sel & 1 == 1;
        let soft = ctrl && i.bus_data & regmap::CTRL_SOFT_RESET != 0;
        next.start_req = ctrl && i.bus_data & regmap::CTRL_START != 0 && !soft;
        next.abort = soft || i.rst;
        if i.rst {
            next.irq_enable = false;
            next.scratch = 0;
            next.job = [0; 4];
        }
        *self = next;
    }
}

/// Random requests as the slave delivers them: an access-cycle decode
/// followed by its write in the next cycle, reads of every index.
fn traffic(rng: &mut impl Rng, cycles: usize) -> Vec<In> {
    let idx = [
        0u32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 63,
    ];
    let mut out = vec![
        In {
            rst: true,
            ..Default::default()
        };
        2
    ];
    let mut pending: Option<(u32, u32, bool)> = None;
    let mut busy_left = 0;
    while out.len() < cycles {
        let mut i = In {
            rst: rng.gen_ratio(1, 500),
            read_index: idx[rng.gen_range(0..idx.len())],
            check_fail: rng.gen_bool(0.3),
            check_code: rng.gen_range(1..=5),
            ..Default::default()
        };
        // the sequencer: busy for a while after a start, then a done pulse
        if busy_left > 0 {
            busy_left -= 1;
            i.seq_busy = true;
            i.seq_done = false;
        } else {
            i.seq_busy = rng.gen_bool(0.05);
            i.seq_done = rng.gen_bool(0.05);
        }
        if out.last().is_some_and(|p: &In| p.seq_busy) && rng.gen_bool(0.05) {
            busy_left = rng.gen_range(0..30);
        }
        // the write decoded in the previous cycle acts now
        if let Some((data, sel, mem)) = pending.take() {
            i.write_data = data;
            i.write_sel = sel;
            if mem {
                if rng.gen_bool(0.5) {
                    i.write_tile = true;
                } else {
                    i.write_act = true;
                }
            } else {
                i.write_regs = true;
            }
        } else if rng.gen_bool(0.4) {
            let index = idx[rng.gen_range(0..idx.len())];
            let data: u32 = match rng.gen_range(0..4) {
                0 => rng.gen_range(0..4),
                1 => regmap::CTRL_IRQ_ENABLE | rng.gen_range(0..4),
                _ => rng.gen(),
            };
            let sel = if rng.gen_bool(0.7) {
                0xF
            } else {
                rng.gen_range(0..16)
            };
            let mem = rng.gen_bool(0.2);
            i.reg_write_access = !mem && !i.rst;
            i.reg_index = index;
            i.bus_data = data;
            i.bus_sel = sel;
            if !i.rst {
                pending = Some((data, sel, mem));
            }
        } else {
            i.reg_index = rng.gen_range(0..64);
            i.bus_data = rng.gen();
            i.bus_sel = rng.gen_range(0..16);
        }
        out.push(i);
    }
    out
}

#[test]
fn register_file_against_register_map() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 71;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inputs = traffic(&mut rng, 8000);
    let stim: Vec<Vec<u128>> = inputs.iter().map(In::vec).collect();
    let out = run_lockstep(|| RegFile::new(&ID), &stim, 0);
    let mut model = RegRef::default();
    let (mut starts, mut errors) = (0, 0);
    for (c, i) in inputs.iter().enumerate() {
        let want = model.outputs(i);
        if c >= 1 {
            assert_eq!(out[c], want, "cycle {c}: inputs {i:?}");
        }
        starts += model.start_q as usize;
        errors += (model.error && model.code == 6) as usize;
        model.step(i);
    }
    println!("{starts} accepted starts, {errors} cycles with error 6");
    assert!(starts > 10 && errors > 10, "traffic too thin");
}
