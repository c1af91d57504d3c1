//! `tbn cosim --json` (reports/cosim.json): the Cortex-M firmware (QEMU)
//! driving the engine RTL (Verilator) over SPI, per-inference figures.

use serde::{Deserialize, Serialize};

/// The clocks the co-simulation's times are stated at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosimClocks {
    /// MCU clock, MHz (one instruction per cycle assumed).
    pub mcu_mhz: f64,
    /// Accelerator clock, MHz.
    pub fmax_mhz: f64,
    /// Where the accelerator clock comes from.
    pub fmax_source: String,
    /// SPI clock, MHz (f_sck / f_clk as simulated, times fmax).
    pub sck_mhz: f64,
    /// Where the SPI clock comes from.
    pub sck_source: String,
    /// Whether the driver's MCU time between frames advanced the RTL's clock
    /// (false: frames back to back, as `tbn sim --engine rtl --bus spi`).
    pub mcu_time: bool,
    /// QEMU's `-icount shift` (2^shift ns of virtual time per instruction).
    pub icount_shift: u32,
}

/// The driver's MCU instructions between the frames of an inference (mean
/// per inference), by the frame that follows them, as the bridge saw them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CosimDriverGaps {
    /// Before the input writes (checking and packing the input, framing).
    pub input: f64,
    /// Before the CTRL write (INFER).
    pub ctrl: f64,
    /// Before the STATUS polls.
    pub status: f64,
    /// Before the CLASS read.
    pub class: f64,
    /// Before the logits reads.
    pub logits: f64,
    /// After the last frame (decoding the logits, returning).
    pub tail: f64,
    /// Before any other frame.
    pub other: f64,
}

/// One inference through the firmware's driver and the RTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosimInference {
    /// Image index.
    pub index: usize,
    /// CLASS read from the accelerator.
    pub class: u32,
    /// Golden class.
    pub golden_class: u32,
    /// Logits identical to golden.
    pub logits_match: bool,
    /// MCU instructions in the driver's `infer` (the transport's own cost apart).
    pub driver_instructions: u64,
    /// MCU instructions of the UART transport (framing, check bytes, UART
    /// registers; waits for the host excluded).
    pub transport_instructions: u64,
    /// SPI frames.
    pub frames: u64,
    /// Bytes on the SPI bus.
    pub spi_bytes: u64,
    /// SCK cycles clocked.
    pub sck_cycles: u64,
    /// Accelerator clock cycles from the first to the last frame of the
    /// inference, the driver's time between frames included.
    pub clk_cycles: u64,
    /// Of which while the MCU ran the driver between frames.
    pub mcu_gap_clk_cycles: u64,
    /// End to end: `clk_cycles / fmax` (the driver at the MCU clock, frames at
    /// SCK, the engine at fmax), us.
    pub end_to_end_us: f64,
    /// The MCU kernel's instructions on the same image.
    pub mcu_instructions: u64,
    /// The MCU kernel's logits identical to golden.
    pub mcu_logits_match: bool,
}

/// `tbn cosim` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosimReport {
    /// Everything matched golden and nothing failed.
    pub ok: bool,
    /// Model name.
    pub model: String,
    /// Lanes of the simulated engine.
    pub lanes: u32,
    /// Images classified.
    pub total: usize,
    /// Images whose accelerator logits are identical to golden.
    pub logits_match: usize,
    /// Images whose CLASS equals golden.
    pub class_match: usize,
    /// Images whose MCU-kernel logits are identical to golden.
    pub mcu_logits_match: usize,
    /// Mean end to end per inference through the accelerator, us.
    pub end_to_end_us: f64,
    /// Of the end to end, the mean time the MCU spent in the driver between
    /// the inference's frames (`mcu_gap_clk_cycles / fmax`), us.
    pub driver_us: f64,
    /// Mean MCU kernel alone per inference at the MCU clock, us.
    pub mcu_alone_us: f64,
    /// Means per inference.
    pub driver_instructions: f64,
    /// The driver's instructions between frames by the frame that follows
    /// (means per inference; their sum is the driver's time on the timeline).
    pub driver_gaps: CosimDriverGaps,
    /// Mean transport instructions per inference.
    pub transport_instructions: f64,
    /// Mean SCK cycles per inference.
    pub sck_cycles: f64,
    /// Mean accelerator clock cycles per inference.
    pub clk_cycles: f64,
    /// Mean SPI frames per inference.
    pub frames: f64,
    /// Mean MCU kernel instructions per inference.
    pub mcu_instructions: f64,
    /// MCU instructions in the driver's `load_model` (the transport apart).
    pub load_model_instructions: u64,
    /// MCU instructions of the transport during `load_model` (waits excluded).
    pub load_model_transport_instructions: u64,
    /// Words of the model image.
    pub image_words: u64,
    /// The clocks.
    pub clocks: CosimClocks,
    /// Per inference.
    pub inferences: Vec<CosimInference>,
    /// How the figures were obtained.
    pub basis: String,
    /// Wall-clock seconds of the QEMU + Verilator run.
    pub seconds: f64,
}
