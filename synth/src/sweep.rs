//! Lane sweep: the flow per lane count, a table (markdown + JSON) and plots.

use crate::design;
use crate::device::Device;
use crate::error::{Result, SynthError};
use crate::flow::{self, FlowSpec};
use crate::latency::{self, CyclesSource};
use crate::plot;
use std::path::{Path, PathBuf};
use tbn_golden::integer::Program;

/// What to sweep.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// Device.
    pub device: Device,
    /// Lane counts.
    pub lanes: Vec<usize>,
    /// Clock target (MHz).
    pub freq_mhz: f64,
    /// Capacities (lanes is replaced per point).
    pub base: tbn_hdl::Config,
    /// Output folder; point `L` goes to `L<L>/`.
    pub out_dir: PathBuf,
    /// Reference model for latency (its integer program).
    pub program: Option<Program>,
    /// `tbn sim --json` reports of the RTL simulation (measured cycles at
    /// their lane counts; the first report for a lane count wins).
    pub sim_reports: Vec<PathBuf>,
    /// nextpnr seed.
    pub seed: Option<u64>,
}

/// Outcome of one sweep point.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PointStatus {
    /// Placed, routed, timing met, bitstream packed.
    Ok,
    /// Placed and routed but below the clock target.
    TimingFailed,
    /// Needs more resources than the device has.
    DoesNotFit,
    /// The flow failed otherwise.
    Error,
}

/// One row of the sweep table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepRow {
    /// Lanes L.
    pub lanes: usize,
    /// Outcome.
    pub status: PointStatus,
    /// Explanation for non-ok rows.
    pub detail: String,
    /// Logic cells (iCE40) or LUT4 (ECP5) used.
    pub logic: Option<u64>,
    /// LUT4s used.
    pub luts: Option<u64>,
    /// Flip-flops used.
    pub ffs: Option<u64>,
    /// Block RAMs used.
    pub bram: Option<u64>,
    /// fmax (MHz).
    pub fmax_mhz: Option<f64>,
    /// Peak binary MAC/s (L x fmax), in units of 10^9.
    pub peak_gmacs: Option<f64>,
    /// Cycles per inference of the reference model.
    pub cycles: Option<u64>,
    /// Where the cycles come from.
    pub cycles_source: Option<CyclesSource>,
    /// Latency per inference (microseconds) = cycles / fmax.
    pub latency_us: Option<f64>,
    /// Folder of this point.
    pub dir: PathBuf,
}

/// The sweep's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepResult {
    /// Device.
    pub device: Device,
    /// Clock target.
    pub freq_mhz: f64,
    /// Capacities.
    pub base: tbn_hdl::Config,
    /// Rows.
    pub rows: Vec<SweepRow>,
    /// Files written (tables, plots).
    pub files: Vec<PathBuf>,
}

impl SweepResult {
    /// Markdown table.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Lane sweep on {} (target {:.1} MHz, TILE_MAX {}, MAX_IN {}, MAX_ROWS {})\n\n",
            self.device, self.freq_mhz, self.base.tile_max, self.base.max_in, self.base.max_rows
        );
        s += "| L | status | logic | LUT4 | FF | BRAM | fmax (MHz) | peak GMAC/s | cycles/inference | latency (us) |\n";
        s += "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
        let o = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
        let f =
            |v: Option<f64>, p: usize| v.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "-".into());
        for r in &self.rows {
            let status = match r.status {
                PointStatus::Ok => "ok".to_string(),
                PointStatus::TimingFailed => "timing not met".to_string(),
                PointStatus::DoesNotFit => format!("does not fit: {}", r.detail),
                PointStatus::Error => format!("error: {}", r.detail),
            };
            let cyc = match (&r.cycles, &r.cycles_source) {
                (Some(c), Some(CyclesSource::LaneBoundIdeal)) => format!("{c} (ideal)"),
                (Some(c), _) => c.to_string(),
                _ => "-".into(),
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.lanes,
                status.replace('|', "/"),
                o(r.logic),
                o(r.luts),
                o(r.ffs),
                o(r.bram),
                f(r.fmax_mhz, 2),
                f(r.peak_gmacs, 2),
                cyc,
                f(r.latency_us, 1)
            );
        }
        if self
            .rows
            .iter()
            .any(|r| r.cycles_source == Some(CyclesSource::LaneBoundIdeal))
        {
            s += "\n(ideal) = lane-bound ideal cycles: sum over layers of distinct rows x ceil(m / L) x A \
                  (no pipeline fill, job set-up or SPI transfer); pass --sim-report with the \
                  `tbn sim --json` report for measured cycles.\n";
        }
        s
    }
}

fn point_cycles(spec: &SweepSpec, lanes: usize) -> Result<(Option<u64>, Option<CyclesSource>)> {
    for p in &spec.sim_reports {
        if let Some(c) = latency::cycles_from_sim_report(p, lanes)? {
            return Ok((
                Some(c),
                Some(CyclesSource::Measured(p.display().to_string())),
            ));
        }
    }
    Ok(match &spec.program {
        Some(prog) => (
            Some(latency::ideal_cycles(prog, lanes)),
            Some(CyclesSource::LaneBoundIdeal),
        ),
        None => (None, None),
    })
}

/// Run the sweep; `progress` is called before each point.
pub fn run(spec: &SweepSpec, mut progress: impl FnMut(usize, usize, usize)) -> Result<SweepResult> {
    if spec.lanes.is_empty() {
        return Err(SynthError::Invalid("no lane counts to sweep".into()));
    }
    std::fs::create_dir_all(&spec.out_dir).map_err(|e| SynthError::io(&spec.out_dir, e))?;
    let mut rows = Vec::new();
    for (i, &lanes) in spec.lanes.iter().enumerate() {
        progress(i, spec.lanes.len(), lanes);
        let dir = spec.out_dir.join(format!("L{lanes}"));
        let cfg = tbn_hdl::Config { lanes, ..spec.base };
        let (cycles, cycles_source) = point_cycles(spec, lanes)?;
        let mut row = SweepRow {
            lanes,
            status: PointStatus::Ok,
            detail: String::new(),
            logic: None,
            luts: None,
            ffs: None,
            bram: None,
            fmax_mhz: None,
            peak_gmacs: None,
            cycles,
            cycles_source,
            latency_us: None,
            dir: dir.clone(),
        };
        let result = design::emit_standalone(&cfg, &dir.join("rtl")).and_then(|d| {
            let mut fs = FlowSpec::new(spec.device, d.sources.clone(), &d.top, &dir);
            fs.freq_mhz = spec.freq_mhz;
            fs.allow_timing_fail = true;
            fs.seed = spec.seed;
            fs.config = serde_json::to_value(cfg).ok();
            flow::run(&fs)
        });
        match result {
            Ok(rep) => {
                let logic_key = if rep.resource("lc").is_some() {
                    "lc"
                } else {
                    "lut"
                };
                row.logic = rep.resource(logic_key).map(|r| r.used);
                row.luts = rep.resource("lut").map(|r| r.used);
                row.ffs = rep.resource("ff").map(|r| r.used);
                row.bram = rep.resource("bram").map(|r| r.used);
                row.fmax_mhz = rep.fmax_mhz();
                row.peak_gmacs = row.fmax_mhz.map(|f| lanes as f64 * f / 1000.0);
                row.latency_us = match (row.cycles, row.fmax_mhz) {
                    (Some(c), Some(f)) if f > 0.0 => Some(c as f64 / f),
                    _ => None,
                };
                if !rep.timing_met {
                    row.status = PointStatus::TimingFailed;
                    row.detail = rep
                        .critical_path
                        .as_ref()
                        .map(|p| p.summary())
                        .unwrap_or_default();
                }
            }
            Err(SynthError::DoesNotFit { overflows, .. }) => {
                row.status = PointStatus::DoesNotFit;
                row.detail = overflows
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            Err(e @ SynthError::ToolMissing { .. }) => return Err(e),
            Err(e) => {
                row.status = PointStatus::Error;
                row.detail = e.to_string();
            }
        }
        rows.push(row);
    }
    let mut res = SweepResult {
        device: spec.device,
        freq_mhz: spec.freq_mhz,
        base: spec.base,
        rows,
        files: Vec::new(),
    };
    let md = spec.out_dir.join("sweep.md");
    let js = spec.out_dir.join("sweep.json");
    res.files.push(md.clone());
    res.files.push(js.clone());
    res.files.extend(plot::sweep_plots(&res, &spec.out_dir)?);
    write(&md, &res.markdown())?;
    write(
        &js,
        &serde_json::to_string_pretty(&res).expect("sweep serializes"),
    )?;
    Ok(res)
}

fn write(p: &Path, text: &str) -> Result<()> {
    std::fs::write(p, text).map_err(|e| SynthError::io(p, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(lanes: usize, status: PointStatus, fmax: Option<f64>) -> SweepRow {
        SweepRow {
            lanes,
            status,
            detail: String::new(),
            logic: fmax.map(|_| 100 * lanes as u64),
            luts: fmax.map(|_| 60 * lanes as u64),
            ffs: fmax.map(|_| 30 * lanes as u64),
            bram: fmax.map(|_| 16),
            fmax_mhz: fmax,
            peak_gmacs: fmax.map(|f| lanes as f64 * f / 1000.0),
            cycles: Some(6720),
            cycles_source: Some(CyclesSource::LaneBoundIdeal),
            latency_us: fmax.map(|f| 6720.0 / f),
            dir: PathBuf::from("x"),
        }
    }

    #[test]
    fn table_and_plots_are_written() {
        let mut no_fit = row(128, PointStatus::DoesNotFit, None);
        no_fit.detail = "ICESTORM_LC needs 9000 of 7680 (117%)".into();
        let res = SweepResult {
            device: Device::Hx8k,
            freq_mhz: 100.0,
            base: tbn_hdl::Config::default(),
            rows: vec![
                row(8, PointStatus::Ok, Some(120.0)),
                row(32, PointStatus::TimingFailed, Some(80.0)),
                no_fit,
            ],
            files: vec![],
        };
        let md = res.markdown();
        assert!(md.contains("| 8 | ok |"), "{md}");
        assert!(md.contains("timing not met"));
        assert!(md.contains("does not fit: ICESTORM_LC needs 9000 of 7680"));
        assert!(md.contains("6720 (ideal)") && md.contains("lane-bound ideal"));
        let dir = tempfile::tempdir().unwrap();
        let files = plot::sweep_plots(&res, dir.path()).unwrap();
        assert_eq!(files.len(), 4);
        for f in files {
            let svg = std::fs::read_to_string(&f).unwrap();
            assert!(
                svg.contains("<svg") && svg.contains("lanes L"),
                "{}",
                f.display()
            );
        }
    }
}
