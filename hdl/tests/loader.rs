//! The image loader (`tbn_hdl::loader`) in lockstep with its emitted
//! Verilog, against the image checks of the reference
//! (`tbn_driver::image::format::check_image`, which `RefChip` applies, plus
//! RefChip's out-of-order rule): valid images load and their words are routed
//! into the descriptor, tile and constants memories at the right addresses;
//! corrupted magic, version, checksum (random single-bit flips and swapped
//! words), truncated and extended images, section sizes that do not add up,
//! out-of-order and repeated writes, every capacity of IMAGE_FIT, LOAD_END
//! without LOAD_BEGIN and a soft reset mid-load each give the reference's code.
//! Images are synthetic (random descriptor and body words with a consistent
//! header and checksum): the loader does not look inside descriptors.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::image::format::{check_image, checksum, Header, Target, MAGIC, VERSION};
use tbn_driver::regmap::ErrorCode;
use tbn_hdl::loader::{route, ImageLoader};

const TARGET: Target = Target {
    maps: tbn_driver::image::format::MapLimits::NONE,
    lanes: 32,
    weight_words: 600,
    const_words: 64,
    max_layers: 6,
    max_in: 1024,
    tile_max: 32768,
    max_d: 256,
    max_out: 256,
    max_abits: 8,
    max_logits: 64,
    v_bits: 56,
};

/// A consistent image: random sections and header maxima within `TARGET`.
fn image(rng: &mut impl Rng) -> Vec<u32> {
    let nl = rng.gen_range(1..=TARGET.max_layers);
    let tile = rng.gen_range(1..=TARGET.weight_words.min(120));
    let cons = rng.gen_range(1..=TARGET.const_words);
    let h = Header {
        maps: Default::default(),
        magic: MAGIC,
        version: VERSION | rng.gen_range(0..3),
        total_words: 16 + 16 * nl + tile + cons + 2,
        lanes: TARGET.lanes,
        num_layers: nl,
        tile_words: tile,
        const_words: cons,
        max_m: rng.gen_range(1..=TARGET.max_in),
        max_q: rng.gen_range(1..=TARGET.tile_max),
        max_d: rng.gen_range(1..=TARGET.max_d),
        max_rows: rng.gen_range(1..=TARGET.max_out),
        max_abits: rng.gen_range(1..=TARGET.max_abits),
        num_in: rng.gen_range(1..=TARGET.max_in),
        num_out: rng.gen_range(1..=TARGET.max_logits),
        in_fmt: rng.gen_range(1..=8) | (rng.gen_range(0..2) << 8),
        v_bits: rng.gen_range(2..=TARGET.v_bits),
    };
    let mut w = h.encode().to_vec();
    for _ in 0..(16 * nl + tile + cons) {
        w.push(rng.gen());
    }
    seal(&mut w);
    w
}

/// Appends (or rewrites) the two checksum words.
fn seal(w: &mut Vec<u32>) {
    let h = Header::decode(&w[..16]);
    let body = (h.total_words as usize).saturating_sub(2).min(w.len());
    w.truncate(body);
    let (s1, s2) = checksum(w);
    w.push(s1);
    w.push(s2);
}

/// One load: the index of each IMAGE write in order (not necessarily 0, 1, ...).
struct Load {
    words: Vec<u32>,
    idx: Vec<usize>,
    begin: bool,
    abort_at: Option<usize>,
    name: String,
}

impl Load {
    fn plain(words: Vec<u32>, name: &str) -> Load {
        let idx = (0..words.len()).collect();
        Load {
            words,
            idx,
            begin: true,
            abort_at: None,
            name: name.into(),
        }
    }

    /// The code RefChip reports (0: loaded), from check_image and the write order.
    fn expected(&self) -> u32 {
        if !self.begin || self.abort_at.is_some() {
            return ErrorCode::LoadSequence as u32;
        }
        // the accepted words: writes whose index equals the count so far
        let mut acc: Vec<u32> = Vec::new();
        let mut ooo = false;
        for &i in &self.idx {
            if i == acc.len() {
                acc.push(self.words[i]);
            } else {
                ooo = true;
            }
        }
        match check_image(&acc, &TARGET) {
            Err(e) if e.code() == ErrorCode::BadMagic || e.code() == ErrorCode::BadVersion => {
                e.code() as u32
            }
            _ if ooo => ErrorCode::LoadSequence as u32,
            Err(e) => e.code() as u32,
            Ok(_) => 0,
        }
    }
}

/// One cycle's inputs; `in_order`: the write's index equals LOAD_WORDS (the
/// bus top compares them).
fn row(begin: bool, end: bool, abort: bool, we: bool, in_order: bool, data: u32) -> Vec<u128> {
    vec![
        begin as u128,
        end as u128,
        abort as u128,
        0,
        we as u128,
        in_order as u128,
        data as u128,
        0,
        0,
    ]
}

fn run(loads: &[Load], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stim: Vec<Vec<u128>> = vec![row(false, false, false, false, false, 0); 2];
    // per load: (first cycle, last cycle) of its window
    let mut spans = Vec::new();
    for l in loads {
        let s = stim.len();
        if l.begin {
            stim.push(row(true, false, false, false, false, 0));
            stim.push(row(false, false, false, false, false, 0));
        }
        // LOAD_WORDS: the words accepted so far (cleared by LOAD_BEGIN and
        // by SOFT_RESET, which ends the load)
        let mut count = if l.begin { 0 } else { usize::MAX };
        for (k, &i) in l.idx.iter().enumerate() {
            if l.abort_at == Some(k) {
                stim.push(row(false, false, true, false, false, 0));
                stim.push(row(false, false, false, false, false, 0));
                count = usize::MAX;
            }
            let in_order = i == count;
            if in_order {
                count += 1;
            }
            stim.push(row(false, false, false, true, in_order, l.words[i]));
            // Wishbone writes: at most one every other cycle, the data held
            // in the next (as NetTop's request registers hold it)
            stim.push(row(false, false, false, false, false, l.words[i]));
            if rng.gen() {
                stim.push(row(false, false, false, false, false, rng.gen()));
            }
        }
        stim.push(row(false, false, false, false, false, 0));
        stim.push(row(false, true, false, false, false, 0));
        for _ in 0..8 {
            stim.push(row(false, false, false, false, false, 0));
        }
        spans.push((s, stim.len()));
        // the shared registers written outside the load (as the engine does
        // during an inference); checked below
        for _ in 0..3 {
            let mut r = row(false, false, false, false, false, rng.gen());
            r[7] = rng.gen_range(0..8);
            r[8] = rng.gen_range(0..1 << 24);
            stim.push(r);
        }
        stim.push(row(false, false, false, false, false, 0));
    }
    let out = run_lockstep(|| ImageLoader::new(&TARGET), &stim, 1);
    // the shared registers follow their writes (outputs 14..16)
    let mut shared = [None::<u128>; 3];
    for (c, r) in stim.iter().enumerate() {
        for (k, v) in shared.iter().enumerate() {
            if let Some(v) = v {
                assert_eq!(out[c][14 + k], *v, "shared register {k} in cycle {c}");
            }
        }
        let we = r[7];
        for (k, v) in shared.iter_mut().enumerate() {
            if we >> k & 1 == 1 {
                *v = Some(r[8]);
            } else if r[0] == 1 {
                *v = None;
            }
        }
    }
    // outputs: loading, load_words, checking, loaded, err, err_code, hdr_layers,
    // hdr_num_in, hdr_num_out, hdr_in_fmt, r_we, r_sel, r_addr, r_data
    let mut by_code = std::collections::BTreeMap::new();
    for (l, &(s, e)) in loads.iter().zip(&spans) {
        let want = l.expected();
        let errs: Vec<u128> = (s..e)
            .filter(|&c| out[c][4] == 1)
            .map(|c| out[c][5])
            .collect();
        let loaded = out[e - 1][3] == 1;
        let got = if loaded && errs.is_empty() {
            0
        } else {
            errs.first().copied().unwrap_or(99) as u32
        };
        assert_eq!(got, want, "load '{}' (seed {seed}): code", l.name);
        assert!(errs.len() <= 1, "one error per load '{}'", l.name);
        assert_eq!(out[e - 1][0], 0, "not loading after LOAD_END");
        // BUSY (checking) lasts at most 16 cycles and ends
        let busy = (s..e).filter(|&c| out[c][2] == 1).count();
        assert!(busy <= 16 && out[e - 1][2] == 0, "checking {busy} cycles");
        *by_code.entry(want).or_insert(0) += 1;
        if want == 0 {
            // header fields and the routed words
            let h = Header::decode(&l.words[..16]);
            let f = &out[e - 1];
            assert_eq!(
                (f[6], f[7], f[8], f[9]),
                (
                    u128::from(h.num_layers),
                    u128::from(h.num_in),
                    u128::from(h.num_out),
                    u128::from(h.in_fmt)
                )
            );
            let nl = h.num_layers as usize;
            let (ts, cs) = (16 + 16 * nl, 16 + 16 * nl + h.tile_words as usize);
            let mut want_routes = Vec::new();
            for (i, &w) in l.words.iter().enumerate() {
                let r = if i < 16 {
                    None
                } else if i < ts {
                    Some((route::DESC, i - 16))
                } else if i < cs {
                    Some((route::TILE, i - ts))
                } else if i < cs + h.const_words as usize {
                    Some((route::CONST, i - cs))
                } else {
                    None
                };
                if let Some((sel, a)) = r {
                    want_routes.push((u128::from(sel), a as u128, u128::from(w)));
                }
            }
            let got_routes: Vec<_> = (s..e)
                .filter(|&c| out[c][10] == 1)
                .map(|c| (out[c][11], out[c][12], out[c][13]))
                .collect();
            assert_eq!(got_routes, want_routes, "routing of '{}'", l.name);
        }
    }
    println!("loads by expected code: {by_code:?}");
}

#[test]
fn loader_checks_and_routes_like_the_reference() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 0x10AD_u64;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut loads = Vec::new();
    for k in 0..6 {
        loads.push(Load::plain(image(&mut rng), &format!("valid {k}")));
    }
    let mut w = image(&mut rng);
    w[0] ^= 1;
    loads.push(Load::plain(w, "magic"));
    let mut w = image(&mut rng);
    w[1] = 0x0002_0000;
    seal(&mut w);
    loads.push(Load::plain(w, "version"));
    for k in 0..12 {
        let mut w = image(&mut rng);
        let i = rng.gen_range(2..w.len());
        w[i] ^= 1 << rng.gen_range(0..32);
        loads.push(Load::plain(w, &format!("bit flip {k} at word {i}")));
    }
    // each checksum word flipped (the second-to-last is checked against
    // s1 as it arrives, the last against s2 through s1 + w)
    for back in [2usize, 1] {
        let mut w = image(&mut rng);
        let i = w.len() - back;
        w[i] ^= 1 << rng.gen_range(0..32);
        loads.push(Load::plain(w, &format!("bit flip in checksum word {i}")));
    }
    let mut w = image(&mut rng);
    let i = rng.gen_range(16..w.len() - 3);
    w.swap(i, i + 1);
    if w[i] != w[i + 1] {
        loads.push(Load::plain(w, "swapped words"));
    }
    let mut w = image(&mut rng);
    w.pop();
    loads.push(Load::plain(w, "truncated"));
    let mut w = image(&mut rng);
    w.push(7);
    loads.push(Load::plain(w, "extended"));
    // section sizes that do not add up (checksum rewritten)
    let mut w = image(&mut rng);
    w[6] += 1;
    seal(&mut w);
    loads.push(Load::plain(w, "sizes"));
    let mut w = image(&mut rng);
    w[4] = 0x1_0001;
    seal(&mut w);
    loads.push(Load::plain(w, "huge layer count"));
    // out of order: a skipped and a repeated index
    let w = image(&mut rng);
    let mut l = Load::plain(w, "skipped write");
    let k = rng.gen_range(3..l.idx.len());
    l.idx.remove(k);
    loads.push(l);
    let w = image(&mut rng);
    let mut l = Load::plain(w, "repeated write");
    let k = rng.gen_range(3..l.idx.len());
    l.idx.insert(k, l.idx[k - 1]);
    loads.push(l);
    // every capacity of IMAGE_FIT (consistent images otherwise)
    for (field, bad) in [
        (3usize, 64u32),
        (4, 0),
        (4, TARGET.max_layers + 1),
        (5, TARGET.weight_words + 1),
        (6, TARGET.const_words + 1),
        (7, TARGET.max_in + 1),
        (8, TARGET.tile_max + 1),
        (9, TARGET.max_d + 1),
        (10, TARGET.max_out + 1),
        (11, TARGET.max_abits + 1),
        (13, TARGET.max_logits + 1),
        (15, TARGET.v_bits + 1),
    ] {
        let mut w = image(&mut rng);
        let h0 = Header::decode(&w[..16]);
        w[field] = bad;
        // keep the section sizes consistent
        let h = Header::decode(&w[..16]);
        let body = 16 * h.num_layers + h.tile_words + h.const_words;
        let mut v = w[..16].to_vec();
        v[2] = 16 + body + 2;
        for _ in 0..body {
            v.push(rng.gen());
        }
        let _ = h0;
        v.push(0);
        v.push(0);
        seal(&mut v);
        loads.push(Load::plain(v, &format!("fit: word {field} = {bad}")));
    }
    // empty tile or constants section (the section walk skips it)
    for (field, name) in [
        (5usize, "empty tile section"),
        (6, "empty constants section"),
    ] {
        let w = image(&mut rng);
        let h = Header::decode(&w[..16]);
        let (ts, cs) = (16 + 16 * h.num_layers as usize, h.tile_words as usize);
        let mut v = w[..16].to_vec();
        v[field] = 0;
        v.extend_from_slice(&w[16..ts]);
        if field == 6 {
            v.extend_from_slice(&w[ts..ts + cs]);
        } else {
            v.extend_from_slice(&w[ts + cs..w.len() - 2]);
        }
        v[2] = v.len() as u32 + 2;
        v.push(0);
        v.push(0);
        seal(&mut v);
        loads.push(Load::plain(v, name));
    }
    // both sections empty
    let w = image(&mut rng);
    let h = Header::decode(&w[..16]);
    let ts = 16 + 16 * h.num_layers as usize;
    let mut v = w[..ts].to_vec();
    v[5] = 0;
    v[6] = 0;
    v[2] = v.len() as u32 + 2;
    v.push(0);
    v.push(0);
    seal(&mut v);
    loads.push(Load::plain(v, "empty tile and constants sections"));
    // LOAD_END without LOAD_BEGIN, and a soft reset mid-load
    let mut l = Load::plain(image(&mut rng), "no begin");
    l.begin = false;
    l.idx.clear();
    loads.push(l);
    let mut l = Load::plain(image(&mut rng), "soft reset mid-load");
    l.abort_at = Some(20);
    loads.push(l);
    // a valid load after all of that
    loads.push(Load::plain(image(&mut rng), "valid again"));
    run(&loads, seed);
}
