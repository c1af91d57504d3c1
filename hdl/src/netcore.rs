//! The whole-network engine (docs/model-image.md, register map v2): the
//! image loader, the resident model memories, three activation buffers, the
//! row sequencer and XNOR-popcount lanes of the job-mode core, the
//! requantization phase and a network sequencer, behind a plain host port
//! (pulses and levels; the register decode of IMAGE, INPUT, CTRL, STATUS,
//! LOGITS, CLASS and LAYER_CYCLES maps onto it one to one).
//!
//! Memories (all written by the loader's routing, read by the engine):
//!
//! - descriptor memory: 16 words per layer;
//! - tile memory ([`TileMem`], the job-mode core's two-bank memory): the
//!   tile section; layer `l`'s window is read at `TILE_BASE * 32 +` the
//!   sequencer's tile bit address (TILE_BASE is a multiple of
//!   `max(1, L / 32)` words, so the bit offset inside a lane word is kept);
//!   With [`NetMem::tile_single_port`] the banks are single-port (the
//!   UP5K's SPRAM);
//! - constants: the alpha codes (16 bits each) in a [`PairRam`] (even and
//!   odd banks: the pair of copies `c`, `c + 1` is read at `ALPHA_BASE + c`
//!   in one cycle, so no alignment is needed) and the record words 0, 1 and
//!   2 in three memories addressed by record (`ROWC_BASE / 4 + r`, or
//!   `ROWC_BASE / 4` when ROWC_STRIDE is 0);
//! - the accumulator pairs of the distinct rows of the current layer (64 bits);
//! - three activation buffers: IN (the host's input, packed on chip by the
//!   activation writer's packer path), A and B. Layer 0 reads IN, odd
//!   layers read A, even layers from 2 on read B; layer `l` writes A when `l`
//!   is even, B when odd; the last layer writes only the logits. The input
//!   therefore stays for the next INFER;
//! - logits (64 bits per output) and the per-layer cycle counters.
//!
//! Network sequencer, per INFER: flush the packer's partial group and wait
//! for its writes; per layer: read the 16 descriptor words (17 cycles),
//! start the row sequencer on the layer's `D` distinct rows (`m`, `q`,
//! `A_in` from the descriptor) and, while the lanes drain, read ROWS, P and
//! Q_MINUS_M again into the registers that held D, TILE_BASE and Q; wait for
//! its last pair write, start the requantization phase (`ROWS` rows from
//! the pairs, the walker's `P`, `q - m`) and wait until its last row has
//! left the writer; record the layer's cycles; after the last layer: CLASS
//! (argmax of the outputs over their low V_BITS, ties to the lowest index: a
//! strictly greater output replaces the best, rows come in increasing
//! order), DONE, JOB_COUNT + 1. Descriptor fields, counters and the argmax
//! index are only as wide as the capacities admit (a descriptor beyond the
//! header's maxima is not checked by the chip, its behaviour undefined).
//!
//! Format 2 (conv2d and max-pool layers; only with feature maps,
//! [`NetMem::with_maps`]): every layer reads a feature map of the
//! [`MapUnit`] (the input, then A and B in turn) and writes the other; a
//! conv or dense layer runs as a pipeline of positions (state 6: the gather
//! of a position's patch into one of two patch buffers, the activation
//! memories A and B; its distinct rows into one half of the pair memory;
//! its requantization, whose outputs the unit writes at `position x ROWS +
//! r`), a max-pool layer in the unit (state 7). The row sequencer's Q, D and
//! TILE_BASE then have registers of their own (`s_*`), and the shared
//! registers hold the requantization fields for the whole layer.
//!
//! Host-visible behaviour follows `tbn_driver::image::chip::RefChip` (error
//! codes, what clears what), with these documented limits of this RTL:
//! INPUT words must be written in increasing order from word 0 (word 0
//! restarts the packer), as the driver writes them; every byte of a written
//! INPUT word is range-checked (the driver pads with zeros); for 16 cycles
//! after a soft reset INPUT writes are refused with MEMORY_BUSY (rows still
//! in the requantization pipeline are being discarded); commands and IMAGE
//! and INPUT writes in the cycle after BUSY falls are refused as while BUSY
//! (the refusal is registered; a host that read BUSY = 0 from STATUS acts
//! later than that).

use crate::engine::{acc_bits_for, Engine};
use crate::loader::ImageLoader;
use crate::mapunit::MapUnit;
use crate::mem::{ActMem, TileMem};
use crate::ram::{PairRam, Ram};
use crate::reqphase::ReqPhase;
use crate::seq::Sequencer;
use crate::{Config, HdlError};
use rust_hdl::prelude::*;
use tbn_driver::image::format::{MapLimits, Target};

/// Most layers of a model image in this configuration.
pub const NET_MAX_LAYERS: u32 = 16;
/// Constants memory words.
pub const NET_CONST_WORDS: u32 = 1024;
/// Width of the signed requantization value `v` (CFG_FEATURES.V_BITS).
pub const NET_V_BITS: u32 = 64;

/// SPRAM bits of the iCE40 UP5K (four SB_SPRAM256KA of 16K x 16).
pub const UP5K_SPRAM_BITS: usize = 4 * 16384 * 16;

/// The memory configuration of a whole-network engine: the capacities
/// that are not in [`Config`] and the tile memory's style. [`net_target`]
/// and [`net_target_mem`] report them (CFG_* registers, checked at model
/// load: IMAGE_FIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetMem {
    /// Weight (tile section) memory in bits, at least `tile_max`; the
    /// memory holds `weight_bits + L` bits rounded up to whole words.
    pub weight_bits: usize,
    /// Constants memory words (a power of two, at least 4).
    pub const_words: u32,
    /// Most layers (descriptor and layer-cycle memories).
    pub max_layers: u32,
    /// Most network outputs (LOGITS memory words).
    pub max_logits: u32,
    /// Width of the signed requantization value `v` (CFG_FEATURES.V_BITS, 40 to 64).
    pub v_bits: u32,
    /// Tile memory in single-port banks ([`TileMem::single_port`]: the
    /// UP5K's SPRAM with `synth_ice40 -spram`); else simple dual-port block RAM.
    pub tile_single_port: bool,
    /// Values of one feature-map region (CFG_MAX_FMAP; a power of two up to
    /// 32,768), or 0: no feature maps (no conv or max-pool layers, format 1
    /// images only).
    pub fmap_values: u32,
}

impl NetMem {
    /// The default memories for `cfg` and a weight memory of `weight_bits`
    /// bits: [`NET_CONST_WORDS`] constants, [`NET_MAX_LAYERS`] layers,
    /// `min(MAX_IN, 512)` logits, V = [`NET_V_BITS`], block RAM.
    pub fn new(cfg: &Config, weight_bits: usize) -> Self {
        NetMem {
            weight_bits,
            const_words: NET_CONST_WORDS,
            max_layers: NET_MAX_LAYERS,
            max_logits: cfg.max_in.min(512) as u32,
            v_bits: NET_V_BITS,
            tile_single_port: false,
            fmap_values: 0,
        }
    }

    /// The same memories with feature maps of `values` values per region
    /// (CFG_MAX_FMAP): the engine runs conv and max-pool layers (model image
    /// format 2; [`crate::mapunit::MapUnit`]).
    pub fn with_maps(self, values: u32) -> Self {
        NetMem {
            fmap_values: values,
            ..self
        }
    }

    /// Feature-map region of [`NetMem::conv_engine`] (CFG_MAX_FMAP): the
    /// trained CNN's largest map has 12,544 values.
    pub const CONV_ENGINE_MAPS: u32 = 16_384;

    /// The memories of the conv engine (with [`Config::conv_engine`]): the
    /// defaults with a weight memory of TILE_MAX bits and feature maps of
    /// [`NetMem::CONV_ENGINE_MAPS`] values.
    pub fn conv_engine(cfg: &Config) -> Self {
        NetMem::new(cfg, cfg.tile_max).with_maps(Self::CONV_ENGINE_MAPS)
    }

    /// The iCE40 UP5K configuration (with [`Config::up5k`], docs/hdl.md):
    /// the tile section in the four SPRAMs (two banks of 16,384 32-bit
    /// words: `weight_bits = 2^20 - L`, CFG_WEIGHT_WORDS 32,768), 1,024
    /// constant words (the trained MLP's per-row records need 564), 16
    /// layers, 256 logits, V = 52 (the reference MLP needs 49, the trained
    /// one 46). Block RAM: 27 SB_RAM40_4K of 30 (docs/hdl.md).
    pub fn up5k(cfg: &Config) -> Self {
        NetMem {
            weight_bits: UP5K_SPRAM_BITS - cfg.lanes,
            const_words: 1024,
            max_layers: 16,
            max_logits: 256,
            v_bits: 52,
            tile_single_port: true,
            fmap_values: 0,
        }
    }

    /// Check the values against `cfg`; the error names the offending one.
    pub fn validate(&self, cfg: &Config) -> Result<(), HdlError> {
        let e = |s: String| Err(HdlError::Config(s));
        if self.weight_bits < cfg.tile_max || self.weight_bits + cfg.lanes > 1 << 21 {
            return e(format!(
                "weight_bits = {} (must be at least tile_max = {} and at most 2^21 - L)",
                self.weight_bits, cfg.tile_max
            ));
        }
        if !self.const_words.is_power_of_two() || !(4..=65536).contains(&self.const_words) {
            return e(format!(
                "const_words = {} (must be a power of two between 4 and 65536)",
                self.const_words
            ));
        }
        if !(1..=4096).contains(&self.max_layers) {
            return e(format!(
                "max_layers = {} (must be between 1 and 4096)",
                self.max_layers
            ));
        }
        if !(1..=65536).contains(&self.max_logits) {
            return e(format!(
                "max_logits = {} (must be between 1 and 65536)",
                self.max_logits
            ));
        }
        if self.fmap_values != 0
            && !(self.fmap_values.is_power_of_two() && (2..=32768).contains(&self.fmap_values))
        {
            return e(format!(
                "fmap_values = {} (must be 0 or a power of two between 2 and 32768)",
                self.fmap_values
            ));
        }
        if !(40..=64).contains(&self.v_bits) {
            return e(format!(
                "v_bits = {} (must be between 40 and 64)",
                self.v_bits
            ));
        }
        Ok(())
    }
}

/// Bits of `x` (0 for 0).
fn bits_for(x: u64) -> u64 {
    u64::from(64 - x.leading_zeros())
}

/// The low `n` bits set (`n` at most 64).
fn ones(n: u64) -> u64 {
    u64::MAX.checked_shr(64 - n.min(64) as u32).unwrap_or(0)
}

/// The capacities (CFG_* registers) of a whole-network engine built for
/// `cfg` with a weight (tile section) memory of `weight_bits` bits (at least
/// `cfg.tile_max`) and the default memories ([`NetMem::new`]).
pub fn net_target(cfg: &Config, weight_bits: usize) -> Target {
    net_target_mem(cfg, &NetMem::new(cfg, weight_bits))
}

/// The capacities (CFG_* registers) of a whole-network engine built for
/// `cfg` with the memories `mem`.
pub fn net_target_mem(cfg: &Config, mem: &NetMem) -> Target {
    let w = cfg.word_bits();
    let tile_depth = (mem.weight_bits.max(cfg.tile_max) + cfg.lanes).div_ceil(w);
    Target {
        lanes: cfg.lanes as u32,
        weight_words: (tile_depth * w / 32) as u32,
        const_words: mem.const_words,
        max_layers: mem.max_layers,
        max_in: cfg.max_in as u32,
        tile_max: cfg.tile_max as u32,
        max_d: cfg.max_rows as u32,
        max_out: cfg.max_in as u32,
        max_abits: 8,
        max_logits: mem.max_logits,
        v_bits: mem.v_bits,
        // the address walker's widths: 8-bit channels and sides, 4-bit
        // kernel sides, stride and padding
        maps: if mem.fmap_values > 0 {
            MapLimits {
                max_fmap: mem.fmap_values,
                max_channels: 255,
                max_hw: 255,
                max_kernel: 15,
            }
        } else {
            MapLimits::NONE
        },
    }
}

// Network sequencer states (literals in the generated logic): 0 idle,
// 1 flush (the packer's partial group), 2 descriptor read, 3 distinct rows
// (row sequencer and lanes), 4 requantization phase, 5 end of a layer;
// format 2: 6 gather (a conv position's patch or a dense layer's inputs
// from a feature map into the patch buffer, while the row sequencer's
// descriptor fields are read again), 7 max-pool.

/// The whole-network engine.
#[derive(LogicBlock)]
pub struct NetCore<const L: usize, const W: usize, const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// CTRL.LOAD_BEGIN.
    pub h_load_begin: Signal<In, Bit>,
    /// CTRL.LOAD_END.
    pub h_load_end: Signal<In, Bit>,
    /// CTRL.INFER.
    pub h_infer: Signal<In, Bit>,
    /// CTRL.SOFT_RESET.
    pub h_soft_reset: Signal<In, Bit>,
    /// STATUS write 1 to DONE.
    pub h_clr_done: Signal<In, Bit>,
    /// STATUS write 1 to ERROR.
    pub h_clr_err: Signal<In, Bit>,
    /// IMAGE window write.
    pub h_img_we: Signal<In, Bit>,
    /// Its word index equals LOAD_WORDS (`h_load_words`, compared in the
    /// write's access cycle).
    pub h_img_in_order: Signal<In, Bit>,
    /// INPUT window write.
    pub h_in_we: Signal<In, Bit>,
    /// It is INPUT word 0 (which restarts the packer).
    pub h_in_first: Signal<In, Bit>,
    /// Write data (IMAGE and INPUT). It holds its value in the cycle after
    /// a write (as `NetTop`'s write request register, or the SPI bridge's
    /// data word behind `NetTop::for_held_requests`, does): the loader and
    /// the packer read it then. (The word indices are read in the write's
    /// cycle only.)
    pub h_wdata: Signal<In, Bits<32>>,
    /// LOGITS read: output index.
    pub h_lg_addr: Signal<In, Bits<16>>,
    /// LAYER_CYCLES read: layer.
    pub h_lc_addr: Signal<In, Bits<16>>,
    /// STATUS.BUSY.
    pub h_busy: Signal<Out, Bit>,
    /// STATUS.DONE.
    pub h_done: Signal<Out, Bit>,
    /// STATUS.ERROR.
    pub h_err: Signal<Out, Bit>,
    /// STATUS.ERROR_CODE.
    pub h_code: Signal<Out, Bits<4>>,
    /// STATUS.MODEL_LOADED.
    pub h_loaded: Signal<Out, Bit>,
    /// STATUS.LOADING.
    pub h_loading: Signal<Out, Bit>,
    /// LOAD_WORDS.
    pub h_load_words: Signal<Out, Bits<18>>,
    /// MODEL_LAYERS.
    pub h_layers: Signal<Out, Bits<8>>,
    /// CLASS.
    pub h_class: Signal<Out, Bits<16>>,
    /// CYCLES.
    pub h_cycles: Signal<Out, Bits<32>>,
    /// JOB_COUNT (inferences).
    pub h_count: Signal<Out, Bits<32>>,
    /// Output `h_lg_addr` of the last inference (one cycle later).
    pub h_lg_data: Signal<Out, Bits<64>>,
    /// Cycles of layer `h_lc_addr` (one cycle later).
    pub h_lc_data: Signal<Out, Bits<32>>,
    // blocks
    loader: ImageLoader,
    seq: Sequencer<N>,
    /// The lanes (public for observation in tests).
    pub engine: Engine<L, W>,
    tile: TileMem<W>,
    act_in: ActMem<W>,
    act_a: ActMem<W>,
    act_b: ActMem<W>,
    rq: ReqPhase<N>,
    desc: Ram<32>,
    alpha: PairRam<16>,
    rec_m: Ram<16>,
    rec_b0: Ram<32>,
    rec_b1: Ram<32>,
    pairs: Ram<64>,
    logits: Ram<64>,
    lcyc: Ram<32>,
    maps: MapUnit,
    // host-side state
    running: DFF<Bit>,
    done_q: DFF<Bit>,
    err_q: DFF<Bit>,
    code_q: DFF<Bits<4>>,
    input_bad: DFF<Bit>,
    cycles: DFF<Bits<32>>,
    count: DFF<Bits<32>>,
    class_q: DFF<Bits<16>>,
    quiet: DFF<Bits<5>>,
    /// INPUT writes are refused (BUSY in the previous cycle, which a host
    /// command can only raise two cycles after it; `quiet` non-zero now):
    /// the packer's enable and its clear start at flip-flops.
    in_busy: DFF<Bit>,
    /// BUSY in the previous cycle: host commands and IMAGE writes are
    /// refused from a flip-flop (a command raises BUSY in the next cycle,
    /// and the next command acts two cycles after it at the earliest; a
    /// host that read BUSY = 0 from STATUS acts later than the cycle after
    /// BUSY falls).
    busy_q: DFF<Bit>,
    /// The requantization phase's BUSY, registered: the sequencer's waits
    /// read a flip-flop (synthesis otherwise builds BUSY from the writer's
    /// burst-control terms, deep in the state's path); each wait starts
    /// after 3 counted cycles, which cover the extra cycle.
    rq_busy: DFF<Bit>,
    /// This cycle's error code (`e_code`) registered: ERROR and ERROR_CODE
    /// load from flip-flops, a cycle later (a host's STATUS read of a
    /// refused command samples later still; BUSY covers the loader's error
    /// until it is loaded: `ld_err_q`).
    e_code_q: DFF<Bits<4>>,
    ld_err_q: DFF<Bit>,
    /// INFER accepted in the previous cycle: the inference starts from this
    /// flip-flop (BUSY covers it; it clears ERROR, and no error can load
    /// in that cycle: `e_code` was 0 when INFER was accepted).
    infer_q: DFF<Bit>,
    /// The shared descriptor registers' write enables, decoded from the
    /// read (`dk`, `state`) and registered: they act when the word is
    /// captured (the state is the same then).
    share_q: DFF<Bits<3>>,
    /// SOFT_RESET, registered: it acts in the cycle after its write (it
    /// fans out to every block); the cycle after it no command sees BUSY.
    srq: DFF<Bit>,
    out_bits_q: DFF<Bits<4>>,
    /// `quiet` is non-zero.
    quiet_nz: DFF<Bit>,
    pk_we: DFF<Bit>,
    pk_first: DFF<Bit>,
    // network sequencer
    state: DFF<Bits<3>>,
    wcnt: DFF<Bits<2>>,
    layer: DFF<Bits<16>>,
    dk: DFF<Bits<5>>,
    rk: DFF<Bits<5>>,
    rv: DFF<Bit>,
    lcount: DFF<Bits<32>>,
    go_seq: DFF<Bit>,
    go_rq: DFF<Bit>,
    rsel: DFF<Bits<2>>,
    wsel: DFF<Bits<2>>,
    // descriptor of the current layer
    d_m: DFF<Bits<24>>,
    // (three registers serve both phases of a layer: Q, D and TILE_BASE in
    // W-bit words for the row sequencer and the tile memory while the
    // distinct rows are issued; Q_MINUS_M, ROWS and P, re-read while the
    // lanes drain, for the requantization phase, whose walker loads them at
    // its start. They are the loader's registers of TILE_WORDS,
    // CONST_WORDS and TOTAL_WORDS, which only a load uses: `share_*`.)
    d_in_bits: DFF<Bits<4>>,
    d_in_signed: DFF<Bit>,
    d_out_bits: DFF<Bits<4>>,
    d_kind: DFF<Bits<2>>,
    d_last: DFF<Bit>,
    d_shift: DFF<Bits<6>>,
    d_tile_base: DFF<Bits<22>>,
    d_tile_w1: DFF<Bits<16>>,
    d_alpha_base: DFF<Bits<16>>,
    d_rowc4: DFF<Bits<16>>,
    d_uniform: DFF<Bit>,
    // format 2: the layer's operation and map geometry (descriptor words
    // 16-21), the feature-map regions read and written, the pulses that
    // start a layer's walk, a gather and the next conv position
    d_conv: DFF<Bit>,
    d_pool: DFF<Bit>,
    d_hwc: DFF<Bit>,
    d_in_c: DFF<Bits<8>>,
    d_in_h: DFF<Bits<8>>,
    d_in_w: DFF<Bits<8>>,
    d_kh: DFF<Bits<4>>,
    d_kw: DFF<Bits<4>>,
    d_stride: DFF<Bits<4>>,
    d_pad: DFF<Bits<4>>,
    d_out_h: DFF<Bits<8>>,
    d_out_w: DFF<Bits<8>>,
    /// An `A = 1` conv with padding runs as `A = 2` signed (a padded lane 0).
    d_x2: DFF<Bit>,
    d_pool_signed: DFF<Bit>,
    msrc: DFF<Bits<2>>,
    mdst: DFF<Bits<2>>,
    go_l: DFF<Bit>,
    go_g: DFF<Bit>,
    go_next: DFF<Bit>,
    // format 2: the row sequencer's Q, D and TILE_BASE (W-bit words) in
    // registers of their own (the shared ones hold the requantization
    // phase's Q_MINUS_M, P and ROWS for the whole layer), so that a
    // position's distinct rows run while the previous position is
    // requantized and the next one gathered
    s_q: DFF<Bits<24>>,
    s_d: DFF<Bits<24>>,
    s_tb: DFF<Bits<24>>,
    // the position pipeline (state 6): gather running / patch ready (in
    // buffer `p_gbuf`: 1 A, 2 B), distinct rows running / done and waiting
    // for the requantization phase, requantization running; the first
    // position of the layer; wait counters; the pair memory's half written
    // by the distinct rows (`pw`) and read by the phase (`pr`)
    p_grun: DFF<Bit>,
    p_gready: DFF<Bit>,
    p_gbuf: DFF<Bits<2>>,
    p_srun: DFF<Bit>,
    p_spend: DFF<Bit>,
    p_rrun: DFF<Bit>,
    p_first: DFF<Bit>,
    p_gw: DFF<Bits<2>>,
    p_sw: DFF<Bits<2>>,
    p_rw: DFF<Bits<2>>,
    pw: DFF<Bit>,
    pr: DFF<Bit>,
    rows_busy_q: DFF<Bit>,
    wr_busy_q: DFF<Bit>,
    // argmax
    /// the best key so far, complemented (`out_key > best` from carries of
    /// `out_key + best_nkey`: no inverter before the carry chains)
    best_nkey: DFF<Bits<64>>,
    best_i: DFF<Bits<16>>,
    /// The argmax takes three cycles per output, one output per cycle
    /// (in one cycle the unit's output multiplexer, a V-bit comparison and
    /// the enable of the best registers missed 48 MHz on the UP5K).
    /// Stage 1: an output of the last layer registered (taken, row, value);
    /// it is written to the logits memory and its key compared, in halves,
    /// with the best key and with the previous output's key (`prev_nkey`,
    /// complemented). Stage 2: with the comparisons' carries and equalities
    /// registered (`c_*`), the output wins if it beats the best key as it
    /// is after the previous output: that output's key if it won in the
    /// previous cycle (`took`), else the best register.
    lg_take: DFF<Bit>,
    lg_row: DFF<Bits<16>>,
    lg_val: DFF<Bits<64>>,
    prev_nkey: DFF<Bits<64>>,
    c_take: DFF<Bit>,
    c_first: DFF<Bit>,
    c_row: DFF<Bits<16>>,
    /// (greater than the best: high halves greater, high halves equal, low
    /// halves greater; bits 3..6 the same against the previous output)
    c_cmp: DFF<Bits<10>>,
    took: DFF<Bit>,
    // locals
    busy_any: Signal<Local, Bit>,
    in_ok: Signal<Local, Bit>,
    tile_addr: Signal<Local, Bits<22>>,
    tile_w_rd: Signal<Local, Bits<16>>,
    alpha_a_addr: Signal<Local, Bits<16>>,
    mult_addr: Signal<Local, Bits<16>>,
    bias_addr: Signal<Local, Bits<16>>,
    out_val: Signal<Local, Bits<64>>,
    out_key: Signal<Local, Bits<64>>,
    key_0: Signal<Local, Bits<23>>,
    key_1: Signal<Local, Bits<23>>,
    key_2: Signal<Local, Bits<23>>,
    prev_0: Signal<Local, Bits<23>>,
    prev_1: Signal<Local, Bits<23>>,
    prev_2: Signal<Local, Bits<23>>,
    key_gt: Signal<Local, Bit>,
    f_m: Signal<Local, Bits<24>>,
    f_q_qmm: Signal<Local, Bits<N>>,
    share_we: Signal<Local, Bits<3>>,
    share_data: Signal<Local, Bits<24>>,
    f_d_rows: Signal<Local, Bits<16>>,
    f_tw_p: Signal<Local, Bits<N>>,
    infer_ok: Signal<Local, Bit>,
    e_code: Signal<Local, Bits<4>>,
    cyc_clr: Signal<Local, Bit>,
    lc_clr: Signal<Local, Bit>,
    y64: Signal<Local, Bits<64>>,
    act_we_ok: Signal<Local, Bit>,
    fmt2: Signal<Local, Bit>,
    desc_end: Signal<Local, Bit>,
    first_read: Signal<Local, Bit>,
    rq_read: Signal<Local, Bit>,
    s_job_q: Signal<Local, Bits<N>>,
    s_job_d: Signal<Local, Bits<16>>,
    s_job_tb: Signal<Local, Bits<N>>,
    // the pair memory's upper half (format 2: two halves)
    c_pair_hi: Constant<Bits<16>>,
    // the argmax key: the low V_BITS of an output, sign bit flipped
    c_vmask: Constant<Bits<64>>,
    c_vsign: Constant<Bits<64>>,
    // the key compared in two halves side by side (bits 0..32 and 32..V:
    // two short carry chains and an equality instead of one V-bit chain,
    // which missed 48 MHz on the UP5K): their masks and carry-out bits
    // the argmax comparison's three 22-bit parts of V_BITS: masks, the
    // carry-out bit of each part's sum
    c_m0: Constant<Bits<23>>,
    c_m1: Constant<Bits<23>>,
    c_m2: Constant<Bits<23>>,
    c_t0: Constant<Bits<23>>,
    c_t1: Constant<Bits<23>>,
    c_t2: Constant<Bits<23>>,
    // counters only as wide as the values they reach (see `with_mem`)
    c_cyc_mask: Constant<Bits<32>>,
    c_lc_mask: Constant<Bits<32>>,
    c_layer_mask: Constant<Bits<16>>,
    c_m_mask: Constant<Bits<24>>,
    c_q_mask: Constant<Bits<N>>,
    c_rows_mask: Constant<Bits<16>>,
    c_tw_p_mask: Constant<Bits<N>>,
    c_class_mask: Constant<Bits<16>>,
    c_sext8: Constant<Bits<64>>,
    c_all_sel: Constant<Bits<4>>,
    c_tile_route: Constant<Bits<2>>,
    c_wlog: Constant<Bits<2>>,
}

impl<const L: usize, const W: usize, const N: usize> NetCore<L, W, N> {
    /// An engine with the capacities of `cfg` (validated by [`Config::validate`])
    /// and a weight memory of `weight_bits` bits ([`net_target`]).
    pub fn new(cfg: &Config, weight_bits: usize) -> Self {
        Self::with_mem(cfg, &NetMem::new(cfg, weight_bits))
    }

    /// An engine with the capacities of `cfg` (validated by [`Config::validate`])
    /// and the memories `mem` (validated by [`NetMem::validate`]; [`net_target_mem`]).
    pub fn with_mem(cfg: &Config, mem: &NetMem) -> Self {
        let t = net_target_mem(cfg, mem);
        // bits of V_BITS in the argmax comparison's part k (22 each)
        let part = |k: u32| u64::from(t.v_bits.saturating_sub(22 * k).min(22));
        let weight_bits = mem.weight_bits.max(cfg.tile_max);
        let dot_bits = acc_bits_for(cfg.max_in) as usize;
        // The counters' widths: LAYER_CYCLES and CYCLES count at most the
        // register map's bound for the largest layer the capacities admit
        // (`D * ceil(m / L) * A_in + rows + LAYER_OVERHEAD_MAX_CYCLES` per
        // layer, `INFER_OVERHEAD_MAX_CYCLES` more per inference), twice
        // that for margin (at most 32 bits); the layer counter and the
        // argmax index reach CFG_MAX_LAYERS - 1 and CFG_MAX_LOGITS - 1.
        // (Descriptors beyond the header's maxima are not checked by the
        // chip; its behaviour for them is undefined.)
        let layer_max = u64::from(t.max_d)
            * u64::from(t.max_in).div_ceil(u64::from(t.lanes))
            * u64::from(t.max_abits)
            + u64::from(t.max_out)
            + u64::from(tbn_driver::regmap::LAYER_OVERHEAD_MAX_CYCLES);
        let infer_max = u64::from(t.max_layers) * layer_max
            + u64::from(tbn_driver::regmap::INFER_OVERHEAD_MAX_CYCLES);
        // The descriptor fields are at most the header's maxima, which the
        // load checks against the capacities: m <= CFG_MAX_IN, P and
        // Q_MINUS_M below q <= CFG_TILE_MAX, D <= CFG_MAX_ROWS, ROWS <=
        // CFG_MAX_OUT, TILE_BASE below CFG_WEIGHT_WORDS.
        let tw_p_max = u64::from(t.tile_max).max(u64::from(t.weight_words) * 32 / W as u64);
        // (a conv layer repeats its rows at every position: with feature
        // maps the counters are 32 bits)
        let counter_bits = |max: u64| {
            if mem.fmap_values > 0 {
                32
            } else {
                bits_for(2 * max).min(32)
            }
        };
        NetCore {
            clk: Default::default(),
            h_load_begin: Default::default(),
            h_load_end: Default::default(),
            h_infer: Default::default(),
            h_soft_reset: Default::default(),
            h_clr_done: Default::default(),
            h_clr_err: Default::default(),
            h_img_we: Default::default(),
            h_img_in_order: Default::default(),
            h_in_we: Default::default(),
            h_in_first: Default::default(),
            h_wdata: Default::default(),
            h_lg_addr: Default::default(),
            h_lc_addr: Default::default(),
            h_busy: Default::default(),
            h_done: Default::default(),
            h_err: Default::default(),
            h_code: Default::default(),
            h_loaded: Default::default(),
            h_loading: Default::default(),
            h_load_words: Default::default(),
            h_layers: Default::default(),
            h_class: Default::default(),
            h_cycles: Default::default(),
            h_count: Default::default(),
            h_lg_data: Default::default(),
            h_lc_data: Default::default(),
            loader: ImageLoader::new(&t),
            // (the descriptor registers hold from the descriptor read until
            // the next layer's, long after the sequencer is done)
            seq: Sequencer::with_stable_job(L, cfg.tile_max, cfg.max_in, cfg.max_rows),
            engine: Engine::for_max_in(cfg.max_in),
            tile: if mem.tile_single_port {
                TileMem::single_port(weight_bits, L)
            } else {
                TileMem::new(weight_bits, L)
            },
            act_in: ActMem::new(cfg.max_in),
            act_a: ActMem::new(cfg.max_in),
            act_b: ActMem::new(cfg.max_in),
            rq: ReqPhase::new(dot_bits, t.v_bits as usize),
            desc: Ram::new(if mem.fmap_values > 0 { 32 } else { 16 } * t.max_layers as usize),
            alpha: PairRam::new(t.const_words as usize),
            rec_m: Ram::new(t.const_words as usize / 4),
            rec_b0: Ram::new(t.const_words as usize / 4),
            rec_b1: Ram::new(t.const_words as usize / 4),
            pairs: Ram::new(
                if mem.fmap_values > 0 { 2 } else { 1 } * cfg.max_rows.next_power_of_two(),
            ),
            logits: Ram::new(t.max_logits as usize),
            lcyc: Ram::new(t.max_layers as usize),
            maps: MapUnit::new((mem.fmap_values as usize).max(2)),
            running: Default::default(),
            done_q: Default::default(),
            err_q: Default::default(),
            code_q: Default::default(),
            input_bad: Default::default(),
            cycles: Default::default(),
            count: Default::default(),
            class_q: Default::default(),
            quiet: Default::default(),
            in_busy: Default::default(),
            busy_q: Default::default(),
            rq_busy: Default::default(),
            e_code_q: Default::default(),
            ld_err_q: Default::default(),
            infer_q: Default::default(),
            share_q: Default::default(),
            srq: Default::default(),
            out_bits_q: Default::default(),
            quiet_nz: Default::default(),
            pk_we: Default::default(),
            pk_first: Default::default(),
            state: Default::default(),
            wcnt: Default::default(),
            layer: Default::default(),
            dk: Default::default(),
            rk: Default::default(),
            rv: Default::default(),
            lcount: Default::default(),
            go_seq: Default::default(),
            go_rq: Default::default(),
            rsel: Default::default(),
            wsel: Default::default(),
            d_m: Default::default(),
            d_in_bits: Default::default(),
            d_in_signed: Default::default(),
            d_out_bits: Default::default(),
            d_kind: Default::default(),
            d_last: Default::default(),
            d_shift: Default::default(),
            d_tile_base: Default::default(),
            d_tile_w1: Default::default(),
            d_alpha_base: Default::default(),
            d_rowc4: Default::default(),
            d_uniform: Default::default(),
            d_conv: Default::default(),
            d_pool: Default::default(),
            d_hwc: Default::default(),
            d_in_c: Default::default(),
            d_in_h: Default::default(),
            d_in_w: Default::default(),
            d_kh: Default::default(),
            d_kw: Default::default(),
            d_stride: Default::default(),
            d_pad: Default::default(),
            d_out_h: Default::default(),
            d_out_w: Default::default(),
            d_x2: Default::default(),
            d_pool_signed: Default::default(),
            msrc: Default::default(),
            mdst: Default::default(),
            go_l: Default::default(),
            go_g: Default::default(),
            go_next: Default::default(),
            s_q: Default::default(),
            s_d: Default::default(),
            s_tb: Default::default(),
            p_grun: Default::default(),
            p_gready: Default::default(),
            p_gbuf: Default::default(),
            p_srun: Default::default(),
            p_spend: Default::default(),
            p_rrun: Default::default(),
            p_first: Default::default(),
            p_gw: Default::default(),
            p_sw: Default::default(),
            p_rw: Default::default(),
            pw: Default::default(),
            pr: Default::default(),
            rows_busy_q: Default::default(),
            wr_busy_q: Default::default(),
            best_nkey: Default::default(),
            lg_take: Default::default(),
            lg_row: Default::default(),
            lg_val: Default::default(),
            prev_nkey: Default::default(),
            c_take: Default::default(),
            c_first: Default::default(),
            c_row: Default::default(),
            c_cmp: Default::default(),
            took: Default::default(),
            best_i: Default::default(),
            busy_any: Default::default(),
            in_ok: Default::default(),
            tile_addr: Default::default(),
            tile_w_rd: Default::default(),
            alpha_a_addr: Default::default(),
            mult_addr: Default::default(),
            bias_addr: Default::default(),
            out_val: Default::default(),
            out_key: Default::default(),
            key_0: Default::default(),
            key_1: Default::default(),
            key_2: Default::default(),
            prev_0: Default::default(),
            prev_1: Default::default(),
            prev_2: Default::default(),
            key_gt: Default::default(),
            f_m: Default::default(),
            f_q_qmm: Default::default(),
            share_we: Default::default(),
            share_data: Default::default(),
            f_d_rows: Default::default(),
            f_tw_p: Default::default(),
            infer_ok: Default::default(),
            e_code: Default::default(),
            cyc_clr: Default::default(),
            lc_clr: Default::default(),
            y64: Default::default(),
            act_we_ok: Default::default(),
            fmt2: Default::default(),
            desc_end: Default::default(),
            first_read: Default::default(),
            rq_read: Default::default(),
            s_job_q: Default::default(),
            s_job_d: Default::default(),
            s_job_tb: Default::default(),
            c_pair_hi: Constant::new(
                (if mem.fmap_values > 0 {
                    cfg.max_rows.next_power_of_two() as u64
                } else {
                    0
                })
                .to_bits(),
            ),
            c_vmask: Constant::new(ones(u64::from(t.v_bits)).to_bits()),
            c_vsign: Constant::new((1u64 << (t.v_bits - 1)).to_bits()),
            c_m0: Constant::new(ones(part(0)).to_bits()),
            c_m1: Constant::new(ones(part(1)).to_bits()),
            c_m2: Constant::new(ones(part(2)).to_bits()),
            c_t0: Constant::new((1u64 << part(0)).to_bits()),
            c_t1: Constant::new((1u64 << part(1)).to_bits()),
            c_t2: Constant::new((1u64 << part(2)).to_bits()),
            c_cyc_mask: Constant::new(ones(counter_bits(infer_max)).to_bits()),
            c_lc_mask: Constant::new(ones(counter_bits(layer_max)).to_bits()),
            c_layer_mask: Constant::new(
                ones(bits_for(u64::from(t.max_layers) - 1).min(16)).to_bits(),
            ),
            c_m_mask: Constant::new(ones(bits_for(u64::from(t.max_in)).min(24)).to_bits()),
            c_q_mask: Constant::new(ones(bits_for(u64::from(t.tile_max)).min(N as u64)).to_bits()),
            c_rows_mask: Constant::new(
                ones(bits_for(u64::from(t.max_d.max(t.max_out))).min(16)).to_bits(),
            ),
            c_tw_p_mask: Constant::new(ones(bits_for(tw_p_max).min(N as u64)).to_bits()),
            c_class_mask: Constant::new(
                ones(bits_for(u64::from(t.max_logits) - 1).min(16)).to_bits(),
            ),
            c_sext8: Constant::new((!0xFFu64).to_bits()),
            c_all_sel: Constant::new(15u64.to_bits()),
            c_tile_route: Constant::new(2u64.to_bits()),
            c_wlog: Constant::new(((W / 32).trailing_zeros() as u64).to_bits()),
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> Logic for NetCore<L, W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            running,
            done_q,
            err_q,
            code_q,
            input_bad,
            cycles,
            count,
            class_q,
            quiet,
            in_busy,
            busy_q,
            rq_busy,
            e_code_q,
            ld_err_q,
            infer_q,
            share_q,
            srq,
            out_bits_q,
            quiet_nz,
            pk_we,
            pk_first,
            state,
            wcnt,
            layer,
            dk,
            rk,
            rv,
            lcount,
            go_seq,
            go_rq,
            rsel,
            wsel,
            d_m,
            d_in_bits,
            d_in_signed,
            d_out_bits,
            d_kind,
            d_last,
            d_shift,
            d_tile_base,
            d_tile_w1,
            d_alpha_base,
            d_rowc4,
            d_uniform,
            d_conv,
            d_pool,
            d_hwc,
            d_in_c,
            d_in_h,
            d_in_w,
            d_kh,
            d_kw,
            d_stride,
            d_pad,
            d_out_h,
            d_out_w,
            d_x2,
            d_pool_signed,
            msrc,
            mdst,
            go_l,
            go_g,
            go_next,
            s_q,
            s_d,
            s_tb,
            p_grun,
            p_gready,
            p_gbuf,
            p_srun,
            p_spend,
            p_rrun,
            p_first,
            p_gw,
            p_sw,
            p_rw,
            pw,
            pr,
            rows_busy_q,
            wr_busy_q,
            best_nkey,
            lg_take,
            lg_row,
            lg_val,
            prev_nkey,
            c_take,
            c_first,
            c_row,
            c_cmp,
            took,
            best_i
        );
        // (the counters and the argmax key hold their masked values: the
        // bits above the masks are constant 0 in every assignment, so
        // synthesis drops their flip-flops)
        self.cycles.d.next = self.cycles.q.val() & self.c_cyc_mask.val();
        self.lcount.d.next = self.lcount.q.val() & self.c_lc_mask.val();
        self.layer.d.next = self.layer.q.val() & self.c_layer_mask.val();
        self.best_nkey.d.next = self.best_nkey.q.val() & self.c_vmask.val();
        self.loader.clk.next = self.clk.val();
        self.seq.clk.next = self.clk.val();
        self.engine.clk.next = self.clk.val();
        self.tile.clk.next = self.clk.val();
        self.act_in.clk.next = self.clk.val();
        self.act_a.clk.next = self.clk.val();
        self.act_b.clk.next = self.clk.val();
        self.rq.clk.next = self.clk.val();
        self.desc.clk.next = self.clk.val();
        self.alpha.clk.next = self.clk.val();
        self.rec_m.clk.next = self.clk.val();
        self.rec_b0.clk.next = self.clk.val();
        self.rec_b1.clk.next = self.clk.val();
        self.pairs.clk.next = self.clk.val();
        self.logits.clk.next = self.clk.val();
        self.lcyc.clk.next = self.clk.val();
        self.maps.clk.next = self.clk.val();
        // the loaded model is format 2: every layer reads a feature map
        self.fmt2.next = self.loader.hdr_conv.val();

        // (the loader's error pulse is latched into ERROR two edges later:
        // BUSY covers both cycles, so ERROR is valid when BUSY reads 0)
        self.busy_any.next = self.running.q.val()
            | self.loader.checking.val()
            | self.loader.err.val()
            | self.ld_err_q.q.val()
            | self.infer_q.q.val();

        // ---- loader and the model memories ----
        self.loader.ld_begin.next = self.h_load_begin.val() & !self.busy_q.q.val();
        self.loader.ld_end.next = self.h_load_end.val() & !self.busy_q.q.val();
        self.loader.abort.next = self.srq.q.val();
        self.loader.drop.next = false;
        self.loader.we.next = self.h_img_we.val() & !self.busy_q.q.val();
        self.loader.in_order.next = self.h_img_in_order.val();
        self.loader.wdata.next = self.h_wdata.val();
        // descriptors
        self.desc.we.next = self.loader.r_we.val() & (self.loader.r_sel.val() == 1);
        self.desc.waddr.next = bit_cast::<16, 17>(self.loader.r_addr.val());
        self.desc.wdata.next = self.loader.r_data.val();
        self.desc.raddr.next = (self.layer.q.val() << 4) | bit_cast::<16, 5>(self.dk.q.val() & 15);
        if self.fmt2.val() {
            self.desc.raddr.next = (self.layer.q.val() << 5) | bit_cast::<16, 5>(self.dk.q.val());
        }
        // tiles
        self.tile.bus_we.next =
            self.loader.r_we.val() & (self.loader.r_sel.val() == self.c_tile_route.val());
        self.tile.bus_addr.next = bit_cast::<16, 17>(self.loader.r_addr.val());
        self.tile.bus_data.next = self.loader.r_data.val();
        self.tile.bus_sel.next = self.c_all_sel.val();
        // constants: alpha copies and the record words 0, 1, 2
        self.alpha.we.next = self.loader.r_we.val() & (self.loader.r_sel.val() == 3);
        self.alpha.waddr.next = bit_cast::<16, 17>(self.loader.r_addr.val());
        self.alpha.wdata.next = bit_cast::<16, 32>(self.loader.r_data.val());
        self.rec_b0.we.next = self.loader.r_we.val()
            & (self.loader.r_sel.val() == 3)
            & ((self.loader.r_addr.val() & 3) == 0);
        self.rec_b1.we.next = self.loader.r_we.val()
            & (self.loader.r_sel.val() == 3)
            & ((self.loader.r_addr.val() & 3) == 1);
        self.rec_m.we.next = self.loader.r_we.val()
            & (self.loader.r_sel.val() == 3)
            & ((self.loader.r_addr.val() & 3) == 2);
        self.rec_b0.waddr.next = bit_cast::<16, 17>(self.loader.r_addr.val() >> 2);
        self.rec_b1.waddr.next = bit_cast::<16, 17>(self.loader.r_addr.val() >> 2);
        self.rec_m.waddr.next = bit_cast::<16, 17>(self.loader.r_addr.val() >> 2);
        self.rec_b0.wdata.next = self.loader.r_data.val();
        self.rec_b1.wdata.next = self.loader.r_data.val();
        self.rec_m.wdata.next = bit_cast::<16, 32>(self.loader.r_data.val());

        // ---- datapath: sequencer, memories, lanes (as the job-mode core) ----
        self.seq.abort.next = self.srq.q.val();
        self.seq.start.next = self.go_seq.q.val();
        // (the descriptor fields as wide as the capacities admit: their
        // registers' bits above are unused)
        self.f_m.next = self.d_m.q.val() & self.c_m_mask.val();
        self.f_q_qmm.next = bit_cast::<N, 24>(self.loader.share_a.val()) & self.c_q_mask.val();
        self.f_d_rows.next = bit_cast::<16, 24>(self.loader.share_c.val()) & self.c_rows_mask.val();
        self.f_tw_p.next = bit_cast::<N, 24>(self.loader.share_b.val()) & self.c_tw_p_mask.val();
        self.s_job_q.next = self.f_q_qmm.val();
        self.s_job_d.next = self.f_d_rows.val();
        self.s_job_tb.next = self.f_tw_p.val();
        if self.fmt2.val() {
            self.s_job_q.next = bit_cast::<N, 24>(self.s_q.q.val()) & self.c_q_mask.val();
            self.s_job_d.next = bit_cast::<16, 24>(self.s_d.q.val()) & self.c_rows_mask.val();
            self.s_job_tb.next = bit_cast::<N, 24>(self.s_tb.q.val()) & self.c_tw_p_mask.val();
        }
        self.seq.job_m.next = self.f_m.val();
        self.seq.job_q.next = bit_cast::<24, N>(self.s_job_q.val());
        self.seq.job_rows.next = bit_cast::<14, 16>(self.s_job_d.val());
        self.seq.job_abits.next = self.d_in_bits.q.val();
        self.seq.job_signed.next = self.d_in_signed.q.val();
        self.seq.engine_active.next = self.engine.active.val();
        // the window's bit offset in the lanes' word (TILE_BASE is a whole
        // number of W-bit words: this adder is only as wide as the offset)
        self.tile_addr.next = self.seq.tile_bit.val() + self.d_tile_base.q.val();
        // the tile memory adds the base in W-bit words itself, next to its
        // `+ 1` for the second word: two adders side by side
        self.tile.rd_bit.next = self.seq.tile_bit.val();
        self.tile.rd_base.next = bit_cast::<16, N>(self.s_job_tb.val());
        self.tile.rd_base1.next = self.d_tile_w1.q.val();
        self.act_in.rd_plane.next = self.seq.plane.val();
        self.act_in.rd_bit.next = self.seq.act_bit.val();
        self.act_a.rd_plane.next = self.seq.plane.val();
        self.act_a.rd_bit.next = self.seq.act_bit.val();
        self.act_b.rd_plane.next = self.seq.plane.val();
        self.act_b.rd_bit.next = self.seq.act_bit.val();
        self.engine.flush.next = self.srq.q.val();
        self.engine.in_valid.next = self.seq.issue.val();
        self.engine.in_bit_off.next = self.tile_addr.val().get_bits::<8>(0);
        self.engine.in_abit.next = self.seq.act_bit.val().get_bits::<8>(0);
        self.engine.in_nvalid.next = self.seq.nvalid.val();
        self.engine.in_segb.next = self.seq.segb.val();
        self.engine.in_plane.next = self.seq.plane.val();
        self.engine.in_neg.next = self.seq.neg.val();
        self.engine.in_xnor.next = self.seq.xnor_mode.val();
        self.engine.in_first.next = self.seq.first.val();
        self.engine.in_last.next = self.seq.last.val();
        self.engine.in_row.next = self.seq.row.val();
        self.engine.tile_lo.next = self.tile.lo.val();
        self.engine.tile_hi.next = self.tile.hi.val();
        self.engine.act_word.next = self.act_in.word.val();
        if self.rsel.q.val() == 1 {
            self.engine.act_word.next = self.act_a.word.val();
        }
        if self.rsel.q.val() == 2 {
            self.engine.act_word.next = self.act_b.word.val();
        }
        self.pairs.we.next = self.engine.out_we.val();
        self.pairs.waddr.next = bit_cast::<16, 13>(self.engine.out_row.val());
        if self.pw.q.val() {
            self.pairs.waddr.next =
                bit_cast::<16, 13>(self.engine.out_row.val()) | self.c_pair_hi.val();
        }
        self.pairs.wdata.next = (bit_cast::<64, 32>(self.engine.out_b.val()) << 32)
            | bit_cast::<64, 32>(self.engine.out_a.val());

        // ---- requantization phase ----
        self.rq.start.next = self.go_rq.q.val();
        self.rq.cancel.next = self.srq.q.val();
        self.rq.d_m.next = bit_cast::<N, 24>(self.f_m.val());
        self.rq.d_qmm.next = self.f_q_qmm.val();
        self.rq.d_rows.next = self.f_d_rows.val();
        self.rq.d_period.next = self.f_tw_p.val();
        self.rq.d_abase.next = self.d_alpha_base.q.val();
        self.rq.d_rbase.next = self.d_rowc4.q.val();
        self.rq.d_uniform.next = self.d_uniform.q.val();
        self.rq.d_shift.next = self.d_shift.q.val();
        self.rq.d_kind.next = self.d_kind.q.val();
        // the writer packs the host's input with the input's planes
        // (registered: the phase and the packer read it long after it
        // changes)
        self.out_bits_q.d.next = self.d_out_bits.q.val();
        if self.state.q.val() < 2 {
            self.out_bits_q.d.next = self.loader.hdr_in_fmt.val().get_bits::<4>(0);
        }
        self.rq.d_out_bits.next = self.out_bits_q.q.val();
        self.pairs.raddr.next = self.rq.pair_addr.val();
        if self.pr.q.val() {
            self.pairs.raddr.next = self.rq.pair_addr.val() | self.c_pair_hi.val();
        }
        self.rows_busy_q.d.next = self.rq.rows_busy.val();
        self.wr_busy_q.d.next = self.rq.wr_busy.val();
        self.rq.pair_a.next = self.pairs.rdata.val().get_bits::<32>(0);
        self.rq.pair_b.next = self.pairs.rdata.val().get_bits::<32>(32);
        // the phase's read addresses include the layer's bases
        self.alpha_a_addr.next = self.rq.alpha_addr.val();
        self.alpha.raddr.next = self.alpha_a_addr.val();
        self.rq.alpha_a.next = self.alpha.rdata0.val();
        self.rq.alpha_b.next = self.alpha.rdata1.val();
        self.mult_addr.next = self.rq.mult_addr.val();
        self.bias_addr.next = self.rq.bias_addr.val();
        self.rec_m.raddr.next = self.mult_addr.val();
        self.rec_b0.raddr.next = self.bias_addr.val();
        self.rec_b1.raddr.next = self.bias_addr.val();
        self.rq.mult.next = self.rec_m.rdata.val();
        self.rq.bias.next = (bit_cast::<64, 32>(self.rec_b1.rdata.val()) << 32)
            | bit_cast::<64, 32>(self.rec_b0.rdata.val());
        // packer path: INPUT words, registered (word 0 restarts the packer;
        // the data is held in the cycle after the write)
        self.rq_busy.d.next = self.rq.busy.val();
        self.srq.d.next = self.h_soft_reset.val();
        self.busy_q.d.next = self.busy_any.val() & !self.srq.q.val();
        self.quiet_nz.d.next = self.srq.q.val() | (self.quiet.q.val() > 1);
        self.in_busy.d.next = self.busy_any.val() | self.srq.q.val() | (self.quiet.q.val() > 1);
        self.in_ok.next = self.h_in_we.val() & !self.in_busy.q.val() & self.loader.loaded.val();
        self.pk_we.d.next = self.in_ok.val();
        self.rq.pk_we.next = self.pk_we.q.val();
        self.rq.pk_data.next = self.h_wdata.val();
        self.rq.in_bits.next = self.loader.hdr_in_fmt.val().get_bits::<4>(0);
        self.rq.in_signed.next = self.loader.hdr_in_fmt.val().get_bit(8);
        self.rq.in_flush.next = false;
        self.rq.wr_clear.next =
            self.quiet_nz.q.val() | (self.in_ok.val() & self.h_in_first.val()) | self.go_g.q.val();
        // format 2: the writer packs the gathered patch into the patch
        // buffer (A), in the layer's input planes
        self.rq.g_sel.next = self.fmt2.val();
        self.rq.g_valid.next = self.maps.g_valid.val();
        self.rq.g_y.next = self.maps.g_y.val();
        self.rq.g_last.next = self.maps.g_last.val();
        self.rq.g_planes.next = self.d_in_bits.q.val();
        // ---- feature maps ----
        self.pk_first.d.next = self.in_ok.val() & self.h_in_first.val();
        self.maps.cancel.next = self.srq.q.val();
        self.maps.l_start.next = self.go_l.q.val();
        self.maps.op_conv.next = self.d_conv.q.val();
        self.maps.op_pool.next = self.d_pool.q.val();
        self.maps.in_hwc.next = self.d_hwc.q.val();
        self.maps.in_c.next = self.d_in_c.q.val();
        self.maps.in_h.next = self.d_in_h.q.val();
        self.maps.in_w.next = self.d_in_w.q.val();
        self.maps.kh.next = self.d_kh.q.val();
        self.maps.kw.next = self.d_kw.q.val();
        self.maps.stride.next = self.d_stride.q.val();
        self.maps.pad.next = self.d_pad.q.val();
        self.maps.out_h.next = self.d_out_h.q.val();
        self.maps.out_w.next = self.d_out_w.q.val();
        self.maps.m.next = bit_cast::<16, 24>(self.f_m.val());
        self.maps.src.next = self.msrc.q.val();
        self.maps.dst.next = self.mdst.q.val();
        self.maps.x2.next = self.d_x2.q.val();
        self.maps.pool_signed.next = self.d_pool_signed.q.val();
        self.maps.g_go.next = self.go_g.q.val();
        self.maps.o_we.next = self.rq.logit_valid.val()
            & (self.state.q.val() == 6)
            & self.fmt2.val()
            & !self.d_last.q.val()
            & !self.srq.q.val();
        self.maps.o_row.next = self.rq.logit_row.val();
        self.maps.o_y.next = self.rq.logit_y.val();
        self.maps.o_next.next = self.go_next.q.val();
        self.maps.rows.next = self.f_d_rows.val();
        self.maps.in_we.next = self.pk_we.q.val();
        self.maps.in_first.next = self.pk_first.q.val();
        self.maps.in_data.next = self.h_wdata.val();
        // activation writes: the packer into IN, layer outputs into A or B
        self.act_we_ok.next = self.rq.act_we.val() & !self.quiet_nz.q.val();
        self.act_in.bus_we.next = self.act_we_ok.val() & (self.wsel.q.val() == 0);
        self.act_a.bus_we.next = self.act_we_ok.val() & (self.wsel.q.val() == 1);
        self.act_b.bus_we.next = self.act_we_ok.val() & (self.wsel.q.val() == 2);
        self.act_in.bus_addr.next = self.rq.act_addr.val();
        self.act_a.bus_addr.next = self.rq.act_addr.val();
        self.act_b.bus_addr.next = self.rq.act_addr.val();
        self.act_in.bus_data.next = self.rq.act_data.val();
        self.act_a.bus_data.next = self.rq.act_data.val();
        self.act_b.bus_data.next = self.rq.act_data.val();
        self.act_in.bus_sel.next = self.rq.act_sel.val();
        self.act_a.bus_sel.next = self.rq.act_sel.val();
        self.act_b.bus_sel.next = self.rq.act_sel.val();
        if self.rq.range_err.val() {
            self.input_bad.d.next = true;
        }
        if self.quiet.q.val() != 0 {
            self.quiet.d.next = self.quiet.q.val() - 1;
        }

        // ---- outputs of the last layer: logits and argmax ----
        self.y64.next = bit_cast::<64, 8>(self.rq.logit_y.val());
        if (self.d_kind.q.val() == 1) & self.rq.logit_y.val().get_bit(7) {
            self.y64.next = bit_cast::<64, 8>(self.rq.logit_y.val()) | self.c_sext8.val();
        }
        self.out_val.next = self.y64.val();
        if self.d_kind.q.val() == 3 {
            self.out_val.next = self.rq.logit_v.val();
        }
        // (the outputs are V_BITS-bit values sign-extended: the argmax
        // compares their low V_BITS)
        self.lg_take.d.next = self.rq.logit_valid.val()
            & ((self.state.q.val() == 4) | (self.state.q.val() == 6))
            & self.d_last.q.val()
            & !self.srq.q.val();
        self.lg_row.d.next = self.rq.logit_row.val();
        self.lg_val.d.next = self.out_val.val();
        self.out_key.next = (self.lg_val.q.val() & self.c_vmask.val()) ^ self.c_vsign.val();
        // stage 1: key > other is key > !nkey, the carry out of key + nkey,
        // in three 22-bit parts (bits 0.., 22.., 44..) with the upper parts'
        // equalities (bits 0-4: against the best, 5-9: against the previous
        // output; per group: carries of parts 0, 1, 2, equalities of 1, 2)
        self.key_0.next = (bit_cast::<23, 64>(self.out_key.val()) & self.c_m0.val())
            + (bit_cast::<23, 64>(self.best_nkey.q.val()) & self.c_m0.val());
        self.key_1.next = (bit_cast::<23, 64>(self.out_key.val() >> 22) & self.c_m1.val())
            + (bit_cast::<23, 64>(self.best_nkey.q.val() >> 22) & self.c_m1.val());
        self.key_2.next = (bit_cast::<23, 64>(self.out_key.val() >> 44) & self.c_m2.val())
            + (bit_cast::<23, 64>(self.best_nkey.q.val() >> 44) & self.c_m2.val());
        self.prev_0.next = (bit_cast::<23, 64>(self.out_key.val()) & self.c_m0.val())
            + (bit_cast::<23, 64>(self.prev_nkey.q.val()) & self.c_m0.val());
        self.prev_1.next = (bit_cast::<23, 64>(self.out_key.val() >> 22) & self.c_m1.val())
            + (bit_cast::<23, 64>(self.prev_nkey.q.val() >> 22) & self.c_m1.val());
        self.prev_2.next = (bit_cast::<23, 64>(self.out_key.val() >> 44) & self.c_m2.val())
            + (bit_cast::<23, 64>(self.prev_nkey.q.val() >> 44) & self.c_m2.val());
        self.c_cmp.d.next = bit_cast::<10, 1>(((self.key_0.val() & self.c_t0.val()) != 0).into())
            | (bit_cast::<10, 1>(((self.key_1.val() & self.c_t1.val()) != 0).into()) << 1)
            | (bit_cast::<10, 1>(((self.key_2.val() & self.c_t2.val()) != 0).into()) << 2)
            | (bit_cast::<10, 1>(
                ((bit_cast::<23, 64>((self.out_key.val() ^ self.best_nkey.q.val()) >> 22)
                    & self.c_m1.val())
                    == self.c_m1.val())
                .into(),
            ) << 3)
            | (bit_cast::<10, 1>(
                ((bit_cast::<23, 64>((self.out_key.val() ^ self.best_nkey.q.val()) >> 44)
                    & self.c_m2.val())
                    == self.c_m2.val())
                .into(),
            ) << 4)
            | (bit_cast::<10, 1>(((self.prev_0.val() & self.c_t0.val()) != 0).into()) << 5)
            | (bit_cast::<10, 1>(((self.prev_1.val() & self.c_t1.val()) != 0).into()) << 6)
            | (bit_cast::<10, 1>(((self.prev_2.val() & self.c_t2.val()) != 0).into()) << 7)
            | (bit_cast::<10, 1>(
                ((bit_cast::<23, 64>((self.out_key.val() ^ self.prev_nkey.q.val()) >> 22)
                    & self.c_m1.val())
                    == self.c_m1.val())
                .into(),
            ) << 8)
            | (bit_cast::<10, 1>(
                ((bit_cast::<23, 64>((self.out_key.val() ^ self.prev_nkey.q.val()) >> 44)
                    & self.c_m2.val())
                    == self.c_m2.val())
                .into(),
            ) << 9);
        if self.lg_take.q.val() {
            self.prev_nkey.d.next = !self.out_key.val() & self.c_vmask.val();
        }
        self.c_take.d.next = self.lg_take.q.val() & !self.srq.q.val();
        self.c_first.d.next = self.lg_row.q.val() == 0;
        self.c_row.d.next = self.lg_row.q.val();
        // stage 2
        self.key_gt.next = self.c_cmp.q.val().get_bit(2)
            | (self.c_cmp.q.val().get_bit(4)
                & (self.c_cmp.q.val().get_bit(1)
                    | (self.c_cmp.q.val().get_bit(3) & self.c_cmp.q.val().get_bit(0))));
        if self.took.q.val() {
            self.key_gt.next = self.c_cmp.q.val().get_bit(7)
                | (self.c_cmp.q.val().get_bit(9)
                    & (self.c_cmp.q.val().get_bit(6)
                        | (self.c_cmp.q.val().get_bit(8) & self.c_cmp.q.val().get_bit(5))));
        }
        self.took.d.next = self.c_take.q.val() & (self.c_first.q.val() | self.key_gt.val());
        self.logits.we.next = false;
        self.logits.waddr.next = self.lg_row.q.val();
        self.logits.wdata.next = self.lg_val.q.val();
        self.logits.raddr.next = self.h_lg_addr.val();
        if self.lg_take.q.val() {
            self.logits.we.next = true;
        }
        if self.c_take.q.val() & (self.c_first.q.val() | self.key_gt.val()) {
            self.best_nkey.d.next = self.prev_nkey.q.val();
            self.best_i.d.next = self.c_row.q.val() & self.c_class_mask.val();
        }
        self.lcyc.we.next = false;
        self.lcyc.waddr.next = self.layer.q.val();
        self.lcyc.wdata.next = self.lcount.q.val();
        self.lcyc.raddr.next = self.h_lc_addr.val();

        // ---- network sequencer ----
        self.go_seq.d.next = false;
        self.go_rq.d.next = false;
        self.go_l.d.next = false;
        self.go_g.d.next = false;
        self.go_next.d.next = false;
        self.rv.d.next = false;
        // the cycle counters: enabled while running (CYCLES also by its
        // clears), cleared inside the enable (flip-flops with a synchronous
        // reset and an enable: one LUT per bit, the incrementer's)
        self.infer_ok.next = self.h_infer.val()
            & !self.busy_q.q.val()
            & self.loader.loaded.val()
            & !self.input_bad.q.val()
            & !self.rq.range_err.val();
        self.cyc_clr.next = self.infer_q.q.val() | self.srq.q.val();
        if self.running.q.val() | self.cyc_clr.val() {
            self.cycles.d.next = (self.cycles.q.val() + 1) & self.c_cyc_mask.val();
            if self.cyc_clr.val() {
                self.cycles.d.next = 0.into();
            }
        }
        // (a layer's count restarts where its descriptor read begins)
        self.lc_clr.next =
            ((self.state.q.val() == 1) & (self.wcnt.q.val() == 0) & !self.rq_busy.q.val())
                | ((self.state.q.val() == 5) & !self.d_last.q.val());
        if self.running.q.val() {
            self.lcount.d.next = (self.lcount.q.val() + 1) & self.c_lc_mask.val();
            if self.lc_clr.val() {
                self.lcount.d.next = 0.into();
            }
        }
        if self.wcnt.q.val() != 0 {
            self.wcnt.d.next = self.wcnt.q.val() - 1;
        }
        if (self.state.q.val() == 1) & (self.wcnt.q.val() == 0) & !self.rq_busy.q.val() {
            self.state.d.next = 2.into();
            self.dk.d.next = 0.into();
        }
        // (format 1: words 0-15; format 2: words 0-22, the map fields too)
        self.desc_end.next = self.dk.q.val() == 16;
        if self.fmt2.val() {
            self.desc_end.next = self.dk.q.val() == 23;
        }
        if self.state.q.val() == 2 {
            // word dk is read now and captured next cycle
            self.dk.d.next = self.dk.q.val() + 1;
            self.rv.d.next = !self.dk.q.val().get_bit(4);
            if self.fmt2.val() {
                self.rv.d.next = self.dk.q.val() < 23;
            }
            self.rk.d.next = self.dk.q.val();
            if self.desc_end.val() {
                self.state.d.next = 3.into();
                self.go_seq.d.next = true;
                self.wsel.d.next = 2.into();
                if !self.layer.q.val().get_bit(0) {
                    self.wsel.d.next = 1.into();
                }
                if self.fmt2.val() {
                    // the layer reads its feature map (the input for layer
                    // 0, then A and B in turn) and writes the other one; the
                    // patch buffer is A's bit-planes
                    self.go_seq.d.next = false;
                    self.go_l.d.next = true;
                    self.wsel.d.next = 1.into();
                    self.rsel.d.next = 1.into();
                    self.mdst.d.next = 2.into();
                    if !self.layer.q.val().get_bit(0) {
                        self.mdst.d.next = 1.into();
                    }
                    self.msrc.d.next = 2.into();
                    if self.layer.q.val().get_bit(0) {
                        self.msrc.d.next = 1.into();
                    }
                    if self.layer.q.val() == 0 {
                        self.msrc.d.next = 0.into();
                    }
                    if self.d_pool.q.val() {
                        self.state.d.next = 7.into();
                        self.wcnt.d.next = 3.into();
                    } else {
                        // the position pipeline, from the first gather (into A)
                        self.state.d.next = 6.into();
                        self.go_g.d.next = true;
                        self.p_grun.d.next = true;
                        self.p_gw.d.next = 3.into();
                        self.p_gbuf.d.next = 1.into();
                        self.p_gready.d.next = false;
                        self.p_srun.d.next = false;
                        self.p_spend.d.next = false;
                        self.p_rrun.d.next = false;
                        self.p_first.d.next = true;
                    }
                }
            }
        }
        // format 2, the position pipeline of a conv or dense layer: the
        // gather of position k + 1 (into the other patch buffer) and the
        // requantization of k - 1 (from the other half of the pair memory)
        // run beside the distinct rows of k. A dense layer is one position.
        if self.state.q.val() == 6 {
            // gather: done when the walker (or counter) is done and the
            // writer has written the patch's planes
            if self.maps.g_busy.val() | self.go_g.q.val() {
                self.p_gw.d.next = 3.into();
            } else if self.p_gw.q.val() != 0 {
                self.p_gw.d.next = self.p_gw.q.val() - 1;
            }
            if self.p_grun.q.val()
                & !self.maps.g_busy.val()
                & !self.go_g.q.val()
                & (self.p_gw.q.val() == 0)
                & !self.wr_busy_q.q.val()
            {
                self.p_grun.d.next = false;
                self.p_gready.d.next = true;
            }
            // distinct rows: done when the sequencer is idle (its last pair
            // written)
            if self.p_sw.q.val() != 0 {
                self.p_sw.d.next = self.p_sw.q.val() - 1;
            }
            if self.p_srun.q.val() & (self.p_sw.q.val() == 0) & !self.seq.busy.val() {
                self.p_srun.d.next = false;
                self.p_spend.d.next = true;
            }
            if self.p_gready.q.val() & !self.p_srun.q.val() & !self.p_spend.q.val() {
                // the patch's distinct rows (into the other pair half), and
                // the next position's gather into the other patch buffer
                self.go_seq.d.next = true;
                self.p_gready.d.next = false;
                self.p_srun.d.next = true;
                self.p_sw.d.next = 3.into();
                self.rsel.d.next = self.p_gbuf.q.val();
                self.pw.d.next = !self.pw.q.val();
                if self.d_conv.q.val() & !self.maps.walk_end.val() {
                    self.go_g.d.next = true;
                    self.p_grun.d.next = true;
                    self.p_gbuf.d.next = 1.into();
                    self.wsel.d.next = 1.into();
                    if self.p_gbuf.q.val() == 1 {
                        self.p_gbuf.d.next = 2.into();
                        self.wsel.d.next = 2.into();
                    }
                }
            }
            // requantization: a position's rows once the previous
            // position's are out (its outputs follow at position x ROWS)
            if self.p_rw.q.val() != 0 {
                self.p_rw.d.next = self.p_rw.q.val() - 1;
            }
            if self.p_rrun.q.val() & (self.p_rw.q.val() == 0) & !self.rows_busy_q.q.val() {
                self.p_rrun.d.next = false;
            }
            if self.p_spend.q.val() & !self.p_rrun.q.val() {
                self.go_rq.d.next = true;
                self.go_next.d.next = !self.p_first.q.val();
                self.p_first.d.next = false;
                self.p_spend.d.next = false;
                self.p_rrun.d.next = true;
                self.p_rw.d.next = 3.into();
                self.pr.d.next = self.pw.q.val();
            }
            // the layer ends when every position is through
            if !self.p_grun.q.val()
                & !self.p_gready.q.val()
                & !self.p_srun.q.val()
                & !self.p_spend.q.val()
                & !self.p_rrun.q.val()
                & !self.go_g.q.val()
                & !self.go_seq.q.val()
                & !self.go_rq.q.val()
                & !self.lg_take.q.val()
                & !self.c_take.q.val()
            {
                self.state.d.next = 5.into();
            }
        }
        // format 2, max-pool: the unit walks the windows and writes the maxima
        if (self.state.q.val() == 7) & (self.wcnt.q.val() == 0) & !self.maps.pool_busy.val() {
            self.state.d.next = 5.into();
        }
        // TILE_BASE (32-bit words) in W-bit words (a multiple of W / 32)
        self.tile_w_rd.next = bit_cast::<16, 32>(self.desc.rdata.val());
        if self.c_wlog.val() == 1 {
            self.tile_w_rd.next = bit_cast::<16, 32>(self.desc.rdata.val() >> 1);
        }
        if self.c_wlog.val() == 2 {
            self.tile_w_rd.next = bit_cast::<16, 32>(self.desc.rdata.val() >> 2);
        }
        if self.c_wlog.val() == 3 {
            self.tile_w_rd.next = bit_cast::<16, 32>(self.desc.rdata.val() >> 3);
        }
        // (the layer's first read, state 2: Q, D, TILE_BASE; the re-read
        // while the lanes drain, state 3: ROWS, P, Q_MINUS_M; into the
        // shared registers a (Q, Q_MINUS_M), b (TILE_BASE, P), c (D, ROWS))
        self.share_q.d.next = 0.into();
        // (format 1: Q, TILE_BASE, D at the layer's first read, Q_MINUS_M, P,
        // ROWS at the re-read while the lanes drain; format 2: the latter
        // at the first read, for the whole layer: the sequencer's fields
        // have registers of their own, `s_*`)
        self.first_read.next = (self.state.q.val() == 2) & !self.fmt2.val();
        self.rq_read.next =
            (self.state.q.val() == 3) | ((self.state.q.val() == 2) & self.fmt2.val());
        if ((self.dk.q.val() == 1) & self.first_read.val())
            | ((self.dk.q.val() == 5) & self.rq_read.val())
        {
            self.share_q.d.next = 1.into();
        }
        if ((self.dk.q.val() == 10) & self.first_read.val())
            | ((self.dk.q.val() == 4) & self.rq_read.val())
        {
            self.share_q.d.next = 2.into();
        }
        if ((self.dk.q.val() == 3) & self.first_read.val())
            | ((self.dk.q.val() == 2) & self.rq_read.val())
        {
            self.share_q.d.next = 4.into();
        }
        self.share_we.next = self.share_q.q.val();
        self.share_data.next = bit_cast::<24, 32>(self.desc.rdata.val());
        if self.rk.q.val() == 10 {
            self.share_data.next = bit_cast::<24, 16>(self.tile_w_rd.val());
        }
        if self.rv.q.val() {
            if self.rk.q.val() == 0 {
                self.d_m.d.next = bit_cast::<24, 32>(self.desc.rdata.val());
            }
            if self.rk.q.val() == 1 {
                self.s_q.d.next = bit_cast::<24, 32>(self.desc.rdata.val());
            }
            if self.rk.q.val() == 3 {
                self.s_d.d.next = bit_cast::<24, 32>(self.desc.rdata.val());
            }
            if self.rk.q.val() == 7 {
                self.d_in_bits.d.next = self.desc.rdata.val().get_bits::<4>(0);
                self.d_in_signed.d.next = self.desc.rdata.val().get_bit(8);
            }
            if self.rk.q.val() == 8 {
                self.d_out_bits.d.next = self.desc.rdata.val().get_bits::<4>(0);
                self.d_kind.d.next = self.desc.rdata.val().get_bits::<2>(16);
                self.d_last.d.next = self.desc.rdata.val().get_bit(24);
            }
            if self.rk.q.val() == 9 {
                self.d_shift.d.next = self.desc.rdata.val().get_bits::<6>(0);
            }
            if self.rk.q.val() == 10 {
                self.d_tile_base.d.next = bit_cast::<22, 32>(self.desc.rdata.val()) << 5;

                self.d_tile_w1.d.next = self.tile_w_rd.val() + 1;
                self.s_tb.d.next = bit_cast::<24, 16>(self.tile_w_rd.val());
            }
            if self.rk.q.val() == 11 {
                self.d_alpha_base.d.next = bit_cast::<16, 32>(self.desc.rdata.val());
            }
            if self.rk.q.val() == 12 {
                self.d_rowc4.d.next = bit_cast::<16, 32>(self.desc.rdata.val() >> 2);
            }
            if self.rk.q.val() == 13 {
                // ROWC_STRIDE is 0 (uniform) or 4
                self.d_uniform.d.next = !self.desc.rdata.val().get_bit(2);
            }
            // format 2: OP, IN_C, IN_HW, KERNEL, OUT_HW (OUT_C is ROWS;
            // the walker ends the positions)
            if self.rk.q.val() == 16 {
                self.d_conv.d.next = self.desc.rdata.val().get_bits::<2>(0) == 1;
                self.d_pool.d.next = self.desc.rdata.val().get_bits::<2>(0) == 2;
                self.d_hwc.d.next = self.desc.rdata.val().get_bit(8);
                self.d_x2.d.next = false;
                self.d_pool_signed.d.next =
                    self.d_in_signed.q.val() & (self.d_in_bits.q.val() != 1);
            }
            if self.rk.q.val() == 17 {
                self.d_in_c.d.next = self.desc.rdata.val().get_bits::<8>(0);
            }
            if self.rk.q.val() == 18 {
                self.d_in_h.d.next = self.desc.rdata.val().get_bits::<8>(16);
                self.d_in_w.d.next = self.desc.rdata.val().get_bits::<8>(0);
            }
            if self.rk.q.val() == 19 {
                self.d_kh.d.next = self.desc.rdata.val().get_bits::<4>(0);
                self.d_kw.d.next = self.desc.rdata.val().get_bits::<4>(8);
                self.d_stride.d.next = self.desc.rdata.val().get_bits::<4>(16);
                self.d_pad.d.next = self.desc.rdata.val().get_bits::<4>(24);
                if self.d_conv.q.val()
                    & (self.desc.rdata.val().get_bits::<4>(24) != 0)
                    & (self.d_in_bits.q.val() == 1)
                {
                    self.d_x2.d.next = true;
                    self.d_in_bits.d.next = 2.into();
                    self.d_in_signed.d.next = true;
                }
            }
            if self.rk.q.val() == 21 {
                self.d_out_h.d.next = self.desc.rdata.val().get_bits::<8>(16);
                self.d_out_w.d.next = self.desc.rdata.val().get_bits::<8>(0);
            }
        }
        // While the lanes drain (the sequencer has issued its last chunk and
        // no longer reads Q, D or the tile base), words 2 to 5 are read again
        // for ROWS, P and Q_MINUS_M; the requantization phase starts when the
        // sequencer is done (its last pair written) and they are in.
        if self.state.q.val() == 3 {
            if (self.dk.q.val() == 17) & self.seq.busy.val() & !self.seq.issue.val() {
                self.dk.d.next = 2.into();
            }
            if ((self.dk.q.val() >> 1) == 1) | ((self.dk.q.val() >> 1) == 2) {
                self.dk.d.next = self.dk.q.val() + 1;
                self.rv.d.next = true;
                self.rk.d.next = self.dk.q.val();
            }
        }
        self.loader.share_we.next = self.share_we.val();
        self.loader.share_data.next = self.share_data.val();
        if (self.state.q.val() == 3) & !self.seq.busy.val() & (self.dk.q.val() == 6) {
            self.state.d.next = 4.into();
            self.go_rq.d.next = true;
            self.wcnt.d.next = 3.into();
        }
        // (the last output's argmax steps are two cycles after it)
        if (self.state.q.val() == 4)
            & (self.wcnt.q.val() == 0)
            & !self.rq_busy.q.val()
            & !self.lg_take.q.val()
            & !self.c_take.q.val()
        {
            self.state.d.next = 5.into();
        }
        if self.state.q.val() == 5 {
            self.lcyc.we.next = true;
            if self.d_last.q.val() {
                self.state.d.next = 0.into();
                self.running.d.next = false;
                self.done_q.d.next = true;
                self.count.d.next = self.count.q.val() + 1;
                self.class_q.d.next = self.best_i.q.val();
                self.wsel.d.next = 0.into();
            } else {
                self.state.d.next = 2.into();
                self.layer.d.next = (self.layer.q.val() + 1) & self.c_layer_mask.val();
                self.dk.d.next = 0.into();
                self.rsel.d.next = 1.into();
                if self.layer.q.val().get_bit(0) {
                    self.rsel.d.next = 2.into();
                }
            }
        }

        // ---- host actions (the first error is kept until ERROR is cleared) ----
        // the code of this cycle's error (0: none; of simultaneous errors the
        // last in this order), then one load of ERROR_CODE
        self.e_code.next = 0.into();
        if self.loader.err.val() {
            self.e_code.next = self.loader.err_code.val();
        }
        if (self.h_load_begin.val() | self.h_load_end.val()) & self.busy_q.q.val() {
            self.e_code.next = 1.into();
        }
        if self.h_img_we.val() & self.busy_q.q.val() {
            self.e_code.next = 6.into();
        }
        if self.h_in_we.val() {
            if self.in_busy.q.val() {
                self.e_code.next = 6.into();
            } else if !self.loader.loaded.val() {
                self.e_code.next = 7.into();
            }
        }
        if self.h_infer.val() {
            if self.busy_q.q.val() {
                self.e_code.next = 1.into();
            } else if !self.loader.loaded.val() {
                self.e_code.next = 7.into();
            } else if self.input_bad.q.val() | self.rq.range_err.val() {
                self.e_code.next = 13.into();
            }
        }
        self.e_code_q.d.next = self.e_code.val();
        self.ld_err_q.d.next = self.loader.err.val();
        if self.e_code_q.q.val() != 0 {
            self.err_q.d.next = true;
            if !self.err_q.q.val() {
                self.code_q.d.next = self.e_code_q.q.val();
            }
        }
        if self.h_load_begin.val() & !self.busy_q.q.val() {
            self.input_bad.d.next = false;
        }
        if self.h_infer.val() & !self.busy_q.q.val() & self.loader.loaded.val() {
            // refused for the input's range (the flag is cleared) or accepted
            self.input_bad.d.next = false;
        }
        if self.infer_q.q.val() {
            // accepted (in the previous cycle): flush the packer's partial group, then layer 0
            self.running.d.next = true;
            self.done_q.d.next = false;
            self.state.d.next = 1.into();
            self.wcnt.d.next = 3.into();
            self.layer.d.next = 0.into();
            self.rsel.d.next = 0.into();
            self.wsel.d.next = 0.into();
            self.rq.in_flush.next = true;
        }
        self.infer_q.d.next = self.infer_ok.val();
        if self.infer_q.q.val() {
            self.err_q.d.next = false;
            self.code_q.d.next = 0.into();
        }
        if self.h_clr_done.val() {
            self.done_q.d.next = false;
        }
        if self.h_clr_err.val() {
            self.err_q.d.next = false;
            self.code_q.d.next = 0.into();
        }
        if self.srq.q.val() {
            self.running.d.next = false;
            self.state.d.next = 0.into();
            self.done_q.d.next = false;
            self.err_q.d.next = false;
            self.code_q.d.next = 0.into();
            self.count.d.next = 0.into();
            self.input_bad.d.next = false;
            self.quiet.d.next = 16.into();
            self.wsel.d.next = 0.into();
            self.go_seq.d.next = false;
            self.go_rq.d.next = false;
            self.go_l.d.next = false;
            self.go_g.d.next = false;
            self.go_next.d.next = false;
            self.p_grun.d.next = false;
            self.p_gready.d.next = false;
            self.p_srun.d.next = false;
            self.p_spend.d.next = false;
            self.p_rrun.d.next = false;
            if self.running.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 14.into();
            }
        }

        // ---- host outputs ----
        self.h_busy.next = self.busy_any.val();
        self.h_done.next = self.done_q.q.val();
        self.h_err.next = self.err_q.q.val();
        self.h_code.next = self.code_q.q.val();
        self.h_loaded.next = self.loader.loaded.val();
        self.h_loading.next = self.loader.loading.val();
        self.h_load_words.next = self.loader.load_words.val();
        self.h_layers.next = 0.into();
        if self.loader.loaded.val() {
            self.h_layers.next = self.loader.hdr_layers.val();
        }
        self.h_class.next = self.class_q.q.val();
        self.h_cycles.next = self.cycles.q.val();
        self.h_count.next = self.count.q.val();
        self.h_lg_data.next = self.logits.rdata.val();
        self.h_lc_data.next = self.lcyc.rdata.val() & self.c_lc_mask.val();
    }
}

/// [`crate::rtlsim::Lockstep`] for the engine types the tests run under
/// Icarus (L = 8 and 32 with the narrow sequencer; the UP5K configuration's
/// wide one).
macro_rules! net_core_lockstep {
    ($($ty:ty),*) => {$(
        crate::lockstep_block!(
            $ty,
            inputs [h_load_begin, h_load_end, h_infer, h_soft_reset, h_clr_done, h_clr_err, h_img_we, h_img_in_order, h_in_we, h_in_first, h_wdata, h_lg_addr, h_lc_addr],
            outputs [h_busy, h_done, h_err, h_code, h_loaded, h_loading, h_load_words, h_layers, h_class, h_cycles, h_count, h_lg_data, h_lc_data]
        );
    )*};
}
net_core_lockstep!(NetCore<8, 32, 18>, NetCore<32, 32, 18>, NetCore<32, 32, 24>);
