// Shared by both paths: stage parameters, thread indexing, the tile window
// reader, the im2col lane map and the max-pool window. Concatenated in front of integer.wgsl /
// float.wgsl (see src/kernels.rs); the Rust mirror is `kernels::Params`.

struct Params {
    batch: u32,        // images in flight
    positions: u32,    // output positions per image (1 for linear)
    in_len: u32,       // activation words per image in act_in
    out_len: u32,      // activation words per image in act_out
    in_c: u32,
    in_h: u32,
    in_w: u32,
    conv: u32,         // 1: lanes are im2col patches
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    out_h: u32,
    out_w: u32,
    rows: u32,
    m: u32,
    q: u32,
    p: u32,
    d: u32,            // distinct rows computed by the dot kernels
    period: u32,       // row r reuses distinct row r % period
    wpr: u32,          // 32-bit words per row
    bits: u32,         // input bits A (integer path)
    signed_in: u32,
    act: u32,          // 0 none/signed, 1 relu, 2 sign, 3 logits
    out_lo: i32,
    out_hi: i32,
    shift: u32,
    per_row_mult: u32,
    has_bias: u32,
    tile_words: u32,
    pool_k: u32,
    pool_s: u32,
    has_bn: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tile: array<u32>;

const WG: u32 = 64u;

// Flat thread index of a 2-D dispatch (at most 65,535 workgroups per dimension).
fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Thread `i` of a kernel with `per_item` threads per item (image x output
// position): its item, index within the item, image and position.
struct Item {
    item: u32,
    idx: u32,
    img: u32,
    pos: u32,
}

fn item_of(i: u32, per_item: u32) -> Item {
    let item = i / per_item;
    return Item(item, i % per_item, item / P.positions, item % P.positions);
}

// Tile bits [start, start + 32), LSB first. Reads past the tile's end are
// clamped to its last word; callers mask those lanes away.
fn tile_bits32(start: u32) -> u32 {
    let last = P.tile_words - 1u;
    let w = start >> 5u;
    let s = start & 31u;
    let lo = tile[min(w, last)];
    if (s == 0u) {
        return lo;
    }
    let hi = tile[min(w + 1u, last)];
    return (lo >> s) | (hi << (32u - s));
}

// Word `w` of a row that starts at tile bit `o` and whose first segment has
// `len_a` bits; a straddling row continues at tile bit 0 (docs/numerics.md §2).
fn row_word(o: u32, len_a: u32, w: u32) -> u32 {
    let k = w * 32u;
    if (k + 32u <= len_a) {
        return tile_bits32(o + k);
    }
    if (k >= len_a) {
        return tile_bits32(k - len_a);
    }
    let n = len_a - k;
    return (tile_bits32(o + k) & ((1u << n) - 1u)) | (tile_bits32(0u) << n);
}

// Lanes of row word `w` that belong to the first segment.
fn seg_a_mask(len_a: u32, w: u32) -> u32 {
    let k = w * 32u;
    if (k + 32u <= len_a) {
        return 0xffffffffu;
    }
    if (k >= len_a) {
        return 0u;
    }
    return (1u << (len_a - k)) - 1u;
}

// Index in the image's input activations of lane `k` at output position
// `pos`, or -1 in the zero padding. Patches are gathered in
// (in_channel, ky, kx) order (docs/numerics.md §5).
fn lane_source(pos: u32, k: u32) -> i32 {
    if (P.conv == 0u) {
        return i32(k);
    }
    let kk = P.kh * P.kw;
    let c = k / kk;
    let r = k % kk;
    let iy = i32((pos / P.out_w) * P.stride + r / P.kw) - i32(P.pad);
    let ix = i32((pos % P.out_w) * P.stride + r % P.kw) - i32(P.pad);
    if (iy < 0 || ix < 0 || iy >= i32(P.in_h) || ix >= i32(P.in_w)) {
        return -1;
    }
    return (i32(c) * i32(P.in_h) + iy) * i32(P.in_w) + ix;
}

// Row geometry of row r: (copy, offset, len_a).
fn segment(r: u32) -> vec3<u32> {
    let start = r * P.m;
    let o = start % P.q;
    return vec3<u32>(start / P.q, o, min(P.m, P.q - o));
}

// Max pooling of CHW values, thread `i` = one output value: where its
// window's first value is in act_in (window rows P.in_w apart) and where the
// maximum goes in act_out.
fn pool_at(i: u32) -> vec2<u32> {
    let per = P.in_c * P.out_h * P.out_w;
    let img = i / per;
    let ch = (i % per) / (P.out_h * P.out_w);
    let oy = (i % (P.out_h * P.out_w)) / P.out_w;
    let ox = i % P.out_w;
    let first = img * P.in_len + ch * P.in_h * P.in_w + oy * P.pool_s * P.in_w + ox * P.pool_s;
    return vec2<u32>(first, img * P.out_len + i % per);
}
