//! Reader for IDX files (the MNIST format), plain or gzip-compressed:
//! big-endian magic `0x0000 <type> <ndim>`, ndim big-endian u32 sizes, data.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// A set of 8-bit images.
#[derive(Clone, Debug)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Image `i` as floats in [0, 1] (pixel / 255).
    pub fn image_f32(&self, i: usize) -> Vec<f32> {
        self.image(i)
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path.display().to_string(), format!("corrupt gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX of unsigned bytes with `ndim` dimensions; returns the sizes and data.
pub fn parse_u8(bytes: &[u8], ndim: u8, what: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] != ndim {
        return Err(Error::format(
            what,
            format!(
                "bad IDX magic {:02x?}: expected 00 00 08 {ndim:02x} (unsigned bytes, {ndim} dimensions)",
                &bytes[..bytes.len().min(4)]
            ),
        ));
    }
    let header = 4 + 4 * ndim as usize;
    if bytes.len() < header {
        return Err(Error::format(what, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..ndim as usize)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let n: usize = dims.iter().product();
    let data = &bytes[header..];
    if data.len() != n {
        return Err(Error::format(
            what,
            format!(
                "IDX header promises {n} bytes ({dims:?}) but the file holds {}",
                data.len()
            ),
        ));
    }
    Ok((dims, data.to_vec()))
}

/// Reads an IDX image file (3 dimensions: count x rows x cols).
pub fn read_images(path: impl AsRef<Path>) -> Result<Images> {
    let path = path.as_ref();
    let (dims, pixels) = parse_u8(&read_all(path)?, 3, &path.display().to_string())?;
    Ok(Images {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX label file (1 dimension).
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    Ok(parse_u8(&read_all(path)?, 1, &path.display().to_string())?.1)
}

/// Reads images and labels and checks that they pair up.
pub fn read_dataset(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<(Images, Vec<u8>)> {
    let im = read_images(images)?;
    let lb = read_labels(labels)?;
    if im.count != lb.len() {
        return Err(Error::Shape(format!(
            "{} images but {} labels",
            im.count,
            lb.len()
        )));
    }
    Ok((im, lb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_magic_and_truncation() {
        assert!(parse_u8(&[0, 0, 8, 1, 0, 0, 0, 2, 7, 9], 1, "t").is_ok());
        let e = parse_u8(&[0, 0, 9, 1, 0, 0, 0, 2, 7, 9], 1, "t").unwrap_err();
        assert!(e.to_string().contains("bad IDX magic"), "{e}");
        let e = parse_u8(&[0, 0, 8, 1, 0, 0, 0, 3, 7, 9], 1, "t").unwrap_err();
        assert!(e.to_string().contains("promises 3 bytes"), "{e}");
        assert!(parse_u8(&[0, 0, 8, 3, 0], 3, "t").is_err());
    }
}
