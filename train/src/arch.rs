//! Architecture strings: `mlp:784-128-10` and `cnn:32c3-p2-64c3-p2-fc128-10`.
//!
//! * `mlp:I-H1-...-C`: fully connected layers; `I` must equal the number of
//!   pixels of one image; every hidden layer is linear (with optional
//!   batch-norm) and ReLU; the last number is the number of classes (a linear
//!   layer with bias giving the logits).
//! * `cnn:B1-B2-...-C`: blocks on the `1 x rows x cols` image, in order:
//!   `<n>c<k>` a k x k convolution with n output channels, stride 1 and padding
//!   k/2 ("same" for odd k), followed by batch-norm and ReLU; `p<k>` max pooling
//!   with a k x k window and stride k; `fc<n>` a linear layer with n outputs,
//!   batch-norm and ReLU (the tensor is flattened before the first `fc`). The
//!   last element is the number of classes.

use crate::error::{Result, TrainError};

/// One hidden block of an architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Convolution with `out` channels and a `k x k` kernel (padding k/2), BN, ReLU.
    Conv {
        /// Output channels.
        out: usize,
        /// Kernel size.
        k: usize,
    },
    /// Max pooling, window and stride `k`.
    Pool {
        /// Window and stride.
        k: usize,
    },
    /// Linear layer with `out` outputs, (BN), ReLU.
    Fc {
        /// Output features.
        out: usize,
    },
}

/// Whether the network reads the image as a flat vector or as a 1-channel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchKind {
    /// Multi-layer perceptron on the flat image.
    Mlp,
    /// Convolutional network on the `1 x rows x cols` image.
    Cnn,
}

/// A parsed architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arch {
    /// The string it was parsed from.
    pub spec: String,
    /// MLP or CNN.
    pub kind: ArchKind,
    /// For an MLP, the declared input length.
    pub mlp_inputs: Option<usize>,
    /// Hidden blocks in order.
    pub blocks: Vec<Block>,
    /// Number of classes (outputs of the last linear layer).
    pub classes: usize,
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec)
    }
}

fn num(spec: &str, tok: &str, what: &str) -> Result<usize> {
    match tok.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TrainError::Arch {
            spec: spec.into(),
            msg: format!("{what} {tok:?} is not a positive integer"),
        }),
    }
}

impl Arch {
    /// Parses `mlp:...` or `cnn:...` (see the module documentation).
    pub fn parse(spec: &str) -> Result<Arch> {
        let err = |msg: String| TrainError::Arch {
            spec: spec.into(),
            msg,
        };
        let (kind, rest) = spec
            .split_once(':')
            .ok_or_else(|| err("expected `mlp:<sizes>` or `cnn:<blocks>`".into()))?;
        let toks: Vec<&str> = rest.split('-').map(str::trim).collect();
        if toks.iter().any(|t| t.is_empty()) {
            return Err(err("empty element between dashes".into()));
        }
        match kind.trim() {
            "mlp" => {
                if toks.len() < 2 {
                    return Err(err("an MLP needs at least inputs and classes".into()));
                }
                let sizes = toks
                    .iter()
                    .map(|t| num(spec, t, "layer size"))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arch {
                    spec: spec.into(),
                    kind: ArchKind::Mlp,
                    mlp_inputs: Some(sizes[0]),
                    blocks: sizes[1..sizes.len() - 1]
                        .iter()
                        .map(|&out| Block::Fc { out })
                        .collect(),
                    classes: sizes[sizes.len() - 1],
                })
            }
            "cnn" => {
                let (last, body) = toks.split_last().expect("split gives one element");
                let classes = num(spec, last, "number of classes")?;
                let mut blocks = Vec::new();
                let mut seen_fc = false;
                for t in body {
                    let b = if let Some(n) = t.strip_prefix("fc") {
                        seen_fc = true;
                        Block::Fc {
                            out: num(spec, n, "fc width")?,
                        }
                    } else if let Some(k) = t.strip_prefix('p') {
                        Block::Pool {
                            k: num(spec, k, "pool size")?,
                        }
                    } else if let Some((n, k)) = t.split_once('c') {
                        let k = num(spec, k, "kernel size")?;
                        if k % 2 == 0 {
                            return Err(err(format!(
                                "kernel size {k} in {t:?} must be odd (same padding)"
                            )));
                        }
                        Block::Conv {
                            out: num(spec, n, "channel count")?,
                            k,
                        }
                    } else {
                        return Err(err(format!(
                            "unknown block {t:?} (use <n>c<k>, p<k>, fc<n>)"
                        )));
                    };
                    if seen_fc && !matches!(b, Block::Fc { .. }) {
                        return Err(err(format!("block {t:?} after a fully connected block")));
                    }
                    blocks.push(b);
                }
                Ok(Arch {
                    spec: spec.into(),
                    kind: ArchKind::Cnn,
                    mlp_inputs: None,
                    blocks,
                    classes,
                })
            }
            other => Err(err(format!("unknown kind {other:?} (use mlp or cnn)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mlp_and_cnn() {
        let a = Arch::parse("mlp:784-128-10").unwrap();
        assert_eq!(a.kind, ArchKind::Mlp);
        assert_eq!(a.mlp_inputs, Some(784));
        assert_eq!(a.blocks, vec![Block::Fc { out: 128 }]);
        assert_eq!(a.classes, 10);
        let c = Arch::parse("cnn:32c3-p2-64c3-p2-fc128-10").unwrap();
        assert_eq!(
            c.blocks,
            vec![
                Block::Conv { out: 32, k: 3 },
                Block::Pool { k: 2 },
                Block::Conv { out: 64, k: 3 },
                Block::Pool { k: 2 },
                Block::Fc { out: 128 }
            ]
        );
    }

    #[test]
    fn rejects_bad_strings() {
        for s in [
            "mlp:784",
            "mlp:784--10",
            "mlp:784-x-10",
            "rnn:1-2",
            "cnn:32c4-10",
            "cnn:fc10-p2-10",
            "cnn:3q3-10",
            "784-10",
        ] {
            assert!(Arch::parse(s).is_err(), "{s} should be rejected");
        }
    }
}
