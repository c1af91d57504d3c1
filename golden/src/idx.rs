//! Reader for IDX files (the MNIST format), plain or gzip-compressed:
//! big-endian magic `0x0000 <type> <ndim>`, ndim big-endian u32 sizes, data.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::limits::{checked_product, MAX_INPUT_BYTES};

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

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_INPUT_BYTES as u64 {
        return Err(Error::format(
            path.display().to_string(),
            format!(
                "{len} bytes is beyond the IDX limit of {MAX_INPUT_BYTES} (docs/numerics.md §9)"
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Parses an IDX file of unsigned bytes with `ndim` dimensions, plain or
/// gzip-compressed (one or more gzip members, as `cat a.gz b.gz` makes);
/// returns the sizes and the data. The header is read first: at most the
/// size it promises (and at most [`MAX_INPUT_BYTES`]) is ever decompressed, so
/// a gzip bomb costs no more memory than an honest file of its header.
pub fn parse_u8(bytes: &[u8], ndim: u8, what: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        parse_stream(flate2::read::MultiGzDecoder::new(bytes), ndim, what)
    } else {
        parse_stream(bytes, ndim, what)
    }
}

fn parse_stream(mut r: impl Read, ndim: u8, what: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    let io_err = |e: std::io::Error| Error::format(what, format!("corrupt gzip: {e}"));
    let mut magic = Vec::with_capacity(4);
    (&mut r).take(4).read_to_end(&mut magic).map_err(io_err)?;
    if magic.len() < 4 || magic[..3] != [0, 0, 0x08] || magic[3] != ndim {
        return Err(Error::format(
            what,
            format!(
                "bad IDX magic {magic:02x?}: expected 00 00 08 {ndim:02x} (unsigned bytes, {ndim} dimensions)"
            ),
        ));
    }
    let mut head = Vec::with_capacity(4 * ndim as usize);
    (&mut r)
        .take(4 * u64::from(ndim))
        .read_to_end(&mut head)
        .map_err(io_err)?;
    if head.len() < 4 * ndim as usize {
        return Err(Error::format(what, "truncated IDX header"));
    }
    let dims: Vec<usize> = head
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) as usize)
        .collect();
    let n = checked_product(&dims, MAX_INPUT_BYTES, &format!("{what}: IDX dimensions"))?;
    // Read one byte more than promised to tell "too long" from "exact".
    let mut data = Vec::new();
    r.take(n as u64 + 1)
        .read_to_end(&mut data)
        .map_err(io_err)?;
    if data.len() != n {
        let held = if data.len() > n {
            "more".to_string()
        } else {
            data.len().to_string()
        };
        return Err(Error::format(
            what,
            format!("IDX header promises {n} bytes ({dims:?}) but the file holds {held}"),
        ));
    }
    Ok((dims, data))
}

/// Reads an IDX image file (3 dimensions: count x rows x cols).
pub fn read_images(path: impl AsRef<Path>) -> Result<Images> {
    let path = path.as_ref();
    let (dims, pixels) = parse_u8(&read_file(path)?, 3, &path.display().to_string())?;
    if dims[1] == 0 || dims[2] == 0 {
        return Err(Error::format(
            path.display().to_string(),
            format!("images of {}x{} pixels have no pixels", dims[1], dims[2]),
        ));
    }
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
    Ok(parse_u8(&read_file(path)?, 1, &path.display().to_string())?.1)
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
