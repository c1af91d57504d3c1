//! Gate-level check: the core's iCE40 netlist (yosys `synth_ice40`, then
//! `write_verilog -noattr`) simulated in Icarus Verilog with yosys's iCE40
//! cell models, driven over Wishbone by `tbn_hdl::testbench`, against the
//! golden model's accumulators.

use crate::error::{Result, Stage, SynthError};
use crate::flow::error_excerpt;
use crate::tools;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tbn_golden::integer::DenseStage;
use tbn_hdl::testbench::{job_ops, run_icarus, Job};

/// The gate-level netlist of the core.
#[derive(Clone, Debug)]
pub struct Netlist {
    /// `write_verilog -noattr` output.
    pub path: PathBuf,
    /// yosys's iCE40 simulation models.
    pub cells_sim: PathBuf,
    /// Cell counts.
    pub cells: std::collections::BTreeMap<String, u64>,
}

/// Synthesise the core of `cfg` for iCE40 and write its netlist into `dir`.
pub fn core_netlist(cfg: &tbn_hdl::Config, dir: &Path) -> Result<Netlist> {
    let tc = tools::toolchain(crate::device::Family::Ice40)?;
    std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    let rtl = dir.join("tbn_core_rtl.v");
    std::fs::write(&rtl, tbn_hdl::core_verilog(cfg)?).map_err(|e| SynthError::io(&rtl, e))?;
    let script = format!(
        "read_verilog -sv tbn_core_rtl.v\nhierarchy -check -top {top}\nsynth_ice40 -top {top}\n\
         tee -q -o gate-stat.json stat -json\nwrite_verilog -noattr tbn_core_gate.v\n",
        top = tbn_hdl::CORE_TOP
    );
    std::fs::write(dir.join("gate.ys"), script)
        .map_err(|e| SynthError::io(dir.join("gate.ys"), e))?;
    let log = dir.join("gate-yosys.log");
    let status = Command::new(&tc.yosys)
        .args(["-q", "-l", "gate-yosys.log", "-s", "gate.ys"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|source| SynthError::Spawn {
            stage: Stage::Yosys,
            tool: tc.yosys.clone(),
            source,
        })?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(SynthError::StageFailed {
            stage: Stage::Yosys,
            message: error_excerpt(&text),
            log,
        });
    }
    Ok(Netlist {
        path: dir.join("tbn_core_gate.v"),
        cells_sim: tools::yosys_datdir(&tc.yosys)?.join("ice40/cells_sim.v"),
        cells: crate::report::parse_yosys_stat(&dir.join("gate-stat.json"))?,
    })
}

/// Outcome of one layer on the gate-level netlist.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GateRun {
    /// Accumulator pairs read back from the netlist.
    pub got: Vec<(i32, i32)>,
    /// Golden accumulators (`DenseStage::accumulators`).
    pub expected: Vec<(i32, i32)>,
    /// STATUS after the job.
    pub status: u32,
    /// CYCLES after the job.
    pub cycles: u32,
}

/// Load `stage` with input `x` into the netlist over Wishbone, run it and
/// compare every accumulator pair with the golden model; `Err(GateMismatch)`
/// on any difference.
pub fn check_layer(
    cfg: &tbn_hdl::Config,
    net: &Netlist,
    stage: &DenseStage,
    x: &[i32],
    dir: &Path,
) -> Result<GateRun> {
    let g = &stage.geom;
    if g.m > cfg.max_in || g.q > cfg.tile_max || g.distinct_rows() > cfg.max_rows {
        return Err(SynthError::Invalid(format!(
            "layer m={} q={} D={} exceeds the core's capacity {:?}",
            g.m,
            g.q,
            g.distinct_rows(),
            cfg
        )));
    }
    let (_iverilog, _vvp) = tools::icarus()?;
    let expected = stage.accumulators(x);
    let job = Job {
        m: g.m,
        q: g.q,
        rows: g.distinct_rows(),
        abits: stage.in_bits as usize,
        signed: stage.in_signed,
        tile: (0..g.q).map(|j| stage.tile.get(j)).collect(),
        x: x.to_vec(),
    };
    let ops = job_ops(&job, cfg.lanes);
    let netlist = std::fs::read_to_string(&net.path).map_err(|e| SynthError::io(&net.path, e))?;
    let cells =
        std::fs::read_to_string(&net.cells_sim).map_err(|e| SynthError::io(&net.cells_sim, e))?;
    // The testbench compiles one file named tbn_core.v: the netlist followed by
    // the cell models. Icarus 11 does not accept the models' default port values
    // (`input CLOCK_ENABLE = 1'b1`, a SystemVerilog form): switch them off; the
    // netlist connects every input it uses.
    let text = format!(
        "{netlist}\n// ---- yosys iCE40 cell models\n`define NO_ICE40_DEFAULT_ASSIGNMENTS\n{cells}\n"
    );
    let vals = run_icarus(&text, &ops, dir).map_err(|e| SynthError::StageFailed {
        stage: Stage::GateSim,
        message: e.to_string(),
        log: dir.to_path_buf(),
    })?;
    // Values: polls, STATUS, CYCLES, then two words per distinct row.
    if vals.len() != 3 + 2 * job.rows {
        return Err(SynthError::GateMismatch(format!(
            "expected {} reported values, got {}",
            3 + 2 * job.rows,
            vals.len()
        )));
    }
    let got: Vec<(i32, i32)> = (0..job.rows)
        .map(|j| (vals[3 + 2 * j] as i32, vals[4 + 2 * j] as i32))
        .collect();
    let run = GateRun {
        got,
        expected,
        status: vals[1],
        cycles: vals[2],
    };
    if run.status & tbn_driver::regmap::STATUS_ERROR != 0 {
        return Err(SynthError::GateMismatch(format!(
            "the job ended with STATUS = {:#x} (error code {})",
            run.status,
            (run.status >> tbn_driver::regmap::STATUS_ERROR_CODE_SHIFT)
                & tbn_driver::regmap::STATUS_ERROR_CODE_MASK
        )));
    }
    if let Some(j) = (0..job.rows).find(|&j| run.got[j] != run.expected[j]) {
        return Err(SynthError::GateMismatch(format!(
            "layer '{}' row {j}: netlist gives {:?}, golden {:?} (m={}, q={}, A={}, signed={})",
            stage.name, run.got[j], run.expected[j], g.m, g.q, stage.in_bits, stage.in_signed
        )));
    }
    Ok(run)
}
