//! IDX files, plain or gzip (one or more members): images (3 dimensions,
//! first byte odd) or labels (1 dimension).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let ndim = if sel % 2 == 1 { 3 } else { 1 };
    if let Ok((dims, bytes)) = tbn_golden::idx::parse_u8(data, ndim, "fuzz") {
        assert_eq!(dims.iter().product::<usize>(), bytes.len());
    }
});
