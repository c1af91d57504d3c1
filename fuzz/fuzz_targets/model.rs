//! Model files: the project's JSON, the compact binary and the authors'
//! reference JSON (format detected from the content, as `tbn` does). A model
//! that loads must re-encode losslessly and, when small, run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tbn_golden::format::{
    model_from_binary, model_from_bytes, model_from_json, model_to_binary, model_to_json,
};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = model_from_bytes(data) else {
        return;
    };
    let bin = model_to_binary(&m).expect("a loaded model encodes");
    assert_eq!(model_from_binary(&bin).expect("binary round trip"), m);
    let json = model_to_json(&m).expect("a loaded model encodes");
    assert_eq!(
        model_from_json(json.as_bytes()).expect("JSON round trip"),
        m
    );
    let weights: usize = m
        .layers
        .iter()
        .filter_map(|l| l.rows_and_len().map(|(r, k)| r * k))
        .sum();
    if weights <= 1 << 16 && m.input_shape.numel() <= 1 << 12 {
        let x = vec![0.5f32; m.input_shape.numel()];
        let _ = tbn_golden::float::forward(&m, &x);
    }
});
