//! The feature-map walker (`tbn_hdl::mapwalk`): the element stream it emits
//! (sampled in the cycles with `ready` and `advance` high, `advance` stalled
//! at random) against a straightforward enumeration of docs/model-image.md
//! section 9's formulas, written here; its cycle model against its rust-hdl
//! model and both against the Verilog under Icarus cycle by cycle; a few
//! geometries against `tbn_driver`'s `LayerGeom::in_index`; the trained CNN's
//! four map layers.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::Block;
use tbn_hdl::mapwalk::{MapWalkModel, MapWalker, WalkGeom, WalkIn, WalkOut, FIRST_LATENCY};
use tbn_hdl::rtlsim::{block_verilog, lockstep, run_model};
use tbn_hdl::testbench::have_tool;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0013)
}

/// One element of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Elem {
    valid: bool,
    /// Map index (None: padding, don't-care).
    addr: Option<u32>,
    first_in_window: bool,
    last_in_window: bool,
    last_in_patch: bool,
    last: bool,
}

/// Index of `(c, y, x)` in the input map (section 9, "Map layouts").
fn index(g: &WalkGeom, c: u32, y: u32, x: u32) -> u32 {
    if g.in_hwc {
        (y * g.w + x) * g.c + c
    } else {
        (c * g.h + y) * g.w + x
    }
}

/// The stream of section 9: conv, per position (oy, ox) row-major, the
/// patch in (c, ky, kx) order from (c, oy S + ky - PAD, ox S + kx - PAD);
/// max-pool, per output (c, oy, ox), the window (ky, kx) from
/// (c, oy S + ky, ox S + kx).
fn enumerate(g: &WalkGeom) -> Vec<Elem> {
    let mut v = Vec::new();
    let (s, p) = (g.stride as i64, g.pad as i64);
    if g.conv {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for c in 0..g.c {
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = oy as i64 * s + ky as i64 - p;
                            let ix = ox as i64 * s + kx as i64 - p;
                            let valid = iy >= 0 && ix >= 0 && iy < g.h as i64 && ix < g.w as i64;
                            let lw = ky + 1 == g.kh && kx + 1 == g.kw;
                            let lp = lw && c + 1 == g.c;
                            v.push(Elem {
                                valid,
                                addr: valid.then(|| index(g, c, iy as u32, ix as u32)),
                                first_in_window: ky == 0 && kx == 0,
                                last_in_window: lw,
                                last_in_patch: lp,
                                last: lp && oy + 1 == g.out_h && ox + 1 == g.out_w,
                            });
                        }
                    }
                }
            }
        }
    } else {
        for c in 0..g.c {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let lw = ky + 1 == g.kh && kx + 1 == g.kw;
                            let (iy, ix) = (oy * g.stride + ky, ox * g.stride + kx);
                            assert!(iy < g.h && ix < g.w, "{g:?}: window outside the map");
                            v.push(Elem {
                                valid: true,
                                addr: Some(index(g, c, iy, ix)),
                                first_in_window: ky == 0 && kx == 0,
                                last_in_window: lw,
                                last_in_patch: false,
                                last: lw && c + 1 == g.c && oy + 1 == g.out_h && ox + 1 == g.out_w,
                            });
                        }
                    }
                }
            }
        }
    }
    v
}

fn conv_geom(rng: &mut impl Rng) -> WalkGeom {
    loop {
        let mut g = WalkGeom {
            conv: true,
            in_hwc: rng.gen_bool(0.5),
            c: rng.gen_range(1..=16),
            h: rng.gen_range(1..=30),
            w: rng.gen_range(1..=30),
            kh: rng.gen_range(1..=5),
            kw: rng.gen_range(1..=5),
            stride: rng.gen_range(1..=2),
            pad: rng.gen_range(0..=2),
            ..Default::default()
        };
        if rng.gen_bool(0.5) {
            g.kw = g.kh;
        }
        let (ph, pw) = (g.h + 2 * g.pad, g.w + 2 * g.pad);
        if ph >= g.kh && pw >= g.kw {
            g.out_h = (ph - g.kh) / g.stride + 1;
            g.out_w = (pw - g.kw) / g.stride + 1;
            return g;
        }
    }
}

fn pool_geom(rng: &mut impl Rng) -> WalkGeom {
    let (k, s) = [(2, 2), (3, 2), (1, 1)][rng.gen_range(0..3)];
    let (h, w) = (rng.gen_range(k..=30), rng.gen_range(k..=30));
    WalkGeom {
        conv: false,
        in_hwc: rng.gen_bool(0.5),
        c: rng.gen_range(1..=16),
        h,
        w,
        kh: k,
        kw: k,
        stride: s,
        pad: 0,
        out_h: (h - k) / s + 1,
        out_w: (w - k) / s + 1,
    }
}

/// One walk's stimulus: START, then cycles with `advance` high with
/// probability `p_adv` until every element is consumed (or `cancel_at`
/// cycles after START), then three idle cycles.
struct Walk {
    g: WalkGeom,
    p_adv: f64,
    cancel_at: Option<usize>,
}

/// Per-cycle inputs of `walks` one after the other, and the cycles of each
/// walk (START's, one past its last).
fn stimulus(rng: &mut impl Rng, walks: &[Walk]) -> (Vec<WalkIn>, Vec<(usize, usize)>) {
    let mut v = Vec::new();
    let mut ranges = Vec::new();
    for w in walks {
        let start = v.len();
        v.push(WalkIn {
            start: Some(w.g),
            cancel: false,
            advance: rng.gen_bool(0.5),
        });
        let n = enumerate(&w.g).len();
        let mut consumed = 0;
        let mut k = 1;
        loop {
            let adv = rng.gen_bool(w.p_adv);
            let cancel = w.cancel_at == Some(k);
            if k >= FIRST_LATENCY && adv && consumed < n {
                consumed += 1;
            }
            v.push(WalkIn {
                start: None,
                cancel,
                advance: adv,
            });
            k += 1;
            if cancel || (consumed == n && k > FIRST_LATENCY) {
                break;
            }
        }
        for _ in 0..3 {
            v.push(WalkIn {
                start: None,
                cancel: false,
                advance: rng.gen_bool(0.5),
            });
        }
        ranges.push((start, v.len()));
    }
    (v, ranges)
}

/// The port vectors of the rust-hdl block (descriptor inputs garbage
/// outside START's cycle: they must be sampled).
fn port_vectors(rng: &mut impl Rng, stim: &[WalkIn]) -> Vec<Vec<u128>> {
    stim.iter()
        .map(|i| {
            let g = i.start.unwrap_or(WalkGeom {
                conv: rng.gen_bool(0.5),
                in_hwc: rng.gen_bool(0.5),
                c: rng.gen_range(0..256),
                h: rng.gen_range(0..256),
                w: rng.gen_range(0..256),
                kh: rng.gen_range(0..16),
                kw: rng.gen_range(0..16),
                stride: rng.gen_range(0..16),
                pad: rng.gen_range(0..16),
                out_h: rng.gen_range(0..256),
                out_w: rng.gen_range(0..256),
            });
            vec![
                i.start.is_some() as u128,
                i.cancel as u128,
                i.advance as u128,
                g.conv as u128,
                g.in_hwc as u128,
                g.c as u128,
                g.h as u128,
                g.w as u128,
                g.kh as u128,
                g.kw as u128,
                g.stride as u128,
                g.pad as u128,
                g.out_h as u128,
                g.out_w as u128,
            ]
        })
        .collect()
}

/// The block's port outputs as a [`WalkOut`].
fn from_ports(o: &[u128]) -> WalkOut {
    WalkOut {
        ready: o[0] == 1,
        valid: o[1] == 1,
        addr: o[2] as u32,
        first_in_window: o[3] == 1,
        last_in_window: o[4] == 1,
        last_in_patch: o[5] == 1,
        last: o[6] == 1,
        busy: o[7] == 1,
        done: o[8] == 1,
    }
}

/// Checks the outputs `out` of `walks` (one per cycle of `stim`): the
/// elements consumed equal the enumeration, in order, with the handshake's
/// timing. Returns the elements consumed per walk.
fn check(
    what: &str,
    seed: u64,
    walks: &[Walk],
    stim: &[WalkIn],
    ranges: &[(usize, usize)],
    out: &[WalkOut],
) -> Vec<usize> {
    let mut counts = Vec::new();
    for (k, w) in walks.iter().enumerate() {
        let g = &w.g;
        let (start, end) = ranges[k];
        let want = enumerate(g);
        let mut got = Vec::new();
        let mut done_at = None;
        for t in start..end {
            let o = &out[t];
            let rel = t - start;
            if (1..FIRST_LATENCY).contains(&rel) && w.cancel_at.is_none_or(|c| rel <= c) {
                assert!(
                    o.busy && !o.ready,
                    "{what} seed {seed}: {g:?} setup in cycle {rel}"
                );
            }
            if rel == FIRST_LATENCY && w.cancel_at.is_none_or(|c| c >= FIRST_LATENCY) {
                assert!(o.ready, "{what} seed {seed}: {g:?} first element at {rel}");
            }
            if o.done {
                assert!(done_at.is_none(), "{what} seed {seed}: {g:?} one done");
                done_at = Some(t);
            }
            assert_eq!(
                o.busy,
                (o.ready || ((1..FIRST_LATENCY).contains(&rel)))
                    && w.cancel_at.is_none_or(|c| rel <= c),
                "{what} seed {seed}: {g:?} busy in cycle {rel}"
            );
            if o.ready && stim[t].advance {
                let i = got.len();
                let e = want.get(i).unwrap_or_else(|| {
                    panic!("{what} seed {seed}: {g:?} element {i} past the end")
                });
                let mine = Elem {
                    valid: o.valid,
                    addr: o.valid.then_some(o.addr),
                    first_in_window: o.first_in_window,
                    last_in_window: o.last_in_window,
                    last_in_patch: o.last_in_patch,
                    last: o.last,
                };
                assert_eq!(mine, *e, "{what} seed {seed}: {g:?} element {i}");
                got.push(mine);
            }
        }
        match w.cancel_at {
            None => {
                assert_eq!(got.len(), want.len(), "{what} seed {seed}: {g:?} elements");
                let last = (start..end)
                    .rev()
                    .find(|&t| out[t].ready && stim[t].advance)
                    .expect("a last element");
                assert_eq!(done_at, Some(last + 1), "{what} seed {seed}: {g:?} done");
                assert!(!out[end - 1].busy && !out[end - 1].ready);
            }
            Some(_) => {
                assert!(done_at.is_none() && !out[end - 1].busy && !out[end - 1].ready);
            }
        }
        counts.push(got.len());
    }
    counts
}

fn run_cycle_model(stim: &[WalkIn]) -> Vec<WalkOut> {
    let mut m = MapWalkModel::new(16);
    stim.iter().map(|i| m.cycle(i)).collect()
}

/// The rust-hdl block on `stim` (in lockstep with its Verilog under Icarus
/// when installed), its outputs compared with the cycle model's (the
/// element outputs where `ready`; the handshake every cycle).
fn run_block(rng: &mut impl Rng, stim: &[WalkIn], seed: u64) -> Vec<WalkOut> {
    let ports = port_vectors(rng, stim);
    let raw = if have_tool("iverilog") {
        let mut b = MapWalker::<16>::default();
        let v = block_verilog(&mut b);
        let mut b = MapWalker::<16>::default();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        // cycle 0 holds registers at their initial values in both
        lockstep(&mut b, &v, "top", &ports, 1, dir.path()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
        let mut b = MapWalker::<16>::default();
        b.connect_all();
        run_model(&mut b, &ports).unwrap()
    };
    let out: Vec<WalkOut> = raw.iter().map(|o| from_ports(o)).collect();
    let model = run_cycle_model(stim);
    for (t, (o, m)) in out.iter().zip(&model).enumerate() {
        assert_eq!(
            (o.ready, o.busy, o.done),
            (m.ready, m.busy, m.done),
            "seed {seed}: cycle {t}: handshake, block vs cycle model"
        );
        if m.ready {
            assert_eq!(o, m, "seed {seed}: cycle {t}: block vs cycle model");
        }
    }
    out
}

#[test]
fn cycle_model_matches_enumeration_on_random_geometries() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut walks = Vec::new();
    for k in 0..400 {
        let g = if k % 2 == 0 {
            conv_geom(&mut rng)
        } else {
            pool_geom(&mut rng)
        };
        let p_adv = [1.0, 0.7, 0.3][rng.gen_range(0..3)];
        let cancel_at = rng
            .gen_bool(0.05)
            .then(|| rng.gen_range(1..FIRST_LATENCY + 50));
        walks.push(Walk {
            g,
            p_adv,
            cancel_at,
        });
    }
    let count = |f: &dyn Fn(&WalkGeom) -> bool| walks.iter().filter(|w| f(&w.g)).count();
    println!(
        "{} walks: conv {} (HWC {}, padded {}, non-square kernel {}, stride 2 {}), max-pool {} (HWC {})",
        walks.len(),
        count(&|g| g.conv),
        count(&|g| g.conv && g.in_hwc),
        count(&|g| g.conv && g.pad > 0),
        count(&|g| g.conv && g.kh != g.kw),
        count(&|g| g.conv && g.stride == 2),
        count(&|g| !g.conv),
        count(&|g| !g.conv && g.in_hwc),
    );
    let (stim, ranges) = stimulus(&mut rng, &walks);
    let out = run_cycle_model(&stim);
    let n = check("model", seed, &walks, &stim, &ranges, &out);
    println!(
        "{} elements in {} cycles",
        n.iter().sum::<usize>(),
        stim.len()
    );
}

#[test]
fn block_and_verilog_match_cycle_model_and_enumeration() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb10c);
    let mut walks = Vec::new();
    // small maps (the rust-hdl simulation is slow): C, H, W bounded
    while walks.len() < 200 {
        let mut g = if walks.len() % 2 == 0 {
            conv_geom(&mut rng)
        } else {
            pool_geom(&mut rng)
        };
        if enumerate(&g).len() > 2000 {
            continue;
        }
        if walks.len() == 2 {
            // one element
            g = WalkGeom {
                conv: true,
                in_hwc: false,
                c: 1,
                h: 1,
                w: 1,
                kh: 1,
                kw: 1,
                stride: 1,
                pad: 0,
                out_h: 1,
                out_w: 1,
            };
        }
        let p_adv = [1.0, 0.6][walks.len() % 2];
        let cancel_at = (walks.len() % 9 == 5).then(|| rng.gen_range(1..FIRST_LATENCY + 40));
        walks.push(Walk {
            g,
            p_adv,
            cancel_at,
        });
    }
    let count = |f: &dyn Fn(&Walk) -> bool| walks.iter().filter(|w| f(w)).count();
    println!(
        "{} walks (at most 2000 elements each): conv {} (HWC {}, padded {}, non-square kernel {}, stride 2 {}), max-pool {} (HWC {}), cancelled {}",
        walks.len(),
        count(&|w| w.g.conv),
        count(&|w| w.g.conv && w.g.in_hwc),
        count(&|w| w.g.conv && w.g.pad > 0),
        count(&|w| w.g.conv && w.g.kh != w.g.kw),
        count(&|w| w.g.conv && w.g.stride == 2),
        count(&|w| !w.g.conv),
        count(&|w| !w.g.conv && w.g.in_hwc),
        count(&|w| w.cancel_at.is_some()),
    );
    let (mut stim, mut ranges) = stimulus(&mut rng, &walks);
    // a restart: START while walking (5 elements in) begins the next walk
    let cut = stim.len();
    let g2 = conv_geom(&mut rng);
    let (s2, _) = stimulus(
        &mut rng,
        &[Walk {
            g: g2,
            p_adv: 1.0,
            cancel_at: None,
        }],
    );
    stim.extend_from_slice(&s2[..FIRST_LATENCY + 5]);
    walks.push(Walk {
        g: pool_geom(&mut rng),
        p_adv: 0.8,
        cancel_at: None,
    });
    let (s3, r3) = stimulus(&mut rng, &walks[walks.len() - 1..]);
    let at = stim.len();
    ranges.push((at + r3[0].0, at + r3[0].1));
    stim.extend_from_slice(&s3);
    let out = run_block(&mut rng, &stim, seed);
    assert!(
        out[cut + FIRST_LATENCY + 4].ready && out[cut + FIRST_LATENCY + 4].busy,
        "the interrupted walk was walking"
    );
    let n = check("block", seed, &walks, &stim, &ranges, &out);
    println!(
        "{} elements, {} cycles",
        n.iter().sum::<usize>(),
        stim.len()
    );
}

#[test]
fn addresses_equal_layer_geom_in_index() {
    use tbn_driver::image::format::{LayerGeom, MapShape, Op};
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1d);
    for k in 0..12 {
        let g = if k % 2 == 0 {
            conv_geom(&mut rng)
        } else {
            pool_geom(&mut rng)
        };
        let lg = LayerGeom {
            op: if g.conv { Op::Conv } else { Op::MaxPool },
            in_hwc: g.in_hwc,
            input: MapShape {
                c: g.c,
                h: g.h,
                w: g.w,
            },
            kh: g.kh,
            kw: g.kw,
            stride: g.stride,
            pad: g.pad,
            output: MapShape {
                c: if g.conv { 1 } else { g.c },
                h: g.out_h,
                w: g.out_w,
            },
            positions: g.out_h * g.out_w,
        };
        assert_eq!(
            lg.out_shape(lg.output.c).map(|s| (s.h, s.w)),
            Some((g.out_h, g.out_w))
        );
        // the driver's reads, in its executor's loop order
        let mut want = Vec::new();
        if g.conv {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for c in 0..g.c {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let iy = (oy * g.stride + ky).checked_sub(g.pad);
                                let ix = (ox * g.stride + kx).checked_sub(g.pad);
                                want.push(match (iy, ix) {
                                    (Some(iy), Some(ix)) if iy < g.h && ix < g.w => {
                                        Some(lg.in_index(c, iy, ix) as u32)
                                    }
                                    _ => None,
                                });
                            }
                        }
                    }
                }
            }
        } else {
            for c in 0..g.c {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                want.push(Some(lg.in_index(
                                    c,
                                    oy * g.stride + ky,
                                    ox * g.stride + kx,
                                ) as u32));
                            }
                        }
                    }
                }
            }
        }
        let walks = [Walk {
            g,
            p_adv: 0.5,
            cancel_at: None,
        }];
        let (stim, _) = stimulus(&mut rng, &walks);
        let got: Vec<Option<u32>> = run_cycle_model(&stim)
            .iter()
            .zip(&stim)
            .filter(|(o, i)| o.ready && i.advance)
            .map(|(o, _)| o.valid.then_some(o.addr))
            .collect();
        assert_eq!(got, want, "seed {seed}: {g:?}");
    }
}

#[test]
fn trained_cnn_layers_emit_positions_times_m() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc22);
    let layer = |conv: bool, in_hwc: bool, c, hw, k, s, pad, out| WalkGeom {
        conv,
        in_hwc,
        c,
        h: hw,
        w: hw,
        kh: k,
        kw: k,
        stride: s,
        pad,
        out_h: out,
        out_w: out,
    };
    // conv 1x28x28 k3 pad 1 (CHW input); max-pool 16x28x28 2/2 (HWC, conv1's
    // output); conv 16x14x14 k3 pad 1 (CHW, the pool's output); max-pool
    // 32x14x14 2/2 (HWC)
    let layers = [
        (layer(true, false, 1, 28, 3, 1, 1, 28), 784 * 9),
        (layer(false, true, 16, 28, 2, 2, 0, 14), 16 * 14 * 14 * 4),
        (layer(true, false, 16, 14, 3, 1, 1, 14), 196 * 144),
        (layer(false, true, 32, 14, 2, 2, 0, 7), 32 * 7 * 7 * 4),
    ];
    let walks: Vec<Walk> = layers
        .iter()
        .map(|(g, _)| Walk {
            g: *g,
            p_adv: 1.0,
            cancel_at: None,
        })
        .collect();
    let (stim, ranges) = stimulus(&mut rng, &walks);
    let out = run_block(&mut rng, &stim, seed);
    let n = check("cnn", seed, &walks, &stim, &ranges, &out);
    for ((g, want), got) in layers.iter().zip(&n) {
        println!("{g:?}: {got} elements");
        assert_eq!(got, want);
    }
    assert_eq!(n, vec![7056, 12544, 28224, 6272]);
}

#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut MapWalker::<16>::default());
}
