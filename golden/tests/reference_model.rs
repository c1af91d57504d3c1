//! The authors' published model: exact float accuracy, logits, and the
//! integer path's accuracy loss.

use tbn_golden::float::{argmax, forward, forward_reference};
use tbn_golden::idx::read_dataset;
use tbn_golden::integer::{mnist_input, quantize, QuantConfig};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");

fn reference_json() -> serde_json::Value {
    let bytes = std::fs::read(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn float_path_reproduces_published_accuracy_and_logits() {
    let model = tbn_golden::load_model(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let (images, labels) = read_dataset(
        format!("{ROOT}/mnist/t10k-images-idx3-ubyte.gz"),
        format!("{ROOT}/mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let r = reference_json();
    let expected_logits = r["expected_logits_first_8_test_images"].as_array().unwrap();
    let expected_argmax = r["expected_argmax_first_100_test_images"]
        .as_array()
        .unwrap();
    let mut correct = 0;
    for i in 0..images.count {
        let y = forward(&model, &images.image_f32(i)).unwrap();
        if i < 8 {
            let y_ref = forward_reference(&model, &images.image_f32(i)).unwrap();
            for (k, e) in expected_logits[i].as_array().unwrap().iter().enumerate() {
                let e = e.as_f64().unwrap() as f32;
                assert!(
                    (y[k] - e).abs() < 1e-4,
                    "image {i} logit {k}: {} vs {e}",
                    y[k]
                );
                assert!(
                    (y_ref[k] - e).abs() < 1e-4,
                    "materialised image {i} logit {k}"
                );
            }
        }
        if i < 100 {
            assert_eq!(
                argmax(&y) as u64,
                expected_argmax[i].as_u64().unwrap(),
                "image {i}"
            );
        }
        correct += usize::from(argmax(&y) == labels[i] as usize);
    }
    assert_eq!(correct, 9593, "published: 9,593 of 10,000");
}

#[test]
fn integer_path_loses_at_most_half_a_point() {
    let model = tbn_golden::load_model(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let train = tbn_golden::idx::read_images(format!("{ROOT}/mnist/train10k-images-idx3-ubyte.gz"))
        .unwrap();
    let calib: Vec<Vec<f32>> = (0..500).map(|i| train.image_f32(i)).collect();
    let program = quantize(&model, &calib, &QuantConfig::default()).unwrap();
    assert_eq!(program.input.scale, 1.0 / 255.0);
    let (images, labels) = read_dataset(
        format!("{ROOT}/mnist/t10k-images-idx3-ubyte.gz"),
        format!("{ROOT}/mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let runner = program.runner();
    let mut correct = 0;
    for (i, &label) in labels.iter().enumerate() {
        let x = mnist_input(images.image(i));
        assert_eq!(
            x,
            program.input.quantize(&images.image_f32(i)),
            "pixels are the A = 8 input"
        );
        let v = runner.run(&x).unwrap();
        if i < 50 {
            assert_eq!(
                v,
                program.run_reference(&x).unwrap(),
                "fast vs element-wise, image {i}"
            );
        }
        correct += usize::from(argmax(&v) == label as usize);
    }
    assert!(
        correct >= 9543,
        "integer path {correct}/10000 loses more than 0.5 points"
    );
}

#[test]
fn formats_round_trip_the_reference_model() {
    let model = tbn_golden::load_model(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let bin = tbn_golden::format::model_to_binary(&model).unwrap();
    assert!(bin.len() < 3500, "binary model is {} bytes", bin.len());
    assert_eq!(tbn_golden::format::model_from_bytes(&bin).unwrap(), model);
    let json = tbn_golden::format::model_to_json(&model).unwrap();
    assert_eq!(
        tbn_golden::format::model_from_bytes(json.as_bytes()).unwrap(),
        model
    );
    let calib = vec![vec![0.5f32; 784]];
    let program = quantize(&model, &calib, &QuantConfig::default()).unwrap();
    let pj = tbn_golden::format::program_to_json(&program).unwrap();
    assert_eq!(
        tbn_golden::format::program_from_json(pj.as_bytes()).unwrap(),
        program
    );
}
