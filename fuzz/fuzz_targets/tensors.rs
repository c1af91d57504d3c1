//! Float tensors: .npy, .npz and .safetensors (detected from the content),
//! then compressed into a model as `tbn compress` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tbn_golden::import::{compress, tensors_from_bytes, CompressOptions};
use tbn_golden::tile::AlphaMode;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = tensors_from_bytes(data, "w") else {
        return;
    };
    for v in t.values() {
        assert_eq!(v.shape.iter().product::<usize>(), v.data.len());
    }
    let opt = CompressOptions {
        p: 2,
        min_size: 8,
        alpha_mode: AlphaMode::PerCopy,
        layers: None,
        activation: "relu".into(),
        input_shape: None,
        stride: 1,
        padding: 0,
    };
    let _ = compress(&t, "fuzz", &opt);
});
