//! Pieces both firmware binaries share (`tbn-firmware`, the MCU kernel
//! benchmark, and `tbn-cosim`, the co-simulation driving the accelerator):
//! aligned embedded data, little-endian reads of the host-written tables and
//! the fixed-capacity JSON report printed over semihosting.
#![no_std]

use core::fmt::Write;

use cortex_m_semihosting::hio;

/// Embedded bytes aligned to 4 (the compact program and the model image are
/// read as words).
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// The little-endian `u32` at byte `at` of `b` (0 past the end).
pub fn le_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

/// The little-endian `i64` at byte `at` of `b` (0 past the end).
pub fn le_i64(b: &[u8], at: usize) -> i64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    i64::from_le_bytes(w)
}

/// A fixed-capacity string of `N` bytes for the JSON report (a write that
/// does not fit fails and leaves the text as it was).
pub struct Buf<const N: usize> {
    b: [u8; N],
    n: usize,
}

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Buf { b: [0; N], n: 0 }
    }

    /// The text so far.
    pub fn bytes(&self) -> &[u8] {
        &self.b[..self.n]
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.n = 0;
    }

    /// Prints the text and a newline on the host's standard output (semihosting).
    pub fn print_line(&self) {
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(self.bytes());
            let _ = out.write_all(b"\n");
        }
    }
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Write for Buf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let bytes = s.as_bytes();
        let end = self.n + bytes.len();
        if end > self.b.len() {
            return Err(core::fmt::Error);
        }
        self.b[self.n..end].copy_from_slice(bytes);
        self.n = end;
        Ok(())
    }
}

/// Writes through to a [`Buf`], escaping JSON string characters.
pub struct Esc<'a, const N: usize>(pub &'a mut Buf<N>);

impl<const N: usize> Write for Esc<'_, N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for ch in s.chars() {
            match ch {
                '"' => self.0.write_str("\\\"")?,
                '\\' => self.0.write_str("\\\\")?,
                c if (c as u32) < 0x20 => write!(self.0, "\\u{:04x}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}
