//! Model image loader (docs/model-image.md section 6, register map v2):
//! LOAD_BEGIN, the IMAGE window's in-order word writes, LOAD_END and its
//! checks, and the routing of each accepted word into the descriptor, tile
//! or constants memory.
//!
//! - `ld_begin` (CTRL.LOAD_BEGIN accepted): drops the model (`loaded` = 0),
//!   clears the word counter, the running checksum, the header registers and
//!   the out-of-order flag; `loading` = 1.
//! - `we` with `widx`, `wdata` (an IMAGE write the control block let through,
//!   i.e. not while BUSY): accepted iff `loading` and `widx` equals the word
//!   counter; otherwise the write is ignored and recorded (out of order).
//! - `ld_end` (CTRL.LOAD_END accepted): without a load in progress the result is
//!   LOAD_SEQUENCE at once; otherwise `checking` is 1 for [`LOADER_CHECK_CYCLES`]
//!   cycles, then `loaded` rises, or `err` pulses with `err_code`, the first
//!   failing check in the order BAD_MAGIC, BAD_VERSION, LOAD_SEQUENCE,
//!   BAD_CHECKSUM, IMAGE_FIT, exactly as `tbn_driver::image::format::check_image`
//!   (and `RefChip`) report them.
//! - `abort` (CTRL.SOFT_RESET): drops a partial load or a running check (no
//!   model afterwards in both cases); a loaded model stays loaded.
//! - `drop`: the model is no longer valid (e.g. a job-mode write into a shared
//!   memory).
//!
//! How the checks stay cheap (no word of the image is stored here beyond the
//! header fields the engine needs):
//!
//! - Header words are checked as they arrive: magic, version major, and every
//!   capacity comparison of IMAGE_FIT through one 32-bit comparator against a
//!   capacity selected by the word index (registered flags).
//! - The checksum of docs/model-image.md section 2.5 runs over all words but the
//!   last two: the last two accepted words are held in `last1`/`last2`, and a
//!   word enters the sums when it leaves that window (`s1 += last2` on the
//!   write, `s2 += s1` one cycle later). At LOAD_END, `(s1, s2)` must equal
//!   `(last2, last1)`.
//! - The section sizes: the header keeps NUM_LAYERS (16 bits), TILE_WORDS
//!   and CONST_WORDS (20 bits) and TOTAL_WORDS (18 bits), each with a "too
//!   large" flag: the word counter is below 2^18, so any of NUM_LAYERS >=
//!   2^16, TILE_WORDS or CONST_WORDS >= 2^20, TOTAL_WORDS >= 2^18 fails the
//!   LOAD_SEQUENCE check; the section bounds are then exact 22-bit sums.
//!   `16 + 16 NUM_LAYERS + TILE_WORDS + CONST_WORDS + 2` equals the word
//!   counter iff the section walk below ended on the second checksum word.
//!
//! Routing (`r_we`, `r_sel`, `r_addr`, `r_data`), two cycles after the
//! accepted write: `r_sel` 1 descriptor memory (address = index - 16), 2 tile
//! memory (index - tile section start), 3 constants memory (index - constants
//! section start); words at or beyond a memory's capacity (16 words per
//! layer up to CFG_MAX_LAYERS, CFG_WEIGHT_WORDS, CFG_CONST_WORDS) are not
//! routed (the fit check fails for such images). Header and checksum words
//! are not routed. No subtractor or magnitude comparator per section: the
//! accepted words come in index order, so a section walk follows them (a
//! word whose index equals a section start, one equality per bound, begins
//! that section at address 0, any other word takes the next address of its
//! predecessor's section; a word past the capacity, one equality with a
//! constant, ends the routing until the next section). The section bounds
//! are computed from the header registers in a registered chain that
//! settles within 3 cycles of word 6, long before word 16 can arrive.

use rust_hdl::prelude::*;
use tbn_driver::image::format::{Target, MAGIC, VERSION_MAJOR};

use crate::util::c32;

/// Cycles STATUS.BUSY stays 1 after LOAD_END while the image is checked.
pub const LOADER_CHECK_CYCLES: usize = 3;

/// `r_sel` codes.
pub mod route {
    /// Descriptor memory.
    pub const DESC: u8 = 1;
    /// Tile (weight) memory.
    pub const TILE: u8 = 2;
    /// Constants memory.
    pub const CONST: u8 = 3;
}

// Error codes (register map) the loader reports, as literals in the
// generated logic: 8 BAD_MAGIC, 9 BAD_VERSION, 10 LOAD_SEQUENCE,
// 11 BAD_CHECKSUM, 12 IMAGE_FIT (checked against `ErrorCode` below).
const _: () = {
    use tbn_driver::regmap::ErrorCode as E;
    assert!(E::BadMagic as u8 == 8 && E::BadVersion as u8 == 9);
    assert!(E::LoadSequence as u8 == 10 && E::BadChecksum as u8 == 11);
    assert!(E::ImageFit as u8 == 12);
};

/// The image loader.
#[derive(LogicBlock)]
pub struct ImageLoader {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// CTRL.LOAD_BEGIN accepted (not busy).
    pub ld_begin: Signal<In, Bit>,
    /// CTRL.LOAD_END accepted (not busy).
    pub ld_end: Signal<In, Bit>,
    /// CTRL.SOFT_RESET.
    pub abort: Signal<In, Bit>,
    /// The loaded model is no longer valid.
    pub drop: Signal<In, Bit>,
    /// IMAGE window write (not while busy).
    pub we: Signal<In, Bit>,
    /// Its word index.
    pub widx: Signal<In, Bits<17>>,
    /// Its data.
    pub wdata: Signal<In, Bits<32>>,
    /// Between LOAD_BEGIN and LOAD_END (STATUS.LOADING).
    pub loading: Signal<Out, Bit>,
    /// LOAD_WORDS: words accepted since LOAD_BEGIN (0 when not loading).
    pub load_words: Signal<Out, Bits<18>>,
    /// LOAD_END checks running (part of STATUS.BUSY).
    pub checking: Signal<Out, Bit>,
    /// STATUS.MODEL_LOADED.
    pub loaded: Signal<Out, Bit>,
    /// A load error (one-cycle pulse with `err_code`).
    pub err: Signal<Out, Bit>,
    /// Its code.
    pub err_code: Signal<Out, Bits<4>>,
    /// NUM_LAYERS of the image (valid while `loaded`; MODEL_LAYERS reads it then).
    pub hdr_layers: Signal<Out, Bits<8>>,
    /// NUM_IN.
    pub hdr_num_in: Signal<Out, Bits<17>>,
    /// NUM_OUT.
    pub hdr_num_out: Signal<Out, Bits<17>>,
    /// IN_FMT (bits 3:0 A, bit 8 signed).
    pub hdr_in_fmt: Signal<Out, Bits<9>>,
    /// Route a word into a memory.
    pub r_we: Signal<Out, Bit>,
    /// Which memory (see [`route`]).
    pub r_sel: Signal<Out, Bits<2>>,
    /// Word address in that memory.
    pub r_addr: Signal<Out, Bits<17>>,
    /// The word.
    pub r_data: Signal<Out, Bits<32>>,
    // state
    load_q: DFF<Bit>,
    count: DFF<Bits<18>>,
    ooo: DFF<Bit>,
    s1: DFF<Bits<32>>,
    s2: DFF<Bits<32>>,
    s2_pend: DFF<Bit>,
    last1: DFF<Bits<32>>,
    last2: DFF<Bits<32>>,
    magic_ok: DFF<Bit>,
    ver_ok: DFF<Bit>,
    fit_bad: DFF<Bit>,
    // header sizes: the low bits the bounds need, and "too large" flags
    total: DFF<Bits<18>>,
    total_hi: DFF<Bit>,
    nl: DFF<Bits<16>>,
    nl_hi: DFF<Bit>,
    tile_w: DFF<Bits<20>>,
    tile_hi: DFF<Bit>,
    const_w: DFF<Bits<20>>,
    const_hi: DFF<Bit>,
    num_in: DFF<Bits<17>>,
    num_out: DFF<Bits<17>>,
    in_fmt: DFF<Bits<9>>,
    loaded_q: DFF<Bit>,
    // section bounds (22 bits)
    tile_start: DFF<Bits<22>>,
    const_start: DFF<Bits<22>>,
    csum_start: DFF<Bits<22>>,
    // the section walk (stage 1): section of the last accepted word (0
    // header, 1 descriptors, 2 tiles, 3 constants, 4 checksum and beyond),
    // its address in the section, and "past the section's capacity"
    sec: DFF<Bits<3>>,
    rel: DFF<Bits<17>>,
    over: DFF<Bit>,
    // stage 1: the accepted write, registered
    a1_we: DFF<Bit>,
    a1_idx: DFF<Bits<17>>,
    a1_data: DFF<Bits<32>>,
    // stage 2: the route
    o_we: DFF<Bit>,
    o_sel: DFF<Bits<2>>,
    o_addr: DFF<Bits<17>>,
    o_data: DFF<Bits<32>>,
    // checks
    chk: DFF<Bits<2>>,
    seq_bad: DFF<Bit>,
    csum_bad: DFF<Bit>,
    err_q: DFF<Bit>,
    code_q: DFF<Bits<4>>,
    // locals
    accept: Signal<Local, Bit>,
    cap: Signal<Local, Bits<32>>,
    idx22: Signal<Local, Bits<22>>,
    big: Signal<Local, Bit>,
    full: Signal<Local, Bit>,
    sec_n: Signal<Local, Bits<3>>,
    rel_n: Signal<Local, Bits<17>>,
    over_n: Signal<Local, Bit>,
    // constants
    c_magic: Constant<Bits<32>>,
    c_major: Constant<Bits<32>>,
    c_lanes: Constant<Bits<32>>,
    c_max_layers: Constant<Bits<32>>,
    c_weight_words: Constant<Bits<32>>,
    c_const_words: Constant<Bits<32>>,
    c_max_in: Constant<Bits<32>>,
    c_tile_max: Constant<Bits<32>>,
    c_max_d: Constant<Bits<32>>,
    c_max_out: Constant<Bits<32>>,
    c_max_abits: Constant<Bits<32>>,
    c_max_logits: Constant<Bits<32>>,
    c_v_bits: Constant<Bits<32>>,
    c_all: Constant<Bits<32>>,
    c_desc_last: Constant<Bits<17>>,
    c_tile_last: Constant<Bits<17>>,
    c_const_last: Constant<Bits<17>>,
}

/// The last routed address of a memory of `cap` words (at least 1) as a
/// 17-bit constant, saturated: a section address stays below 2^17 - 16, so
/// a saturated value is never reached, as `address < cap` then always holds.
fn last17(cap: u64) -> Constant<Bits<17>> {
    assert!(cap >= 1, "a routed memory has at least one word");
    Constant::new((cap - 1).min((1 << 17) - 1).to_bits())
}

impl ImageLoader {
    /// A loader checking against the capacities of `t` (the chip's CFG_* values).
    pub fn new(t: &Target) -> Self {
        ImageLoader {
            clk: Default::default(),
            ld_begin: Default::default(),
            ld_end: Default::default(),
            abort: Default::default(),
            drop: Default::default(),
            we: Default::default(),
            widx: Default::default(),
            wdata: Default::default(),
            loading: Default::default(),
            load_words: Default::default(),
            checking: Default::default(),
            loaded: Default::default(),
            err: Default::default(),
            err_code: Default::default(),
            hdr_layers: Default::default(),
            hdr_num_in: Default::default(),
            hdr_num_out: Default::default(),
            hdr_in_fmt: Default::default(),
            r_we: Default::default(),
            r_sel: Default::default(),
            r_addr: Default::default(),
            r_data: Default::default(),
            load_q: Default::default(),
            count: Default::default(),
            ooo: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            s2_pend: Default::default(),
            last1: Default::default(),
            last2: Default::default(),
            magic_ok: Default::default(),
            ver_ok: Default::default(),
            fit_bad: Default::default(),
            total: Default::default(),
            total_hi: Default::default(),
            nl: Default::default(),
            nl_hi: Default::default(),
            tile_w: Default::default(),
            tile_hi: Default::default(),
            const_w: Default::default(),
            const_hi: Default::default(),
            num_in: Default::default(),
            num_out: Default::default(),
            in_fmt: Default::default(),
            loaded_q: Default::default(),
            tile_start: Default::default(),
            const_start: Default::default(),
            csum_start: Default::default(),
            sec: Default::default(),
            rel: Default::default(),
            over: Default::default(),
            a1_we: Default::default(),
            a1_idx: Default::default(),
            a1_data: Default::default(),
            o_we: Default::default(),
            o_sel: Default::default(),
            o_addr: Default::default(),
            o_data: Default::default(),
            chk: Default::default(),
            seq_bad: Default::default(),
            csum_bad: Default::default(),
            err_q: Default::default(),
            code_q: Default::default(),
            accept: Default::default(),
            cap: Default::default(),
            idx22: Default::default(),
            big: Default::default(),
            full: Default::default(),
            sec_n: Default::default(),
            rel_n: Default::default(),
            over_n: Default::default(),
            c_magic: c32(MAGIC),
            c_major: c32(VERSION_MAJOR),
            c_lanes: c32(t.lanes),
            c_max_layers: c32(t.max_layers),
            c_weight_words: c32(t.weight_words),
            c_const_words: c32(t.const_words),
            c_max_in: c32(t.max_in),
            c_tile_max: c32(t.tile_max),
            c_max_d: c32(t.max_d),
            c_max_out: c32(t.max_out),
            c_max_abits: c32(t.max_abits),
            c_max_logits: c32(t.max_logits),
            c_v_bits: c32(t.v_bits),
            c_all: c32(u32::MAX),
            c_desc_last: last17(16 * u64::from(t.max_layers)),
            c_tile_last: last17(u64::from(t.weight_words)),
            c_const_last: last17(u64::from(t.const_words)),
        }
    }
}

impl Logic for ImageLoader {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            load_q,
            count,
            ooo,
            s1,
            s2,
            s2_pend,
            last1,
            last2,
            magic_ok,
            ver_ok,
            fit_bad,
            total,
            total_hi,
            nl,
            nl_hi,
            tile_w,
            tile_hi,
            const_w,
            const_hi,
            num_in,
            num_out,
            in_fmt,
            loaded_q,
            tile_start,
            const_start,
            csum_start,
            sec,
            rel,
            over,
            a1_we,
            a1_idx,
            a1_data,
            o_we,
            o_sel,
            o_addr,
            o_data,
            chk,
            seq_bad,
            csum_bad,
            err_q,
            code_q
        );
        // ---- accepting a write: in order, while loading ----
        self.accept.next = self.we.val()
            & self.load_q.q.val()
            & (bit_cast::<18, 17>(self.widx.val()) == self.count.q.val());
        if self.we.val() & !self.accept.val() {
            self.ooo.d.next = true;
        }
        self.a1_we.d.next = self.accept.val();
        self.a1_idx.d.next = self.widx.val();
        self.a1_data.d.next = self.wdata.val();
        if self.accept.val() {
            self.count.d.next = self.count.q.val() + 1;
            self.last1.d.next = self.wdata.val();
            self.last2.d.next = self.last1.q.val();
            // the word leaving the two-word window enters the checksum
            if (self.count.q.val() & 0x3_FFFE) != 0 {
                self.s1.d.next = self.s1.q.val() + self.last2.q.val();
                self.s2_pend.d.next = true;
            }
        }
        if self.s2_pend.q.val() {
            self.s2.d.next = self.s2.q.val() + self.s1.q.val();
            self.s2_pend.d.next = false;
        }
        // ---- stage 1: header words (checks, fields) ----
        self.cap.next = self.c_all.val();
        if self.a1_idx.q.val() == 4 {
            self.cap.next = self.c_max_layers.val();
        } else if self.a1_idx.q.val() == 5 {
            self.cap.next = self.c_weight_words.val();
        } else if self.a1_idx.q.val() == 6 {
            self.cap.next = self.c_const_words.val();
        } else if self.a1_idx.q.val() == 7 {
            self.cap.next = self.c_max_in.val();
        } else if self.a1_idx.q.val() == 8 {
            self.cap.next = self.c_tile_max.val();
        } else if self.a1_idx.q.val() == 9 {
            self.cap.next = self.c_max_d.val();
        } else if self.a1_idx.q.val() == 10 {
            self.cap.next = self.c_max_out.val();
        } else if self.a1_idx.q.val() == 11 {
            self.cap.next = self.c_max_abits.val();
        } else if self.a1_idx.q.val() == 13 {
            self.cap.next = self.c_max_logits.val();
        } else if self.a1_idx.q.val() == 15 {
            self.cap.next = self.c_v_bits.val();
        }
        if self.a1_we.q.val() {
            if self.a1_data.q.val() > self.cap.val() {
                self.fit_bad.d.next = true;
            }
            if self.a1_idx.q.val() == 0 {
                self.magic_ok.d.next = self.a1_data.q.val() == self.c_magic.val();
            }
            if self.a1_idx.q.val() == 1 {
                self.ver_ok.d.next = (self.a1_data.q.val() >> 16) == self.c_major.val();
            }
            if self.a1_idx.q.val() == 2 {
                self.total.d.next = bit_cast::<18, 32>(self.a1_data.q.val());
                self.total_hi.d.next = (self.a1_data.q.val() >> 18) != 0;
            }
            if (self.a1_idx.q.val() == 3) & (self.a1_data.q.val() != self.c_lanes.val()) {
                self.fit_bad.d.next = true;
            }
            if self.a1_idx.q.val() == 4 {
                self.nl.d.next = bit_cast::<16, 32>(self.a1_data.q.val());
                self.nl_hi.d.next = (self.a1_data.q.val() >> 16) != 0;
                if self.a1_data.q.val() == 0 {
                    self.fit_bad.d.next = true;
                }
            }
            if self.a1_idx.q.val() == 5 {
                self.tile_w.d.next = bit_cast::<20, 32>(self.a1_data.q.val());
                self.tile_hi.d.next = (self.a1_data.q.val() >> 20) != 0;
            }
            if self.a1_idx.q.val() == 6 {
                self.const_w.d.next = bit_cast::<20, 32>(self.a1_data.q.val());
                self.const_hi.d.next = (self.a1_data.q.val() >> 20) != 0;
            }
            if self.a1_idx.q.val() == 12 {
                self.num_in.d.next = bit_cast::<17, 32>(self.a1_data.q.val());
            }
            if self.a1_idx.q.val() == 13 {
                self.num_out.d.next = bit_cast::<17, 32>(self.a1_data.q.val());
            }
            if self.a1_idx.q.val() == 14 {
                self.in_fmt.d.next = bit_cast::<9, 32>(self.a1_data.q.val());
            }
        }
        // ---- section bounds (a registered chain from the header registers;
        // exact below 2^22 unless `big`) ----
        self.big.next = self.nl_hi.q.val() | self.tile_hi.q.val() | self.const_hi.q.val();
        self.tile_start.d.next = (bit_cast::<22, 16>(self.nl.q.val()) << 4) + 16;
        self.const_start.d.next = self.tile_start.q.val() + bit_cast::<22, 20>(self.tile_w.q.val());
        self.csum_start.d.next =
            self.const_start.q.val() + bit_cast::<22, 20>(self.const_w.q.val());
        // ---- stage 2: route the word ----
        // Accepted words come in index order, so the section walk follows
        // them: a word whose index equals a section's start (the bounds are
        // at least 16 and increase, the last equal one wins, so empty
        // sections are skipped) begins that section at address 0; any other
        // word is the next address of the last word's section. A word at or
        // past the section's capacity is dropped (`over`, until the next
        // section).
        self.idx22.next = bit_cast::<22, 17>(self.a1_idx.q.val());
        self.full.next = false;
        if self.sec.q.val() == 1 {
            self.full.next = self.rel.q.val() == self.c_desc_last.val();
        }
        if self.sec.q.val() == 2 {
            self.full.next = self.rel.q.val() == self.c_tile_last.val();
        }
        if self.sec.q.val() == 3 {
            self.full.next = self.rel.q.val() == self.c_const_last.val();
        }
        self.sec_n.next = self.sec.q.val();
        self.rel_n.next = self.rel.q.val() + 1;
        self.over_n.next = self.over.q.val() | self.full.val();
        if self.idx22.val() == self.csum_start.q.val() {
            self.sec_n.next = 4.into();
            self.rel_n.next = 0.into();
            self.over_n.next = false;
        } else if self.idx22.val() == self.const_start.q.val() {
            self.sec_n.next = 3.into();
            self.rel_n.next = 0.into();
            self.over_n.next = false;
        } else if self.idx22.val() == self.tile_start.q.val() {
            self.sec_n.next = 2.into();
            self.rel_n.next = 0.into();
            self.over_n.next = false;
        } else if self.a1_idx.q.val() == 16 {
            self.sec_n.next = 1.into();
            self.rel_n.next = 0.into();
            self.over_n.next = false;
        }
        if self.a1_we.q.val() {
            self.sec.d.next = self.sec_n.val();
            self.rel.d.next = self.rel_n.val();
            self.over.d.next = self.over_n.val();
        }
        self.o_we.d.next = self.a1_we.q.val()
            & (self.sec_n.val() != 0)
            & !self.sec_n.val().get_bit(2)
            & !self.over_n.val();
        self.o_sel.d.next = self.sec_n.val().get_bits::<2>(0);
        self.o_data.d.next = self.a1_data.q.val();
        self.o_addr.d.next = self.rel_n.val();
        // ---- LOAD_END checks ----
        self.err_q.d.next = false;
        if self.chk.q.val() == 1 {
            // the last write's s2 update and section walk have landed
            // (LOAD_END follows it by at least 2 cycles); the flags of the
            // checks. Unless `big`, the section sizes add up to the word
            // count iff the walk ended on the second checksum word.
            self.seq_bad.d.next = self.big.val()
                | (self.sec.q.val() != 4)
                | (self.rel.q.val() != 1)
                | self.total_hi.q.val()
                | (self.total.q.val() != self.count.q.val())
                | self.ooo.q.val();
            self.csum_bad.d.next =
                (self.s1.q.val() != self.last2.q.val()) | (self.s2.q.val() != self.last1.q.val());
            self.chk.d.next = 2.into();
        }
        if self.chk.q.val() == 2 {
            self.chk.d.next = 3.into();
        }
        if self.chk.q.val() == 3 {
            self.chk.d.next = 0.into();
            self.count.d.next = 0.into();
            if !self.magic_ok.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 8.into();
            } else if !self.ver_ok.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 9.into();
            } else if self.seq_bad.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 10.into();
            } else if self.csum_bad.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 11.into();
            } else if self.fit_bad.q.val() {
                self.err_q.d.next = true;
                self.code_q.d.next = 12.into();
            } else {
                self.loaded_q.d.next = true;
            }
        }
        if self.ld_end.val() {
            if self.load_q.q.val() {
                self.load_q.d.next = false;
                self.chk.d.next = 1.into();
            } else {
                self.err_q.d.next = true;
                self.code_q.d.next = 10.into();
            }
        }
        if self.drop.val() {
            self.loaded_q.d.next = false;
        }
        if self.ld_begin.val() {
            self.loaded_q.d.next = false;
            self.load_q.d.next = true;
            self.count.d.next = 0.into();
            self.ooo.d.next = false;
            self.s1.d.next = 0.into();
            self.s2.d.next = 0.into();
            self.s2_pend.d.next = false;
            self.last1.d.next = 0.into();
            self.last2.d.next = 0.into();
            self.magic_ok.d.next = false;
            self.ver_ok.d.next = false;
            self.fit_bad.d.next = false;
            self.total.d.next = 0.into();
            self.total_hi.d.next = false;
            self.nl.d.next = 0.into();
            self.nl_hi.d.next = false;
            self.tile_w.d.next = 0.into();
            self.tile_hi.d.next = false;
            self.const_w.d.next = 0.into();
            self.const_hi.d.next = false;
            self.sec.d.next = 0.into();
            self.rel.d.next = 0.into();
            self.over.d.next = false;
            self.num_in.d.next = 0.into();
            self.num_out.d.next = 0.into();
            self.in_fmt.d.next = 0.into();
            self.a1_we.d.next = false;
            self.chk.d.next = 0.into();
        }
        if self.abort.val() {
            self.load_q.d.next = false;
            self.count.d.next = 0.into();
            self.a1_we.d.next = false;
            self.o_we.d.next = false;
            self.err_q.d.next = false;
            if self.chk.q.val() != 0 {
                self.loaded_q.d.next = false;
            }
            self.chk.d.next = 0.into();
        }
        // ---- outputs ----
        self.loading.next = self.load_q.q.val();
        self.load_words.next = 0.into();
        if self.load_q.q.val() {
            self.load_words.next = self.count.q.val();
        }
        self.checking.next = self.chk.q.val() != 0;
        self.loaded.next = self.loaded_q.q.val();
        self.err.next = self.err_q.q.val();
        self.err_code.next = self.code_q.q.val();
        self.hdr_layers.next = bit_cast::<8, 16>(self.nl.q.val());
        self.hdr_num_in.next = self.num_in.q.val();
        self.hdr_num_out.next = self.num_out.q.val();
        self.hdr_in_fmt.next = self.in_fmt.q.val();
        self.r_we.next = self.o_we.q.val();
        self.r_sel.next = self.o_sel.q.val();
        self.r_addr.next = self.o_addr.q.val();
        self.r_data.next = self.o_data.q.val();
    }
}

crate::lockstep_block!(
    ImageLoader,
    inputs [ld_begin, ld_end, abort, drop, we, widx, wdata],
    outputs [loading, load_words, checking, loaded, err, err_code, hdr_layers, hdr_num_in, hdr_num_out, hdr_in_fmt, r_we, r_sel, r_addr, r_data]
);
