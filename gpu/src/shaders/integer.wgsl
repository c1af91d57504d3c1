// Integer path: bit-exact with tbn_golden::integer (docs/numerics.md §3-5).
// WGSL has no i64: the requantization's 64-bit values are vec2<u32>
// (lo, hi) two's complement, with exact add, multiply and shift below.

@group(0) @binding(2) var<storage, read> alpha_q: array<u32>;
@group(0) @binding(3) var<storage, read> act_in: array<i32>;
@group(0) @binding(4) var<storage, read_write> planes: array<u32>;
@group(0) @binding(5) var<storage, read_write> acc: array<i32>;
@group(0) @binding(6) var<storage, read_write> act_out: array<i32>;
@group(0) @binding(7) var<storage, read> mult: array<i32>;
@group(0) @binding(8) var<storage, read> bias: array<u32>;

// ---- exact 64-bit arithmetic on (lo, hi) pairs ----------------------------

fn i64_of(x: i32) -> vec2<u32> {
    return vec2<u32>(bitcast<u32>(x), select(0u, 0xffffffffu, x < 0));
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// Full 32 x 32 -> 64-bit unsigned product from 16-bit halves.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// Product modulo 2^64 (exact whenever the true product fits in i64).
fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let p = mul_wide(a.x, b.x);
    return vec2<u32>(p.x, p.y + a.y * b.x + a.x * b.y);
}

// Arithmetic (flooring) shift right by 0..=62.
fn sar64(v: vec2<u32>, s: u32) -> vec2<u32> {
    let hi = bitcast<i32>(v.y);
    if (s == 0u) {
        return v;
    }
    if (s < 32u) {
        return vec2<u32>((v.x >> s) | (v.y << (32u - s)), bitcast<u32>(hi >> s));
    }
    return vec2<u32>(bitcast<u32>(hi >> (s - 32u)), bitcast<u32>(hi >> 31u));
}

fn lt64(a: vec2<u32>, b: vec2<u32>) -> bool {
    let ah = bitcast<i32>(a.y);
    let bh = bitcast<i32>(b.y);
    return ah < bh || (ah == bh && a.x < b.x);
}

// 2^(s-1), the rounding half of a shift by s (0 when s = 0).
fn half64(s: u32) -> vec2<u32> {
    if (s == 0u) {
        return vec2<u32>(0u, 0u);
    }
    if (s <= 32u) {
        return vec2<u32>(1u << (s - 1u), 0u);
    }
    return vec2<u32>(0u, 1u << (s - 33u));
}

// ---- kernels ---------------------------------------------------------------

// Bit-planes of every row input: per item (image x position) `bits` planes of
// `wpr` words, then one word plane of valid lanes (conv padding is invalid).
@compute @workgroup_size(64)
fn pack_planes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.wpr) {
        return;
    }
    let it = item_of(i, P.wpr);
    let w = it.idx;
    var pl: array<u32, 8>;
    var valid = 0u;
    for (var l = 0u; l < 32u; l++) {
        let k = w * 32u + l;
        if (k >= P.m) {
            break;
        }
        let src = lane_source(it.pos, k);
        if (src < 0) {
            continue;
        }
        valid |= 1u << l;
        let v = bitcast<u32>(act_in[it.img * P.in_len + u32(src)]);
        for (var b = 0u; b < P.bits; b++) {
            pl[b] |= ((v >> b) & 1u) << l;
        }
    }
    let base = it.item * (P.bits + 1u) * P.wpr;
    for (var b = 0u; b < P.bits; b++) {
        planes[base + b * P.wpr + w] = pl[b];
    }
    planes[base + P.bits * P.wpr + w] = valid;
}

// Accumulator pair (dot_a, dot_b) of one distinct row for one item: popcounts
// of tile AND / XNOR bit-planes (docs/numerics.md §3). Only the D distinct
// rows run here; `requantize` expands them to every row.
@compute @workgroup_size(64)
fn dot_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.d) {
        return;
    }
    let item = i / P.d;
    let seg = segment(i % P.d);
    let o = seg.y;
    let len_a = seg.z;
    let base = item * (P.bits + 1u) * P.wpr;
    var da = 0;
    var db = 0;
    for (var w = 0u; w < P.wpr; w++) {
        let t = row_word(o, len_a, w);
        let sa = seg_a_mask(len_a, w);
        let sb = ~sa;
        if (P.bits == 1u) {
            let valid = planes[base + P.wpr + w];
            let agree = ~(t ^ planes[base + w]) & valid;
            da += 2 * i32(countOneBits(agree & sa)) - i32(countOneBits(valid & sa));
            db += 2 * i32(countOneBits(agree & sb)) - i32(countOneBits(valid & sb));
        } else {
            for (var b = 0u; b < P.bits; b++) {
                let x = planes[base + b * P.wpr + w];
                var wb = i32(1u << b);
                if (P.signed_in == 1u && b + 1u == P.bits) {
                    wb = -wb;
                }
                let tx = t & x;
                da += wb * (2 * i32(countOneBits(tx & sa)) - i32(countOneBits(x & sa)));
                db += wb * (2 * i32(countOneBits(tx & sb)) - i32(countOneBits(x & sb)));
            }
        }
    }
    acc[2u * i] = da;
    acc[2u * i + 1u] = db;
}

// Every row from its distinct row's pair: alpha codes of the row's copies,
// multiplier, bias, rounding shift and activation (docs/numerics.md §4).
@compute @workgroup_size(64)
fn requantize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.rows) {
        return;
    }
    let it = item_of(i, P.rows);
    let r = it.idx;
    let seg = segment(r);
    let c = seg.x;
    let k = 2u * (it.item * P.d + r % P.period);
    var a = mul64(i64_of(i32(alpha_q[c])), i64_of(acc[k]));
    if (seg.z < P.m) {
        a = add64(a, mul64(i64_of(i32(alpha_q[c + 1u])), i64_of(acc[k + 1u])));
    }
    var mr = mult[0];
    if (P.per_row_mult == 1u) {
        mr = mult[r];
    }
    var v = mul64(a, i64_of(mr));
    if (P.has_bias == 1u) {
        v = add64(v, vec2<u32>(bias[2u * r], bias[2u * r + 1u]));
    }
    let o = it.img * P.out_len + r * P.positions + it.pos;
    if (P.act == 3u) {
        // Logits: the i64 itself, as (lo, hi).
        act_out[it.img * P.out_len + 2u * (r * P.positions + it.pos)] = bitcast<i32>(v.x);
        act_out[it.img * P.out_len + 2u * (r * P.positions + it.pos) + 1u] = bitcast<i32>(v.y);
        return;
    }
    if (P.act == 2u) {
        let hi = bitcast<i32>(v.y);
        act_out[o] = select(0, 1, hi > 0 || (hi == 0 && v.x != 0u));
        return;
    }
    let y = sar64(add64(v, half64(P.shift)), P.shift);
    var out: i32;
    if (lt64(y, i64_of(P.out_lo))) {
        out = P.out_lo;
    } else if (lt64(i64_of(P.out_hi), y)) {
        out = P.out_hi;
    } else {
        out = bitcast<i32>(y.x);
    }
    act_out[o] = out;
}

// Max pooling of integer CHW values.
@compute @workgroup_size(64)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.in_c * P.out_h * P.out_w) {
        return;
    }
    let at = pool_at(i);
    var best = act_in[at.x];
    for (var ky = 0u; ky < P.pool_k; ky++) {
        for (var kx = 0u; kx < P.pool_k; kx++) {
            best = max(best, act_in[at.x + ky * P.in_w + kx]);
        }
    }
    act_out[at.y] = best;
}
