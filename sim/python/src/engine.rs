//! `Engine`: the whole-network engine RTL (Verilated) driven by the real
//! firmware driver (`tbn_driver::Tbn`): a model image loaded once, one INFER
//! per input, logits and class back (issue 12 item 5). With
//! `backend="reference"` the driver talks to the engine's register-level
//! reference model instead (`RefChip`), which also runs conv and max-pool
//! layers (model image format 2; issue 13 item 5).

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tbn_driver::bus::Bus;
use tbn_driver::driver::{DriverError, Tbn};
use tbn_driver::image::chip::RefChip;
use tbn_driver::image::format::Target;
use tbn_sim::{hw, OwnedDriverBus};

use crate::dut::build_options;
use crate::errors::{full_message, AcceleratorError, SimResultExt};
use crate::golden::PyProgram;

/// The engine RTL behind the firmware driver (`tbnsim._native.Engine`).
#[pyclass(unsendable, module = "tbnsim._native", name = "Engine")]
pub struct PyEngine {
    tbn: Tbn<Box<dyn Bus>>,
    target: Target,
}

/// The Verilated engine RTL for `lanes` behind `link` with `capacities`.
fn rtl_bus(
    lanes: usize,
    link: &str,
    capacities: &str,
    trace: bool,
    cache_dir: Option<PathBuf>,
) -> PyResult<OwnedDriverBus> {
    let (cfg, mem) = match capacities {
        "default" => hw::default_engine(lanes),
        "up5k" => hw::up5k_engine(lanes).py()?,
        other => {
            return Err(PyValueError::new_err(format!(
                "capacities `{other}` is not `default` or `up5k`"
            )))
        }
    };
    let opts = build_options(tbn_hdl::NET_CORE_TOP, trace, false, Vec::new(), cache_dir);
    let acc = match link {
        "wishbone" => hw::open_net_core(&cfg, &mem, &opts).py()?,
        "spi" => hw::open_net_spi_top_at(
            &cfg,
            &mem,
            &opts,
            tbn_sim::spi::SpiClocks::ratio(1.0, hw::SPI_PHASE_SEED),
        )
        .py()?,
        other => {
            return Err(PyValueError::new_err(format!(
                "link `{other}` is not `wishbone` or `spi`"
            )))
        }
    };
    Ok(OwnedDriverBus(acc))
}

/// The reference model's capacities for `lanes` (`tbn sim --engine reference
/// --capacities ...` uses the same).
fn reference_target(lanes: usize, capacities: &str) -> PyResult<Target> {
    Ok(match capacities {
        "default" => hw::reference_target(lanes as u32),
        "up5k" => {
            let (cfg, mem) = hw::up5k_engine(lanes).py()?;
            tbn_hdl::netcore::net_target_mem(&cfg, &mem)
        }
        "map" => hw::map_target(lanes as u32),
        other => {
            return Err(PyValueError::new_err(format!(
                "capacities `{other}` is not `default`, `up5k` or `map`"
            )))
        }
    })
}

fn driver_err(e: DriverError) -> PyErr {
    AcceleratorError::new_err(full_message(&e))
}

#[pymethods]
impl PyEngine {
    /// Builds (or takes from the cache) the engine for `lanes` (`link`:
    /// `wishbone`, the engine's bus port, or `spi`, its standalone SPI top
    /// at f_sck = f_clk) with `capacities` `default` (64 Kbit of weights in
    /// block RAM) or `up5k` (the UP5K configuration, L = 32: TILE_MAX
    /// 131,072, 1 Mbit of single-port tile memory), resets it and probes it.
    /// `backend="reference"`: the engine's reference model instead of the
    /// RTL (no cycles; `link`, `trace` and `cache_dir` unused), with
    /// `capacities` `default` (assumed ones, feature maps included: it runs
    /// CNNs), `up5k` or `map` (the register map's limits).
    #[new]
    #[pyo3(signature = (lanes=32, link="wishbone", capacities="default", trace=false, cache_dir=None, backend="rtl"))]
    fn new(
        lanes: usize,
        link: &str,
        capacities: &str,
        trace: bool,
        cache_dir: Option<PathBuf>,
        backend: &str,
    ) -> PyResult<PyEngine> {
        let bus: Box<dyn Bus> = match backend {
            "rtl" => Box::new(rtl_bus(lanes, link, capacities, trace, cache_dir)?),
            "reference" => Box::new(RefChip::new(reference_target(lanes, capacities)?)),
            other => {
                return Err(PyValueError::new_err(format!(
                    "backend `{other}` is not `rtl` or `reference`"
                )))
            }
        };
        let mut tbn = Tbn::probe(bus).map_err(driver_err)?;
        let target = tbn.engine_target().map_err(driver_err)?;
        Ok(PyEngine { tbn, target })
    }

    /// The capacities the engine reports (CFG_* registers).
    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.target;
        let d = PyDict::new(py);
        d.set_item("lanes", t.lanes)?;
        d.set_item("weight_words", t.weight_words)?;
        d.set_item("const_words", t.const_words)?;
        d.set_item("max_layers", t.max_layers)?;
        d.set_item("max_in", t.max_in)?;
        d.set_item("tile_max", t.tile_max)?;
        d.set_item("max_d", t.max_d)?;
        d.set_item("max_out", t.max_out)?;
        d.set_item("max_logits", t.max_logits)?;
        d.set_item("v_bits", t.v_bits)?;
        d.set_item("max_fmap", t.maps.max_fmap)?;
        d.set_item("max_channels", t.maps.max_channels)?;
        d.set_item("max_hw", t.maps.max_hw)?;
        d.set_item("max_kernel", t.maps.max_kernel)?;
        Ok(d)
    }

    /// Compiles `program` into a model image for this engine and loads it
    /// (the previous model is dropped). A program the engine cannot hold
    /// raises `ValueError` naming the capacity; returns the model's layers,
    /// inputs, outputs, image words and ideal cycles per inference.
    fn load_model<'py>(
        &mut self,
        py: Python<'py>,
        program: &PyProgram,
    ) -> PyResult<Bound<'py, PyDict>> {
        let image = tbn_host::compile::program_image(&program.inner, &self.target)
            .map_err(|e| PyValueError::new_err(full_message(&e)))?;
        let info = self.tbn.load_model(image.words()).map_err(driver_err)?;
        let d = PyDict::new(py);
        d.set_item("layers", info.layers)?;
        d.set_item("num_in", info.num_in)?;
        d.set_item("num_out", info.num_out)?;
        d.set_item("image_words", info.image_words)?;
        d.set_item("ideal_cycles", info.ideal_cycles)?;
        Ok(d)
    }

    /// One inference with one INFER: `(logits, class)` (class: the largest
    /// logit, ties to the lowest index). No model loaded, a wrong length or
    /// a value outside the input format raise `AcceleratorError`.
    fn infer(&mut self, x: Vec<i32>) -> PyResult<(Vec<i64>, u32)> {
        let n = self.tbn.model().map_or(0, |m| m.num_out as usize);
        let mut logits = vec![0i64; n];
        let r = self.tbn.infer(&x, &mut logits).map_err(driver_err)?;
        Ok((logits, r.class))
    }

    /// The cycles of each layer of the last inference (LAYER_CYCLES).
    fn layer_cycles(&mut self) -> PyResult<Vec<u32>> {
        let n = self.tbn.model().map_or(0, |m| m.layers as usize);
        let mut out = vec![0u32; n];
        self.tbn.layer_cycles(&mut out).map_err(driver_err)?;
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "Engine(lanes={}, weight_words={}, const_words={}, tile_max={})",
            self.target.lanes,
            self.target.weight_words,
            self.target.const_words,
            self.target.tile_max
        )
    }
}
