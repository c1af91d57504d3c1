// Float path (f32), following tbn_golden::float::forward: segment sums of the
// distinct rows from the tile, expanded with each copy's alpha. The `dense_*`
// entry points are the baseline: every row from a materialised f32 W (bound
// in the tile slot, bit-cast), no reuse.

@group(0) @binding(2) var<storage, read> alphas: array<f32>;
@group(0) @binding(3) var<storage, read> act_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;
@group(0) @binding(6) var<storage, read_write> act_out: array<f32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;
@group(0) @binding(8) var<storage, read> bn: array<f32>;

fn lane_value(img: u32, pos: u32, k: u32) -> f32 {
    let src = lane_source(pos, k);
    if (src < 0) {
        return 0.0;
    }
    return act_in[img * P.in_len + u32(src)];
}

// (sum over segment a of t*x, sum over segment b of t*x) of one distinct row.
@compute @workgroup_size(64)
fn dot_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.d) {
        return;
    }
    let it = item_of(i, P.d);
    let seg = segment(it.idx);
    let len_a = seg.z;
    var sa = 0.0;
    var sb = 0.0;
    for (var w = 0u; w < P.wpr; w++) {
        let t = row_word(seg.y, len_a, w);
        for (var l = 0u; l < 32u; l++) {
            let k = w * 32u + l;
            if (k >= P.m) {
                break;
            }
            let x = lane_value(it.img, it.pos, k);
            let v = select(-x, x, ((t >> l) & 1u) == 1u);
            if (k < len_a) {
                sa += v;
            } else {
                sb += v;
            }
        }
    }
    sums[2u * i] = sa;
    sums[2u * i + 1u] = sb;
}

// Baseline: the full dot product of every row with a dense f32 W.
@compute @workgroup_size(64)
fn dense_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.rows) {
        return;
    }
    let it = item_of(i, P.rows);
    let r = it.idx;
    var s = 0.0;
    for (var k = 0u; k < P.m; k++) {
        s += bitcast<f32>(tile[r * P.m + k]) * lane_value(it.img, it.pos, k);
    }
    sums[2u * i] = s;
    sums[2u * i + 1u] = 0.0;
}

// Every row: alpha-scaled segment sums, bias, batch-norm, activation.
@compute @workgroup_size(64)
fn expand_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= P.batch * P.positions * P.rows) {
        return;
    }
    let it = item_of(i, P.rows);
    let r = it.idx;
    let seg = segment(r);
    let k = 2u * (it.item * P.d + r % P.period);
    var y = alphas[seg.x] * sums[k];
    if (seg.z < P.m) {
        y += alphas[seg.x + 1u] * sums[k + 1u];
    }
    if (P.has_bias == 1u) {
        y += bias[r];
    }
    if (P.has_bn == 1u) {
        y = bn[2u * r] * y + bn[2u * r + 1u];
    }
    if (P.act == 1u) {
        y = max(y, 0.0);
    } else if (P.act == 2u) {
        y = select(-1.0, 1.0, y > 0.0);
    }
    act_out[it.img * P.out_len + r * P.positions + it.pos] = y;
}

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
