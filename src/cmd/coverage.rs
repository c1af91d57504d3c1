//! `tbn coverage`: a coverage build of the accelerator RTL (verilator --coverage)
//! exercised by the random regression, the misuse scenarios and MNIST images,
//! summarised as line (statement blocks and branches) and toggle coverage.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::json;
use tbn_sim::coverage::Summary;
use tbn_sim::network::NetworkRunner;
use tbn_sim::{hw, misuse, regress, BuildOptions};

use super::common::{float_input, load_dataset, load_model, program_for};

/// Arguments of `tbn coverage`.
#[derive(clap::Args)]
pub struct Args {
    /// Random layers to run.
    #[arg(long, default_value_t = 200, value_parser = super::common::at_least_one)]
    seeds: usize,
    /// Lanes of the core.
    #[arg(long, default_value_t = 32, value_parser = super::common::lanes)]
    lanes: usize,
    /// MNIST test images to run through the reference model.
    #[arg(long, default_value_t = 4, value_parser = super::common::at_least_one)]
    images: usize,
    /// Folder for coverage.dat, replaced as a whole (default: a temporary folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fail unless line coverage reaches this fraction.
    #[arg(long)]
    min_line: Option<f64>,
    /// List this many uncovered line points.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `tbn coverage`.
pub fn run(a: Args) -> Result<()> {
    let cfg = hw::config_for_lanes(a.lanes);
    let opts = BuildOptions {
        coverage: true,
        trace: false,
        ..BuildOptions::default()
    };
    if !a.json {
        eprintln!("building the {}-lane core with coverage ...", a.lanes);
    }
    let mut acc = hw::open_core(&cfg, &opts).context("building the coverage model")?;
    let report = regress::run(&mut acc, 0, a.seeds, |_, _| {})?;
    if !report.mismatches.is_empty() {
        bail!(
            "{} random layers differ from golden: run `tbn verify`",
            report.mismatches.len()
        );
    }
    let scenarios = misuse::run_all(&mut acc)?;
    if a.images > 0 {
        let model = load_model(None)?;
        let (images, _) = load_dataset(None, None)?;
        let program = program_for(&model, 8, 200)?;
        let mut runner = NetworkRunner::new(&program, &acc)?;
        for i in 0..a.images.min(images.count) {
            let x = program.input.quantize(&float_input(&model, &images, i)?);
            let rtl = runner.run(&mut acc, &x)?;
            if rtl != program.run(&x)? {
                bail!("MNIST image {i}: RTL logits differ from golden");
            }
        }
    }
    let dir = a.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tbn-coverage-{}", std::process::id()))
    });
    // Written as a whole folder, swapped in only once complete.
    let dat = tbn_golden::atomic::fill_dir(&dir, |st| -> Result<_> {
        let dat = st.path().join("coverage.dat");
        acc.dut().coverage_write(&dat)?;
        Ok(st.final_path(&dat))
    })
    .with_context(|| format!("writing coverage into {}", dir.display()))?;
    let summary = Summary::from_file(&dat)?;
    let line = summary.line_coverage();
    let kinds = summary.kinds();
    let toggle = kinds.get("toggle").copied().unwrap_or_default();
    let uncovered: Vec<String> = summary
        .points
        .iter()
        .filter(|p| (p.kind == "line" || p.kind == "branch") && p.count == 0)
        .take(a.show)
        .map(|p| {
            let file = std::path::Path::new(&p.file)
                .file_name()
                .map_or_else(|| p.file.clone(), |f| f.to_string_lossy().into_owned());
            format!("{file}:{} {} ({})", p.line, p.comment, p.hier)
        })
        .collect();
    if a.json {
        println!(
            "{}",
            json!({
                "lanes": a.lanes, "layers": a.seeds, "scenarios": scenarios, "images": a.images,
                "line": {"covered": line.covered, "total": line.total, "ratio": line.ratio()},
                "toggle": {"covered": toggle.covered, "total": toggle.total, "ratio": toggle.ratio()},
                "kinds": kinds, "coverage_dat": dat, "uncovered_lines": uncovered,
            })
        );
    } else {
        println!(
            "coverage of the {}-lane core ({} random layers, {} misuse scenarios, {} MNIST images):",
            a.lanes,
            a.seeds,
            scenarios.len(),
            a.images
        );
        println!(
            "  line   {:>6}/{:<6} {:6.2}%",
            line.covered,
            line.total,
            100.0 * line.ratio()
        );
        println!(
            "  toggle {:>6}/{:<6} {:6.2}%",
            toggle.covered,
            toggle.total,
            100.0 * toggle.ratio()
        );
        for (k, t) in &kinds {
            println!("    ({k}: {}/{})", t.covered, t.total);
        }
        for u in &uncovered {
            println!("  uncovered: {u}");
        }
        println!(
            "  data: {} (verilator_coverage --annotate DIR {0})",
            dat.display()
        );
    }
    if let Some(min) = a.min_line {
        if line.ratio() < min {
            bail!(
                "line coverage {:.2}% is below {:.2}%",
                100.0 * line.ratio(),
                100.0 * min
            );
        }
    }
    Ok(())
}
