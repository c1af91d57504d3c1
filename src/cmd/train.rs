//! `tbn train`: train a Tiled Bit Network (or a binary / f32 baseline) on IDX
//! data with the paper's method and save it in the project's JSON model format.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tbn_train::trainer::{train, TrainConfig, TrainReport, DEFAULT_MIN_TILE_SIZE};
use tbn_train::{Act, Arch, Augment, Dataset, Mode, NetOptions, TilePolicy};

use crate::paths;

/// Arguments of `tbn train`.
#[derive(clap::Args)]
pub struct Args {
    /// Architecture: `mlp:784-128-10` or `cnn:32c3-p2-64c3-p2-fc128-10`
    /// (`<n>c<k>` conv+BN+ReLU, `p<k>` max-pool, `fc<n>` linear+BN+ReLU, last = classes).
    #[arg(long, default_value = "mlp:784-128-10")]
    arch: String,
    /// Compression factor of tiled layers (mode tbn).
    #[arg(long, default_value_t = 4, value_parser = super::common::at_least_one)]
    p: usize,
    /// Weights: tbn (tiled), binary (p = 1 everywhere) or f32 (baseline, not exportable).
    #[arg(long, default_value = "tbn")]
    mode: String,
    /// Layers with fewer weights than this stay at p = 1.
    #[arg(long, default_value_t = DEFAULT_MIN_TILE_SIZE)]
    min_tile_size: usize,
    /// Keep the first and last weighted layers at p = 1.
    #[arg(long)]
    keep_ends_binary: bool,
    /// Training IDX images (default: bundled 10k MNIST training subset).
    #[arg(long)]
    train_images: Option<PathBuf>,
    /// Training IDX labels.
    #[arg(long)]
    train_labels: Option<PathBuf>,
    /// Test IDX images (default: bundled MNIST test set).
    #[arg(long)]
    test_images: Option<PathBuf>,
    /// Test IDX labels.
    #[arg(long)]
    test_labels: Option<PathBuf>,
    /// Use only the first N training images (N >= 1).
    #[arg(long, value_parser = super::common::at_least_one)]
    train_limit: Option<usize>,
    /// Use only the first N test images (N >= 1).
    #[arg(long, value_parser = super::common::at_least_one)]
    test_limit: Option<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 30, value_parser = super::common::at_least_one)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64, value_parser = super::common::at_least_one)]
    batch: usize,
    /// Peak learning rate (Adam, cosine schedule to 0).
    #[arg(long, default_value_t = 1e-2)]
    lr: f64,
    /// Decoupled weight decay (AdamW); 0 = Adam.
    #[arg(long, default_value_t = 0.05)]
    weight_decay: f64,
    /// Batch-norm after the hidden layers of an MLP (CNNs always have it);
    /// `--bn false` uses plain biases.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    bn: bool,
    /// Batch-norm shared by the channels of each layer (one mean, variance,
    /// gain and bias per layer): the integer program gets one requantization
    /// record per hidden layer instead of one per row, so its constants fit
    /// a small constants memory (the UP5K engine's 1,024 words).
    #[arg(long)]
    uniform_bn: bool,
    /// Hidden activation: relu, or sign (1-bit +-1 activations after
    /// batch-norm, straight-through estimator: a W1A1 network).
    #[arg(long, default_value = "relu", value_parser = ["relu", "sign"])]
    act: String,
    /// With --act relu: train the ReLU quantized to this many unsigned bits
    /// (2..=8, quantization-aware, e.g. 2 for W1A2); without it the ReLU is
    /// float and `tbn quantize --act-bits` chooses the width after training.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
    act_bits: Option<u8>,
    /// Dropout rate on the input while training (0 = off).
    #[arg(long, default_value_t = 0.0)]
    input_dropout: f32,
    /// Dropout rate after hidden fully connected layers while training (0 = off).
    #[arg(long, default_value_t = 0.0)]
    dropout: f32,
    /// Data augmentation of the training images: a fresh seeded random
    /// translation (and rotation, see --rotate) per image and epoch.
    /// `--augment false` trains on the images as they are.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    augment: bool,
    /// Largest random translation in pixels along each axis (with --augment).
    #[arg(long, default_value_t = 1)]
    shift: usize,
    /// Largest random rotation in degrees (with --augment; 0 = none).
    #[arg(long, default_value_t = 0.0)]
    rotate: f32,
    /// Seed of initialisation, shuffling, dropout masks and augmentation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads of the tensor library (default: all cores).
    #[arg(long, value_parser = super::common::at_least_one)]
    threads: Option<usize>,
    /// Output model (project JSON format); required unless --mode f32 or --sweep.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Train f32, binary and tbn p = 2, 4, 8 with the same settings and print a table.
    #[arg(long)]
    sweep: bool,
    /// With --sweep: save each exportable model as <dir>/<mode>-p<p>.json.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Print the report as JSON (no progress bar).
    #[arg(long)]
    json: bool,
}

fn data(
    images: Option<&Path>,
    labels: Option<&Path>,
    default: (PathBuf, PathBuf),
    limit: Option<usize>,
) -> Result<Dataset> {
    let im = images.map_or(default.0, Path::to_path_buf);
    let lb = labels.map_or(default.1, Path::to_path_buf);
    Dataset::load(&im, &lb, limit)
        .with_context(|| format!("loading {} / {}", im.display(), lb.display()))
}

fn summary(r: &TrainReport) -> String {
    let mut s = format!(
        "{} {} p={} (layer p {:?}), activation {}: test accuracy {:.2}% after {} epochs, {:.1} s training ({} threads)\n",
        r.arch, r.mode, r.p, r.layer_p, r.activation, r.test_accuracy, r.epochs, r.train_seconds, r.threads
    );
    s += &format!(
        "batch {}, lr {}, weight decay {}, augmentation: shift +-{} px, rotation +-{} deg\n",
        r.batch, r.lr, r.weight_decay, r.augment_shift, r.augment_rotate_deg
    );
    s += &format!(
        "weights {} bytes (f32: {} bytes, {:.1}x smaller), other parameters {} bytes",
        r.weight_bytes,
        r.f32_weight_bytes,
        r.f32_weight_bytes as f64 / r.weight_bytes as f64,
        r.other_bytes
    );
    if let Some(b) = r.model_file_bytes {
        s += &format!(", compact binary model {b} bytes");
    }
    if let (Some(g), Some(d), Some(m)) = (
        r.golden_accuracy,
        r.golden_disagreements,
        r.tile_bit_mismatches,
    ) {
        s += &format!("\nexport check: golden float accuracy {g:.2}%, {d} prediction differences, {m} tile bits differ");
    }
    s
}

/// The sweep as a Markdown table.
pub fn table(reports: &[TrainReport]) -> String {
    let mut s = String::from(
        "| mode | p | layer p | test acc % | golden acc % | weight bytes | vs f32 | model file bytes | train s |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let p = if r.mode == Mode::Tbn {
            r.p.to_string()
        } else {
            "-".into()
        };
        s += &format!(
            "| {} | {} | {:?} | {:.2} | {} | {} | {:.1}x | {} | {:.0} |\n",
            r.mode,
            p,
            r.layer_p,
            r.test_accuracy,
            r.golden_accuracy.map_or("-".into(), |g| format!("{g:.2}")),
            r.weight_bytes,
            r.f32_weight_bytes as f64 / r.weight_bytes as f64,
            r.model_file_bytes.map_or("-".into(), |b| b.to_string()),
            r.train_seconds
        );
    }
    s
}

/// Runs `tbn train`.
pub fn run(a: Args) -> Result<()> {
    if let Some(t) = a.threads {
        anyhow::ensure!(t > 0, "--threads must be positive");
        // Read by the tensor library when it first builds its thread pool.
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    let arch = Arch::parse(&a.arch)?;
    let mode: Mode = a.mode.parse()?;
    let train_set = data(
        a.train_images.as_deref(),
        a.train_labels.as_deref(),
        (paths::train_images(), paths::train_labels()),
        a.train_limit,
    )?;
    let test_set = data(
        a.test_images.as_deref(),
        a.test_labels.as_deref(),
        (paths::test_images(), paths::test_labels()),
        a.test_limit,
    )?;
    let mut cfg = TrainConfig::new(arch);
    cfg.policy = TilePolicy {
        mode,
        p: a.p,
        min_tile_size: a.min_tile_size,
        keep_ends_binary: a.keep_ends_binary,
    };
    cfg.epochs = a.epochs;
    cfg.batch = a.batch;
    cfg.lr = a.lr;
    cfg.weight_decay = a.weight_decay;
    cfg.seed = a.seed;
    let act = match (a.act.as_str(), a.act_bits) {
        ("sign", None | Some(1)) => Act::Sign,
        ("sign", Some(b)) => anyhow::bail!(
            "--act sign gives 1-bit activations; --act-bits {b} does not apply (use --act relu --act-bits {b})"
        ),
        (_, None) => Act::Relu,
        (_, Some(1)) => anyhow::bail!(
            "--act relu --act-bits 1: a 1-bit activation is a sign bit (+-1, docs/numerics.md §3), \
             not a ReLU; use --act sign for a W1A1 network, or --act-bits 2 or more"
        ),
        (_, Some(b)) => Act::QuantRelu(b),
    };
    cfg.net = NetOptions {
        mlp_batch_norm: a.bn,
        input_dropout: a.input_dropout,
        dropout: a.dropout,
        act,
        uniform_bn: a.uniform_bn,
    };
    cfg.augment = a.augment.then_some(Augment {
        max_shift: a.shift,
        max_rotate_deg: a.rotate,
    });
    cfg.progress = !a.json;
    if a.sweep {
        let runs = [
            (Mode::F32, 1),
            (Mode::Binary, 1),
            (Mode::Tbn, 2),
            (Mode::Tbn, 4),
            (Mode::Tbn, 8),
        ];
        let mut reports = Vec::new();
        if let Some(d) = &a.out_dir {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        for (mode, p) in runs {
            cfg.policy.mode = mode;
            cfg.policy.p = p;
            if !a.json {
                eprintln!("== {} {mode} p={p}", cfg.arch);
            }
            let t = train(&cfg, &train_set, &test_set)?;
            if let (Some(d), Some(m)) = (&a.out_dir, &t.model) {
                let path = d.join(format!("{mode}-p{p}.json"));
                tbn_golden::format::save_model_json(m, &path)?;
            }
            if !a.json {
                eprintln!("{}", summary(&t.report));
            }
            reports.push(t.report);
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else {
            print!("{}", table(&reports));
        }
        return Ok(());
    }
    anyhow::ensure!(
        a.out.is_some() || mode == Mode::F32,
        "--out MODEL is required (the trained model is saved there)"
    );
    let t = train(&cfg, &train_set, &test_set)?;
    if let (Some(path), Some(m)) = (&a.out, &t.model) {
        tbn_golden::format::save_model_json(m, path)
            .with_context(|| format!("saving {}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t.report)?);
    } else {
        println!("{}", summary(&t.report));
        if let (Some(path), Some(_)) = (&a.out, &t.model) {
            println!("saved {}", path.display());
        } else if mode == Mode::F32 {
            println!("f32 baseline: not a tiled bit network, no model saved");
        }
    }
    Ok(())
}
