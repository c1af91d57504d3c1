//! The bundled models on the GPU against the golden model, on the first
//! images of the MNIST test set (the full 10,000 are run with
//! `tbn gpu eval --compare-golden`; figures in docs/gpu.md).

mod common;

use common::DATA;
use tbn_golden::float::{argmax, forward};
use tbn_golden::idx::{read_dataset, read_images, Images};
use tbn_golden::integer::{mnist_input, quantize, QuantConfig};
use tbn_golden::Model;
use tbn_gpu::{Gpu, GpuModel, GpuProgram, Weights};

const MLP: &str = "reference/tbn_mnist_mlp_p4.json";
const CNN: &str = "models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json";

fn load(rel: &str) -> Model {
    tbn_golden::load_model(format!("{DATA}/{rel}")).unwrap()
}

fn test_set() -> (Images, Vec<u8>) {
    read_dataset(
        format!("{DATA}/mnist/t10k-images-idx3-ubyte.gz"),
        format!("{DATA}/mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap()
}

/// Float path: logits within 1e-4 relative (to the largest |logit|) of the
/// golden float model and the same classes; returns the number correct.
fn float_agrees(gpu: &Gpu, model: &Model, n: usize, weights: Weights) -> usize {
    let (images, labels) = test_set();
    let xs: Vec<Vec<f32>> = (0..n).map(|i| images.image_f32(i)).collect();
    let ys = GpuModel::new(gpu, model, 64, weights)
        .unwrap()
        .run(&xs)
        .unwrap();
    let mut correct = 0;
    for (i, (x, y)) in xs.iter().zip(&ys).enumerate() {
        let g = forward(model, x).unwrap();
        let scale = g.iter().fold(0f32, |a, v| a.max(v.abs())).max(1e-6);
        for (k, (a, b)) in y.iter().zip(&g).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{weights:?} image {i} logit {k}: GPU {a} vs golden {b}"
            );
        }
        assert_eq!(argmax(y), argmax(&g), "{weights:?} image {i}: class");
        correct += usize::from(argmax(y) == labels[i] as usize);
    }
    correct
}

/// Integer path: logits identical to the golden integer program.
fn integer_identical(gpu: &Gpu, model: &Model, n: usize) {
    let train = read_images(format!("{DATA}/mnist/train10k-images-idx3-ubyte.gz")).unwrap();
    let calib: Vec<Vec<f32>> = (0..500).map(|i| train.image_f32(i)).collect();
    let program = quantize(model, &calib, &QuantConfig::default()).unwrap();
    let (images, _) = test_set();
    let xs: Vec<Vec<i32>> = (0..n).map(|i| mnist_input(images.image(i))).collect();
    let ys = GpuProgram::new(gpu, &program, 64)
        .unwrap()
        .run(&xs)
        .unwrap();
    let runner = program.runner();
    for (i, (x, y)) in xs.iter().zip(&ys).enumerate() {
        assert_eq!(*y, runner.run(x).unwrap(), "image {i}: integer logits");
    }
}

#[test]
fn reference_mlp_float_integer_and_dense_baseline() {
    let Some(gpu) = common::gpu_or_skip() else {
        return;
    };
    let model = load(MLP);
    let n = 300;
    let tiled = float_agrees(&gpu, &model, n, Weights::Tiled);
    let dense = float_agrees(&gpu, &model, n, Weights::DenseF32);
    assert_eq!(tiled, dense);
    assert!(tiled >= 285, "{tiled}/{n}");
    integer_identical(&gpu, &model, n);
}

#[test]
fn cnn_float_and_integer() {
    let Some(gpu) = common::gpu_or_skip() else {
        return;
    };
    let model = load(CNN);
    let n = 64;
    float_agrees(&gpu, &model, n, Weights::Tiled);
    integer_identical(&gpu, &model, n);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let Some(gpu) = common::gpu_or_skip() else {
        return;
    };
    let model = load(MLP);
    let m = GpuModel::new(&gpu, &model, 4, Weights::Tiled).unwrap();
    let e = m.run(&[vec![0.0; 10]]).unwrap_err().to_string();
    assert!(e.contains("784"), "{e}");
    assert!(GpuModel::new(&gpu, &model, 0, Weights::Tiled).is_err());
    let train = read_images(format!("{DATA}/mnist/train10k-images-idx3-ubyte.gz")).unwrap();
    let program = quantize(&model, &[train.image_f32(0)], &QuantConfig::default()).unwrap();
    let p = GpuProgram::new(&gpu, &program, 4).unwrap();
    let e = p.run(&[vec![256; 784]]).unwrap_err().to_string();
    assert!(e.contains("outside"), "{e}");
}
