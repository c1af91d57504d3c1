//! `Dut` and `Signal`: a Verilated model driven from Python.

use std::collections::HashMap;
use std::path::PathBuf;

use pyo3::exceptions::{PyAttributeError, PyValueError};
use pyo3::prelude::*;
use tbn_sim::verilate::{BuildOptions, Direction};
use tbn_sim::{Dut, Port};

use crate::errors::{PortError, SimResultExt};
use crate::value::{from_words, to_words};

/// Static facts about one port.
#[derive(Debug, Clone)]
pub(crate) struct PortMeta {
    pub name: String,
    pub port: Port,
    pub width: u32,
    pub dir: Direction,
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Input => "input",
        Direction::Output => "output",
        Direction::Inout => "inout",
    }
}

/// Build options from the Python keyword arguments.
pub(crate) fn build_options(
    top: &str,
    trace: bool,
    coverage: bool,
    verilator_args: Vec<String>,
    cache_dir: Option<PathBuf>,
) -> BuildOptions {
    BuildOptions {
        top: top.to_string(),
        trace,
        coverage,
        verilator_args,
        cache_dir,
        ..BuildOptions::default()
    }
}

/// A Verilated design instance (`tbnsim._native.Dut`).
///
/// Must stay on the thread that created it (a Verilated model is not thread-safe),
/// hence `unsendable`: pyo3 raises if another thread touches it.
#[pyclass(unsendable, module = "tbnsim._native", name = "Dut")]
pub struct PyDut {
    dut: Dut,
    ports: Vec<PortMeta>,
    by_name: HashMap<String, usize>,
    clock: Option<usize>,
    /// Set by every write, cleared by `eval`/`tick`: tells the scheduler that
    /// combinational logic must be settled.
    dirty: bool,
    so_path: PathBuf,
    sources: Vec<PathBuf>,
    top: String,
}

impl PyDut {
    pub(crate) fn wrap(model: &tbn_sim::Model, sources: Vec<PathBuf>) -> PyResult<PyDut> {
        let dut = model.instantiate().py()?;
        let mut ports = Vec::new();
        let mut by_name = HashMap::new();
        for (i, p) in model.ports().iter().enumerate() {
            let port = dut.port(&p.name).py()?;
            by_name.insert(p.name.clone(), i);
            ports.push(PortMeta {
                name: p.name.clone(),
                port,
                width: p.width,
                dir: p.dir,
            });
        }
        let clock = ["clk", "clock", "clk_i"]
            .iter()
            .find_map(|n| by_name.get(*n).copied())
            .filter(|i| ports[*i].width == 1 && ports[*i].dir != Direction::Output);
        Ok(PyDut {
            dut,
            ports,
            by_name,
            clock,
            dirty: false,
            so_path: model.so_path.clone(),
            sources,
            top: model.options.top.clone(),
        })
    }

    fn index_of(&self, name: &str) -> PyResult<usize> {
        self.by_name.get(name).copied().ok_or_else(|| {
            PortError::new_err(format!(
                "the design `{}` has no port named `{name}` (ports: {})",
                self.top,
                self.ports
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    fn meta(&self, i: usize) -> PyResult<&PortMeta> {
        self.ports
            .get(i)
            .ok_or_else(|| PortError::new_err(format!("port index {i} out of range")))
    }

    fn clock_meta(&self) -> PyResult<&PortMeta> {
        match self.clock {
            Some(c) => Ok(&self.ports[c]),
            None => Err(PortError::new_err(format!(
                "the design `{}` has no clock chosen: call set_clock(name)",
                self.top
            ))),
        }
    }

    /// Reads port `i` as a Python int.
    pub(crate) fn read<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let m = self.meta(i)?;
        if m.width <= 64 {
            Ok(self.dut.get(m.port).into_pyobject(py)?.into_any())
        } else {
            from_words(py, &self.dut.get_words(m.port))
        }
    }

    /// Writes port `i` from a Python value, checking direction and width.
    pub(crate) fn write(&mut self, i: usize, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let m = self.meta(i)?;
        if m.dir == Direction::Output {
            return Err(PortError::new_err(format!(
                "port `{}` is an output of `{}` and cannot be assigned",
                m.name, self.top
            )));
        }
        let words = to_words(v, m.width, &m.name)?;
        let port = m.port;
        if m.width <= 64 {
            let lo = words[0] as u64 | (words.get(1).copied().unwrap_or(0) as u64) << 32;
            self.dut.set(port, lo);
        } else {
            self.dut.set_words(port, &words);
        }
        self.dirty = true;
        Ok(())
    }

    fn values_of(&self, idx: &[usize]) -> Vec<Vec<u32>> {
        idx.iter()
            .map(|i| self.dut.get_words(self.ports[*i].port))
            .collect()
    }
}

#[pymethods]
impl PyDut {
    /// The accelerator core for a configuration (`tbn_hdl::Config`), built with
    /// Verilator into the model cache (a cache hit takes milliseconds).
    #[staticmethod]
    #[pyo3(signature = (lanes=32, tile_max=None, max_in=None, max_rows=None, trace=false, coverage=false, cache_dir=None))]
    fn core(
        lanes: usize,
        tile_max: Option<usize>,
        max_in: Option<usize>,
        max_rows: Option<usize>,
        trace: bool,
        coverage: bool,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<PyDut> {
        let cfg = crate::accel::config(lanes, tile_max, max_in, max_rows);
        let opts = build_options(tbn_hdl::CORE_TOP, trace, coverage, Vec::new(), cache_dir);
        let model = tbn_sim::hw::core_model(&cfg, &opts).py()?;
        let sources = tbn_sim::hw::model_sources(&model);
        PyDut::wrap(&model, sources)
    }

    /// Any Verilog design: `sources` (paths), top module `top`.
    #[staticmethod]
    #[pyo3(signature = (sources, top, trace=false, coverage=false, verilator_args=Vec::new(), cache_dir=None))]
    fn from_verilog(
        sources: Vec<PathBuf>,
        top: &str,
        trace: bool,
        coverage: bool,
        verilator_args: Vec<String>,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<PyDut> {
        if sources.is_empty() {
            return Err(PyValueError::new_err(
                "from_verilog needs at least one source file",
            ));
        }
        let opts = build_options(top, trace, coverage, verilator_args, cache_dir);
        let model = tbn_sim::build_model(&sources, &opts).py()?;
        PyDut::wrap(&model, sources)
    }

    /// Name of the top module.
    #[getter]
    fn top(&self) -> &str {
        &self.top
    }

    /// The compiled model (shared object) this instance runs.
    #[getter]
    fn library(&self) -> PathBuf {
        self.so_path.clone()
    }

    /// The Verilog sources of the model.
    #[getter]
    fn sources(&self) -> Vec<PathBuf> {
        self.sources.clone()
    }

    /// `[(name, width, direction)]` of every port, in Verilator's order.
    fn ports(&self) -> Vec<(String, u32, &'static str)> {
        self.ports
            .iter()
            .map(|p| (p.name.clone(), p.width, dir_name(p.dir)))
            .collect()
    }

    /// `(index, width, direction)` of a port; raises `PortError` naming the
    /// existing ports when there is none of that name.
    fn port_info(&self, name: &str) -> PyResult<(usize, u32, &'static str)> {
        let i = self.index_of(name)?;
        let p = &self.ports[i];
        Ok((i, p.width, dir_name(p.dir)))
    }

    /// Whether a port of this name exists.
    fn has_port(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Reads a port (by index from `port_info`) as an int.
    fn get<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        self.read(py, index)
    }

    /// Writes a port (by index). Raises `PortError` for outputs, `OverflowError`
    /// when the value does not fit the width.
    fn set(&mut self, index: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.write(index, value)
    }

    /// Reads a port by name.
    fn read_port<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let i = self.index_of(name)?;
        self.read(py, i)
    }

    /// Writes a port by name.
    fn write_port(&mut self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let i = self.index_of(name)?;
        self.write(i, value)
    }

    /// Settles combinational logic after inputs changed.
    fn eval(&mut self) {
        self.dut.eval();
        self.dirty = false;
    }

    /// Whether a port was written since the last `eval`/`tick`.
    #[getter]
    fn dirty(&self) -> bool {
        self.dirty
    }

    /// Chooses the clock (a 1-bit input; `clk`, `clock` or `clk_i` is chosen by default).
    fn set_clock(&mut self, name: &str) -> PyResult<()> {
        self.dut.set_clock(name).py()?;
        self.clock = Some(self.index_of(name)?);
        Ok(())
    }

    /// Name of the clock port, if one is chosen.
    #[getter]
    fn clock(&self) -> Option<String> {
        self.clock.map(|c| self.ports[c].name.clone())
    }

    /// Runs `n` full clock cycles inside the simulator (rising edge, eval, falling
    /// edge, eval; waveform samples after each half).
    #[pyo3(signature = (n=1))]
    fn tick(&mut self, n: u64) -> PyResult<()> {
        self.clock_meta()?;
        self.dut.tick_n(n).py()?;
        self.dirty = false;
        Ok(())
    }

    /// Runs up to `max` cycles and stops after the first cycle at whose end
    /// `(port & mask) != 0`; returns the cycles run.
    fn run_until(&mut self, name: &str, mask: u64, max: u64) -> PyResult<u64> {
        self.clock_meta()?;
        let i = self.index_of(name)?;
        let ran = self.dut.run_until(self.ports[i].port, mask, max).py()?;
        self.dirty = false;
        Ok(ran)
    }

    /// Runs up to `n` cycles and stops after the first cycle at whose end any of
    /// the ports (indices) changed value; returns the cycles run.
    fn tick_until_change(&mut self, n: u64, indices: Vec<usize>) -> PyResult<u64> {
        self.clock_meta()?;
        for i in &indices {
            self.meta(*i)?;
        }
        if indices.is_empty() {
            self.dut.tick_n(n).py()?;
            self.dirty = false;
            return Ok(n);
        }
        let mut before = self.values_of(&indices);
        let mut ran = 0;
        while ran < n {
            self.dut.tick_n(1).py()?;
            ran += 1;
            let now = self.values_of(&indices);
            if now != before {
                break;
            }
            before = now;
        }
        self.dirty = false;
        Ok(ran)
    }

    /// Clock cycles run through `tick` / `run_until` so far.
    #[getter]
    fn cycles(&self) -> u64 {
        self.dut.cycles()
    }

    /// Simulation time in half cycles (advanced by `tick` only).
    #[getter]
    fn time(&self) -> u64 {
        self.dut.time()
    }

    /// Whether the design executed `$finish`.
    #[getter]
    fn finished(&self) -> bool {
        self.dut.finished()
    }

    /// Starts a VCD waveform (the model must be built with `trace=True`).
    fn trace_open(&mut self, path: PathBuf) -> PyResult<()> {
        self.dut.trace_open(&path).py()
    }

    /// The waveform file being written, if any.
    #[getter]
    fn trace_path(&self) -> Option<PathBuf> {
        self.dut.trace_path().map(|p| p.to_path_buf())
    }

    /// Flushes the waveform.
    fn trace_flush(&mut self) {
        self.dut.trace_flush()
    }

    /// Closes the waveform.
    fn trace_close(&mut self) {
        self.dut.trace_close()
    }

    /// Writes the coverage database (the model must be built with `coverage=True`).
    fn coverage_write(&mut self, path: PathBuf) -> PyResult<()> {
        self.dut.coverage_write(&path).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "<tbnsim Dut top={} ports={} cycles={}>",
            self.top,
            self.ports.len(),
            self.dut.cycles()
        )
    }
}

/// One port of a [`PyDut`] (`dut.clk`, `dut.wb_dat_r`, ...): `.value` reads and
/// writes it.
#[pyclass(unsendable, module = "tbnsim._native", name = "Signal")]
pub struct Signal {
    dut: Py<PyDut>,
    index: usize,
    name: String,
    width: u32,
    dir: Direction,
}

#[pymethods]
impl Signal {
    /// The signal `name` of `dut`.
    #[new]
    fn new(py: Python<'_>, dut: Py<PyDut>, name: &str) -> PyResult<Signal> {
        let d = dut.borrow(py);
        let index = d
            .index_of(name)
            .map_err(|e| PyAttributeError::new_err(e.value(py).to_string()))?;
        let m = &d.ports[index];
        let (width, dir) = (m.width, m.dir);
        drop(d);
        Ok(Signal {
            dut,
            index,
            name: name.to_string(),
            width,
            dir,
        })
    }

    /// Current value (int). Assigning drives the port; outputs raise `PortError`,
    /// values that do not fit raise `OverflowError`.
    #[getter]
    fn get_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.dut.borrow(py).read(py, self.index)
    }

    #[setter]
    fn set_value(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.dut.borrow_mut(py).write(self.index, value)
    }

    /// Drives the port now (same as assigning `.value` in this simulator).
    fn setimmediatevalue(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.dut.borrow_mut(py).write(self.index, value)
    }

    /// Port name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Port name (cocotb's spelling).
    #[getter]
    fn _name(&self) -> &str {
        &self.name
    }

    /// Width in bits.
    #[getter]
    fn width(&self) -> u32 {
        self.width
    }

    /// `input`, `output` or `inout`.
    #[getter]
    fn direction(&self) -> &'static str {
        dir_name(self.dir)
    }

    /// Port index in the design.
    #[getter]
    fn index(&self) -> usize {
        self.index
    }

    /// The design this port belongs to.
    #[getter]
    fn dut(&self, py: Python<'_>) -> Py<PyDut> {
        self.dut.clone_ref(py)
    }

    fn __len__(&self) -> usize {
        self.width as usize
    }

    fn __int__(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(self.dut.borrow(py).read(py, self.index)?.unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let v = self.dut.borrow(py).read(py, self.index)?;
        Ok(format!(
            "<Signal {} [{}] {} = {}>",
            self.name,
            self.width,
            dir_name(self.dir),
            v.str()?
        ))
    }
}
