//! Pieces shared by several subcommands: loading models and data sets,
//! calibration, the integer program of a model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tbn_golden::idx::{read_dataset, read_images, Images};
use tbn_golden::integer::{quantize, Program, QuantConfig};
use tbn_golden::Model;

use crate::paths;

/// Loads a model (any supported format), defaulting to the bundled reference.
pub fn load_model(path: Option<&Path>) -> Result<Model> {
    let path = path.map_or_else(paths::reference_model, Path::to_path_buf);
    tbn_golden::load_model(&path).with_context(|| format!("loading model {}", path.display()))
}

/// Loads images and labels, defaulting to the bundled MNIST test set.
pub fn load_dataset(images: Option<&Path>, labels: Option<&Path>) -> Result<(Images, Vec<u8>)> {
    let im = images.map_or_else(paths::test_images, Path::to_path_buf);
    let lb = labels.map_or_else(paths::test_labels, Path::to_path_buf);
    Ok(read_dataset(&im, &lb)?)
}

/// Parses a count that must be at least 1 (`--limit 0` would evaluate
/// nothing and still exit 0).
pub fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses a lane count `L`: one of [`tbn_driver::regmap::LANE_CHOICES`].
pub fn lanes(s: &str) -> std::result::Result<usize, String> {
    let choices = tbn_driver::regmap::LANE_CHOICES;
    match s.parse::<u32>() {
        Ok(l) if choices.contains(&l) => Ok(l as usize),
        _ => Err(format!("must be one of {choices:?} (lanes per cycle)")),
    }
}

/// How many of `count` images to score with `--limit`: at least one, and
/// every label among them one of the model's classes (else the accuracy
/// would silently count a label the model cannot predict as a miss).
pub fn images_to_score(
    model: &Model,
    labels: &[u8],
    count: usize,
    limit: Option<usize>,
) -> Result<usize> {
    anyhow::ensure!(
        limit != Some(0),
        "--limit 0 evaluates nothing: give at least 1"
    );
    let total = limit.map_or(count, |l| l.min(count));
    anyhow::ensure!(total > 0, "the data set holds no images");
    let classes = model.output_shape()?.numel();
    if let Some((i, l)) = labels
        .iter()
        .take(total)
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes)
    {
        anyhow::bail!(
            "label {l} of image {i} is not one of the model's {classes} classes (0..={})",
            classes - 1
        );
    }
    Ok(total)
}

/// Float input of image `i`, shaped for the model (pixel / 255).
pub fn float_input(model: &Model, images: &Images, i: usize) -> Result<Vec<f32>> {
    let x = images.image_f32(i);
    anyhow::ensure!(
        x.len() == model.input_shape.numel(),
        "images have {} pixels, the model expects {} inputs ({})",
        x.len(),
        model.input_shape.numel(),
        model.input_shape
    );
    Ok(x)
}

/// Calibration inputs: the first `n` images of the training subset (or `path`).
pub fn calibration(model: &Model, path: Option<&PathBuf>, n: usize) -> Result<Vec<Vec<f32>>> {
    let path = path.cloned().unwrap_or_else(paths::train_images);
    let images =
        read_images(&path).with_context(|| format!("calibration images {}", path.display()))?;
    (0..n.min(images.count))
        .map(|i| float_input(model, &images, i))
        .collect()
}

/// The integer program of `model` with `act_bits`-bit activations, calibrated
/// on `calib_n` training images.
pub fn program_for(model: &Model, act_bits: u8, calib_n: usize) -> Result<Program> {
    let calib = calibration(model, None, calib_n)?;
    let cfg = QuantConfig {
        act_bits,
        ..Default::default()
    };
    Ok(quantize(model, &calib, &cfg)?)
}
