//! The accelerator model image (docs/model-image.md): its word layout
//! ([`format`], no_std, shared with the RTL and the driver) and, with the
//! `std` feature, the image type, a chip model and the independent reference
//! executor of images ([`exec`]).
//!
//! The compiler from a [`crate::program::Program`] to an image is host-side
//! work and lives in the `tbn-host` crate (`tbn_host::compile`), beside the
//! conversion of golden programs into compact programs.

pub mod format;

#[cfg(feature = "std")]
pub mod chip;
#[cfg(feature = "std")]
pub mod exec;

#[cfg(feature = "std")]
pub use image_type::Image;

#[cfg(feature = "std")]
mod image_type {
    use std::vec::Vec;

    use super::format::{Descriptor, Header, HEADER_WORDS_CONV};

    /// A compiled model image: its words (a file stores them little-endian).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Image {
        pub(crate) words: Vec<u32>,
    }

    /// Bytes that are not a whole number of words.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    #[error("a model image is a whole number of 32-bit words; {0} bytes is not")]
    pub struct NotWords(pub usize);

    impl Image {
        /// The image from its words (unchecked: load it to check it).
        pub fn from_words(words: Vec<u32>) -> Image {
            Image { words }
        }

        /// The image from a little-endian byte file (unchecked).
        pub fn from_le_bytes(bytes: &[u8]) -> Result<Image, NotWords> {
            if !bytes.len().is_multiple_of(4) {
                return Err(NotWords(bytes.len()));
            }
            Ok(Image {
                words: bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            })
        }

        /// The words.
        pub fn words(&self) -> &[u32] {
            &self.words
        }

        /// The image as little-endian bytes (the file format).
        pub fn to_le_bytes(&self) -> Vec<u8> {
            self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
        }

        /// The header (of a compiled image; garbage for arbitrary words).
        pub fn header(&self) -> Header {
            let mut h = [0u32; HEADER_WORDS_CONV];
            for (d, s) in h.iter_mut().zip(&self.words) {
                *d = *s;
            }
            Header::decode(&h)
        }

        /// Descriptor of layer `l`, if present.
        pub fn descriptor(&self, l: usize) -> Option<Descriptor> {
            let h = self.header();
            let s = h.desc_at(l);
            self.words
                .get(s..s + h.desc_words())
                .map(Descriptor::decode)
        }
    }
}
