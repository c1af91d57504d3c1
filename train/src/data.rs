//! Image classification data held in memory as f32 (pixel / 255, the input
//! convention of the golden model's float path).

use std::path::Path;

use crate::error::{Result, TrainError};

/// A labelled image set.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Number of images.
    pub count: usize,
    /// Image rows.
    pub rows: usize,
    /// Image columns.
    pub cols: usize,
    /// `count * rows * cols` values in [0, 1], image after image.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u32>,
}

impl Dataset {
    /// Loads IDX images and labels (plain or gzip), keeping the first `limit` images if given.
    pub fn load(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        limit: Option<usize>,
    ) -> Result<Dataset> {
        let imgs = tbn_golden::idx::read_images(images.as_ref())?;
        let labs = tbn_golden::idx::read_labels(labels.as_ref())?;
        if imgs.count != labs.len() {
            return Err(TrainError::Data(format!(
                "{} holds {} images but {} holds {} labels",
                images.as_ref().display(),
                imgs.count,
                labels.as_ref().display(),
                labs.len()
            )));
        }
        let count = limit.map_or(imgs.count, |l| l.min(imgs.count));
        if count == 0 {
            return Err(TrainError::Data(format!(
                "{} has no images",
                images.as_ref().display()
            )));
        }
        let per = imgs.rows * imgs.cols;
        let pixels = imgs.pixels[..count * per]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        Ok(Dataset {
            count,
            rows: imgs.rows,
            cols: imgs.cols,
            pixels,
            labels: labs[..count].iter().map(|&l| u32::from(l)).collect(),
        })
    }

    /// Pixels of one image.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Checks that every label is below `classes`.
    pub fn check_labels(&self, classes: usize) -> Result<()> {
        match self.labels.iter().position(|&l| l as usize >= classes) {
            Some(i) => Err(TrainError::Data(format!(
                "label {} of image {i} is not below the network's {classes} classes",
                self.labels[i]
            ))),
            None => Ok(()),
        }
    }
}
