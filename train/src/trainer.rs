//! The training loop (Adam, cosine learning-rate schedule, seeded shuffling),
//! evaluation, and the export check against the golden model.

use std::time::Instant;

use candle_core::{Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tbn_golden::model::Model;

use crate::arch::{Arch, ArchKind};
use crate::augment::{self, Augment};
use crate::data::Dataset;
use crate::error::{Result, TrainError};
use crate::net::{predictions, Mode, Net, NetOptions, TilePolicy};

/// Everything that determines a training run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Architecture.
    pub arch: Arch,
    /// Weight kind and tiling.
    pub policy: TilePolicy,
    /// Passes over the training set.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Peak learning rate of Adam (cosine-annealed to 0 over all steps).
    pub lr: f64,
    /// Decoupled weight decay of AdamW (0 = plain Adam).
    pub weight_decay: f64,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Batch-norm and dropout options.
    pub net: NetOptions,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Evaluate on the test set after every epoch (else only after the last).
    pub eval_every_epoch: bool,
    /// Data augmentation of the training images (a fresh seeded transform per
    /// image and epoch); `None` trains on the images as they are.
    pub augment: Option<Augment>,
}

impl TrainConfig {
    /// Defaults for `arch`: tbn p = 4, 10 epochs, batch 128, lr 1e-3, no weight
    /// decay, seed 1, +-1 pixel translations (see the fields).
    pub fn new(arch: Arch) -> Self {
        TrainConfig {
            arch,
            policy: TilePolicy {
                mode: Mode::Tbn,
                p: 4,
                min_tile_size: DEFAULT_MIN_TILE_SIZE,
                keep_ends_binary: false,
            },
            epochs: 10,
            batch: 128,
            lr: 1e-3,
            weight_decay: 0.0,
            seed: 1,
            net: NetOptions::default(),
            progress: false,
            eval_every_epoch: true,
            augment: Some(Augment::default()),
        }
    }
}

/// Default size threshold: layers with fewer weights stay at p = 1.
pub const DEFAULT_MIN_TILE_SIZE: usize = 16_384;

/// Statistics of one epoch.
#[derive(Clone, Debug, Serialize)]
pub struct EpochLog {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (on the batches as trained, in training mode).
    pub train_accuracy: f64,
    /// Test accuracy after the epoch, if evaluated.
    pub test_accuracy: Option<f64>,
    /// Wall time of the epoch in seconds (training only).
    pub seconds: f64,
}

/// What a training run produced and measured.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Architecture string.
    pub arch: String,
    /// Weight kind.
    pub mode: Mode,
    /// Requested p (tbn mode).
    pub p: usize,
    /// Hidden activation (relu, sign, or a quantized relu).
    pub activation: String,
    /// The p of every weighted layer.
    pub layer_p: Vec<usize>,
    /// Seed.
    pub seed: u64,
    /// Epochs, batch size, peak learning rate.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Largest random translation in pixels (0 = none).
    pub augment_shift: usize,
    /// Largest random rotation in degrees (0 = none).
    pub augment_rotate_deg: f32,
    /// Training images used.
    pub train_images: usize,
    /// Test images evaluated.
    pub test_images: usize,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
    /// Final test accuracy of the trained network (tensor library, f32).
    pub test_accuracy: f64,
    /// Training wall time in seconds (without the final evaluation and export check).
    pub train_seconds: f64,
    /// Bytes of the weight tensors as stored (tile bits + alphas, or 4 per f32 weight).
    pub weight_bytes: usize,
    /// Bytes of the other parameters (bias, batch-norm) as f32.
    pub other_bytes: usize,
    /// Bytes the same weights take in f32 (for the compression ratio).
    pub f32_weight_bytes: usize,
    /// Size of the exported model in the project's compact binary format.
    pub model_file_bytes: Option<usize>,
    /// Accuracy of the exported model under `tbn_golden::float::forward`.
    pub golden_accuracy: Option<f64>,
    /// Test images whose golden prediction differs from the trained network's.
    pub golden_disagreements: Option<usize>,
    /// Training-time tile bits that differ from the exported tile.
    pub tile_bit_mismatches: Option<usize>,
    /// rayon threads used by the tensor library.
    pub threads: usize,
}

/// A trained network with its report and (for tbn/binary) its exported model.
pub struct Trained {
    /// The network.
    pub net: Net,
    /// Measurements.
    pub report: TrainReport,
    /// The exported golden model (None for f32).
    pub model: Option<Model>,
}

/// The images `idx` of `data` as one input tensor (with their labels); with
/// `aug`, every image is transformed by a transform drawn from the generator.
fn batch_tensor(
    net: &Net,
    data: &Dataset,
    idx: &[usize],
    aug: Option<(&Augment, &mut ChaCha8Rng)>,
) -> Result<(Tensor, Tensor)> {
    let per = data.rows * data.cols;
    let mut xs = Vec::with_capacity(idx.len() * per);
    match aug {
        Some((a, rng)) => {
            xs.resize(idx.len() * per, 0.0);
            for (k, &i) in idx.iter().enumerate() {
                let t = a.draw(rng);
                augment::apply(
                    data.image(i),
                    data.rows,
                    data.cols,
                    t,
                    &mut xs[k * per..(k + 1) * per],
                );
            }
        }
        None => {
            for &i in idx {
                xs.extend_from_slice(data.image(i));
            }
        }
    }
    let x = match net.arch.kind {
        ArchKind::Mlp => Tensor::from_vec(xs, (idx.len(), per), net.device())?,
        ArchKind::Cnn => Tensor::from_vec(xs, (idx.len(), 1, data.rows, data.cols), net.device())?,
    };
    let y = Tensor::from_vec(
        idx.iter().map(|&i| data.labels[i]).collect::<Vec<u32>>(),
        idx.len(),
        net.device(),
    )?;
    Ok((x, y))
}

/// Predictions of the network (inference form) for every image of `data`.
pub fn predict(net: &mut Net, data: &Dataset) -> Result<Vec<usize>> {
    let mut preds = Vec::with_capacity(data.count);
    let idx: Vec<usize> = (0..data.count).collect();
    for chunk in idx.chunks(500) {
        let (x, _) = batch_tensor(net, data, chunk, None)?;
        preds.extend(predictions(&net.forward(&x, false, None)?)?);
    }
    Ok(preds)
}

fn accuracy(preds: &[usize], labels: &[u32]) -> f64 {
    let ok = preds
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p == **l as usize)
        .count();
    100.0 * ok as f64 / labels.len().max(1) as f64
}

/// Golden float predictions of `model` on every image, on up to 2 threads.
pub fn golden_predictions(model: &Model, data: &Dataset) -> Result<Vec<usize>> {
    let threads = 2.min(data.count);
    let per = data.count.div_ceil(threads);
    let parts: Vec<Result<Vec<usize>>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * per..((t + 1) * per).min(data.count))
                        .map(|i| {
                            Ok(tbn_golden::float::argmax(&tbn_golden::float::forward(
                                model,
                                data.image(i),
                            )?))
                        })
                        .collect::<Result<Vec<usize>>>()
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("golden worker panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(data.count);
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// Trains a network on `train` and evaluates it on `test`; for tbn and binary
/// modes also exports it and checks the export with the golden float path.
pub fn train(cfg: &TrainConfig, train: &Dataset, test: &Dataset) -> Result<Trained> {
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err(TrainError::Config(
            "epochs and batch size must be positive".into(),
        ));
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(TrainError::Config(format!(
            "learning rate {} must be positive",
            cfg.lr
        )));
    }
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(TrainError::Data(format!(
            "training images are {}x{}, test images {}x{}",
            train.rows, train.cols, test.rows, test.cols
        )));
    }
    train.check_labels(cfg.arch.classes)?;
    test.check_labels(cfg.arch.classes)?;
    let aug = cfg.augment.filter(|a| !a.is_identity());
    if let Some(a) = &aug {
        a.validate(train.rows, train.cols)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    // Augmentation draws its own stream (derived from the seed), so switching
    // it on or off leaves initialisation, shuffling and dropout unchanged.
    let mut aug_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_a09e_0000_0001);
    let mut net = Net::new(
        &cfg.arch,
        cfg.policy,
        (train.rows, train.cols),
        cfg.net,
        &mut rng,
    )?;
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let steps_per_epoch = train.count.div_ceil(cfg.batch);
    let total_steps = (steps_per_epoch * cfg.epochs) as f64;
    let mut order: Vec<usize> = (0..train.count).collect();
    let mut log = Vec::new();
    let t0 = Instant::now();
    let mut train_seconds = 0.0;
    let mut step_global = 0usize;
    for epoch in 1..=cfg.epochs {
        let te = Instant::now();
        order.shuffle(&mut rng);
        let pb = if cfg.progress {
            ProgressBar::new(steps_per_epoch as u64)
        } else {
            ProgressBar::hidden()
        };
        pb.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_prefix(format!("epoch {epoch}/{}", cfg.epochs));
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (step, idx) in order.chunks(cfg.batch).enumerate() {
            let lr = 0.5
                * cfg.lr
                * (1.0 + (std::f64::consts::PI * step_global as f64 / total_steps).cos());
            opt.set_learning_rate(lr);
            let (x, y) = batch_tensor(&net, train, idx, aug.as_ref().map(|a| (a, &mut aug_rng)))?;
            let logits = net.forward(&x, true, Some(&mut rng))?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            let l = loss.to_scalar::<f32>()?;
            if !l.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step,
                    loss: l,
                });
            }
            opt.backward_step(&loss)?;
            let pred = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
            correct += pred
                .iter()
                .zip(idx)
                .filter(|(p, &i)| **p == train.labels[i])
                .count();
            seen += idx.len();
            loss_sum += f64::from(l) * idx.len() as f64;
            step_global += 1;
            pb.set_message(format!(
                "loss {:.4} acc {:.2}%",
                loss_sum / seen as f64,
                100.0 * correct as f64 / seen as f64
            ));
            pb.inc(1);
        }
        let secs = te.elapsed().as_secs_f64();
        train_seconds += secs;
        let test_accuracy = if cfg.eval_every_epoch || epoch == cfg.epochs {
            Some(accuracy(&predict(&mut net, test)?, &test.labels))
        } else {
            None
        };
        let entry = EpochLog {
            epoch,
            loss: loss_sum / seen as f64,
            train_accuracy: 100.0 * correct as f64 / seen as f64,
            test_accuracy,
            seconds: secs,
        };
        pb.finish_and_clear();
        if cfg.progress {
            eprintln!(
                "epoch {epoch}/{}: loss {:.4}, train acc {:.2}%, test acc {}, {:.1} s",
                cfg.epochs,
                entry.loss,
                entry.train_accuracy,
                test_accuracy.map_or("-".into(), |a| format!("{a:.2}%")),
                secs
            );
        }
        log.push(entry);
    }
    let _ = t0;
    let preds = predict(&mut net, test)?;
    let test_accuracy = accuracy(&preds, &test.labels);
    let (weight_bytes, other_bytes) = net.bytes();
    let f32_weight_bytes = 4 * net
        .layers
        .iter()
        .filter_map(|l| match l {
            crate::net::NetLayer::Linear { w, .. } | crate::net::NetLayer::Conv { w, .. } => {
                Some(w.numel())
            }
            _ => None,
        })
        .sum::<usize>();
    let mut report = TrainReport {
        arch: cfg.arch.spec.clone(),
        mode: cfg.policy.mode,
        p: cfg.policy.p,
        activation: cfg.net.act.to_string(),
        layer_p: net.layer_ps(),
        seed: cfg.seed,
        epochs: cfg.epochs,
        batch: cfg.batch,
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        augment_shift: aug.map_or(0, |a| a.max_shift),
        augment_rotate_deg: aug.map_or(0.0, |a| a.max_rotate_deg),
        train_images: train.count,
        test_images: test.count,
        log,
        test_accuracy,
        train_seconds,
        weight_bytes,
        other_bytes,
        f32_weight_bytes,
        model_file_bytes: None,
        golden_accuracy: None,
        golden_disagreements: None,
        tile_bit_mismatches: None,
        threads: candle_core::utils::get_num_threads(),
    };
    let model = if cfg.policy.mode == Mode::F32 {
        None
    } else {
        let name = format!("{} {} p={}", cfg.arch.spec, cfg.policy.mode, cfg.policy.p);
        let model = net.export(&name)?;
        report.model_file_bytes = Some(tbn_golden::format::model_to_binary(&model)?.len());
        report.tile_bit_mismatches = Some(net.tile_bit_mismatches(&model)?);
        let golden = golden_predictions(&model, test)?;
        report.golden_accuracy = Some(accuracy(&golden, &test.labels));
        report.golden_disagreements =
            Some(golden.iter().zip(&preds).filter(|(a, b)| a != b).count());
        check_export(&report)?;
        Some(model)
    };
    Ok(Trained { net, report, model })
}

/// The export is accepted when the golden float path and the trained network
/// disagree on at most 0.1% of the test images (f32 vs f64 summation noise on
/// near-tied logits); anything more means the export is wrong.
pub fn check_export(r: &TrainReport) -> Result<()> {
    if let Some(d) = r.golden_disagreements {
        let allowed = (r.test_images / 1000).max(1);
        if d > allowed {
            return Err(TrainError::Mismatch(format!(
                "the exported model's predictions differ from the trained network's on {d} of {} test images (allowed {allowed}): golden accuracy {:.2}% vs trained {:.2}%",
                r.test_images,
                r.golden_accuracy.unwrap_or(f64::NAN),
                r.test_accuracy
            )));
        }
    }
    Ok(())
}
