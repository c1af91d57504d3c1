//! Whole-network inference on the engine (register map v2): load a model
//! image once ([`Tbn::load_model`]), then one INFER per input ([`Tbn::infer`]).
//!
//! ```text
//! let mut tbn = Tbn::probe(bus)?;
//! let model = tbn.load_model(image_words)?;   // checked here first, then by the chip
//! let inf = tbn.infer(&pixels, &mut logits)?; // inf.class; logits[..model.num_out]
//! ```
//!
//! Both check everything they can before touching the hardware, wait with a
//! bounded number of polls, and soft reset the core after a timeout or a
//! core error of a running inference.

use super::{buffer, check_values, invalid, DriverError, Status, Tbn, CHUNK};
use crate::bus::Bus;
use crate::bus::SPI_MAX_BURST_WORDS;
use crate::image::format::{check_image, Descriptor, Header, MapLimits, Target};
use crate::regmap as rm;

/// Status polls allowed for `LOAD_END`'s checks (at most
/// [`rm::LOAD_END_MAX_CYCLES`] cycles; every poll takes at least one).
const LOAD_END_POLLS: u32 = 64;

/// What the driver keeps of a loaded model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Layers.
    pub layers: u32,
    /// Network inputs.
    pub num_in: u32,
    /// Input bits.
    pub in_bits: u8,
    /// Two's complement input.
    pub in_signed: bool,
    /// Network outputs (logits).
    pub num_out: u32,
    /// Ideal cycles of one inference (docs/model-image.md section 7).
    pub ideal_cycles: u64,
    /// Words of the image.
    pub image_words: u32,
}

/// The result of one inference (the logits go to the caller's buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inference {
    /// Index of the largest logit, ties to the lowest (CLASS).
    pub class: u32,
}

impl<B: Bus> Tbn<B> {
    /// The engine's capacities (CFG_FEATURES and the engine CFG registers
    /// with the probed job-mode ones); [`DriverError::NoEngine`] when the
    /// core has no whole-network engine.
    pub fn engine_target(&mut self) -> Result<Target, DriverError> {
        let mut regs = [0u32; 6];
        self.bus.read_block(rm::CFG_FEATURES, &mut regs)?;
        let [features, weight_words, const_words, max_layers, max_out, max_logits] = regs;
        if features & rm::CFG_FEATURES_ENGINE == 0 {
            return Err(DriverError::NoEngine { features });
        }
        let v_bits = (features >> rm::CFG_FEATURES_V_BITS_SHIFT) & rm::CFG_FEATURES_V_BITS_MASK;
        let maps = if features & rm::CFG_FEATURES_CONV != 0 {
            let mut m = [0u32; 4];
            self.bus.read_block(rm::CFG_MAX_FMAP, &mut m)?;
            MapLimits {
                max_fmap: m[0],
                max_channels: m[1],
                max_hw: m[2],
                max_kernel: m[3],
            }
        } else {
            MapLimits::default()
        };
        Ok(Target {
            maps,
            lanes: self.cfg.lanes,
            weight_words,
            const_words,
            max_layers,
            max_in: self.cfg.max_in,
            tile_max: self.cfg.tile_max,
            max_d: self.cfg.max_rows,
            max_out,
            max_abits: self.cfg.max_abits,
            max_logits,
            v_bits,
        })
    }

    /// Loads a model image (its words): checks it against the engine's
    /// capacities exactly as the chip's `LOAD_END` does, then LOAD_BEGIN, the
    /// words in order, LOAD_END, and a bounded wait for the chip's verdict.
    pub fn load_model(&mut self, image: &[u32]) -> Result<ModelInfo, DriverError> {
        let target = self.engine_target()?;
        let h: Header = check_image(image, &target).map_err(DriverError::Image)?;
        let nl = h.num_layers as usize;
        let ideal = (0..nl)
            .map(|l| {
                let s = h.desc_at(l);
                u64::from(Descriptor::decode(&image[s..s + h.desc_words()]).ideal_cycles)
            })
            .sum();
        let info = ModelInfo {
            layers: h.num_layers,
            num_in: h.num_in,
            in_bits: (h.in_fmt & crate::image::format::FMT_BITS_MASK) as u8,
            in_signed: h.in_fmt & crate::image::format::FMT_SIGNED != 0,
            num_out: h.num_out,
            ideal_cycles: ideal,
            image_words: h.total_words,
        };
        self.ensure_idle()?;
        self.model = None;
        self.bus.write32(rm::CTRL, self.ctrl(rm::CTRL_LOAD_BEGIN))?;
        let mut i = 0usize;
        while i < image.len() {
            // Bursts as long as the window allows; the bus splits its frames.
            let n = (image.len() - i).min(1024);
            self.bus
                .write_block(rm::image_word_offset(i as u32), &image[i..i + n])?;
            i += n;
        }
        self.bus.write32(rm::CTRL, self.ctrl(rm::CTRL_LOAD_END))?;
        let mut last = Status(0);
        for _ in 0..LOAD_END_POLLS {
            last = self.status()?;
            if !last.busy() {
                break;
            }
        }
        if last.busy() {
            return Err(DriverError::Timeout {
                polls: LOAD_END_POLLS,
                status: last.0,
            });
        }
        if last.error() {
            let e = last.core_error();
            self.acknowledge()?;
            return Err(e);
        }
        if last.0 & rm::STATUS_MODEL_LOADED == 0 {
            return Err(DriverError::ModelNotLoaded { status: last.0 });
        }
        self.model = Some(info);
        Ok(info)
    }

    /// The model loaded by [`Tbn::load_model`], if any.
    pub fn model(&self) -> Option<ModelInfo> {
        self.model
    }

    /// Status polls allowed for one inference: twice the bound of
    /// docs/register-map.md plus 1024 (or the override of
    /// [`Tbn::set_poll_limit`]).
    pub fn infer_poll_budget(&self, m: &ModelInfo) -> u32 {
        self.poll_limit.unwrap_or_else(|| {
            let bound = m.ideal_cycles
                + u64::from(m.layers) * u64::from(rm::LAYER_OVERHEAD_MAX_CYCLES)
                + u64::from(rm::INFER_OVERHEAD_MAX_CYCLES);
            bound
                .saturating_mul(2)
                .saturating_add(1024)
                .min(u64::from(u32::MAX)) as u32
        })
    }

    /// One inference: writes `input` (NUM_IN values in the model's input
    /// format) as bytes to INPUT, starts it with one INFER, waits (bounded),
    /// reads CLASS and the first `logits.len()` logits (pass an empty slice
    /// for the class only; at most NUM_OUT).
    pub fn infer(&mut self, input: &[i32], logits: &mut [i64]) -> Result<Inference, DriverError> {
        let m = self.model.ok_or(DriverError::NoModel)?;
        if input.len() != m.num_in as usize {
            return Err(DriverError::InputLength {
                expected: m.num_in as usize,
                found: input.len(),
            });
        }
        if logits.len() > m.num_out as usize {
            invalid(
                "logits buffer longer than the model's outputs",
                logits.len() as u64,
            )?;
        }
        check_values(input, m.in_bits, m.in_signed)?;
        // Input bursts as long as one SPI frame (fewer frame headers).
        let words = rm::input_words(m.num_in);
        let mut buf = [0u32; SPI_MAX_BURST_WORDS];
        let mut w = 0u32;
        while w < words {
            let n = (words - w).min(SPI_MAX_BURST_WORDS as u32);
            rm::pack_input_words(&input[4 * w as usize..], &mut buf[..n as usize]);
            self.bus
                .write_block(rm::INPUT_BASE + 4 * w, &buf[..n as usize])?;
            w += n;
        }
        self.bus.write32(rm::CTRL, self.ctrl(rm::CTRL_INFER))?;
        let polls = self.infer_poll_budget(&m);
        if let Err(e) = self.wait(polls) {
            if matches!(
                e,
                DriverError::Timeout { .. } | DriverError::CoreError { .. }
            ) {
                let _ = self.soft_reset();
                let _ = self.acknowledge();
            }
            return Err(e);
        }
        let class = self.bus.read32(rm::CLASS)?;
        self.read_logits(logits)?;
        Ok(Inference { class })
    }

    /// Reads the first `out.len()` outputs of the last inference (64-bit each).
    pub fn read_logits(&mut self, out: &mut [i64]) -> Result<(), DriverError> {
        let mut buf = [0u32; 2 * CHUNK];
        for (c, part) in out.chunks_mut(CHUNK).enumerate() {
            let words = &mut buf[..2 * part.len()];
            self.bus
                .read_block(rm::logit_offset((c * CHUNK) as u32, false), words)?;
            for (v, w) in part.iter_mut().zip(words.chunks_exact(2)) {
                *v = ((u64::from(w[1]) << 32) | u64::from(w[0])) as i64;
            }
        }
        Ok(())
    }

    /// Reads the per-layer cycle counters of the last inference into `out`
    /// (at most the loaded model's layers).
    pub fn layer_cycles(&mut self, out: &mut [u32]) -> Result<(), DriverError> {
        let layers = self.model.map_or(0, |m| m.layers) as usize;
        buffer("layer_cycles (longer than the model)", out.len(), layers)?;
        if !out.is_empty() {
            self.bus.read_block(rm::layer_cycles_offset(0), out)?;
        }
        Ok(())
    }
}
