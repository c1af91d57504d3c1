//! The memories (`tbn_hdl::mem`: tile, activation and output memory): Rust
//! model vs emitted Verilog in lockstep under Icarus, with random byte-lane
//! writes and reads, against a plain image of the memory.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_hdl::mem::{ActMem, OutMem, TileMem};

#[test]
fn tile_memory_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 11;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // W = 32: tile_max 256, L 8 -> 9 words; W = 64: 10 words (L 64, tile_max 512)
    for (w, tile_max, lanes) in [(32usize, 256usize, 8usize), (64, 512, 64)] {
        let depth = (tile_max + lanes).div_ceil(w);
        let words32 = depth * w / 32;
        let mut stim = Vec::new();
        let mut image = vec![0u32; words32];
        // initialise every word, then random writes (random byte lanes) and reads
        for (a, slot) in image.iter_mut().enumerate() {
            let d: u32 = rng.gen();
            *slot = d;
            stim.push(vec![1, 0xF, a as u128, d as u128, 0, 0, 1]);
        }
        // bus writes land one cycle after the request (registered next to
        // the BRAMs): the first read that sees every initial write is the
        // one issued two cycles after the last
        let init = stim.len() + 2;
        for _ in 0..600 {
            let we = rng.gen_bool(0.3);
            let a = rng.gen_range(0..words32 + 4);
            let sel = rng.gen_range(0..16u32);
            let d: u32 = rng.gen();
            let rd = rng.gen_range(0..(depth - 1) * w);
            stim.push(vec![
                we as u128,
                sel as u128,
                a as u128,
                d as u128,
                rd as u128,
                0,
                1,
            ]);
        }
        let out = if w == 32 {
            run_lockstep(|| TileMem::<32>::new(tile_max, lanes), &stim, init)
        } else {
            run_lockstep(|| TileMem::<64>::new(tile_max, lanes), &stim, init)
        };
        // reference: registered read of words k and k+1 of the image at rd_bit
        for c in init..stim.len() {
            let prev = &stim[c - 1];
            // writes requested up to cycle c-3 are visible to the read of cycle c-1
            let k = prev[4] as usize / w;
            let word = |img: &[u32], k: usize| -> u128 {
                (0..w / 32).fold(0u128, |acc, j| {
                    acc | (*img.get(k * w / 32 + j).unwrap_or(&0) as u128) << (32 * j)
                })
            };
            assert_eq!(out[c][0], word(&image, k), "lo, cycle {c}");
            assert_eq!(out[c][1], word(&image, k + 1), "hi, cycle {c}");
            let req = &stim[c - 2];
            if req[0] == 1 && (req[2] as usize) < words32 {
                let a = req[2] as usize;
                for b in 0..4 {
                    if (req[1] >> b) & 1 == 1 {
                        let m = 0xFFu32 << (8 * b);
                        image[a] = (image[a] & !m) | (req[3] as u32 & m);
                    }
                }
            }
        }
    }
}

/// The single-port tile memory (`TileMem::single_port`, the UP5K's SPRAM
/// form): as the dual-port one, except that a write lands at the end of its
/// own cycle (no request register) and a bank's read register holds its
/// word in that cycle.
#[test]
fn single_port_tile_memory_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 13;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (w, tile_max, lanes) in [(32usize, 256usize, 8usize), (32, 512, 32), (64, 512, 64)] {
        let depth = (tile_max + lanes).div_ceil(w);
        let words32 = depth * w / 32;
        let mut stim = Vec::new();
        let mut image = vec![0u32; words32];
        for (a, slot) in image.iter_mut().enumerate() {
            let d: u32 = rng.gen();
            *slot = d;
            stim.push(vec![1, 0xF, a as u128, d as u128, 0, 0, 1]);
        }
        let init = stim.len() + 1;
        for _ in 0..800 {
            // bursts of writes and reads, as a load followed by inferences
            let we = rng.gen_bool(0.4);
            let a = rng.gen_range(0..words32 + 4);
            let sel = rng.gen_range(0..16u32);
            let d: u32 = rng.gen();
            // a window base (in W-bit words) and an offset from it
            let base = rng.gen_range(0..depth - 1);
            let rd = rng.gen_range(0..(depth - 1 - base) * w);
            stim.push(vec![
                we as u128,
                sel as u128,
                a as u128,
                d as u128,
                rd as u128,
                base as u128,
                base as u128 + 1,
            ]);
        }
        let out = if w == 32 {
            run_lockstep(|| TileMem::<32>::single_port(tile_max, lanes), &stim, init)
        } else {
            run_lockstep(|| TileMem::<64>::single_port(tile_max, lanes), &stim, init)
        };
        let word = |img: &[u32], k: usize| -> u128 {
            (0..w / 32).fold(0u128, |acc, j| {
                acc | (*img.get(k * w / 32 + j).unwrap_or(&0) as u128) << (32 * j)
            })
        };
        let mut held = 0;
        for c in init..stim.len() {
            let k = stim[c - 1][4] as usize / w + stim[c - 1][5] as usize;
            let (ke, ko) = if k.is_multiple_of(2) {
                (k, k + 1)
            } else {
                (k + 1, k)
            };
            let (mut even, mut odd) = (word(&image, ke), word(&image, ko));
            let req = &stim[c - 1];
            let lands = req[0] == 1 && (req[2] as usize) < words32;
            if lands {
                // the previous cycle's word of the written bank
                let kp = stim[c - 2][4] as usize / w + stim[c - 2][5] as usize;
                let (pe, po) = if kp.is_multiple_of(2) {
                    (out[c - 1][0], out[c - 1][1])
                } else {
                    (out[c - 1][1], out[c - 1][0])
                };
                if (req[2] as usize / (w / 32)).is_multiple_of(2) {
                    even = pe;
                } else {
                    odd = po;
                }
                held += 1;
            }
            let (lo, hi) = if k.is_multiple_of(2) {
                (even, odd)
            } else {
                (odd, even)
            };
            assert_eq!(out[c][0], lo, "lo, cycle {c}");
            assert_eq!(out[c][1], hi, "hi, cycle {c}");
            if lands {
                let a = req[2] as usize;
                for b in 0..4 {
                    if (req[1] >> b) & 1 == 1 {
                        let m = 0xFFu32 << (8 * b);
                        image[a] = (image[a] & !m) | (req[3] as u32 & m);
                    }
                }
            }
        }
        assert!(held > 100, "writes during reads exercised ({held})");
    }
}

#[test]
fn act_and_out_memories_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 12;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // activation memory, max_in 128: 8 planes x 4 words
    let max_in = 128;
    let mut stim = Vec::new();
    for p in 0..8u128 {
        for w in 0..4u128 {
            stim.push(vec![1, 0xF, (p << 11) | w, rng.gen::<u32>() as u128, 0, 0]);
        }
    }
    let init = stim.len() + 2;
    for _ in 0..400 {
        let addr = (rng.gen_range(0..8u128) << 11) | rng.gen_range(0..6u128);
        stim.push(vec![
            rng.gen_bool(0.3) as u128,
            rng.gen_range(0..16),
            addr,
            rng.gen::<u32>() as u128,
            rng.gen_range(0..8),
            rng.gen_range(0..(1u128 << 17)),
        ]);
    }
    run_lockstep(|| ActMem::<32>::new(max_in), &stim, init);
    run_lockstep(|| ActMem::<64>::new(max_in), &stim, init);
    // output memory, 16 rows
    let rows = 16;
    let mut stim = Vec::new();
    for r in 0..rows as u128 {
        stim.push(vec![
            1,
            r,
            rng.gen::<u32>() as u128,
            rng.gen::<u32>() as u128,
            0,
        ]);
    }
    let init = stim.len() + 1;
    for _ in 0..400 {
        stim.push(vec![
            rng.gen_bool(0.3) as u128,
            rng.gen_range(0..rows as u128),
            rng.gen::<u32>() as u128,
            rng.gen::<u32>() as u128,
            rng.gen_range(0..(1u128 << 14)),
        ]);
    }
    let out = run_lockstep(|| OutMem::new(rows), &stim, init);
    // addresses beyond the rows read 0
    for c in init..stim.len() {
        if stim[c - 1][4] as usize >= 2 * rows {
            assert_eq!(out[c][0], 0, "cycle {c}");
        }
    }
}
