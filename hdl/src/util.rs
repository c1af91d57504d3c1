//! Small helpers shared by the block models.

use rust_hdl::prelude::*;

/// Bit `i` of a `Bits<N>` value as bool.
pub fn bit<const N: usize>(b: Bits<N>, i: usize) -> bool {
    b.get_bit(i)
}

/// Build a `Bits<N>` from a bool slice (index 0 = LSB); missing bits are 0.
pub fn from_bools<const N: usize>(v: &[bool]) -> Bits<N> {
    let mut out = Bits::<N>::default();
    for (i, &b) in v.iter().enumerate().take(N) {
        out = out.replace_bit(i, b);
    }
    out
}

/// The bits of a `Bits<N>` as bools (index 0 = LSB).
pub fn to_bools<const N: usize>(b: Bits<N>) -> Vec<bool> {
    (0..N).map(|i| b.get_bit(i)).collect()
}

/// Low 64 bits of a `Bits<N>` as u64.
pub fn low_u64<const N: usize>(b: Bits<N>) -> u64 {
    let mut out = 0u64;
    for i in 0..N.min(64) {
        if b.get_bit(i) {
            out |= 1 << i;
        }
    }
    out
}

/// `Bits<N>` from the low bits of a u64.
pub fn from_u64<const N: usize>(v: u64) -> Bits<N> {
    let mut out = Bits::<N>::default();
    for i in 0..N.min(64) {
        if (v >> i) & 1 == 1 {
            out = out.replace_bit(i, true);
        }
    }
    out
}

/// log2 of a power of two.
pub fn log2(x: usize) -> usize {
    debug_assert!(x.is_power_of_two());
    x.trailing_zeros() as usize
}

/// Bits needed to index `n` entries (at least 1).
pub fn index_bits(n: usize) -> usize {
    let mut b = 1;
    while (1usize << b) < n {
        b += 1;
    }
    b
}

/// A 32-bit constant.
pub fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
}

/// The bits at and above `limit` (a power of two): `v > limit` is then
/// `(v & mask) != 0 & v != limit`, two LUT trees instead of a carry chain.
pub fn high_mask32(limit: u32) -> Constant<Bits<32>> {
    assert!(
        limit.is_power_of_two(),
        "capacity {limit} is a power of two"
    );
    c32(!(limit - 1))
}
