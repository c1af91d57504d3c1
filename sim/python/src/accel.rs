//! `Accelerator`: the TBN core behind the Wishbone bus model, at transaction level.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tbn_driver::regmap as rm;
use tbn_sim::network::NetworkRunner;
use tbn_sim::{Accelerator, LayerJob, LinkKind, RegisterBus};

use crate::dut::build_options;
use crate::errors::{hdl_err, SimResultExt};
use crate::golden::{PyProgram, PyStage};

/// A core configuration: `lanes` plus optional capacities (defaults of `tbn_hdl::Config`).
pub fn config(
    lanes: usize,
    tile_max: Option<usize>,
    max_in: Option<usize>,
    max_rows: Option<usize>,
) -> tbn_hdl::Config {
    let d = tbn_hdl::Config::default();
    tbn_hdl::Config {
        lanes,
        tile_max: tile_max.unwrap_or(d.tile_max),
        max_in: max_in.unwrap_or(d.max_in),
        max_rows: max_rows.unwrap_or(d.max_rows),
    }
}

/// Outputs per input and per-stage statistics of [`PyAccelerator::run_program`].
type ProgramRun<'py> = (Vec<Vec<i64>>, Vec<Bound<'py, PyDict>>);

/// The accelerator RTL (Verilated) behind a Wishbone master (`tbnsim._native.Accelerator`).
#[pyclass(unsendable, module = "tbnsim._native", name = "Accelerator")]
pub struct PyAccelerator {
    acc: Accelerator,
}

fn check_x_range(x: &[i32], abits: u8, signed: bool) -> PyResult<()> {
    if !(1..=8).contains(&abits) {
        return Err(PyValueError::new_err(format!(
            "activation bits A = {abits} not in 1..=8"
        )));
    }
    let (lo, hi) = tbn_golden::integer::value_range(abits, signed && abits > 1);
    if let Some((k, v)) = x
        .iter()
        .enumerate()
        .find(|(_, v)| i64::from(**v) < lo || i64::from(**v) > hi)
    {
        return Err(PyValueError::new_err(format!(
            "activation {k} = {v} outside {lo}..={hi} for A = {abits}{}",
            if signed && abits > 1 { " signed" } else { "" }
        )));
    }
    Ok(())
}

impl PyAccelerator {
    fn job_result(res: tbn_sim::JobResult) -> (Vec<(i32, i32)>, u32) {
        (res.acc, res.cycles)
    }
}

#[pymethods]
impl PyAccelerator {
    /// Builds (or takes from the cache) the core for a configuration, resets it and
    /// checks its ID registers. `link`: `wishbone` (the core's own bus port) or
    /// `spi` (the standalone top: SPI-to-Wishbone bridge + core, driven bit by bit).
    #[new]
    #[pyo3(signature = (lanes=32, tile_max=None, max_in=None, max_rows=None, trace=false, cache_dir=None, link="wishbone"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        lanes: usize,
        tile_max: Option<usize>,
        max_in: Option<usize>,
        max_rows: Option<usize>,
        trace: bool,
        cache_dir: Option<PathBuf>,
        link: &str,
    ) -> PyResult<PyAccelerator> {
        let cfg = config(lanes, tile_max, max_in, max_rows);
        cfg.validate().map_err(hdl_err)?;
        let opts = build_options(tbn_hdl::CORE_TOP, trace, false, Vec::new(), cache_dir);
        let acc = match link {
            "wishbone" => {
                let model = tbn_sim::hw::core_model(&cfg, &opts).py()?;
                Accelerator::new(model.instantiate().py()?, LinkKind::default()).py()?
            }
            "spi" => tbn_sim::hw::open_spi_top(&cfg, &opts).py()?,
            other => {
                return Err(PyValueError::new_err(format!(
                    "link `{other}` is not `wishbone` or `spi`"
                )))
            }
        };
        Ok(PyAccelerator { acc })
    }

    /// `wishbone` or `spi`.
    #[getter]
    fn link(&mut self) -> &'static str {
        match self.acc.link() {
            tbn_sim::Link::Wishbone(_) => "wishbone",
            tbn_sim::Link::Spi(_) => "spi",
        }
    }

    /// An accelerator from Verilog files whose top module has the core's ports
    /// (`clk`, `rst`, `wb_*` with `prefix`, `irq`).
    #[staticmethod]
    #[pyo3(signature = (sources, top="tbn_core", prefix="wb_", trace=false, cache_dir=None))]
    fn from_verilog(
        sources: Vec<PathBuf>,
        top: &str,
        prefix: &str,
        trace: bool,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<PyAccelerator> {
        let opts = build_options(top, trace, false, Vec::new(), cache_dir);
        let model = tbn_sim::build_model(&sources, &opts).py()?;
        let acc = Accelerator::new(
            model.instantiate().py()?,
            LinkKind::Wishbone {
                prefix: prefix.to_string(),
            },
        )
        .py()?;
        Ok(PyAccelerator { acc })
    }

    /// Capacities from the configuration registers:
    /// `{lanes, tile_max, max_in, max_rows, max_abits}`.
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let i = self.acc.info();
        let d = PyDict::new(py);
        d.set_item("lanes", i.lanes)?;
        d.set_item("tile_max", i.tile_max)?;
        d.set_item("max_in", i.max_in)?;
        d.set_item("max_rows", i.max_rows)?;
        d.set_item("max_abits", i.max_abits)?;
        Ok(d)
    }

    /// Reads the register at byte offset `offset`.
    fn read32(&mut self, offset: u32) -> PyResult<u32> {
        self.acc.read32(offset).py()
    }

    /// Writes the register at byte offset `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> PyResult<()> {
        self.acc.write32(offset, value).py()
    }

    /// Reads `n` consecutive words from byte offset `offset`.
    fn read_words(&mut self, offset: u32, n: usize) -> PyResult<Vec<u32>> {
        self.acc.read_words(offset, n).py()
    }

    /// Writes consecutive words from byte offset `offset`.
    fn write_words(&mut self, offset: u32, words: Vec<u32>) -> PyResult<()> {
        self.acc.write_words(offset, &words).py()
    }

    /// Pulses the reset input for 4 cycles.
    fn hard_reset(&mut self) -> PyResult<()> {
        self.acc.hard_reset().py()
    }

    /// Writes the tile and the job registers of a stage (activations separately).
    fn load_stage(&mut self, stage: &PyStage) -> PyResult<()> {
        self.acc
            .load_layer(&LayerJob::from_stage(&stage.inner))
            .py()
    }

    /// Writes activations as `abits` bit-planes.
    fn load_activations(&mut self, x: Vec<i32>, abits: u8, signed: bool) -> PyResult<()> {
        self.acc.load_activations(&x, abits, signed).py()
    }

    /// Writes the job registers (m, q, distinct rows D, A, signed).
    fn configure(&mut self, m: u32, q: u32, d: u32, abits: u8, signed: bool) -> PyResult<()> {
        self.acc.configure(m, q, d, abits, signed).py()
    }

    /// Sets START (with the interrupt enabled).
    fn start(&mut self) -> PyResult<()> {
        self.acc.start().py()
    }

    /// Reads STATUS.
    fn status(&mut self) -> PyResult<u32> {
        self.acc.status().py()
    }

    /// Waits for DONE or ERROR (at most `max_cycles`) and returns STATUS.
    fn wait(&mut self, max_cycles: u64) -> PyResult<u32> {
        self.acc.wait(max_cycles).py()
    }

    /// Reads `d` accumulator pairs `(dot_a, dot_b)`.
    fn read_accumulators(&mut self, d: u32) -> PyResult<Vec<(i32, i32)>> {
        self.acc.read_accumulators(d).py()
    }

    /// One whole job from raw parts: tile words (bit `j` at bit `j % 32` of word
    /// `j / 32`), geometry, activation format, input. Returns
    /// `(accumulator pairs, job cycles)`.
    #[allow(clippy::too_many_arguments)]
    fn run_job(
        &mut self,
        m: u32,
        q: u32,
        rows: u32,
        tile: Vec<u32>,
        abits: u8,
        signed: bool,
        x: Vec<i32>,
    ) -> PyResult<(Vec<(i32, i32)>, u32)> {
        check_x_range(&x, abits, signed)?;
        let job = LayerJob {
            m,
            q,
            rows,
            tile,
            abits,
            signed: signed && abits > 1,
        };
        self.acc.run_layer(&job, &x).map(Self::job_result).py()
    }

    /// Runs a golden stage's job on input `x` (the stage's `m` values of its
    /// activation format): `(accumulator pairs, job cycles)`.
    fn run_stage(&mut self, stage: &PyStage, x: Vec<i32>) -> PyResult<(Vec<(i32, i32)>, u32)> {
        let s = &stage.inner;
        check_x_range(&x, s.in_bits, s.in_signed)?;
        let job = LayerJob::from_stage(s);
        self.acc.run_layer(&job, &x).map(Self::job_result).py()
    }

    /// Runs the same loaded stage again on new activations only.
    fn rerun_stage(&mut self, stage: &PyStage, x: Vec<i32>) -> PyResult<(Vec<(i32, i32)>, u32)> {
        let s = &stage.inner;
        check_x_range(&x, s.in_bits, s.in_signed)?;
        if x.len() != s.geom.m {
            return Err(PyValueError::new_err(format!(
                "{} activations for a stage with m = {}",
                x.len(),
                s.geom.m
            )));
        }
        let job = LayerJob::from_stage(s);
        self.acc.load_activations(&x, s.in_bits, s.in_signed).py()?;
        self.acc.run(&job).map(Self::job_result).py()
    }

    /// Runs a whole integer program (linear stages) on each input: every dense
    /// stage is one job; requantization follows the golden model. Returns
    /// `(outputs per input, per-stage statistics)`.
    fn run_program<'py>(
        &mut self,
        py: Python<'py>,
        program: &PyProgram,
        inputs: Vec<Vec<i32>>,
    ) -> PyResult<ProgramRun<'py>> {
        let mut runner = NetworkRunner::new(&program.inner, &self.acc).py()?;
        let mut outs = Vec::with_capacity(inputs.len());
        for (i, x) in inputs.iter().enumerate() {
            crate::golden::check_program_input(&program.inner, x)
                .map_err(|e| PyValueError::new_err(format!("input {i}: {e}")))?;
            outs.push(runner.run(&mut self.acc, x).py()?);
        }
        let mut stats = Vec::new();
        for s in &runner.stats {
            let d = PyDict::new(py);
            d.set_item("name", &s.name)?;
            d.set_item("m", s.m)?;
            d.set_item("q", s.q)?;
            d.set_item("rows", s.rows)?;
            d.set_item("distinct_rows", s.distinct_rows)?;
            d.set_item("abits", s.abits)?;
            d.set_item("ideal_cycles", s.ideal_cycles)?;
            d.set_item("job_cycles", s.job_cycles)?;
            d.set_item("total_job_cycles", s.total_job_cycles)?;
            d.set_item("total_sim_cycles", s.total_sim_cycles)?;
            d.set_item("runs", s.runs)?;
            d.set_item("efficiency", s.efficiency())?;
            stats.push(d);
        }
        Ok((outs, stats))
    }

    /// Jobs completed through this handle.
    #[getter]
    fn jobs(&self) -> u64 {
        self.acc.jobs()
    }

    /// Clock cycles simulated so far (jobs and bus transfers).
    #[getter]
    fn sim_cycles(&mut self) -> u64 {
        self.acc.dut().cycles()
    }

    /// Reads the low 64 bits of a port of the core (e.g. `irq`).
    fn peek(&mut self, name: &str) -> PyResult<u64> {
        self.acc.dut().get_by_name(name).py()
    }

    /// Starts a VCD waveform (needs `trace=True` at construction).
    fn trace_open(&mut self, path: PathBuf) -> PyResult<()> {
        self.acc.dut().trace_open(&path).py()
    }

    /// Closes the waveform.
    fn trace_close(&mut self) {
        self.acc.dut().trace_close()
    }

    fn __repr__(&self) -> String {
        let i = self.acc.info();
        format!(
            "<tbnsim Accelerator lanes={} tile_max={} max_in={} max_rows={} jobs={}>",
            i.lanes,
            i.tile_max,
            i.max_in,
            i.max_rows,
            self.acc.jobs()
        )
    }
}

/// Writes the core's Verilog, register map and manifest for a configuration into
/// `out_dir` (like `tbn hdl emit`); returns the files written.
#[pyfunction]
#[pyo3(signature = (out_dir, lanes=32, tile_max=None, max_in=None, max_rows=None))]
fn emit_core(
    out_dir: PathBuf,
    lanes: usize,
    tile_max: Option<usize>,
    max_in: Option<usize>,
    max_rows: Option<usize>,
) -> PyResult<Vec<PathBuf>> {
    let cfg = config(lanes, tile_max, max_in, max_rows);
    Ok(tbn_hdl::emit(&cfg, &out_dir).map_err(hdl_err)?.files)
}

/// The register map (`tbn_driver::regmap`) as a dict of names to values:
/// every register (name -> byte offset) and window (`NAME_BASE`) from the
/// map's tables, plus the identification values and control/status bits.
fn regmap<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for r in rm::REGISTERS {
        d.set_item(r.name, r.offset)?;
    }
    for w in rm::WINDOWS {
        d.set_item(format!("{}_BASE", w.name), w.offset)?;
    }
    let items: &[(&str, u32)] = &[
        ("MAGIC", rm::MAGIC),
        ("VERSION", rm::VERSION),
        ("SPAN_BYTES", rm::SPAN_BYTES),
        ("WB_ADDR_BITS", rm::WB_ADDR_BITS),
        ("CTRL_START", rm::CTRL_START),
        ("CTRL_SOFT_RESET", rm::CTRL_SOFT_RESET),
        ("CTRL_LOAD_BEGIN", rm::CTRL_LOAD_BEGIN),
        ("CTRL_LOAD_END", rm::CTRL_LOAD_END),
        ("CTRL_INFER", rm::CTRL_INFER),
        ("CTRL_IRQ_ENABLE", rm::CTRL_IRQ_ENABLE),
        ("STATUS_BUSY", rm::STATUS_BUSY),
        ("STATUS_DONE", rm::STATUS_DONE),
        ("STATUS_ERROR", rm::STATUS_ERROR),
        ("STATUS_MODEL_LOADED", rm::STATUS_MODEL_LOADED),
        ("STATUS_LOADING", rm::STATUS_LOADING),
        ("STATUS_ERROR_CODE_SHIFT", rm::STATUS_ERROR_CODE_SHIFT),
        ("STATUS_ERROR_CODE_MASK", rm::STATUS_ERROR_CODE_MASK),
        ("JOB_ABITS_SIGNED", rm::JOB_ABITS_SIGNED),
        ("ACT_PLANE_STRIDE", rm::ACT_PLANE_STRIDE),
        ("CFG_FEATURES_JOB", rm::CFG_FEATURES_JOB),
        ("CFG_FEATURES_ENGINE", rm::CFG_FEATURES_ENGINE),
    ];
    for (k, v) in items {
        d.set_item(*k, *v)?;
    }
    Ok(d)
}

/// Words of the extended tile image the TILE window holds (`tbn_driver::regmap`).
#[pyfunction]
fn extended_tile(tile: Vec<u32>, q: u32, lanes: u32) -> PyResult<Vec<u32>> {
    if (tile.len() as u64) * 32 < q as u64 {
        return Err(PyValueError::new_err(format!(
            "tile has {} words, q = {q} needs {}",
            tile.len(),
            q.div_ceil(32)
        )));
    }
    let n = rm::extended_tile_words(q, lanes);
    Ok((0..n)
        .map(|w| rm::extended_tile_word(&tile, q, lanes, w))
        .collect())
}

/// Distinct rows `D = min(rows, q / gcd(m, q))`.
#[pyfunction]
fn distinct_rows(rows: u32, m: u32, q: u32) -> PyResult<u32> {
    if m == 0 || q == 0 {
        return Err(PyValueError::new_err("m and q must be positive"));
    }
    Ok(rm::distinct_rows(rows, m, q))
}

/// Adds the functions and constants of this file to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(emit_core, m)?)?;
    m.add_function(wrap_pyfunction!(extended_tile, m)?)?;
    m.add_function(wrap_pyfunction!(distinct_rows, m)?)?;
    m.add("REGMAP", regmap(m.py())?)?;
    m.add("CORE_TOP", tbn_hdl::CORE_TOP)?;
    Ok(())
}
