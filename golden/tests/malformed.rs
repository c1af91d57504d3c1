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
