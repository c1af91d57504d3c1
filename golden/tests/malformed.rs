//! Every malformed input gets an error that names the problem, never a panic.

use tbn_golden::format::{model_from_bytes, model_to_binary, model_to_json};
use tbn_golden::model::{Layer, Linear, Model, Shape, TiledWeights};
use tbn_golden::tile::Tile;

fn linear(name: &str, inp: usize, out: usize, p: usize, q: usize, alphas: Vec<f32>) -> Layer {
    Layer::Linear(Linear {
        name: name.into(),
        in_features: inp,
        out_features: out,
        weights: TiledWeights {
            p,
            tile: Tile::zeros(q),
            alphas,
        },
        bias: None,
    })
}

fn err_of(r: tbn_golden::Result<Model>) -> String {
    r.expect_err("must be rejected").to_string()
}

fn good() -> Model {
    Model::new(
        "m",
        Shape::Vector(8),
        vec![
            linear("fc1", 8, 4, 2, 16, vec![1.0, 2.0]),
            Layer::Relu,
            linear("fc2", 4, 2, 1, 8, vec![0.5]),
        ],
    )
    .unwrap()
}

#[test]
fn wrong_tile_length() {
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 15, vec![1.0])],
    ));
    assert!(
        e.contains("tile has 15 bits") && e.contains("q = 16"),
        "{e}"
    );
}

#[test]
fn p_not_dividing() {
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 3, 10, vec![1.0])],
    ));
    assert!(e.contains("p = 3 does not divide the 32 weights"), "{e}");
}

#[test]
fn p_beyond_rows() {
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 8, 4, vec![1.0])],
    ));
    assert!(e.contains("shorter than one row"), "{e}");
}

#[test]
fn wrong_alpha_count_negative_and_nan() {
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![1.0; 3])],
    ));
    assert!(e.contains("3 alphas given; need 1 or p = 2"), "{e}");
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![1.0, -1.0])],
    ));
    assert!(e.contains("alpha[1] = -1"), "{e}");
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![f32::NAN])],
    ));
    assert!(e.contains("alpha[0] = NaN"), "{e}");
}

#[test]
fn shape_mismatch_between_layers() {
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![
            linear("fc1", 8, 4, 1, 32, vec![1.0]),
            linear("fc2", 5, 2, 1, 10, vec![1.0]),
        ],
    ));
    assert!(
        e.contains("fc2") && e.contains("expects 5 inputs, gets 4"),
        "{e}"
    );
}

#[test]
fn bad_hex_in_json() {
    let json = model_to_json(&good()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hex = v["layers"][0]["linear"]["weights"]["tile"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = json.replacen(&format!("\"{hex}\""), &format!("\"zz{}\"", &hex[2..]), 1);
    let e = model_from_bytes(bad.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("bad hex digits") && e.contains("fc1"), "{e}");
    let short = json.replacen(&format!("\"{hex}\""), &format!("\"{}\"", &hex[2..]), 1);
    let e = model_from_bytes(short.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("hex digits, a tile of 16 bits needs 4"), "{e}");
}

#[test]
fn wrong_json_version_and_unknown_format() {
    let json = model_to_json(&good())
        .unwrap()
        .replace("\"version\": 1", "\"version\": 9");
    let e = model_from_bytes(json.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("version Some(9) is not supported"), "{e}");
    let e = model_from_bytes(b"{\"layers\": []}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no \"format\" field"), "{e}");
    let e = model_from_bytes(b"hello").unwrap_err().to_string();
    assert!(e.contains("neither a TBN binary model"), "{e}");
}

#[test]
fn truncated_and_wrong_version_binary() {
    let bin = model_to_binary(&good()).unwrap();
    for cut in [3, 6, 10, bin.len() - 1] {
        let e = model_from_bytes(&bin[..cut]).unwrap_err().to_string();
        assert!(
            e.contains("binary model") || e.contains("JSON"),
            "cut {cut}: {e}"
        );
    }
    let mut v2 = bin.clone();
    v2[4] = 2;
    let e = model_from_bytes(&v2).unwrap_err().to_string();
    assert!(e.contains("version 2 is not supported"), "{e}");
    let mut extra = bin.clone();
    extra.push(0);
    assert!(model_from_bytes(&extra)
        .unwrap_err()
        .to_string()
        .contains("trailing"));
    assert_eq!(model_from_bytes(&bin).unwrap(), good());
}

#[test]
fn idx_bad_magic_and_truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.idx");
    std::fs::write(&bad, [0u8, 0, 8, 1, 0, 0, 0, 5, 1, 2]).unwrap();
    let e = tbn_golden::idx::read_images(&bad).unwrap_err().to_string();
    assert!(e.contains("bad IDX magic"), "{e}");
    let e = tbn_golden::idx::read_labels(&bad).unwrap_err().to_string();
    assert!(e.contains("promises 5 bytes"), "{e}");
    let missing = dir.path().join("missing.idx");
    assert!(tbn_golden::idx::read_labels(&missing)
        .unwrap_err()
        .to_string()
        .contains("missing.idx"));
}

#[test]
fn integer_input_out_of_range() {
    let calib = vec![vec![0.5f32; 8]];
    let p = tbn_golden::integer::quantize(&good(), &calib, &Default::default()).unwrap();
    let e = p.run(&[256, 0, 0, 0, 0, 0, 0, 0]).unwrap_err().to_string();
    assert!(
        e.contains("input value 256 at 0 is outside [0, 255]"),
        "{e}"
    );
    assert!(p
        .run(&[0; 7])
        .unwrap_err()
        .to_string()
        .contains("expects 8"));
}

// ---- issue 17: hostile inputs, one regression per class -------------------

use std::io::Write;

use tbn_golden::format::{model_to_json as to_json, program_from_json, program_to_json};
use tbn_golden::model::{BatchNorm, Conv2d};

/// Size arithmetic: products and sums that overflow usize are refused, not
/// wrapped (rows x m, c x h x w, h + 2 x padding, the row length of a conv).
#[test]
fn size_arithmetic_overflow_is_refused() {
    let big = 1usize << 33;
    let e = err_of(Model::new(
        "m",
        Shape::Vector(big),
        vec![linear("fc", big, big, 1, 0, vec![1.0])],
    ));
    assert!(e.contains("more than"), "{e}");
    let e = Shape::from_dims(&[1 << 22, 1 << 22, 1 << 22])
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 16777216 elements"), "{e}");
    // 2^31 x 2^31 x 4 wraps to 0 in u64 arithmetic.
    assert!(Shape::from_dims(&[1 << 31, 1 << 31, 4]).is_err());
    let conv = |padding: usize, inc: usize| Conv2d {
        name: "c".into(),
        in_channels: inc,
        out_channels: 2,
        kernel: (3, 3),
        stride: 1,
        padding,
        weights: TiledWeights {
            p: 1,
            tile: Tile::zeros(2 * 9),
            alphas: vec![1.0],
        },
        bias: None,
    };
    let e = err_of(Model::new(
        "m",
        Shape::Chw(1, 4, 4),
        vec![Layer::Conv2d(conv(usize::MAX / 2 + 1, 1))],
    ));
    assert!(e.contains("does not fit"), "{e}");
    let e = err_of(Model::new(
        "m",
        Shape::Chw(usize::MAX / 8, 4, 4),
        vec![Layer::Conv2d(conv(0, usize::MAX / 8))],
    ));
    assert!(e.contains("more than") || e.contains("exceeds"), "{e}");
    // The same through the JSON loader (what `tbn inspect` / `convert` read).
    let json = to_json(&good()).unwrap().replacen(
        "\"input_shape\": [\n    8\n  ]",
        "\"input_shape\": [4294967296, 4294967296, 1]",
        1,
    );
    assert!(json.contains("4294967296"));
    assert!(model_from_bytes(json.as_bytes()).is_err());
}

/// Counts: a model of a million one-byte layers is refused while parsing.
#[test]
fn millions_of_tiny_layers_are_refused_early() {
    let mut bin = b"TBNM".to_vec();
    bin.extend_from_slice(&1u16.to_le_bytes());
    bin.extend_from_slice(&[1, b'm', 1, 8]); // name "m", input_shape [8]
    bin.extend_from_slice(&[0xc0, 0x84, 0x3d]); // 1,000,000 layers (varint)
    bin.extend(std::iter::repeat_n(3u8, 1_000_000)); // relu
    let e = model_from_bytes(&bin).unwrap_err().to_string();
    assert!(e.contains("more than 1024 layers"), "{e}");
    let relus = vec!["\"relu\""; 5000].join(",");
    let json = format!(
        "{{\"format\":\"tbn-model\",\"version\":1,\"tile_bit_order\":\"\",\"name\":\"m\",\"input_shape\":[8],\"layers\":[{relus}]}}"
    );
    let e = model_from_bytes(json.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("more than 1024 layers"), "{e}");
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// IDX: a wrapping dimension product, a gzip bomb, a multi-member gzip.
#[test]
fn idx_wrapping_dims_gzip_bomb_and_multi_member() {
    use tbn_golden::idx::parse_u8;
    let e = parse_u8(&idx(&[1 << 31, 1 << 31, 4], &[]), 3, "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than"), "{e}");
    // 64 MiB of zeros behind a header that promises 10 labels.
    let mut bomb = idx(&[10], &[]);
    bomb.resize(bomb.len() + (64 << 20), 0);
    let bomb = gz(&bomb);
    assert!(bomb.len() < 1 << 20);
    let e = parse_u8(&bomb, 1, "t").unwrap_err().to_string();
    assert!(
        e.contains("promises 10 bytes") && e.contains("holds more"),
        "{e}"
    );
    // `cat a.gz b.gz`: one file, two gzip members.
    let whole = idx(&[6], &[1, 2, 3, 4, 5, 6]);
    let mut two = gz(&whole[..9]);
    two.extend(gz(&whole[9..]));
    let (dims, data) = parse_u8(&two, 1, "t").unwrap();
    assert_eq!((dims, data), (vec![6], vec![1, 2, 3, 4, 5, 6]));
    // Images of zero pixels are refused (they would make a 4-billion image loop).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i.idx");
    std::fs::write(&p, idx(&[1_000_000, 0, 5], &[])).unwrap();
    let e = tbn_golden::idx::read_images(&p).unwrap_err().to_string();
    assert!(e.contains("no pixels"), "{e}");
}

fn npy(header: &str, data: &[f32]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    for x in data {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

/// .npy: a 4 GB header length, a huge shape, Fortran order read transposed.
#[test]
fn npy_header_length_shape_and_fortran_order() {
    use tbn_golden::import::tensors_from_bytes;
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    v2.extend_from_slice(b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
    let e = tensors_from_bytes(&v2, "w").unwrap_err();
    assert!(e.contains("header of 4294967280 bytes"), "{e}");
    let huge = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
        &[],
    );
    let e = tensors_from_bytes(&huge, "w").unwrap_err();
    assert!(e.contains("more than"), "{e}");
    let short = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        &[1.0; 5],
    );
    let e = tensors_from_bytes(&short, "w").unwrap_err();
    assert!(e.contains("6 values of 4 bytes"), "{e}");
    // The 2 x 3 matrix [[1 2 3] [4 5 6]] stored column-major.
    let f = npy(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    let t = &tensors_from_bytes(&f, "w").unwrap()["w"];
    assert_eq!(t.shape, vec![2, 3]);
    assert_eq!(t.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let c = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_eq!(tensors_from_bytes(&c, "w").unwrap()["w"].data, t.data);
}

/// .npz: a member that decompresses to 256 MiB behind a header for 2 values
/// is read only as far as the header justifies.
#[test]
fn npz_bomb_is_bounded() {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opt = zip::write::FileOptions::default();
    z.start_file("w.npy", opt).unwrap();
    z.write_all(&npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        &[1.0, 2.0],
    ))
    .unwrap();
    z.write_all(&vec![0u8; 256 << 20]).unwrap();
    let bytes = z.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20);
    // Only the 8 data bytes the header justifies (+1) are ever decompressed.
    let t = std::time::Instant::now();
    let e = tbn_golden::import::tensors_from_bytes(&bytes, "w").unwrap_err();
    assert!(
        e.contains("w: 2 values of 4 bytes, but the file holds 9"),
        "{e}"
    );
    assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
}

fn small_program() -> serde_json::Value {
    let calib = vec![vec![0.5f32; 8]];
    let p = tbn_golden::integer::quantize(&good(), &calib, &Default::default()).unwrap();
    serde_json::from_str(&program_to_json(&p).unwrap()).unwrap()
}

fn program_err(v: &serde_json::Value) -> String {
    program_from_json(v.to_string().as_bytes())
        .expect_err("must be rejected")
        .to_string()
}

fn conv_program() -> serde_json::Value {
    let conv = Conv2d {
        name: "c".into(),
        in_channels: 1,
        out_channels: 2,
        kernel: (3, 3),
        stride: 1,
        padding: 1,
        weights: TiledWeights {
            p: 1,
            tile: Tile::from_bools(&[true, false, true].repeat(6)),
            alphas: vec![1.0],
        },
        bias: None,
    };
    let m = Model::new(
        "c",
        Shape::Chw(1, 4, 4),
        vec![
            Layer::Conv2d(conv),
            Layer::Relu,
            Layer::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            Layer::Flatten,
            linear("fc", 8, 2, 1, 16, vec![1.0]),
        ],
    )
    .unwrap();
    let calib = vec![(0..16).map(|i| i as f32 / 16.0).collect::<Vec<_>>()];
    let p = tbn_golden::integer::quantize(&m, &calib, &Default::default()).unwrap();
    serde_json::from_str(&program_to_json(&p).unwrap()).unwrap()
}

/// Program JSON that parsed but panicked when run: stride 0, shapes that do
/// not chain, mismatched value codes, a dense stage after the logits, biases
/// that overflow i64.
#[test]
fn program_json_is_validated_at_load() {
    let ok = conv_program();
    let p = program_from_json(ok.to_string().as_bytes()).unwrap();
    p.run(&[0; 16]).unwrap();
    let mut v = ok.clone();
    v["stages"][1]["stride"] = 0.into();
    assert!(program_err(&v).contains("stride 0"), "{}", program_err(&v));
    let mut v = ok.clone();
    v["stages"][0]["conv"]["stride"] = 0.into();
    assert!(program_err(&v).contains("stride 0"), "{}", program_err(&v));
    let mut v = ok.clone();
    v["stages"][0]["conv"]["in_hw"] = serde_json::json!([5, 4]);
    assert!(
        program_err(&v).contains("conv input"),
        "{}",
        program_err(&v)
    );
    let mut v = ok.clone();
    v["stages"][1]["in_chw"] = serde_json::json!([2, 8, 8]);
    assert!(
        program_err(&v).contains("max-pool input"),
        "{}",
        program_err(&v)
    );
    let mut v = ok.clone();
    v["input"]["shape"] = serde_json::json!([1, 4, 5]);
    assert!(
        program_err(&v).contains("conv input"),
        "{}",
        program_err(&v)
    );

    let ok = small_program();
    program_from_json(ok.to_string().as_bytes()).unwrap();
    let mut v = ok.clone();
    v["stages"][1]["geom"]["m"] = 5.into();
    assert!(!program_err(&v).is_empty());
    let mut v = ok.clone();
    v["stages"][1]["in_bits"] = 4.into();
    assert!(
        program_err(&v).contains("takes 4-bit"),
        "{}",
        program_err(&v)
    );
    let mut v = ok.clone();
    v["stages"][0]["act"] = "logits".into();
    assert!(
        program_err(&v).contains("cannot follow the logits"),
        "{}",
        program_err(&v)
    );
    let mut v = ok.clone();
    v["stages"][1]["bias"] = serde_json::json!([i64::MAX, 0]);
    assert!(program_err(&v).contains("2^62"), "{}", program_err(&v));
    let mut v = ok.clone();
    v["stages"] = serde_json::json!([]);
    assert!(program_err(&v).contains("0 stages"), "{}", program_err(&v));
}

/// Finite parameters whose results overflow f32 are an error, not class 0.
#[test]
fn non_finite_results_are_errors() {
    let m = Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![3e38, 3e38])],
    )
    .unwrap();
    let e = tbn_golden::float::forward(&m, &[1.0; 8])
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite") && e.contains("fc1"), "{e}");
    let bn = |gamma: f32, var: f32| {
        Layer::BatchNorm(BatchNorm {
            name: "bn".into(),
            gamma: vec![gamma; 4],
            beta: vec![0.0; 4],
            mean: vec![0.0; 4],
            var: vec![var; 4],
            eps: 0.0,
        })
    };
    let m = Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![1.0, 1.0]), bn(3e38, 1.0)],
    )
    .unwrap();
    let e = tbn_golden::float::forward(&m, &[1.0; 8])
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite") && e.contains("bn"), "{e}");
    // A gain that is already infinite is refused at load.
    let e = err_of(Model::new(
        "m",
        Shape::Vector(8),
        vec![linear("fc1", 8, 4, 2, 16, vec![1.0, 1.0]), bn(3e38, 1e-30)],
    ));
    assert!(e.contains("overflows f32"), "{e}");
    let e = tbn_golden::float::forward(&good(), &[f32::NAN; 8])
        .unwrap_err()
        .to_string();
    assert!(e.contains("input value 0 is NaN"), "{e}");
}

/// Outputs are replaced whole: a failed save leaves the old file and no temporary.
#[test]
fn saves_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    tbn_golden::format::save_model_json(&good(), &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    // A directory where the file should go: the rename fails.
    let blocked = dir.path().join("d");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("x"), "keep").unwrap();
    assert!(tbn_golden::format::save_model_binary(&good(), &blocked).is_err());
    assert_eq!(std::fs::read(&p).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// Found by fuzzing (tensors target, a 10 s timeout): a .npy header of 60
/// nested braces sent the literal parser into exponential backtracking.
#[test]
fn npy_header_nesting_is_refused_fast() {
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': False, {}'shape': (3, 6, ), }}",
        "{".repeat(60)
    );
    let t = std::time::Instant::now();
    let e = tbn_golden::import::tensors_from_bytes(&npy(&header, &[0.0; 18]), "w").unwrap_err();
    assert!(e.contains("more than 4 brackets"), "{e}");
    assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/tensors/timeout-npy-nested-braces"
    ))
    .unwrap();
    assert!(tbn_golden::import::tensors_from_bytes(&raw, "w").is_err());
}
