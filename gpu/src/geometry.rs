//! Geometry shared by both paths: activation shapes between stages and the
//! geometry fields of a dense or pooling stage's [`Params`].

use crate::error::{GpuError, Result};
use crate::kernels::Params;

/// Per-image activation geometry between stages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chw {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Chw {
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    pub fn of_dims(d: &[usize]) -> Chw {
        match d {
            [c, h, w] => Chw {
                c: *c,
                h: *h,
                w: *w,
            },
            _ => Chw {
                c: d.iter().product(),
                h: 1,
                w: 1,
            },
        }
    }
}

fn u32_of(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| GpuError::Unsupported(format!("{what} = {v} exceeds 32 bits")))
}

/// What the kernels need of a dense stage's row geometry.
pub(crate) struct DenseGeom {
    pub rows: usize,
    pub m: usize,
    pub q: usize,
    pub p: usize,
    /// Distinct rows computed by the dot kernels.
    pub d: usize,
    /// Row r reuses distinct row `r % period`.
    pub period: usize,
}

/// im2col geometry of a conv stage.
pub(crate) struct Im2col {
    pub in_c: usize,
    pub kernel: (usize, usize),
    pub out_hw: (usize, usize),
    pub stride: usize,
    pub pad: usize,
}

/// The geometry fields of a dense stage's [`Params`], shared by both paths;
/// also returns the output positions per image and the output geometry.
pub(crate) fn dense_params(
    g: DenseGeom,
    conv: Option<Im2col>,
    input: Chw,
) -> Result<(Params, usize, Chw)> {
    let DenseGeom {
        rows,
        m,
        q,
        p,
        d,
        period,
    } = g;
    // The kernels index rows as r * m in u32.
    u32_of(rows * m, "rows x row length")?;
    let (positions, out, mut params) = match conv {
        None => {
            if input.len() != m {
                return Err(GpuError::Unsupported(format!(
                    "a linear stage of row length {m} gets {} inputs",
                    input.len()
                )));
            }
            (
                1,
                Chw {
                    c: rows,
                    h: 1,
                    w: 1,
                },
                Params::default(),
            )
        }
        Some(Im2col {
            in_c,
            kernel: (kh, kw),
            out_hw: (oh, ow),
            stride,
            pad,
        }) => {
            if in_c != input.c || in_c * kh * kw != m {
                return Err(GpuError::Unsupported(format!(
                    "a conv stage of {in_c} x {kh} x {kw} gets {} input channels",
                    input.c
                )));
            }
            let pr = Params {
                in_c: in_c as u32,
                in_h: input.h as u32,
                in_w: input.w as u32,
                conv: 1,
                kh: kh as u32,
                kw: kw as u32,
                stride: stride as u32,
                pad: pad as u32,
                out_h: oh as u32,
                out_w: ow as u32,
                ..Params::default()
            };
            (
                oh * ow,
                Chw {
                    c: rows,
                    h: oh,
                    w: ow,
                },
                pr,
            )
        }
    };
    params.positions = u32_of(positions, "output positions")?;
    params.in_len = u32_of(input.len(), "input length")?;
    params.out_len = u32_of(out.len(), "output length")?;
    params.rows = rows as u32;
    params.m = u32_of(m, "row length")?;
    params.q = u32_of(q, "tile length")?;
    params.p = p as u32;
    params.d = d as u32;
    params.period = u32_of(period, "row period")?;
    params.wpr = m.div_ceil(32) as u32;
    params.tile_words = u32_of(q.div_ceil(32).max(1), "tile words")?;
    Ok((params, positions, out))
}

/// Max-pooling parameters; returns the pooled geometry.
pub(crate) fn pool_params(input: Chw, k: usize, s: usize) -> Result<(Params, Chw)> {
    if k == 0 || s == 0 || input.h < k || input.w < k {
        return Err(GpuError::Unsupported(format!(
            "max pooling {k}/{s} of a {}x{} input",
            input.h, input.w
        )));
    }
    let out = Chw {
        c: input.c,
        h: (input.h - k) / s + 1,
        w: (input.w - k) / s + 1,
    };
    let params = Params {
        in_len: u32_of(input.len(), "input length")?,
        out_len: u32_of(out.len(), "output length")?,
        in_c: input.c as u32,
        in_h: input.h as u32,
        in_w: input.w as u32,
        out_h: out.h as u32,
        out_w: out.w as u32,
        pool_k: k as u32,
        pool_s: s as u32,
        ..Params::default()
    };
    Ok((params, out))
}
