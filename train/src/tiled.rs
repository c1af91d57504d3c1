//! The trainable weight of one layer: tiled (scores + latent weights, the
//! paper's method) or plain f32 (the full-precision baseline).
//!
//! A tiled weight of `N = p * q` elements holds two real tensors of the
//! weight's shape: scores `S` and latent weights `A`. The forward pass builds
//!
//! ```text
//! s_j     = sum_{c<p} S.flat[c*q + j]          (j < q)
//! t_j     = +1 if s_j > 0 else -1              (zero maps to -1)
//! alpha_c = mean_{k in chunk c} |A.flat[k]|    (the authors' choice: alphas from A)
//! W.flat[c*q + j] = alpha_c * t_j
//! ```
//!
//! which is exactly what [`tbn_golden::tile::tile_from_scores`] and
//! [`tbn_golden::tile::alphas_from`] compute at export. The sign has the
//! straight-through estimator: `t = sign(s) + (s - detach(s))`, whose value is
//! `sign(s)` exactly (`s - s` is 0 in floating point) and whose derivative is
//! 1, so `dL/dS[c*q + j] = dL/ds_j = sum_c' alpha_c' dL/dW[c'*q + j]` for every
//! copy c. `A` receives its gradient through the alphas:
//! `dL/dA[k] = sign(A[k]) / q * sum_{j} t_j dL/dW[c*q + j]` for k in chunk c.

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tbn_golden::model::TiledWeights;
use tbn_golden::tile::{alphas_from, tile_from_scores, AlphaMode};

use crate::error::{Result, TrainError};

/// A layer's trainable weight tensor.
#[derive(Debug)]
pub enum WeightParam {
    /// Tiled binary weight with compression `p` (p = 1: plain binary + one alpha).
    Tiled {
        /// Scores S (shape of the weight).
        scores: Var,
        /// Latent weights A (shape of the weight), source of the alphas.
        latent: Var,
        /// Compression factor.
        p: usize,
    },
    /// Full-precision weight (baseline, not exportable as a TBN).
    Float {
        /// The weight.
        w: Var,
    },
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-bound..bound)).collect()
}

/// Standard normal samples (Box-Muller), deterministic for a seeded rng.
fn normal(rng: &mut ChaCha8Rng, n: usize, std: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
            let u2: f32 = rng.gen::<f32>();
            std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
        })
        .collect()
}

impl WeightParam {
    /// A tiled weight of `shape` with compression `p`, seeded init: scores
    /// uniform in `+-1/sqrt(fan_in)` (PyTorch's default linear init), latent
    /// weights Kaiming-normal (`std = sqrt(2 / fan_in)`).
    pub fn tiled(
        shape: &[usize],
        fan_in: usize,
        p: usize,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Self> {
        let n: usize = shape.iter().product();
        if p == 0 || !n.is_multiple_of(p) {
            return Err(TrainError::Config(format!(
                "compression p = {p} does not divide the {n} weights of a {shape:?} layer"
            )));
        }
        let s = uniform(rng, n, 1.0 / (fan_in as f32).sqrt());
        let a = normal(rng, n, (2.0 / fan_in as f32).sqrt());
        Ok(WeightParam::Tiled {
            scores: Var::from_tensor(&Tensor::from_vec(s, shape, dev)?)?,
            latent: Var::from_tensor(&Tensor::from_vec(a, shape, dev)?)?,
            p,
        })
    }

    /// A full-precision weight, Kaiming-uniform init (`+-sqrt(6 / fan_in)`).
    pub fn float(
        shape: &[usize],
        fan_in: usize,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Self> {
        let n: usize = shape.iter().product();
        let w = uniform(rng, n, (6.0 / fan_in as f32).sqrt());
        Ok(WeightParam::Float {
            w: Var::from_tensor(&Tensor::from_vec(w, shape, dev)?)?,
        })
    }

    /// The trainable variables.
    pub fn vars(&self) -> Vec<Var> {
        match self {
            WeightParam::Tiled { scores, latent, .. } => vec![scores.clone(), latent.clone()],
            WeightParam::Float { w } => vec![w.clone()],
        }
    }

    /// Compression factor (1 for float weights).
    pub fn p(&self) -> usize {
        match self {
            WeightParam::Tiled { p, .. } => *p,
            WeightParam::Float { .. } => 1,
        }
    }

    /// Number of weights.
    pub fn numel(&self) -> usize {
        match self {
            WeightParam::Tiled { scores, .. } => scores.elem_count(),
            WeightParam::Float { w } => w.elem_count(),
        }
    }

    /// The effective weight used by the forward pass (differentiable).
    pub fn weight(&self) -> Result<Tensor> {
        match self {
            WeightParam::Float { w } => Ok(w.as_tensor().clone()),
            WeightParam::Tiled { scores, latent, p } => {
                let shape = scores.shape().clone();
                let q = scores.elem_count() / p;
                let s = scores.as_tensor().reshape((*p, q))?.sum(0)?; // (q)
                let sign = s.gt(0f64)?.to_dtype(DType::F32)?.affine(2.0, -1.0)?;
                // Straight-through: value sign(s) exactly, derivative 1.
                let t = (sign + (&s - s.detach())?)?;
                let alpha = latent
                    .as_tensor()
                    .reshape((*p, q))?
                    .abs()?
                    .mean_keepdim(1)?; // (p, 1)
                let w = t.unsqueeze(0)?.broadcast_mul(&alpha)?; // (p, q)
                Ok(w.reshape(shape)?)
            }
        }
    }

    /// The training-time tile signs (bit j = s_j > 0), as computed by the
    /// tensor library; used to check the export.
    pub fn training_tile_bits(&self) -> Result<Option<Vec<bool>>> {
        match self {
            WeightParam::Float { .. } => Ok(None),
            WeightParam::Tiled { scores, p, .. } => {
                let q = scores.elem_count() / p;
                let s = scores
                    .as_tensor()
                    .reshape((*p, q))?
                    .sum(0)?
                    .to_vec1::<f32>()?;
                Ok(Some(s.into_iter().map(|v| v > 0.0).collect()))
            }
        }
    }

    /// The golden tiled weights: the tile from the final scores with
    /// [`tile_from_scores`], one alpha per copy from the latent weights with
    /// [`alphas_from`]. Float weights cannot be exported.
    pub fn export(&self) -> Result<TiledWeights> {
        match self {
            WeightParam::Float { .. } => Err(TrainError::Export(
                "full-precision (f32) weights are not a tiled bit network; train with --mode tbn or binary".into(),
            )),
            WeightParam::Tiled { scores, latent, p } => {
                let s = scores.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let a = latent.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let tile = tile_from_scores(&s, *p)?;
                let alphas = alphas_from(&a, *p, AlphaMode::PerCopy)?;
                Ok(TiledWeights { p: *p, tile, alphas })
            }
        }
    }

    /// Storage of the weights in bytes: `ceil(q / 8)` tile bytes + 4 bytes per
    /// alpha for a tiled weight, 4 bytes per weight for a float one.
    pub fn weight_bytes(&self) -> usize {
        match self {
            WeightParam::Tiled { p, .. } => (self.numel() / p).div_ceil(8) + 4 * p,
            WeightParam::Float { .. } => 4 * self.numel(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn var(v: Vec<f32>, shape: &[usize]) -> Var {
        Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
    }

    /// Forward value and STE gradients on a hand-checkable case: p = 2, q = 3.
    #[test]
    fn ste_forward_and_gradients_by_hand() {
        let s = var(vec![1.0, 2.0, -1.0, -1.0, 1.0, 0.0], &[2, 3]);
        let a = var(vec![1.0, -2.0, 3.0, -4.0, 5.0, 6.0], &[2, 3]);
        let w = WeightParam::Tiled {
            scores: s.clone(),
            latent: a.clone(),
            p: 2,
        };
        // s = (0, 3, -1) -> t = (-1, +1, -1); alpha = (2, 5)
        let got = w
            .weight()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(got, vec![-2.0, 2.0, -2.0, -5.0, 5.0, -5.0]);
        // loss = sum(W * G)
        let g = [0.5f32, -1.0, 2.0, 1.5, 0.25, -3.0];
        let gt = Tensor::from_vec(g.to_vec(), (2, 3), &Device::Cpu).unwrap();
        let loss = (w.weight().unwrap() * &gt).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let ds = grads
            .get(s.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let da = grads
            .get(a.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // dL/ds_j = sum_c alpha_c G[c][j], shared by both copies.
        let dsj: Vec<f32> = (0..3).map(|j| 2.0 * g[j] + 5.0 * g[3 + j]).collect();
        assert_eq!(ds, [dsj.clone(), dsj].concat());
        // dL/dA[c][k] = sign(A) / q * sum_j t_j G[c][j]
        let t = [-1.0f32, 1.0, -1.0];
        let sum_c = |c: usize| (0..3).map(|j| t[j] * g[c * 3 + j]).sum::<f32>();
        let a_vals = [1.0f32, -2.0, 3.0, -4.0, 5.0, 6.0];
        for k in 0..6 {
            let want = a_vals[k].signum() / 3.0 * sum_c(k / 3);
            assert!(
                (da[k] - want).abs() < 1e-6,
                "dA[{k}] = {} want {want}",
                da[k]
            );
        }
    }

    /// Randomised: the STE score gradient equals finite differences of the
    /// surrogate (sign replaced by identity), and the exported golden weights
    /// materialise to the training-time weights.
    #[test]
    fn ste_matches_surrogate_and_export_matches_training() {
        let seed = 0x7b5e_u64;
        println!("seed {seed}");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for &(rows, m, p) in &[(8usize, 12usize, 4usize), (16, 5, 8), (3, 7, 1), (6, 10, 3)] {
            let w = WeightParam::tiled(&[rows, m], m, p, &mut rng, &Device::Cpu).unwrap();
            let n = rows * m;
            let q = n / p;
            let g: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let gt = Tensor::from_vec(g.clone(), (rows, m), &Device::Cpu).unwrap();
            let loss = (w.weight().unwrap() * &gt).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let WeightParam::Tiled { scores, latent, .. } = &w else {
                unreachable!()
            };
            let ds = grads
                .get(scores.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let a = latent
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let alpha: Vec<f32> = a
                .chunks(q)
                .map(|c| c.iter().map(|v| v.abs()).sum::<f32>() / q as f32)
                .collect();
            // Surrogate W~ = alpha_c * s_j is linear in S: its gradient is sum_c alpha_c G[c*q+j].
            assert_eq!(ds.len(), n);
            for (k, &dsk) in ds.iter().enumerate() {
                let j = k % q;
                let want: f32 = (0..p).map(|c| alpha[c] * g[c * q + j]).sum();
                assert!(
                    (dsk - want).abs() < 1e-4,
                    "({rows},{m},{p}) dS[{k}] = {dsk} want {want}"
                );
            }
            let exported = w.export().unwrap();
            let bits = w.training_tile_bits().unwrap().unwrap();
            assert_eq!(
                bits,
                (0..q).map(|j| exported.tile.get(j)).collect::<Vec<_>>()
            );
            let trained = w
                .weight()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for (k, (x, y)) in trained.iter().zip(exported.materialize()).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-6 * y.abs().max(1e-3),
                    "weight {k}: trained {x} exported {y}"
                );
            }
        }
    }
}
