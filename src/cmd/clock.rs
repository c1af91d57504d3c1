//! The accelerator clock the system figures use (`tbn sim`, `tbn cosim`):
//! the placed fmax of the design that runs, from its synthesis report, and
//! where it came from. A clock taken from another design's report, or the
//! target when no report exists, is an assumption and says so (its source
//! starts with "assumed", which `tbn compare` turns into "estimate").

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use crate::reports::{self, SynthReport};

/// Which design's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// The single-layer core behind its SPI top (`tbn synth`).
    JobCore,
    /// The whole-network engine behind its SPI top (`tbn synth --engine`).
    Engine,
}

impl Design {
    /// Top module of the design's synthesized SPI top.
    fn top(self) -> &'static str {
        match self {
            Design::JobCore => tbn_hdl::spi::SPI_TOP,
            Design::Engine => tbn_hdl::spi::NET_SPI_TOP,
        }
    }

    /// Where `tbn synth` leaves the design's latest report.
    pub fn report_path(self) -> PathBuf {
        match self {
            Design::JobCore => reports::synth_path(),
            Design::Engine => reports::synth_engine_path(),
        }
    }

    /// The design whose SPI top is `top`.
    fn of_top(top: &str) -> Option<Design> {
        [Design::JobCore, Design::Engine]
            .into_iter()
            .find(|d| d.top() == top)
    }

    fn what(self) -> &'static str {
        match self {
            Design::JobCore => "the single-layer core",
            Design::Engine => "the whole-network engine",
        }
    }
}

/// fmax in MHz and its source: `flag` (`--fmax-mhz`) if given, else the fmax
/// of `report` (default: the design's report path) when it is the design's
/// own, else the single-layer core's report (an assumption for the engine),
/// else the UP5K target 48 MHz (an assumption).
pub fn fmax(flag: Option<f64>, report: Option<&Path>, design: Design) -> Result<(f64, String)> {
    let (f, src) = match flag {
        Some(f) => (f, "--fmax-mhz".to_string()),
        None => from_reports(report, design)?,
    };
    ensure!(
        f.is_finite() && f > 0.0,
        "fmax must be a positive number of MHz, not {f}"
    );
    Ok((f, src))
}

fn from_reports(report: Option<&Path>, design: Design) -> Result<(f64, String)> {
    let mut tried = vec![report.map_or_else(|| design.report_path(), Path::to_path_buf)];
    if report.is_none() && design == Design::Engine {
        tried.push(Design::JobCore.report_path());
    }
    for path in &tried {
        let Some(r) = reports::read::<SynthReport>(path)? else {
            continue;
        };
        let Some(f) = r.fmax_mhz else { continue };
        if r.top == design.top() {
            let met = if r.timing_met { "met" } else { "not met" };
            return Ok((
                f,
                format!(
                    "placed fmax of {} ({}) in {}, the {} MHz target {met}",
                    design.what(),
                    r.top,
                    path.display(),
                    r.target_mhz
                ),
            ));
        }
        return Ok((
            f,
            format!(
                "assumed: fmax of {} in {} (no placed report of {}: run tbn synth{} --lanes L)",
                Design::of_top(&r.top)
                    .map_or_else(|| format!("the design {}", r.top), |d| d.what().to_string()),
                path.display(),
                design.what(),
                if design == Design::Engine {
                    " --engine"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok((
        48.0,
        "assumed: the UP5K target 48 MHz (no synthesis report)".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthesis report of `top` at `fmax` MHz (48 MHz target), written to `dir`.
    fn report(dir: &Path, top: &str, fmax: f64) -> PathBuf {
        let path = dir.join(format!("{top}.json"));
        let r = serde_json::json!({
            "device": "up5k", "part": "iCE40UP5K-SG48", "board": "iCEBreaker", "top": top,
            "config": null, "target_mhz": 48.0, "resources": [], "nextpnr_cells": {},
            "yosys_cells": {}, "clocks": [], "critical_path": null, "fmax_mhz": fmax,
            "timing_met": fmax >= 48.0, "bitstream": null, "tools": {}, "seconds": {}
        });
        std::fs::write(&path, r.to_string()).unwrap();
        path
    }

    #[test]
    fn the_designs_own_report_is_its_placed_fmax() {
        let d = tempfile::tempdir().unwrap();
        let engine = report(d.path(), tbn_hdl::spi::NET_SPI_TOP, 42.9);
        let (f, src) = fmax(None, Some(&engine), Design::Engine).unwrap();
        assert_eq!(f, 42.9);
        assert!(
            src.starts_with("placed fmax of the whole-network engine"),
            "{src}"
        );
        assert!(src.contains("48 MHz target not met"), "{src}");
        let core = report(d.path(), tbn_hdl::spi::SPI_TOP, 51.0);
        let (f, src) = fmax(None, Some(&core), Design::JobCore).unwrap();
        assert_eq!(f, 51.0);
        assert!(src.contains("target met"), "{src}");
    }

    #[test]
    fn another_designs_report_is_an_assumption() {
        let d = tempfile::tempdir().unwrap();
        let core = report(d.path(), tbn_hdl::spi::SPI_TOP, 51.0);
        let (f, src) = fmax(None, Some(&core), Design::Engine).unwrap();
        assert_eq!(f, 51.0);
        assert!(
            src.starts_with("assumed: fmax of the single-layer core"),
            "{src}"
        );
        assert!(src.contains("tbn synth --engine"), "{src}");
    }

    #[test]
    fn flag_wins_and_must_be_positive() {
        let d = tempfile::tempdir().unwrap();
        let engine = report(d.path(), tbn_hdl::spi::NET_SPI_TOP, 42.9);
        let (f, src) = fmax(Some(30.0), Some(&engine), Design::Engine).unwrap();
        assert_eq!((f, src.as_str()), (30.0, "--fmax-mhz"));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = fmax(Some(bad), None, Design::Engine).unwrap_err();
            assert!(e.to_string().contains("positive number of MHz"), "{e}");
        }
    }

    #[test]
    fn no_report_assumes_the_target() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("none.json");
        let (f, src) = fmax(None, Some(&missing), Design::Engine).unwrap();
        assert_eq!(f, 48.0);
        assert!(src.starts_with("assumed: the UP5K target"), "{src}");
    }
}
