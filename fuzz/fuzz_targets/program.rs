//! Programs: the integer program JSON (first byte even) and the compact MCU
//! program (first byte odd). A program that parses must run without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tbn_driver::kernel::{run, Workspace};
use tbn_driver::program::{AlignedBytes, Program};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    if sel % 2 == 0 {
        let Ok(p) = tbn_golden::format::program_from_json(data) else {
            return;
        };
        let weights: usize = p.dense_stages().map(|d| d.geom.rows * d.geom.m).sum();
        let n: usize = p.input.shape.iter().product();
        if weights <= 1 << 16 && n <= 1 << 12 {
            let _ = p.run(&vec![0; n]).expect("a validated program runs");
        }
    } else {
        let bytes = AlignedBytes::new(data);
        let Ok(p) = Program::parse(bytes.as_bytes()) else {
            return;
        };
        for s in p.stages() {
            let _ = s;
        }
        let r = p.req;
        if r.max_act <= 1 << 14 && r.max_distinct <= 1 << 12 && r.max_plane_words <= 1 << 12 {
            let (mut a, mut b) = (vec![0; r.max_act], vec![0; r.max_act]);
            let mut planes = vec![0; r.max_plane_words];
            let mut prefix = vec![0; r.max_prefix];
            let mut acc = vec![(0, 0); r.max_distinct];
            let mut ws = Workspace {
                act_a: &mut a,
                act_b: &mut b,
                planes: &mut planes,
                prefix: &mut prefix,
                acc: &mut acc,
            };
            let x = vec![p.input.min(); p.input_shape.numel()];
            let mut logits = vec![0; r.logits];
            let _ = run(&p, &x, &mut ws, &mut logits);
        }
    }
});
