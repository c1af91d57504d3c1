//! The feature-map unit (`tbn_hdl::mapunit::MapUnit`) on its own, driven
//! cycle by cycle and checked against maps kept here: the host's input
//! bytes written into region 0 and gathered back in order; max-pool layers
//! (2/2, 3/2, 1/1, signed and unsigned, CHW and HWC inputs) against a
//! reference maximum; every position's conv patch (kernels 1..4, non-square,
//! stride 1..2, padding 0..2, the `x2` sign conversion) against section 9's
//! im2col; output rows written at `position x ROWS + r`; a cancel mid-gather.
//! The recorded stimulus then runs the emitted Verilog under Icarus in
//! lockstep with the rust-hdl model. Seeds printed (`TBN_SEED`). Verilator lint.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use tbn_hdl::mapunit::MapUnit;
use tbn_hdl::rtlsim::{block_verilog, lockstep, settle, Lockstep};
use tbn_hdl::testbench::have_tool;

/// Input indices of the unit's lockstep vector.
mod port {
    pub const CANCEL: usize = 0;
    pub const L_START: usize = 1;
    pub const OP_CONV: usize = 2;
    pub const OP_POOL: usize = 3;
    pub const IN_HWC: usize = 4;
    /// in_c, in_h, in_w, kh, kw, stride, pad, out_h, out_w
    pub const GEOM: usize = 5;
    pub const M: usize = 14;
    pub const SRC: usize = 15;
    pub const DST: usize = 16;
    pub const X2: usize = 17;
    pub const POOL_SIGNED: usize = 18;
    pub const G_GO: usize = 19;
    pub const O_WE: usize = 20;
    pub const O_ROW: usize = 21;
    pub const O_Y: usize = 22;
    pub const O_NEXT: usize = 23;
    pub const ROWS: usize = 24;
    pub const IN_WE: usize = 25;
    pub const IN_FIRST: usize = 26;
    pub const IN_DATA: usize = 27;
    pub const COUNT: usize = 28;
}

/// Output indices.
mod out {
    pub const G_VALID: usize = 0;
    pub const G_Y: usize = 1;
    pub const G_LAST: usize = 2;
    pub const G_BUSY: usize = 3;
    pub const WALK_END: usize = 4;
    pub const POOL_BUSY: usize = 5;
}

const REGION: usize = 1024;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0014)
}

/// A map geometry (the input's and the layer's).
#[derive(Clone, Copy, Debug)]
struct Geom {
    hwc: bool,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: usize,
    pad: usize,
}

impl Geom {
    fn out(&self) -> (usize, usize) {
        (
            (self.h + 2 * self.pad - self.kh) / self.s + 1,
            (self.w + 2 * self.pad - self.kw) / self.s + 1,
        )
    }

    fn index(&self, c: usize, y: usize, x: usize) -> usize {
        if self.hwc {
            (y * self.w + x) * self.c + c
        } else {
            (c * self.h + y) * self.w + x
        }
    }
}

/// The unit, its held inputs and the recorded stimulus.
struct Tb {
    u: MapUnit,
    cur: Vec<u128>,
    rec: Vec<Vec<u128>>,
    /// The gathered stream since the last `take`: (value, last).
    got: Vec<(u8, bool)>,
}

impl Tb {
    fn new() -> Self {
        let mut u = MapUnit::new(REGION);
        u.connect_all();
        u.clk.next = Clock { clk: false };
        settle(&mut u).unwrap();
        Tb {
            u,
            cur: vec![0; port::COUNT],
            rec: Vec::new(),
            got: Vec::new(),
        }
    }

    fn o(&self, i: usize) -> u128 {
        self.u.output(i)
    }

    /// One cycle with the held inputs and `pulses` set for it.
    fn step(&mut self, pulses: &[(usize, u128)]) {
        let mut v = self.cur.clone();
        for &(i, x) in pulses {
            v[i] = x;
        }
        for (i, &x) in v.iter().enumerate() {
            self.u.set_input(i, x);
        }
        settle(&mut self.u).unwrap();
        if self.o(out::G_VALID) == 1 {
            self.got
                .push((self.o(out::G_Y) as u8, self.o(out::G_LAST) == 1));
        }
        self.rec.push(v);
        self.u.clk.next = Clock { clk: true };
        settle(&mut self.u).unwrap();
        self.u.clk.next = Clock { clk: false };
        settle(&mut self.u).unwrap();
    }

    fn wait_while(&mut self, o: usize) {
        for _ in 0..3 {
            self.step(&[]);
        }
        let mut n = 0;
        while self.o(o) == 1 {
            self.step(&[]);
            n += 1;
            assert!(n < 100_000, "output {o} stays high");
        }
    }

    fn set_geom(&mut self, g: &Geom) {
        let (oh, ow) = g.out();
        self.cur[port::IN_HWC] = u128::from(g.hwc);
        for (k, v) in [g.c, g.h, g.w, g.kh, g.kw, g.s, g.pad, oh, ow]
            .into_iter()
            .enumerate()
        {
            self.cur[port::GEOM + k] = v as u128;
        }
    }

    /// The host's input bytes into region 0, a word every other cycle.
    fn write_input(&mut self, bytes: &[u8]) {
        for (k, ch) in bytes.chunks(4).enumerate() {
            let w = ch
                .iter()
                .enumerate()
                .fold(0u32, |a, (j, &b)| a | u32::from(b) << (8 * j));
            self.cur[port::IN_DATA] = u128::from(w);
            self.step(&[(port::IN_WE, 1), (port::IN_FIRST, u128::from(k == 0))]);
            self.step(&[]);
        }
    }

    /// The first `m` values of region `src`, gathered as a dense layer's.
    fn read_region(&mut self, src: u8, m: usize) -> Vec<u8> {
        self.cur[port::OP_CONV] = 0;
        self.cur[port::OP_POOL] = 0;
        self.cur[port::SRC] = u128::from(src);
        self.cur[port::M] = m as u128;
        self.cur[port::X2] = 0;
        self.got.clear();
        self.step(&[(port::G_GO, 1)]);
        self.wait_while(out::G_BUSY);
        let got = std::mem::take(&mut self.got);
        assert_eq!(got.len(), m, "gathered values");
        assert!(got.last().unwrap().1, "the last value is flagged");
        assert!(
            got[..m - 1].iter().all(|v| !v.1),
            "only the last is flagged"
        );
        got.into_iter().map(|v| v.0).collect()
    }
}

/// A random geometry whose input fits a region.
fn geom(r: &mut ChaCha8Rng, conv: bool) -> Geom {
    loop {
        let (kh, kw, s, pad) = if conv {
            let k = r.gen_range(1..=4);
            let kw = if r.gen_bool(0.25) {
                r.gen_range(1..=4)
            } else {
                k
            };
            (k, kw, r.gen_range(1..=2), r.gen_range(0..=2))
        } else {
            let (k, s) = [(2, 2), (3, 2), (1, 1), (2, 1)][r.gen_range(0..4)];
            (k, k, s, 0)
        };
        let g = Geom {
            hwc: r.gen_bool(0.5),
            c: r.gen_range(1..=6),
            h: r.gen_range(3..=12),
            w: r.gen_range(3..=12),
            kh,
            kw,
            s,
            pad,
        };
        if g.c * g.h * g.w <= REGION && g.h + 2 * pad >= kh && g.w + 2 * pad >= kw {
            return g;
        }
    }
}

#[test]
fn map_unit_against_reference_maps_and_verilog_in_lockstep() {
    let seed = seed();
    println!("seed {seed}");
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut tb = Tb::new();
    for round in 0..12 {
        // input bytes, gathered back in order
        let g = geom(&mut r, false);
        let n = g.c * g.h * g.w;
        let x: Vec<u8> = (0..n).map(|_| r.gen()).collect();
        tb.write_input(&x);
        assert_eq!(tb.read_region(0, n), x, "round {round}: the input");

        // max-pool region 0 -> 1, read back
        let signed = r.gen_bool(0.5);
        tb.set_geom(&g);
        tb.cur[port::OP_CONV] = 0;
        tb.cur[port::OP_POOL] = 1;
        tb.cur[port::SRC] = 0;
        tb.cur[port::DST] = 1;
        tb.cur[port::POOL_SIGNED] = u128::from(signed);
        tb.step(&[(port::L_START, 1)]);
        tb.wait_while(out::POOL_BUSY);
        let (oh, ow) = g.out();
        let key = |b: u8| {
            if signed {
                i32::from(b as i8)
            } else {
                i32::from(b)
            }
        };
        let mut want = Vec::new();
        for c in 0..g.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let best = (0..g.kh)
                        .flat_map(|ky| (0..g.kw).map(move |kx| (ky, kx)))
                        .map(|(ky, kx)| x[g.index(c, oy * g.s + ky, ox * g.s + kx)])
                        .max_by_key(|&b| key(b))
                        .unwrap();
                    want.push(best);
                }
            }
        }
        println!("round {round}: pool {g:?} signed {signed}");
        assert_eq!(tb.read_region(1, want.len()), want, "round {round}: pool");

        // every conv position's patch from region 1 (the pooled map)
        let pg = Geom {
            c: g.c,
            h: oh,
            w: ow,
            hwc: false,
            ..geom(&mut r, true)
        };
        if pg.h + 2 * pg.pad >= pg.kh && pg.w + 2 * pg.pad >= pg.kw {
            let x2 = r.gen_bool(0.3);
            println!("round {round}: conv {pg:?} x2 {x2}");
            tb.set_geom(&pg);
            tb.cur[port::OP_CONV] = 1;
            tb.cur[port::OP_POOL] = 0;
            tb.cur[port::SRC] = 1;
            tb.cur[port::X2] = u128::from(x2);
            tb.step(&[(port::L_START, 1)]);
            let (ch, cw) = pg.out();
            for oy in 0..ch {
                for ox in 0..cw {
                    assert_eq!(tb.o(out::WALK_END), 0);
                    tb.got.clear();
                    tb.step(&[(port::G_GO, 1)]);
                    tb.wait_while(out::G_BUSY);
                    let mut patch = Vec::new();
                    for c in 0..pg.c {
                        for ky in 0..pg.kh {
                            for kx in 0..pg.kw {
                                let iy = (oy * pg.s + ky) as i64 - pg.pad as i64;
                                let ix = (ox * pg.s + kx) as i64 - pg.pad as i64;
                                let inside = (0..pg.h as i64).contains(&iy)
                                    && (0..pg.w as i64).contains(&ix);
                                let v = if !inside {
                                    0
                                } else {
                                    let b = want[pg.index(c, iy as usize, ix as usize)];
                                    match (x2, b & 1) {
                                        (false, _) => b,
                                        (true, 1) => 1,
                                        (true, _) => 0xFF,
                                    }
                                };
                                patch.push(v);
                            }
                        }
                    }
                    let got: Vec<u8> = tb.got.iter().map(|v| v.0).collect();
                    assert_eq!(got, patch, "round {round}: position ({oy}, {ox})");
                    assert!(tb.got.last().unwrap().1, "patch end flagged");
                }
            }
            assert_eq!(
                tb.o(out::WALK_END),
                1,
                "the walk ends with the last position"
            );
        }

        // output rows at position x ROWS + r into region 2
        let (rows, positions) = (r.gen_range(1..=5), r.gen_range(1..=4));
        tb.cur[port::DST] = 2;
        tb.cur[port::OP_CONV] = 0;
        tb.cur[port::OP_POOL] = 0;
        tb.cur[port::ROWS] = rows as u128;
        tb.step(&[(port::L_START, 1)]);
        let ys: Vec<u8> = (0..rows * positions).map(|_| r.gen()).collect();
        for p in 0..positions {
            for row in 0..rows {
                tb.step(&[
                    (port::O_WE, 1),
                    (port::O_ROW, row as u128),
                    (port::O_Y, u128::from(ys[p * rows + row])),
                ]);
            }
            tb.step(&[(port::O_NEXT, 1)]);
        }
        tb.step(&[]);
        assert_eq!(tb.read_region(2, ys.len()), ys, "round {round}: outputs");

        // a cancel mid-gather stops it at once
        tb.cur[port::SRC] = 0;
        tb.cur[port::M] = n as u128;
        tb.step(&[(port::G_GO, 1)]);
        tb.step(&[]);
        tb.step(&[(port::CANCEL, 1)]);
        tb.step(&[]);
        assert_eq!(tb.o(out::G_BUSY), 0, "cancelled");
        tb.got.clear();
    }
    println!("{} cycles", tb.rec.len());
    if have_tool("iverilog") {
        let mut b = MapUnit::new(REGION);
        let v = block_verilog(&mut b);
        let mut b = MapUnit::new(REGION);
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        lockstep(&mut b, &v, "top", &tb.rec, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
    }
}

/// The unit's Verilog is Verilator-lint clean.
#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut MapUnit::new(REGION));
}
