//! A model quantized for the bundled MNIST data (data/mnist/) the way the
//! bit-exact MNIST tests of the engine use it: 8-bit activations and 8-bit
//! inputs (scale 1/255), calibrated on the first 500 images of the
//! training subset; with the test images.

use std::path::Path;

use tbn_golden::idx::{read_images, Images};
use tbn_golden::integer::{quantize, Program, QuantConfig};

/// Calibration images taken from the training subset.
pub const CALIBRATION_IMAGES: usize = 500;

/// The integer program of the model at `root/model` and the t10k test
/// images (`root` is the repository root).
pub fn program_and_test_images(root: &Path, model: &str) -> tbn_golden::Result<(Program, Images)> {
    let model = tbn_golden::load_model(root.join(model))?;
    let train = read_images(root.join("data/mnist/train10k-images-idx3-ubyte.gz"))?;
    let calib: Vec<Vec<f32>> = (0..CALIBRATION_IMAGES.min(train.count))
        .map(|i| train.image_f32(i))
        .collect();
    let cfg = QuantConfig {
        act_bits: 8,
        input_bits: 8,
        input_scale: Some(1.0 / 255.0),
    };
    let prog = quantize(&model, &calib, &cfg)?;
    let test = read_images(root.join("data/mnist/t10k-images-idx3-ubyte.gz"))?;
    Ok((prog, test))
}
