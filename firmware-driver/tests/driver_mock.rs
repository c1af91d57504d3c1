//! The accelerator driver (`tbn_driver::driver::Tbn`) and its buses on the
//! host, against a software model of the core's register file (`MockCore`):
//! register semantics from `tbn_driver::regmap`, accumulators computed with
//! `tbn_golden` from what the driver wrote into the tile and activation
//! windows. Randomized tests print their seed.

mod common;
use tbn_host::convert;

use common::spi_bridge::BridgeSpi;
use common::{io, program, random_conv_program, random_dense, random_input, rng, Requant, ACTS};

use std::cell::RefCell;
use std::rc::Rc;

use embedded_hal::spi::ErrorKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Requantization ranges of the random stages.
const RQ: Requant = Requant {
    bias_bits: 30,
    shift: 8..=30,
};
use tbn_driver::bus::{Bus, BusError, BusOp, MmioBus, SpiBus, SPI_MAX_BURST_WORDS};
use tbn_driver::driver::{DriverError, HwConfig, Scratch, Tbn};
use tbn_driver::program::{AlignedBytes, Program as Compact, Stage as CStage};
use tbn_driver::regmap::{self as rm, ErrorCode};
use tbn_golden::integer::{self, Activation, DenseStage, Program, Stage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;

// ---------------------------------------------------------------------------
// The software model of the core
// ---------------------------------------------------------------------------

/// Capacities of the modelled core (the hdl crate's default configuration).
#[derive(Clone, Copy, Debug)]
struct Caps {
    lanes: u32,
    tile_max: u32,
    max_in: u32,
    max_rows: u32,
    max_abits: u32,
}

const DEFAULT_CAPS: Caps = Caps {
    lanes: 32,
    tile_max: 32768,
    max_in: 4096,
    max_rows: 1024,
    max_abits: 8,
};

/// A register-level model of the TBN core, behaving as regmap.rs documents.
struct MockCore {
    caps: Caps,
    magic: u32,
    version: u32,
    /// SCRATCH flips bit 0 on read (a broken data line).
    broken_scratch: bool,
    scratch: u32,
    irq_enable: bool,
    busy: bool,
    done: bool,
    error: bool,
    code: u32,
    cycles: u32,
    job_count: u32,
    job: [u32; 4],
    tile: Vec<u32>,
    act: Vec<u32>,
    out: Vec<u32>,
    /// Results of the running job, written to OUT at completion.
    pending: Vec<(i32, i32)>,
    /// STATUS reads that still see BUSY after a start.
    busy_polls: u32,
    busy_left: u32,
    /// The running job never finishes (timeout tests).
    never_done: bool,
    /// Force this error code at the next start (instead of running).
    inject: Option<ErrorCode>,
    /// Fail bus accesses at this offset.
    fail_at: Option<u32>,
    reads: u64,
    writes: u64,
    starts: u32,
    /// Job registers of every job that started.
    job_log: Vec<[u32; 4]>,
    soft_resets: u32,
    /// Contract violations seen (e.g. a wrong tile extension).
    violations: Vec<String>,
}

impl MockCore {
    fn new(caps: Caps) -> MockCore {
        MockCore {
            caps,
            magic: rm::MAGIC,
            version: rm::VERSION,
            broken_scratch: false,
            scratch: 0,
            irq_enable: false,
            busy: false,
            done: false,
            error: false,
            code: 0,
            cycles: 0,
            job_count: 0,
            job: [0; 4],
            tile: vec![0; (rm::TILE_SIZE / 4) as usize],
            act: vec![0; (rm::ACT_SIZE / 4) as usize],
            out: vec![0; (rm::OUT_SIZE / 4) as usize],
            pending: Vec::new(),
            busy_polls: 3,
            busy_left: 0,
            never_done: false,
            inject: None,
            fail_at: None,
            reads: 0,
            writes: 0,
            starts: 0,
            job_log: Vec::new(),
            soft_resets: 0,
            violations: Vec::new(),
        }
    }

    fn irq(&self) -> bool {
        self.irq_enable && (self.done || self.error)
    }

    fn status(&self) -> u32 {
        (self.busy as u32)
            | (self.done as u32) << 1
            | (self.error as u32) << 2
            | self.code << rm::STATUS_ERROR_CODE_SHIFT
    }

    fn flag(&mut self, code: ErrorCode) {
        if !self.error {
            self.error = true;
            self.code = code as u32;
        }
    }

    fn complete(&mut self) {
        self.busy = false;
        self.done = true;
        self.job_count = self.job_count.wrapping_add(1);
        for (j, (a, b)) in self.pending.iter().enumerate() {
            self.out[2 * j] = *a as u32;
            self.out[2 * j + 1] = *b as u32;
        }
    }

    fn start(&mut self) {
        self.starts += 1;
        if self.busy {
            self.flag(ErrorCode::StartWhileBusy);
            return;
        }
        let [m, q, d, abits] = self.job;
        let bits = abits & rm::JOB_ABITS_BITS_MASK;
        let signed = abits & rm::JOB_ABITS_SIGNED != 0 && bits > 1;
        let c = self.caps;
        let check = if bits == 0 || bits > c.max_abits {
            Some(ErrorCode::BadActivationBits)
        } else if m == 0 || m > c.max_in {
            Some(ErrorCode::BadRowLength)
        } else if q < m || q > c.tile_max {
            Some(ErrorCode::BadTileLength)
        } else if d == 0 || d > c.max_rows {
            Some(ErrorCode::BadRowCount)
        } else {
            self.inject.take()
        };
        if let Some(code) = check {
            self.flag(code);
            return;
        }
        self.done = false;
        self.error = false;
        self.code = 0;
        self.job_log.push(self.job);
        self.pending = self.compute(m as usize, q as usize, d as usize, bits as u8, signed);
        self.cycles = d * m.div_ceil(c.lanes) * bits + 7;
        self.busy = true;
        self.busy_left = self.busy_polls;
        if self.busy_left == 0 && !self.never_done {
            self.complete();
        }
    }

    fn image_bit(&self, i: usize) -> bool {
        (self.tile[i / 32] >> (i % 32)) & 1 == 1
    }

    /// The accumulator pairs of rows `0..d` from the memories, via the golden
    /// model's element-wise definition.
    fn compute(&mut self, m: usize, q: usize, d: usize, bits: u8, signed: bool) -> Vec<(i32, i32)> {
        // Rows never read image bits at or beyond q + min(L, q) (masked lanes).
        let lanes = (self.caps.lanes as usize).min(q);
        for i in 0..lanes {
            if self.image_bit(q + i) != self.image_bit(i) {
                self.violations
                    .push(format!("tile image bit {} != tile bit {}", q + i, i % q));
                break;
            }
        }
        let tile = Tile::from_bools(&(0..q).map(|i| self.image_bit(i)).collect::<Vec<_>>());
        let plane = (rm::ACT_PLANE_STRIDE / 4) as usize;
        let x: Vec<i32> = (0..m)
            .map(|k| {
                let mut v = 0i32;
                for b in 0..bits as usize {
                    let bit = (self.act[b * plane + k / 32] >> (k % 32)) & 1;
                    v |= (bit as i32) << b;
                }
                if signed && v >= 1 << (bits - 1) {
                    v -= 1 << bits;
                }
                v
            })
            .collect();
        let period = tbn_driver::geometry::period(m as u64, q as u64) as usize;
        let rows = d.min(period);
        let stage = DenseStage {
            name: "mock".into(),
            geom: RowGeometry {
                rows,
                m,
                q,
                p: (rows * m).div_ceil(q).max(1),
            },
            conv: None,
            tile,
            alpha_q: vec![1; (rows * m).div_ceil(q) + 1],
            mult: vec![1],
            bias: vec![],
            shift: 0,
            in_bits: bits,
            in_signed: signed,
            act: Activation::Logits,
            out_bits: 8,
            out_scale: 1.0,
        };
        let acc = stage.accumulators_reference(&x, None);
        (0..d).map(|j| acc[j % period]).collect()
    }
}

impl std::fmt::Debug for MockCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MockCore {{ caps: {:?}, status: {:#x} }}",
            self.caps,
            self.status()
        )
    }
}

impl Bus for MockCore {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        tbn_driver::bus::check_range(BusOp::Read, addr, 1)?;
        if self.fail_at == Some(addr) {
            return Err(BusError::ErrorResponse {
                op: BusOp::Read,
                addr,
            });
        }
        self.reads += 1;
        let c = self.caps;
        let w = (addr / 4) as usize;
        Ok(match addr {
            rm::ID_MAGIC => self.magic,
            rm::ID_VERSION => self.version,
            rm::CFG_LANES => c.lanes,
            rm::CFG_TILE_MAX => c.tile_max,
            rm::CFG_MAX_IN => c.max_in,
            rm::CFG_MAX_ROWS => c.max_rows,
            rm::CFG_MAX_ABITS => c.max_abits,
            rm::SCRATCH => self.scratch ^ self.broken_scratch as u32,
            rm::CTRL => (self.irq_enable as u32) << 8,
            rm::STATUS => {
                if self.busy && !self.never_done {
                    self.busy_left = self.busy_left.saturating_sub(1);
                    if self.busy_left == 0 {
                        self.complete();
                    }
                }
                self.status()
            }
            rm::CYCLES => self.cycles,
            rm::JOB_COUNT => self.job_count,
            rm::JOB_M..=rm::JOB_ABITS => self.job[(addr - rm::JOB_M) as usize / 4],
            a if (rm::OUT_BASE..rm::OUT_BASE + rm::OUT_SIZE).contains(&a) => {
                let j = w - (rm::OUT_BASE / 4) as usize;
                if j / 2 < c.max_rows as usize {
                    self.out[j]
                } else {
                    0
                }
            }
            // TILE and ACT are write only (read 0), like unmapped addresses.
            _ => 0,
        })
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        tbn_driver::bus::check_range(BusOp::Write, addr, 1)?;
        if self.fail_at == Some(addr) {
            return Err(BusError::ErrorResponse {
                op: BusOp::Write,
                addr,
            });
        }
        self.writes += 1;
        let w = (addr / 4) as usize;
        match addr {
            rm::SCRATCH => self.scratch = value,
            rm::CTRL => {
                self.irq_enable = value & rm::CTRL_IRQ_ENABLE != 0;
                if value & rm::CTRL_SOFT_RESET != 0 {
                    self.soft_resets += 1;
                    self.busy = false;
                    self.done = false;
                    self.error = false;
                    self.code = 0;
                    self.cycles = 0;
                    self.job_count = 0;
                } else if value & rm::CTRL_START != 0 {
                    self.start();
                }
            }
            rm::STATUS => {
                if value & rm::STATUS_DONE != 0 {
                    self.done = false;
                }
                if value & rm::STATUS_ERROR != 0 {
                    self.error = false;
                    self.code = 0;
                }
            }
            rm::JOB_M..=rm::JOB_ABITS => self.job[(addr - rm::JOB_M) as usize / 4] = value,
            a if (rm::ACT_BASE..rm::ACT_BASE + rm::ACT_SIZE).contains(&a) => {
                if self.busy {
                    self.flag(ErrorCode::MemoryBusy);
                } else {
                    self.act[w - (rm::ACT_BASE / 4) as usize] = value;
                }
            }
            a if (rm::TILE_BASE..rm::TILE_BASE + rm::TILE_SIZE).contains(&a) => {
                if self.busy {
                    self.flag(ErrorCode::MemoryBusy);
                } else {
                    self.tile[w - (rm::TILE_BASE / 4) as usize] = value;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn probe(caps: Caps) -> Tbn<MockCore> {
    Tbn::probe(MockCore::new(caps)).expect("probe")
}

// ---------------------------------------------------------------------------
// Probe
// ---------------------------------------------------------------------------

#[test]
fn probe_reads_configuration_and_resets() {
    let mut t = probe(Caps {
        lanes: 64,
        tile_max: 4096,
        max_in: 1000,
        max_rows: 300,
        max_abits: 4,
    });
    assert_eq!(
        t.config(),
        HwConfig {
            version: rm::VERSION,
            lanes: 64,
            tile_max: 4096,
            max_in: 1000,
            max_rows: 300,
            max_abits: 4,
        }
    );
    assert_eq!(t.bus().soft_resets, 1);
    assert_eq!(t.bus().scratch, 0, "probe restores SCRATCH");
    // A newer minor version is accepted.
    let mut core = MockCore::new(DEFAULT_CAPS);
    core.version = rm::VERSION + 3;
    assert!(Tbn::probe(core).is_ok());
}

#[test]
fn probe_errors() {
    let mut core = MockCore::new(DEFAULT_CAPS);
    core.magic = 0xFFFF_FFFF;
    assert_eq!(
        Tbn::probe(core).unwrap_err(),
        DriverError::BadMagic { found: 0xFFFF_FFFF }
    );
    let mut core = MockCore::new(DEFAULT_CAPS);
    core.version = 0x0003_0000;
    assert_eq!(
        Tbn::probe(core).unwrap_err(),
        DriverError::BadVersion { found: 0x0003_0000 }
    );
    for (caps, what) in [
        (
            Caps {
                lanes: 0,
                ..DEFAULT_CAPS
            },
            "CFG_LANES",
        ),
        (
            Caps {
                tile_max: 0,
                ..DEFAULT_CAPS
            },
            "CFG_TILE_MAX",
        ),
        (
            Caps {
                tile_max: rm::MAP_TILE_BITS_LIMIT,
                ..DEFAULT_CAPS
            },
            "CFG_TILE_MAX",
        ),
        (
            Caps {
                max_in: rm::MAP_MAX_IN_LIMIT + 1,
                ..DEFAULT_CAPS
            },
            "CFG_MAX_IN",
        ),
        (
            Caps {
                max_rows: 0,
                ..DEFAULT_CAPS
            },
            "CFG_MAX_ROWS",
        ),
        (
            Caps {
                max_abits: 9,
                ..DEFAULT_CAPS
            },
            "CFG_MAX_ABITS",
        ),
    ] {
        match Tbn::probe(MockCore::new(caps)).unwrap_err() {
            DriverError::BadConfig { what: w, .. } => assert_eq!(w, what),
            e => panic!("{what}: unexpected {e}"),
        }
    }
    let mut core = MockCore::new(DEFAULT_CAPS);
    core.broken_scratch = true;
    assert!(matches!(
        Tbn::probe(core).unwrap_err(),
        DriverError::ScratchMismatch { .. }
    ));
    let mut core = MockCore::new(DEFAULT_CAPS);
    core.fail_at = Some(rm::ID_MAGIC);
    let e = Tbn::probe(core).unwrap_err();
    assert_eq!(
        e,
        DriverError::Bus(BusError::ErrorResponse {
            op: BusOp::Read,
            addr: 0
        })
    );
    assert!(e.to_string().contains("bus error"), "{e}");
}

// ---------------------------------------------------------------------------
// Single jobs
// ---------------------------------------------------------------------------

fn random_tile_words(r: &mut ChaCha8Rng, q: usize) -> Vec<u32> {
    // Bits above q in the last word are random too: they must not matter.
    (0..q.div_ceil(32)).map(|_| r.gen()).collect()
}

fn golden_acc(
    tile: &[u32],
    q: usize,
    m: usize,
    d: usize,
    x: &[i32],
    bits: u8,
    signed: bool,
) -> Vec<(i32, i32)> {
    let bools: Vec<bool> = (0..q)
        .map(|j| (tile[j / 32] >> (j % 32)) & 1 == 1)
        .collect();
    let g = tbn_driver::geometry::gcd(m as u64, q as u64) as usize;
    let period = q / g;
    // `period` rows of m form a valid tiled layer with p = m / g copies.
    let stage = DenseStage {
        name: "g".into(),
        geom: RowGeometry {
            rows: period,
            m,
            q,
            p: m / g,
        },
        conv: None,
        tile: Tile::from_bools(&bools),
        alpha_q: vec![1; m / g],
        mult: vec![1],
        bias: vec![],
        shift: 0,
        in_bits: bits,
        in_signed: signed,
        act: Activation::Logits,
        out_bits: 8,
        out_scale: 1.0,
    };
    let acc = stage.accumulators(x);
    (0..d).map(|j| acc[j % period]).collect()
}

#[test]
fn random_jobs_bit_exact_with_golden() {
    for seed in 0..120u64 {
        let mut r = rng("random_jobs_bit_exact_with_golden", seed);
        let lanes = [8u32, 16, 32, 64][r.gen_range(0..4)];
        let caps = Caps {
            lanes,
            ..DEFAULT_CAPS
        };
        let mut t = probe(caps);
        let bits = r.gen_range(1..=8u8);
        let signed = bits > 1 && r.gen_bool(0.5);
        let m = r.gen_range(1..=300usize);
        let q = r.gen_range(m..=(3 * m).min(caps.tile_max as usize));
        let period = tbn_driver::geometry::period(m as u64, q as u64) as usize;
        let d = if r.gen_bool(0.8) {
            period.min(caps.max_rows as usize)
        } else {
            r.gen_range(1..=(2 * period).min(caps.max_rows as usize))
        };
        let tile = random_tile_words(&mut r, q);
        let x = random_input(&mut r, m, bits, signed);
        let mut acc = vec![(0, 0); d + 3];
        let stats = t
            .run_job(&tile, q as u32, d as u32, &x, bits, signed, &mut acc)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            &acc[..d],
            &golden_acc(&tile, q, m, d, &x, bits, signed)[..],
            "seed {seed}: m {m} q {q} d {d} A {bits} signed {signed} L {lanes}"
        );
        assert_eq!(acc[d..], [(0, 0); 3], "only d pairs are written");
        assert_eq!(stats.jobs, 1);
        assert_eq!(
            stats.cycles,
            (d as u32 * (m as u32).div_ceil(lanes) * bits as u32 + 7) as u64
        );
        assert!(t.bus().violations.is_empty(), "{:?}", t.bus().violations);
    }
}

#[test]
fn step_by_step_api_and_irq_style_polling() {
    let mut r = rng("step_by_step_api_and_irq_style_polling", 7);
    let mut t = probe(DEFAULT_CAPS);
    t.set_irq_enable(true).unwrap();
    let (m, q, bits) = (100usize, 250usize, 1u8);
    let d = rm::distinct_rows(1000, m as u32, q as u32) as usize;
    let tile = random_tile_words(&mut r, q);
    let x = random_input(&mut r, m, bits, false);
    t.load_tile(&tile, q as u32).unwrap();
    t.load_activations(&x, bits, false).unwrap();
    t.configure(m as u32, q as u32, d as u32, bits, false)
        .unwrap();
    t.bus().busy_polls = 5;
    t.start().unwrap();
    assert!(t.bus().irq_enable, "start keeps IRQ_ENABLE");
    assert!(!t.bus().irq());
    let mut polls = 0;
    while !t.is_done().unwrap() {
        polls += 1;
        assert!(polls < 100);
    }
    assert_eq!(polls, 4);
    assert!(t.bus().irq(), "done raises irq");
    t.acknowledge().unwrap();
    assert!(!t.bus().irq(), "acknowledge drops irq");
    let mut acc = vec![(0, 0); d];
    t.read_accumulators(&mut acc).unwrap();
    assert_eq!(acc, golden_acc(&tile, q, m, d, &x, bits, false));
    assert_eq!(t.job_count().unwrap(), 1);
    assert_eq!(t.cycles().unwrap(), d as u32 * 4 + 7);
    // Pre-packed planes give the same result.
    let pw = m.div_ceil(32);
    let mut planes = vec![0u32; pw];
    for (k, v) in x.iter().enumerate() {
        planes[k / 32] |= (*v as u32 & 1) << (k % 32);
    }
    t.load_planes(&planes, m as u32, 1).unwrap();
    t.start().unwrap();
    t.wait(10).unwrap();
    let mut acc2 = vec![(0, 0); d];
    t.read_accumulators(&mut acc2).unwrap();
    assert_eq!(acc2, acc);
}

// ---------------------------------------------------------------------------
// Errors: capacity, timeouts, core errors, malformed arguments
// ---------------------------------------------------------------------------

#[test]
fn capacity_errors_touch_no_hardware() {
    let caps = Caps {
        lanes: 32,
        tile_max: 1024,
        max_in: 256,
        max_rows: 64,
        max_abits: 4,
    };
    let mut t = probe(caps);
    let writes = t.bus().writes;
    let reads = t.bus().reads;
    let tile = vec![0u32; 64];
    let cap = |e: DriverError, what: &str, needed: u64, available: u64| match e {
        DriverError::Capacity {
            what: w,
            needed: n,
            available: a,
        } => {
            assert!(w.contains(what), "{w} / {what}");
            assert_eq!((n, a), (needed, available), "{what}");
        }
        e => panic!("{what}: expected a capacity error, got {e}"),
    };
    cap(
        t.configure(257, 300, 1, 1, false).unwrap_err(),
        "row length",
        257,
        256,
    );
    cap(
        t.configure(100, 1025, 1, 1, false).unwrap_err(),
        "tile length",
        1025,
        1024,
    );
    cap(
        t.configure(100, 200, 65, 1, false).unwrap_err(),
        "distinct rows",
        65,
        64,
    );
    cap(
        t.configure(100, 200, 2, 5, false).unwrap_err(),
        "activation bits",
        5,
        4,
    );
    cap(
        t.load_tile(&tile, 2048).unwrap_err(),
        "tile length",
        2048,
        1024,
    );
    cap(
        t.load_activations(&[0; 300], 1, false).unwrap_err(),
        "row length",
        300,
        256,
    );
    cap(
        t.load_activations(&[0; 30], 8, false).unwrap_err(),
        "activation bits",
        8,
        4,
    );
    let mut acc = vec![(0, 0); 100];
    cap(
        t.read_accumulators(&mut acc).unwrap_err(),
        "distinct rows",
        100,
        64,
    );
    cap(
        t.run_job(&tile, 2000, 1, &[0; 100], 1, false, &mut acc)
            .unwrap_err(),
        "tile length",
        2000,
        1024,
    );
    // A whole program whose second layer is too wide for this core.
    let mut r = rng("capacity_errors_touch_no_hardware", 3);
    let s1 = random_dense(
        &mut r,
        10,
        300,
        None,
        io(1, false, Activation::Sign, 1),
        &RQ,
    );
    let s2 = random_dense(
        &mut r,
        5,
        10,
        None,
        io(1, false, Activation::Logits, 8),
        &RQ,
    );
    let prog = program(
        vec![300],
        1,
        false,
        vec![Stage::Dense(s1), Stage::Dense(s2)],
    );
    let bytes = compact(&prog);
    let p = Compact::parse(bytes.as_bytes()).unwrap();
    let mut bufs = Buffers::for_program(&p);
    let e = run_prog(&mut t, &p, &[0; 300], &mut bufs).unwrap_err();
    cap(e, "row length", 300, 256);
    assert_eq!(
        t.bus().writes,
        writes,
        "no bus write after a capacity error"
    );
    assert_eq!(t.bus().reads, reads, "no bus read after a capacity error");
}

#[test]
fn invalid_arguments_are_typed_errors() {
    let mut t = probe(DEFAULT_CAPS);
    let writes = t.bus().writes;
    let tile = [0u32; 4];
    assert!(matches!(
        t.configure(0, 10, 1, 1, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.configure(20, 10, 1, 1, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.configure(5, 10, 0, 1, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.configure(5, 10, 1, 0, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.configure(5, 10, 1, 9, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.load_tile(&tile, 0),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert_eq!(
        t.load_tile(&tile, 200),
        Err(DriverError::BufferTooSmall {
            buffer: "tile",
            needed: 7,
            available: 4
        })
    );
    assert!(matches!(
        t.load_activations(&[], 1, false),
        Err(DriverError::InvalidArgument { .. })
    ));
    assert_eq!(
        t.load_activations(&[1, 0, 2], 1, false),
        Err(DriverError::InputOutOfRange {
            index: 2,
            value: 2,
            min: 0,
            max: 1
        })
    );
    assert_eq!(
        t.load_activations(&[1, -9, 2], 4, true),
        Err(DriverError::InputOutOfRange {
            index: 1,
            value: -9,
            min: -8,
            max: 7
        })
    );
    assert!(matches!(
        t.load_planes(&[0; 3], 100, 1),
        Err(DriverError::BufferTooSmall { .. })
    ));
    let mut acc = [(0, 0); 2];
    assert!(matches!(
        t.run_job(&tile, 100, 3, &[0; 50], 1, false, &mut acc),
        Err(DriverError::BufferTooSmall { buffer: "acc", .. })
    ));
    assert_eq!(t.bus().writes, writes);
}

#[test]
fn timeouts_are_bounded_and_recovered() {
    let mut r = rng("timeouts_are_bounded_and_recovered", 11);
    let mut t = probe(DEFAULT_CAPS);
    t.bus().never_done = true;
    let tile = random_tile_words(&mut r, 64);
    let x = random_input(&mut r, 32, 8, false);
    t.load_tile(&tile, 64).unwrap();
    t.load_activations(&x, 8, false).unwrap();
    t.configure(32, 64, 2, 8, false).unwrap();
    t.start().unwrap();
    let before = t.bus().reads;
    let e = t.wait(100).unwrap_err();
    assert_eq!(
        e,
        DriverError::Timeout {
            polls: 100,
            status: rm::STATUS_BUSY
        }
    );
    assert_eq!(t.bus().reads - before, 100, "exactly the poll budget");
    assert!(!t.is_done().unwrap());
    // Loading while busy is refused by the driver (the core would flag MEMORY_BUSY).
    assert_eq!(t.load_tile(&tile, 64), Err(DriverError::Busy));
    t.soft_reset().unwrap();
    assert!(!t.status().unwrap().busy());

    // run_job: bounded by the poll limit, then a soft reset; the next job works.
    t.set_poll_limit(Some(25));
    let resets = t.bus().soft_resets;
    let mut acc = vec![(0, 0); 2];
    assert!(matches!(
        t.run_job(&tile, 64, 2, &x, 8, false, &mut acc),
        Err(DriverError::Timeout { polls: 25, .. })
    ));
    assert_eq!(
        t.bus().soft_resets,
        resets + 1,
        "soft reset after a timeout"
    );
    t.bus().never_done = false;
    t.set_poll_limit(None);
    assert_eq!(t.poll_budget(32, 2, 8), 2 * (2 * 8 + 64) + 1024);
    t.run_job(&tile, 64, 2, &x, 8, false, &mut acc).unwrap();
    assert_eq!(acc, golden_acc(&tile, 64, 32, 2, &x, 8, false));
}

#[test]
fn core_errors_are_reported_with_meaning() {
    let mut r = rng("core_errors_are_reported_with_meaning", 5);
    let mut t = probe(DEFAULT_CAPS);
    // Parameters written behind the driver's back: the core refuses the start.
    for (regs, code) in [
        ([10u32, 20, 1, 0], ErrorCode::BadActivationBits),
        ([0, 20, 1, 1], ErrorCode::BadRowLength),
        ([10, 5, 1, 1], ErrorCode::BadTileLength),
        ([10, 20, 0, 1], ErrorCode::BadRowCount),
        ([10, 20, 2000, 1], ErrorCode::BadRowCount),
    ] {
        t.bus().write_block(rm::JOB_M, &regs).unwrap();
        t.start().unwrap();
        let e = t.wait(10).unwrap_err();
        assert_eq!(
            e,
            DriverError::CoreError {
                code: code as u8,
                meaning: rm::ERROR_CODES[code as usize].1
            }
        );
        assert_eq!(e.error_code(), Some(code));
        assert!(
            e.to_string().contains(rm::ERROR_CODES[code as usize].1),
            "{e}"
        );
        assert!(t.is_done().is_err(), "error stays until cleared");
        t.acknowledge().unwrap();
        assert!(!t.status().unwrap().error());
    }
    // Start while busy.
    let tile = random_tile_words(&mut r, 40);
    let x = random_input(&mut r, 20, 2, true);
    t.load_tile(&tile, 40).unwrap();
    t.load_activations(&x, 2, true).unwrap();
    t.configure(20, 40, 2, 2, true).unwrap();
    t.bus().busy_polls = 50;
    t.start().unwrap();
    t.start().unwrap();
    assert_eq!(
        t.wait(5).unwrap_err().error_code(),
        Some(ErrorCode::StartWhileBusy)
    );
    t.soft_reset().unwrap();
    // An injected error inside run_job: reported, core reset, then recovery.
    t.bus().busy_polls = 2;
    t.bus().inject = Some(ErrorCode::MemoryBusy);
    let mut acc = vec![(0, 0); 2];
    let e = t.run_job(&tile, 40, 2, &x, 2, true, &mut acc).unwrap_err();
    assert_eq!(e.error_code(), Some(ErrorCode::MemoryBusy));
    assert!(
        !t.status().unwrap().error(),
        "run_job soft-resets after an error"
    );
    t.run_job(&tile, 40, 2, &x, 2, true, &mut acc).unwrap();
    assert_eq!(acc, golden_acc(&tile, 40, 20, 2, &x, 2, true));
    // Unknown codes are named as such.
    assert_eq!(tbn_driver::driver::error_meaning(15), "unknown error code");
}

// ---------------------------------------------------------------------------
// Whole programs
// ---------------------------------------------------------------------------

fn compact(prog: &Program) -> AlignedBytes {
    AlignedBytes::new(&convert::program_bytes(prog, None).expect("encode"))
}

/// Exactly-sized buffers for `run_program`.
struct Buffers {
    a: Vec<i32>,
    b: Vec<i32>,
    acc: Vec<(i32, i32)>,
    logits: Vec<i64>,
}

impl Buffers {
    fn for_program(p: &Compact<'_>) -> Buffers {
        Buffers {
            a: vec![0; p.req.max_act],
            b: vec![0; p.req.max_act],
            acc: vec![(0, 0); p.req.max_distinct],
            logits: vec![0; p.req.logits],
        }
    }
    fn scratch(&mut self) -> Scratch<'_> {
        Scratch {
            act_a: &mut self.a,
            act_b: &mut self.b,
            acc: &mut self.acc,
        }
    }
}

fn run_prog<B: Bus>(
    t: &mut Tbn<B>,
    p: &Compact<'_>,
    x: &[i32],
    bufs: &mut Buffers,
) -> Result<tbn_driver::driver::RunStats, DriverError> {
    let Buffers { a, b, acc, logits } = bufs;
    let mut s = Scratch {
        act_a: a,
        act_b: b,
        acc,
    };
    t.run_program(p, x, &mut s, logits)
}

fn run_on_mock(t: &mut Tbn<MockCore>, p: &Compact<'_>, x: &[i32]) -> Vec<i64> {
    let mut bufs = Buffers::for_program(p);
    run_prog(t, p, x, &mut bufs).expect("run_program");
    bufs.logits
}

#[test]
fn random_linear_programs_bit_exact() {
    for seed in 0..40u64 {
        let mut r = rng("random_linear_programs_bit_exact", seed);
        let mut t = probe(Caps {
            lanes: [8, 32][r.gen_range(0..2)],
            ..DEFAULT_CAPS
        });
        let in_bits = r.gen_range(1..=8u8);
        let in_signed = in_bits > 1 && r.gen_bool(0.5);
        let m = r.gen_range(1..=200);
        let h = r.gen_range(1..=40);
        let act = ACTS[r.gen_range(0..3)];
        let ob = r.gen_range(2..=8);
        let s1 = random_dense(&mut r, h, m, None, io(in_bits, in_signed, act, ob), &RQ);
        let rows2 = r.gen_range(1..=12);
        let s2 = random_dense(
            &mut r,
            rows2,
            h,
            None,
            io(
                s1.out_bits,
                act == Activation::Signed,
                Activation::Logits,
                8,
            ),
            &RQ,
        );
        let prog = program(
            vec![m],
            in_bits,
            in_signed,
            vec![Stage::Dense(s1), Stage::Dense(s2)],
        );
        let bytes = compact(&prog);
        let p = Compact::parse(bytes.as_bytes()).unwrap();
        for _ in 0..2 {
            let x = random_input(&mut r, m, in_bits, in_signed);
            assert_eq!(
                run_on_mock(&mut t, &p, &x),
                prog.run_reference(&x).unwrap(),
                "seed {seed}"
            );
        }
        assert!(t.bus().violations.is_empty());
    }
}

#[test]
fn random_conv_programs_bit_exact() {
    for seed in 0..25u64 {
        let mut r = rng("random_conv_programs_bit_exact", seed);
        let mut t = probe(DEFAULT_CAPS);
        // Every fifth seed has a 1-bit input with padding (runs as 2-bit signed).
        let in_bits = if seed % 5 == 0 {
            1
        } else {
            r.gen_range(1..=8u8)
        };
        let in_signed = in_bits > 1 && r.gen_bool(0.5);
        let pad = (seed % 5 == 0).then_some(1);
        let conv = random_conv_program(&mut r, in_bits, in_signed, 8, pad, &RQ);
        let (prog, (c, h, w), (oh, ow), pad) = (conv.prog, conv.chw, conv.out_hw, conv.pad);
        let bytes = compact(&prog);
        let p = Compact::parse(bytes.as_bytes()).unwrap();
        let x = random_input(&mut r, c * h * w, in_bits, in_signed);
        assert_eq!(
            run_on_mock(&mut t, &p, &x),
            prog.run_reference(&x).unwrap(),
            "seed {seed}"
        );
        let log = &t.bus().job_log;
        assert_eq!(
            log.len(),
            oh * ow + 1,
            "one job per position, then the linear stage"
        );
        let want_abits = if in_bits == 1 && pad > 0 {
            rm::job_abits(2, true) // 1-bit input with padding runs as 2-bit signed
        } else {
            rm::job_abits(in_bits as u32, in_signed)
        };
        assert_eq!(log[0][3], want_abits, "seed {seed}");
        assert!(t.bus().violations.is_empty());
    }
}

#[test]
fn run_layer_single_stage_and_buffer_checks() {
    let mut r = rng("run_layer_single_stage_and_buffer_checks", 21);
    let mut t = probe(DEFAULT_CAPS);
    let s1 = random_dense(&mut r, 30, 50, None, io(4, true, Activation::Relu, 6), &RQ);
    let s2 = random_dense(
        &mut r,
        5,
        30,
        None,
        io(6, false, Activation::Logits, 8),
        &RQ,
    );
    let want1 = |x: &[i32]| s1.requantize(&s1.accumulators_reference(x, None));
    let prog = program(
        vec![50],
        4,
        true,
        vec![Stage::Dense(s1.clone()), Stage::Dense(s2)],
    );
    let bytes = compact(&prog);
    let p = Compact::parse(bytes.as_bytes()).unwrap();
    let Some(CStage::Dense(d)) = p.stages().next() else {
        panic!("dense first")
    };
    let x = random_input(&mut r, 50, 4, true);
    let mut acc = vec![(0, 0); d.geom.distinct_rows()];
    let mut out = vec![0i64; 30];
    let stats = t.run_layer(&d, &x, &mut acc, &mut out).unwrap();
    assert_eq!(out, want1(&x));
    assert_eq!(stats.jobs, 1);
    // Wrong lengths and out-of-range values are typed errors.
    assert_eq!(
        t.run_layer(&d, &x[..49], &mut acc, &mut out),
        Err(DriverError::InputLength {
            expected: 50,
            found: 49
        })
    );
    assert!(matches!(
        t.run_layer(&d, &x, &mut acc, &mut out[..29]),
        Err(DriverError::BufferTooSmall { buffer: "out", .. })
    ));
    let mut bad = x.clone();
    bad[7] = 8;
    assert!(matches!(
        t.run_layer(&d, &bad, &mut acc, &mut out),
        Err(DriverError::InputOutOfRange { index: 7, .. })
    ));
    let mut bufs = Buffers::for_program(&p);
    bufs.acc.pop();
    assert!(matches!(
        t.run_program(&p, &x, &mut bufs.scratch(), &mut [0; 5]),
        Err(DriverError::BufferTooSmall { buffer: "acc", .. })
    ));
}

/// The published reference MLP (784-128-10, p = 4), quantized with 300
/// training images, run through the driver and the mock core on 200 test
/// images: logits bit-exact with the golden integer path.
#[test]
fn mnist_reference_model_bit_exact() {
    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let model = tbn_golden::load_model(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let train = tbn_golden::idx::read_images(format!("{ROOT}/mnist/train10k-images-idx3-ubyte.gz"))
        .unwrap();
    let calib: Vec<Vec<f32>> = (0..300).map(|i| train.image_f32(i)).collect();
    let prog = integer::quantize(&model, &calib, &integer::QuantConfig::default()).unwrap();
    let bytes = AlignedBytes::new(&convert::program_bytes(&prog, Some(&model)).unwrap());
    let p = Compact::parse(bytes.as_bytes()).unwrap();
    let images =
        tbn_golden::idx::read_images(format!("{ROOT}/mnist/t10k-images-idx3-ubyte.gz")).unwrap();
    let labels =
        tbn_golden::idx::read_labels(format!("{ROOT}/mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    let mut t = probe(DEFAULT_CAPS);
    let mut bufs = Buffers::for_program(&p);
    let (mut correct, mut jobs, mut cycles) = (0, 0, 0);
    let n = 200;
    for (i, &label) in labels.iter().enumerate().take(n) {
        let x = integer::mnist_input(images.image(i));
        let stats = run_prog(&mut t, &p, &x, &mut bufs).unwrap();
        assert_eq!(bufs.logits, prog.run(&x).unwrap(), "image {i}");
        jobs += stats.jobs;
        cycles += stats.cycles;
        correct += usize::from(tbn_driver::kernel::argmax(&bufs.logits) == label as usize);
    }
    assert_eq!(jobs, 2 * n as u32, "one job per layer");
    // fc1: D = 32 distinct rows of 784 inputs, A = 8; fc2: D = 10 rows of 128, A = 8.
    let per_image = (32 * 784u64.div_ceil(32) * 8 + 7) + (10 * 128u64.div_ceil(32) * 8 + 7);
    assert_eq!(cycles, per_image * n as u64);
    println!(
        "mnist through the mock core: {correct}/{n} correct, {per_image} modelled cycles per image"
    );
    assert!(correct >= 180, "{correct}/{n}");
    assert!(t.bus().violations.is_empty());

    // The same model over the SPI bridge: bit-exact, and the link traffic.
    let core = Rc::new(RefCell::new(MockCore::new(DEFAULT_CAPS)));
    let mut t = Tbn::probe(SpiBus::new(BridgeSpi {
        core: core.clone(),
        frames: vec![],
        fail: false,
        quad_sck: 0,
    }))
    .unwrap();
    t.bus().device().frames.clear();
    let x = integer::mnist_input(images.image(0));
    run_prog(&mut t, &p, &x, &mut bufs).unwrap();
    assert_eq!(bufs.logits, prog.run(&x).unwrap());
    let frames = &t.bus().device().frames;
    let bytes: usize = frames.iter().map(|f| f.0.len()).sum();
    println!(
        "mnist over SPI: {} frames, {bytes} bytes per image (polls answered after {} status reads)",
        frames.len(),
        core.borrow().busy_polls
    );
    assert!(bytes < 6000, "{bytes} SPI bytes per image");
}

// ---------------------------------------------------------------------------
// Buses
// ---------------------------------------------------------------------------

#[test]
fn mmio_bus_volatile_access() {
    let mut mem = vec![0u32; (rm::SPAN_BYTES / 4) as usize];
    let base = mem.as_mut_ptr() as usize;
    // SAFETY: `mem` is a live, aligned buffer of SPAN_BYTES bytes that outlives `bus`.
    let mut bus = unsafe { MmioBus::new(base) };
    assert_eq!(bus.base(), base);
    bus.write32(rm::SCRATCH, 0x1234_5678).unwrap();
    bus.write_block(rm::TILE_BASE + 8, &[1, 2, 3]).unwrap();
    assert_eq!(bus.read32(rm::SCRATCH).unwrap(), 0x1234_5678);
    let mut back = [0u32; 3];
    bus.read_block(rm::TILE_BASE + 8, &mut back).unwrap();
    assert_eq!(back, [1, 2, 3]);
    assert_eq!(
        bus.read32(2),
        Err(BusError::Misaligned {
            op: BusOp::Read,
            addr: 2
        })
    );
    assert_eq!(
        bus.write32(rm::SPAN_BYTES, 0),
        Err(BusError::OutOfRange {
            op: BusOp::Write,
            addr: rm::SPAN_BYTES,
            words: 1
        })
    );
    assert!(bus.write_block(rm::SPAN_BYTES - 4, &[0, 0]).is_err());
    // The bus is not used past this point; read the memory it wrote.
    assert_eq!(mem[(rm::SCRATCH / 4) as usize], 0x1234_5678);
    assert_eq!(
        mem[(rm::TILE_BASE / 4) as usize + 4],
        3,
        "TILE_BASE + 8 is word 2"
    );
    assert_eq!(mem.iter().filter(|w| **w != 0).count(), 4);
}

#[test]
fn spi_framing_matches_the_bridge() {
    let core = Rc::new(RefCell::new(MockCore::new(DEFAULT_CAPS)));
    let mut bus = SpiBus::new(BridgeSpi {
        core: core.clone(),
        frames: vec![],
        fail: false,
        quad_sck: 0,
    });
    // Single write: 02 A2 A1 A0 D3 D2 D1 D0.
    bus.write32(rm::TILE_BASE + 4, 0x1122_3344).unwrap();
    assert_eq!(
        bus.device().frames[0].0,
        [0x02, 0x04, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44]
    );
    assert_eq!(core.borrow().tile[1], 0x1122_3344);
    // Single read: 03 A2 A1 A0 XX then 4 data bytes on MISO.
    assert_eq!(bus.read32(rm::ID_MAGIC).unwrap(), rm::MAGIC);
    let (mosi, miso) = &bus.device().frames[1];
    assert_eq!(mosi[..4], [0x03, 0x00, 0x00, 0x00]);
    assert_eq!(
        mosi.len(),
        9,
        "command, 3 address bytes, turnaround, 4 data bytes"
    );
    assert_eq!(miso[5..], rm::MAGIC.to_be_bytes());
    assert_eq!(bus.read32(rm::SCRATCH).unwrap(), 0);
    bus.write32(rm::SCRATCH, 0xCAFE_F00D).unwrap();
    assert_eq!(bus.read32(rm::SCRATCH).unwrap(), 0xCAFE_F00D);
    // Bursts: split into frames of SPI_MAX_BURST_WORDS words, addresses advancing.
    let words: Vec<u32> = (0..150u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
    bus.device().frames.clear();
    bus.write_block(rm::ACT_BASE + 0x100, &words).unwrap();
    let frames: Vec<Vec<u8>> = bus.device().frames.iter().map(|f| f.0.clone()).collect();
    assert_eq!(frames.len(), 150usize.div_ceil(SPI_MAX_BURST_WORDS));
    let mut addr = rm::ACT_BASE + 0x100;
    for (f, chunk) in frames.iter().zip(words.chunks(SPI_MAX_BURST_WORDS)) {
        assert_eq!(f[0], 0x02);
        assert_eq!(f[1..4], addr.to_be_bytes()[1..]);
        assert_eq!(f.len(), 4 + 4 * chunk.len());
        for (b, w) in f[4..].chunks(4).zip(chunk) {
            assert_eq!(b, w.to_be_bytes());
        }
        addr += 4 * chunk.len() as u32;
    }
    assert_eq!(core.borrow().act[0x40..0x40 + 150], words[..]);
    // Burst reads (of the OUT window, which the model fills directly).
    core.borrow_mut().out[2..152].copy_from_slice(&words);
    let mut back = vec![0u32; 150];
    bus.device().frames.clear();
    bus.read_block(rm::OUT_BASE + 8, &mut back).unwrap();
    assert_eq!(back, words);
    assert_eq!(bus.device().frames.len(), 3);
    assert_eq!(
        bus.device().frames[1].0[..4],
        [0x03, 0x01, 0x01, 0x08],
        "second frame: read at OUT_BASE + 8 + 256"
    );
    assert_eq!(bus.device().frames[2].0.len(), 5 + 4 * 22);
    // Errors: alignment and range checked before any frame; SPI errors typed.
    let n = bus.device().frames.len();
    assert!(matches!(bus.read32(3), Err(BusError::Misaligned { .. })));
    assert!(matches!(
        bus.write_block(rm::SPAN_BYTES - 8, &[0; 3]),
        Err(BusError::OutOfRange { .. })
    ));
    assert_eq!(bus.device().frames.len(), n);
    bus.device().fail = true;
    assert_eq!(
        bus.read32(rm::STATUS),
        Err(BusError::Spi {
            op: BusOp::Read,
            addr: rm::STATUS,
            kind: ErrorKind::ChipSelectFault
        })
    );
}

#[test]
fn driver_over_spi_runs_a_program() {
    let mut r = rng("driver_over_spi_runs_a_program", 99);
    let core = Rc::new(RefCell::new(MockCore::new(DEFAULT_CAPS)));
    let bus = SpiBus::new(BridgeSpi {
        core: core.clone(),
        frames: vec![],
        fail: false,
        quad_sck: 0,
    });
    let mut t = Tbn::probe(bus).unwrap();
    assert_eq!(t.config().lanes, 32);
    let s1 = random_dense(&mut r, 40, 90, None, io(3, true, Activation::Sign, 1), &RQ);
    let s2 = random_dense(
        &mut r,
        7,
        40,
        None,
        io(1, false, Activation::Logits, 8),
        &RQ,
    );
    let prog = program(vec![90], 3, true, vec![Stage::Dense(s1), Stage::Dense(s2)]);
    let bytes = compact(&prog);
    let p = Compact::parse(bytes.as_bytes()).unwrap();
    let mut bufs = Buffers::for_program(&p);
    for _ in 0..3 {
        let x = random_input(&mut r, 90, 3, true);
        run_prog(&mut t, &p, &x, &mut bufs).unwrap();
        assert_eq!(bufs.logits, prog.run_reference(&x).unwrap());
    }
    assert!(core.borrow().violations.is_empty());
    let frames = t.bus().device().frames.len();
    println!("3 inferences over SPI: {frames} frames");
}
