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
//!
//! Format 2.0 (conv / max-pool images, 32-word header and descriptors): on a
//! loader built for a target with feature maps, images compiled from random
//! conv programs load and route (descriptor word `k` of layer `l` at `32 l +
//! k`), each of MAX_FMAP, MAX_CHANNELS, MAX_HW, MAX_KERNEL one above its
//! capacity gives IMAGE_FIT, bit flips, truncation and inconsistent sizes
//! give the reference's codes, and format 1 still loads; on a loader without
//! feature maps a format-2 image gives BAD_VERSION.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::image::format::{
    check_image, checksum, Header, HeaderMaps, MapLimits, MapShape, Target, MAGIC, VERSION,
    VERSION_CONV,
};
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

/// A target with feature maps (format 2 accepted), large enough for the
/// random conv programs (`tbn_host::random::CONV`) and for [`image`]'s.
const CONV_TARGET: Target = Target {
    maps: MapLimits {
        max_fmap: 16384,
        max_channels: 255,
        max_hw: 255,
        max_kernel: 15,
    },
    lanes: 32,
    weight_words: 65536,
    const_words: 16384,
    max_layers: 16,
    max_in: 65535,
    tile_max: 131072,
    max_d: 4096,
    max_out: 65535,
    max_abits: 8,
    max_logits: 256,
    v_bits: 64,
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

    /// The code RefChip reports (0: loaded), from check_image on `t` and the
    /// write order.
    fn expected(&self, t: &Target) -> u32 {
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
        match check_image(&acc, t) {
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

fn run(loads: &[Load], seed: u64, target: &Target) {
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
    let out = run_lockstep(|| ImageLoader::new(target), &stim, 1);
    // the shared registers follow their writes (outputs 15..17)
    let mut shared = [None::<u128>; 3];
    for (c, r) in stim.iter().enumerate() {
        for (k, v) in shared.iter().enumerate() {
            if let Some(v) = v {
                assert_eq!(out[c][15 + k], *v, "shared register {k} in cycle {c}");
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
    // hdr_num_in, hdr_num_out, hdr_in_fmt, hdr_conv, r_we, r_sel, r_addr, r_data
    let mut by_code = std::collections::BTreeMap::new();
    for (l, &(s, e)) in loads.iter().zip(&spans) {
        let want = l.expected(target);
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
            // header fields (format 2 on hdr_conv) and the routed words
            let h = Header::decode(&l.words[..l.words.len().min(32)]);
            let f = &out[e - 1];
            assert_eq!(
                (f[6], f[7], f[8], f[9], f[10]),
                (
                    u128::from(h.num_layers),
                    u128::from(h.num_in),
                    u128::from(h.num_out),
                    u128::from(h.in_fmt),
                    u128::from(h.is_conv())
                ),
                "header outputs of '{}'",
                l.name
            );
            // descriptor word k of layer l at desc_words * l + k (format
            // 1: 16, format 2: 32)
            let (hw, dw) = (h.header_words(), h.desc_words());
            let nl = h.num_layers as usize;
            let (ts, cs) = (hw + dw * nl, hw + dw * nl + h.tile_words as usize);
            let mut want_routes = Vec::new();
            for (i, &w) in l.words.iter().enumerate() {
                let r = if i < hw {
                    None
                } else if i < ts {
                    Some((route::DESC, i - hw))
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
                .filter(|&c| out[c][11] == 1)
                .map(|c| (out[c][12], out[c][13], out[c][14]))
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
    // format-2 images (real, compiled for a target with feature maps, and
    // synthetic) on this loader without feature maps: BAD_VERSION
    for (k, (s, w)) in conv_images(seed, 2).into_iter().enumerate() {
        loads.push(Load::plain(
            w,
            &format!("conv image {k} (program seed {s}) without maps"),
        ));
    }
    loads.push(Load::plain(
        image2(&mut rng),
        "synthetic format 2 without maps",
    ));
    // a valid load after all of that
    loads.push(Load::plain(image(&mut rng), "valid again"));
    run(&loads, seed, &TARGET);
}

/// A consistent format-2 image: [`image`]'s sections and maxima, a 32-word
/// header with map maxima within `CONV_TARGET` and 32-word descriptors.
fn image2(rng: &mut impl Rng) -> Vec<u32> {
    let w1 = image(rng);
    let mut h = Header::decode(&w1[..16]);
    let m = &CONV_TARGET.maps;
    h.version = VERSION_CONV | rng.gen_range(0..3);
    h.maps = HeaderMaps {
        input: MapShape {
            c: rng.gen_range(1..=m.max_channels),
            h: rng.gen_range(1..=m.max_hw),
            w: rng.gen_range(1..=m.max_hw),
        },
        max_fmap: rng.gen_range(1..=m.max_fmap),
        max_channels: rng.gen_range(1..=m.max_channels),
        max_hw: rng.gen_range(1..=m.max_hw),
        max_kernel: rng.gen_range(1..=m.max_kernel),
    };
    let body = 32 * h.num_layers + h.tile_words + h.const_words;
    h.total_words = 32 + body + 2;
    let mut w = h.encode().to_vec();
    // (unused header words 22-31 random: the loader does not check them)
    for x in &mut w[22..32] {
        *x = rng.gen();
    }
    for _ in 0..body {
        w.push(rng.gen());
    }
    seal(&mut w);
    w
}

/// `n` format-2 images compiled for `CONV_TARGET` from random conv programs
/// (`tbn_host::random::conv_program` with `random::CONV`), with the seed of
/// each program (seeds from `seed * 1000` on; programs that do not fit
/// `CONV_TARGET` or have no conv layer are skipped, and printed).
fn conv_images(seed: u64, n: usize) -> Vec<(u64, Vec<u32>)> {
    let mut out = Vec::new();
    let mut s = seed * 1000;
    while out.len() < n {
        let mut r = ChaCha8Rng::seed_from_u64(s);
        let prog = tbn_host::random::conv_program(&mut r, &tbn_host::random::CONV);
        match tbn_host::compile::program_image(&prog, &CONV_TARGET) {
            Ok(img) if !img.header().is_conv() => {
                // (no conv layer drawn: a dense program, format 1)
                println!("conv program seed {s} skipped: format 1");
            }
            Ok(img) => {
                let w = img.words().to_vec();
                let h = Header::decode(&w[..32]);
                assert!(
                    check_image(&w, &CONV_TARGET).is_ok(),
                    "program seed {s} checks"
                );
                println!(
                    "conv program seed {s}: {} words, {} layers, MAX_FMAP {}",
                    w.len(),
                    h.num_layers,
                    h.maps.max_fmap
                );
                out.push((s, w));
            }
            Err(e) => println!("conv program seed {s} skipped: {e}"),
        }
        s += 1;
        assert!(s < seed * 1000 + 20 * n as u64, "too many programs skipped");
    }
    out
}

/// `w` with word `i` set to `v` and the checksum recomputed.
fn forged(mut w: Vec<u32>, i: usize, v: u32) -> Vec<u32> {
    w[i] = v;
    seal(&mut w);
    w
}

#[test]
fn loader_accepts_format_2_with_feature_maps() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 0x2C0_u64;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = &CONV_TARGET;
    let mut loads = Vec::new();
    // valid conv images: routed word by word (descriptors at 32 l + k)
    let convs = conv_images(seed, 6);
    for (s, w) in &convs {
        loads.push(Load::plain(w.clone(), &format!("conv program seed {s}")));
    }
    // format 1 still loads on this loader (and clears hdr_conv)
    for k in 0..2 {
        loads.push(Load::plain(image(&mut rng), &format!("format 1, {k}")));
    }
    for k in 0..3 {
        loads.push(Load::plain(
            image2(&mut rng),
            &format!("synthetic format 2, {k}"),
        ));
    }
    // each map capacity exceeded by one (the checksum recomputed), and
    // each met exactly; words 16, 17 and 22-31 are not checked
    let caps = [
        (18usize, t.maps.max_fmap),
        (19, t.maps.max_channels),
        (20, t.maps.max_hw),
        (21, t.maps.max_kernel),
    ];
    for (k, &(i, cap)) in caps.iter().enumerate() {
        let w = &convs[k % convs.len()].1;
        loads.push(Load::plain(
            forged(w.clone(), i, cap + 1),
            &format!("fit: word {i} = {}", cap + 1),
        ));
        loads.push(Load::plain(
            forged(w.clone(), i, cap),
            &format!("fit: word {i} = {cap} (at the limit)"),
        ));
        loads.push(Load::plain(
            forged(image2(&mut rng), i, u32::MAX),
            &format!("fit: word {i} = 0xffffffff"),
        ));
    }
    for i in [16usize, 17, 22, 25, 31] {
        loads.push(Load::plain(
            forged(image2(&mut rng), i, u32::MAX),
            &format!("unchecked header word {i} = 0xffffffff"),
        ));
    }
    // the format-1 capacities still apply to format 2 (word 15 is still
    // the header's; V_BITS)
    loads.push(Load::plain(
        forged(image2(&mut rng), 15, t.v_bits + 1),
        "fit: word 15 (format 2)",
    ));
    // the version: major 1 on a format-2 body (sizes no longer add up),
    // major 3
    loads.push(Load::plain(
        forged(convs[0].1.clone(), 1, VERSION),
        "major 1 on a format-2 body",
    ));
    loads.push(Load::plain(
        forged(convs[1].1.clone(), 1, 0x0003_0000),
        "major 3",
    ));
    // inconsistent sizes and lengths
    let w = &convs[2].1;
    let nl = w[4];
    loads.push(Load::plain(forged(w.clone(), 4, nl + 1), "NUM_LAYERS + 1"));
    loads.push(Load::plain(forged(w.clone(), 4, nl - 1), "NUM_LAYERS - 1"));
    let w = &convs[3].1;
    loads.push(Load::plain(
        forged(w.clone(), 2, w[2] + 16),
        "TOTAL_WORDS + 16",
    ));
    // a format-1-sized total: TOTAL_WORDS and the words 16 NL + 16 fewer
    let w = image2(&mut rng);
    let nl = w[4] as usize;
    let mut v = w[..w.len() - 2 - 16 - 16 * nl].to_vec();
    v[2] = v.len() as u32 + 2;
    v.push(0);
    v.push(0);
    seal(&mut v);
    loads.push(Load::plain(v, "format-1 sizes in a format-2 image"));
    for (k, (_, w)) in convs.iter().take(3).enumerate() {
        let mut w = w.clone();
        w.truncate(w.len() - 1 - rng.gen_range(0..40));
        loads.push(Load::plain(w, &format!("truncated conv image {k}")));
    }
    let mut w = convs[4].1.clone();
    w.push(3);
    loads.push(Load::plain(w, "extended conv image"));
    // random bit flips anywhere (header, descriptors, sections, checksum)
    for k in 0..16 {
        let mut w = if k % 2 == 0 {
            convs[k / 2 % convs.len()].1.clone()
        } else {
            image2(&mut rng)
        };
        let i = if k % 4 == 1 {
            rng.gen_range(0..32)
        } else {
            rng.gen_range(0..w.len())
        };
        w[i] ^= 1 << rng.gen_range(0..32);
        loads.push(Load::plain(w, &format!("bit flip {k} at word {i}")));
    }
    // empty tile and constants sections, and no layers (IMAGE_FIT)
    for (field, name) in [
        (5usize, "format 2, empty tile section"),
        (6, "format 2, empty constants section"),
        (4, "format 2, no layers"),
    ] {
        let w = image2(&mut rng);
        let h = Header::decode(&w[..32]);
        let ts = 32 + 32 * h.num_layers as usize;
        let cs = ts + h.tile_words as usize;
        let mut v = w[..32].to_vec();
        v[field] = 0;
        if field != 4 {
            v.extend_from_slice(&w[32..ts]);
        }
        if field != 5 {
            v.extend_from_slice(&w[ts..cs]);
        }
        if field != 6 {
            v.extend_from_slice(&w[cs..w.len() - 2]);
        }
        v[2] = v.len() as u32 + 2;
        v.push(0);
        v.push(0);
        seal(&mut v);
        loads.push(Load::plain(v, name));
    }
    // out of order in a format-2 image, and a soft reset mid-header
    let mut l = Load::plain(convs[5].1.clone(), "skipped write (format 2)");
    let k = rng.gen_range(3..l.idx.len());
    l.idx.remove(k);
    loads.push(l);
    let mut l = Load::plain(convs[0].1.clone(), "soft reset in the header");
    l.abort_at = Some(20);
    loads.push(l);
    // and valid loads of both formats after all of that
    loads.push(Load::plain(convs[5].1.clone(), "conv image again"));
    loads.push(Load::plain(image(&mut rng), "format 1 again"));
    run(&loads, seed, t);
}
