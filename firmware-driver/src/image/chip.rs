//! A register-level reference model of the whole-network engine's interface
//! (register map v2, docs/register-map.md and docs/model-image.md): loads,
//! INPUT packing and its range flag, INFER, CLASS, LOGITS, the per-layer
//! cycle counters (from the ideal [`super::exec::CycleModel`]), busy, soft
//! reset and every engine error code, computing with [`Engine`].
//!
//! It is a [`Bus`], so the driver runs against it unchanged (MMIO or, behind
//! an SPI bridge model, SPI). It has no single-layer job mode
//! (CFG_FEATURES.JOB is 0). Timing is not modelled beyond a configurable
//! number of STATUS reads that still see BUSY after a start.

use std::vec;
use std::vec::Vec;

use super::exec::{Engine, ImageError, Outcome};
use super::format::{check_image, LoadError, Target};
use crate::bus::{check_range, Bus, BusError, BusOp};
use crate::regmap::{self as rm, ErrorCode};

/// The engine's register interface, modelled.
#[derive(Debug)]
pub struct RefChip {
    target: Target,
    scratch: u32,
    irq_enable: bool,
    busy: bool,
    done: bool,
    error: bool,
    code: ErrorCode,
    cycles: u32,
    count: u32,
    model: Option<Engine>,
    loading: bool,
    load: Vec<u32>,
    load_out_of_order: bool,
    input: Vec<u8>,
    input_bad: bool,
    pending: Option<Outcome>,
    busy_left: u32,
    logits: Vec<i64>,
    class: u32,
    layer_cycles: Vec<u32>,
    /// STATUS reads that still see BUSY after an INFER (default 3).
    pub busy_reads: u32,
    /// A running inference never completes (timeout tests).
    pub stuck: bool,
}

impl RefChip {
    /// A chip with the capacities of `target`.
    pub fn new(target: Target) -> RefChip {
        RefChip {
            target,
            scratch: 0,
            irq_enable: false,
            busy: false,
            done: false,
            error: false,
            code: ErrorCode::None,
            cycles: 0,
            count: 0,
            model: None,
            loading: false,
            load: Vec::new(),
            load_out_of_order: false,
            input: vec![0; rm::MAP_MAX_INPUTS_LIMIT as usize],
            input_bad: false,
            pending: None,
            busy_left: 0,
            logits: Vec::new(),
            class: 0,
            layer_cycles: Vec::new(),
            busy_reads: 3,
            stuck: false,
        }
    }

    /// The interrupt line: `IRQ_ENABLE & (DONE | ERROR)`.
    pub fn irq(&self) -> bool {
        self.irq_enable && (self.done || self.error)
    }

    /// The loaded model, if any.
    pub fn model(&self) -> Option<&Engine> {
        self.model.as_ref()
    }

    fn flag(&mut self, code: ErrorCode) {
        if !self.error {
            self.code = code;
        }
        self.error = true;
    }

    fn status(&self) -> u32 {
        let mut s = (self.code as u32) << rm::STATUS_ERROR_CODE_SHIFT;
        for (on, bit) in [
            (self.busy, rm::STATUS_BUSY),
            (self.done, rm::STATUS_DONE),
            (self.error, rm::STATUS_ERROR),
            (self.model.is_some(), rm::STATUS_MODEL_LOADED),
            (self.loading, rm::STATUS_LOADING),
        ] {
            if on {
                s |= bit;
            }
        }
        s
    }

    fn features(&self) -> u32 {
        let conv = if self.target.maps.supports_conv() {
            rm::CFG_FEATURES_CONV
        } else {
            0
        };
        rm::CFG_FEATURES_ENGINE | conv | (self.target.v_bits << rm::CFG_FEATURES_V_BITS_SHIFT)
    }

    fn complete(&mut self) {
        if let (Some(out), Some(e)) = (self.pending.take(), &self.model) {
            let cm = e.cycle_model();
            self.layer_cycles = cm.per_layer.iter().map(|&c| c as u32).collect();
            self.cycles = cm.total() as u32;
            self.logits = out.logits;
            self.class = out.class as u32;
        }
        self.busy = false;
        self.done = true;
        self.count = self.count.wrapping_add(1);
    }

    fn soft_reset(&mut self) {
        let aborted = self.busy;
        self.busy = false;
        self.pending = None;
        self.done = false;
        self.error = false;
        self.code = ErrorCode::None;
        self.cycles = 0;
        self.count = 0;
        self.input_bad = false;
        if self.loading {
            self.loading = false;
            self.load.clear();
        }
        if aborted {
            self.flag(ErrorCode::Aborted);
        }
    }

    fn load_end(&mut self) {
        if !self.loading {
            self.flag(ErrorCode::LoadSequence);
            return;
        }
        self.loading = false;
        let words = core::mem::take(&mut self.load);
        let result = match check_image(&words, &self.target) {
            Err(e @ (LoadError::BadMagic(_) | LoadError::BadVersion(_))) => Err(e.code()),
            _ if self.load_out_of_order => Err(ErrorCode::LoadSequence),
            Err(e) => Err(e.code()),
            Ok(_) => Engine::load(&words, &self.target).map_err(|e| match e {
                ImageError::Load(l) => l.code(),
                // The chip does not check descriptors; the model refuses the image.
                ImageError::Descriptor { .. } | ImageError::RecordAlignment { .. } => {
                    ErrorCode::ImageFit
                }
            }),
        };
        match result {
            Ok(e) => self.model = Some(e),
            Err(c) => self.flag(c),
        }
    }

    fn infer(&mut self) {
        let Some(e) = &self.model else {
            self.flag(ErrorCode::NoModel);
            return;
        };
        if core::mem::take(&mut self.input_bad) {
            self.flag(ErrorCode::InputRange);
            return;
        }
        let h = e.header();
        let signed = h.in_fmt & super::format::FMT_SIGNED != 0;
        let x: Vec<i32> = self.input[..h.num_in as usize]
            .iter()
            .map(|&b| {
                if signed {
                    i32::from(b as i8)
                } else {
                    i32::from(b)
                }
            })
            .collect();
        match e.infer(&x) {
            Ok(out) => {
                self.pending = Some(out);
                self.busy = true;
                self.done = false;
                self.error = false;
                self.code = ErrorCode::None;
                self.busy_left = self.busy_reads;
                if self.busy_left == 0 && !self.stuck {
                    self.complete();
                }
            }
            // Out-of-range bytes were flagged as written; nothing else fails.
            Err(_) => self.flag(ErrorCode::InputRange),
        }
    }

    fn write_input(&mut self, k: usize, value: u32) {
        let Some(e) = &self.model else {
            self.flag(ErrorCode::NoModel);
            return;
        };
        let h = e.header();
        let bits = h.in_fmt & super::format::FMT_BITS_MASK;
        let signed = h.in_fmt & super::format::FMT_SIGNED != 0;
        let (lo, hi) = super::format::value_range(bits, signed);
        for (i, b) in value.to_le_bytes().into_iter().enumerate() {
            let idx = k + i;
            self.input[idx] = b;
            let v = if signed {
                i32::from(b as i8)
            } else {
                i32::from(b)
            };
            if idx < h.num_in as usize && (v < lo || v > hi) {
                self.input_bad = true;
            }
        }
    }

    fn write_ctrl(&mut self, v: u32) {
        self.irq_enable = v & rm::CTRL_IRQ_ENABLE != 0;
        if v & rm::CTRL_SOFT_RESET != 0 {
            self.soft_reset();
            return;
        }
        let starts = rm::CTRL_LOAD_BEGIN | rm::CTRL_LOAD_END | rm::CTRL_INFER;
        if v & starts != 0 && self.busy {
            self.flag(ErrorCode::StartWhileBusy);
            return;
        }
        if v & rm::CTRL_LOAD_BEGIN != 0 {
            self.model = None;
            self.input_bad = false;
            self.loading = true;
            self.load.clear();
            self.load_out_of_order = false;
        }
        if v & rm::CTRL_LOAD_END != 0 {
            self.load_end();
        }
        if v & rm::CTRL_INFER != 0 {
            self.infer();
        }
    }
}

fn window(addr: u32, base: u32, size: u32) -> Option<usize> {
    (addr >= base && addr < base + size).then(|| ((addr - base) / 4) as usize)
}

impl Bus for RefChip {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        check_range(BusOp::Read, addr, 1)?;
        let t = self.target;
        Ok(match addr {
            rm::ID_MAGIC => rm::MAGIC,
            rm::ID_VERSION => rm::VERSION,
            rm::CFG_LANES => t.lanes,
            rm::CFG_TILE_MAX => t.tile_max,
            rm::CFG_MAX_IN => t.max_in,
            rm::CFG_MAX_ROWS => t.max_d,
            rm::CFG_MAX_ABITS => t.max_abits,
            rm::SCRATCH => self.scratch,
            rm::CTRL => {
                if self.irq_enable {
                    rm::CTRL_IRQ_ENABLE
                } else {
                    0
                }
            }
            rm::STATUS => {
                let s = self.status();
                if self.busy && !self.stuck {
                    self.busy_left = self.busy_left.saturating_sub(1);
                    if self.busy_left == 0 {
                        self.complete();
                    }
                }
                s
            }
            rm::CYCLES => self.cycles,
            rm::JOB_COUNT => self.count,
            rm::CFG_FEATURES => self.features(),
            rm::CFG_WEIGHT_WORDS => t.weight_words,
            rm::CFG_CONST_WORDS => t.const_words,
            rm::CFG_MAX_LAYERS => t.max_layers,
            rm::CFG_MAX_OUT => t.max_out,
            rm::CFG_MAX_LOGITS => t.max_logits,
            rm::CFG_MAX_FMAP => t.maps.max_fmap,
            rm::CFG_MAX_CHANNELS => t.maps.max_channels,
            rm::CFG_MAX_HW => t.maps.max_hw,
            rm::CFG_MAX_KERNEL => t.maps.max_kernel,
            rm::LOAD_WORDS => self.load.len() as u32,
            rm::MODEL_LAYERS => self.model.as_ref().map_or(0, |e| e.header().num_layers),
            rm::CLASS => self.class,
            _ => {
                if let Some(l) = window(addr, rm::LAYER_CYCLES_BASE, rm::LAYER_CYCLES_SIZE) {
                    self.layer_cycles.get(l).copied().unwrap_or(0)
                } else if let Some(w) = window(addr, rm::LOGITS_BASE, rm::LOGITS_SIZE) {
                    let v = self.logits.get(w / 2).copied().unwrap_or(0) as u64;
                    if w % 2 == 0 {
                        v as u32
                    } else {
                        (v >> 32) as u32
                    }
                } else {
                    0
                }
            }
        })
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        check_range(BusOp::Write, addr, 1)?;
        match addr {
            rm::SCRATCH => self.scratch = value,
            rm::CTRL => self.write_ctrl(value),
            rm::STATUS => {
                if value & rm::STATUS_DONE != 0 {
                    self.done = false;
                }
                if value & rm::STATUS_ERROR != 0 {
                    self.error = false;
                    self.code = ErrorCode::None;
                }
            }
            _ => {
                if let Some(w) = window(addr, rm::INPUT_BASE, rm::INPUT_SIZE) {
                    if self.busy {
                        self.flag(ErrorCode::MemoryBusy);
                    } else {
                        self.write_input(4 * w, value);
                    }
                } else if let Some(i) = window(addr, rm::IMAGE_BASE, rm::IMAGE_SIZE) {
                    if self.busy {
                        self.flag(ErrorCode::MemoryBusy);
                    } else if self.loading && i == self.load.len() {
                        self.load.push(value);
                    } else {
                        self.load_out_of_order = true;
                    }
                }
            }
        }
        Ok(())
    }
}
