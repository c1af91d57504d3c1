//! Quick experiment runner for tuning (the real interface is `tbn train`):
//! `cargo run --release -p tbn-train --example quick -- ARCH MODE P EPOCHS LR BATCH BN(0/1) [TRAIN_LIMIT]`.

use std::path::PathBuf;

use tbn_train::trainer::{train, TrainConfig};
use tbn_train::{Arch, Dataset};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 7 {
        return Err("usage: ARCH MODE P EPOCHS LR BATCH BN [TRAIN_LIMIT]".into());
    }
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let limit = a.get(7).map(|s| s.parse()).transpose()?;
    let tr = Dataset::load(
        d.join("train10k-images-idx3-ubyte.gz"),
        d.join("train10k-labels-idx1-ubyte.gz"),
        limit,
    )?;
    let te = Dataset::load(
        d.join("t10k-images-idx3-ubyte.gz"),
        d.join("t10k-labels-idx1-ubyte.gz"),
        None,
    )?;
    let mut cfg = TrainConfig::new(Arch::parse(&a[0])?);
    cfg.policy.mode = a[1].parse()?;
    cfg.policy.p = a[2].parse()?;
    cfg.epochs = a[3].parse()?;
    cfg.lr = a[4].parse()?;
    cfg.batch = a[5].parse()?;
    cfg.net.mlp_batch_norm = a[6] == "1";
    cfg.net.input_dropout = std::env::var("IDROP").ok().map_or(Ok(0.0), |v| v.parse())?;
    cfg.net.dropout = std::env::var("DROP").ok().map_or(Ok(0.0), |v| v.parse())?;
    cfg.weight_decay = std::env::var("WD").ok().map_or(Ok(0.0), |v| v.parse())?;
    let shift = std::env::var("SHIFT").ok().map_or(Ok(1), |v| v.parse())?;
    let rot = std::env::var("ROT").ok().map_or(Ok(0.0), |v| v.parse())?;
    cfg.augment = Some(tbn_train::Augment {
        max_shift: shift,
        max_rotate_deg: rot,
    });
    cfg.seed = std::env::var("SEED").ok().map_or(Ok(1), |v| v.parse())?;
    cfg.progress = true;
    let t = train(&cfg, &tr, &te)?;
    println!("{}", serde_json::to_string(&t.report)?);
    Ok(())
}
