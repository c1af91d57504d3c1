//! `tbn mcu run --json` (also kept in firmware/gen/report.json): the
//! firmware in QEMU, and the firmware's own report line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Instructions per inference of one kernel, counted by QEMU (`-icount`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInstructions {
    /// Mean over the images.
    pub instr_per_inference: u64,
    /// Fastest image.
    #[serde(default)]
    pub min: u64,
    /// Slowest image.
    #[serde(default)]
    pub max: u64,
}

/// The JSON line the firmware prints over semihosting (firmware/src/main.rs).
/// The fields the host reads are typed; the rest (per-part timings, ...) is
/// kept as printed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FirmwareLine {
    /// Every on-target check passed.
    #[serde(default)]
    pub ok: bool,
    /// What went wrong, when the firmware stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The driver's error code with `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Images run.
    #[serde(default)]
    pub images: u64,
    /// Images whose integer logits equal golden.
    #[serde(default)]
    pub int_logits_match: u64,
    /// Images whose float prediction equals golden float.
    #[serde(default)]
    pub float_pred_match: u64,
    /// The optimized kernel.
    #[serde(default)]
    pub optimized: KernelInstructions,
    /// The paper-style baseline kernel.
    #[serde(default)]
    pub baseline: KernelInstructions,
    /// Stack high-water mark, bytes.
    #[serde(default)]
    pub stack_bytes: u64,
    /// The kernel's working buffers, bytes.
    #[serde(default)]
    pub kernel_buffers_bytes: u64,
    /// Every other field, as printed.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Flash and RAM use of the firmware ELF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashUse {
    /// `.text` and the vector table.
    pub code_bytes: u64,
    /// `.rodata` less the embedded program, images and expected outputs.
    pub rodata_bytes_excluding_embedded_data: u64,
    /// The compact program.
    pub model_bytes: u64,
    /// Embedded test images and expected outputs.
    pub test_data_bytes: u64,
    /// `.data` + `.bss`.
    pub ram_data_bss_bytes: u64,
}

/// The MCU run: the model on a Cortex-M4 in QEMU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McuReport {
    /// Every firmware check passed.
    pub ok: bool,
    /// Model name.
    pub model: String,
    /// Images run.
    pub images: u64,
    /// Images whose integer logits equal golden.
    pub int_logits_match: u64,
    /// Images whose float prediction equals golden float.
    pub float_pred_match: u64,
    /// Instructions per inference of the optimized kernel (QEMU -icount).
    pub optimized_instr_per_inference: u64,
    /// Instructions per inference of the paper-style baseline.
    pub baseline_instr_per_inference: u64,
    /// Baseline over optimized.
    pub speedup: f64,
    /// Bytes of the compact program in flash.
    pub program_bytes: u64,
    /// Bytes of the integer-only compact program.
    pub program_bytes_integer_only: u64,
    /// Flash and RAM use (None when the ELF sections could not be read).
    pub flash: Option<FlashUse>,
    /// The firmware's own report line.
    pub firmware: FirmwareLine,
}
