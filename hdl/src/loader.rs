//! Model image loader (docs/model-image.md section 6, register map v2):
//! LOAD_BEGIN, the IMAGE window's in-order word writes, LOAD_END and its
//! checks, and the routing of each accepted word into the descriptor, tile
//! or constants memory.
//!
//! - `ld_begin` (CTRL.LOAD_BEGIN accepted): drops the model (`loaded` = 0),
//!   clears the word counter, the running checksum, the header registers and
//!   the out-of-order flag; `loading` = 1.
//! - `we` with `in_order`, `wdata` (an IMAGE write the control block let
//!   through, i.e. not while BUSY; `in_order`: its index equals LOAD_WORDS,
//!   compared by the bus top in the access cycle, off this block's enables):
//!   accepted iff `loading` and `in_order`; otherwise the write is ignored
//!   and recorded (out of order).
//!   **`wdata` holds its value in the cycle after `we`**, and writes come
//!   at most every other cycle (as from `NetTop`, whose write request
//!   registers hold the data until its next access, which acts two cycles
//!   later at the earliest, or from the SPI bridge, whose data word holds
//!   until the next word is shifted in): the loader reads it again in that
//!   cycle instead of keeping a copy.
//! - `ld_end` (CTRL.LOAD_END accepted, at least two cycles after the last
//!   write): without a load in progress the result is LOAD_SEQUENCE at once;
//!   otherwise `checking` is 1 for [`LOADER_CHECK_CYCLES`] cycles, then
//!   `loaded` rises, or `err` pulses with `err_code`, the first failing check
//!   in the order BAD_MAGIC, BAD_VERSION, LOAD_SEQUENCE, BAD_CHECKSUM,
//!   IMAGE_FIT, exactly as `tbn_driver::image::format::check_image` (and
//!   `RefChip`) report them.
//! - Formats: 1.0 (16-word header and descriptors) always; 2.0 (conv and
//!   max-pool layers, docs/model-image.md section 9: 32-word header and
//!   descriptors, header words 18-21 checked against CFG_MAX_FMAP,
//!   CFG_MAX_CHANNELS, CFG_MAX_HW, CFG_MAX_KERNEL) only when the target has
//!   feature maps (`Target::maps.supports_conv()`); otherwise major 2 is
//!   BAD_VERSION, as for `check_image`. `hdr_conv`: the image is format 2
//!   (registered at its version word, word 1; valid while `loaded`). On a
//!   target without maps the format-2 logic is constant and pruned.
//! - `abort` (CTRL.SOFT_RESET): drops a partial load or a running check (no
//!   model afterwards in both cases); a loaded model stays loaded.
//! - `drop`: the model is no longer valid (e.g. a job-mode write into a shared
//!   memory).
//! - `share_we`, `share_data`, `share_a/b/c`: the registers of TILE_WORDS,
//!   CONST_WORDS and TOTAL_WORDS (24 bits each) are read only by a load and
//!   its checks; outside a load the network sequencer keeps three
//!   descriptor fields in them (it writes them only while BUSY for an
//!   inference, when no load can run), so the engine needs no registers of
//!   its own for those fields. LOAD_BEGIN clears them.
//!
//! How the checks stay cheap (no word of the image is stored here beyond the
//! header fields the engine needs):
//!
//! - Header words are checked in the cycle after their write (the section
//!   walk below says which header word it is, 5 bits: format 2's words 16-31;
//!   bit 4 constant 0 without maps): magic, version major, and every
//!   capacity comparison of IMAGE_FIT (format 2: words 18-21 too) through
//!   one comparator against a capacity selected by the word index
//!   (registered flags).
//! - The checksum of docs/model-image.md section 2.5 (`s1 += w`, `s2 += s1`)
//!   runs over every accepted word; the image is valid iff its second-to-last
//!   word `w` equals `s1` before it (checked as each word arrives, flag `m1`)
//!   and its last word equals `s2` before the second-to-last, i.e. `s1 + w ==
//!   s2` after the last word entered `s1` but before it entered `s2` (checked
//!   in the cycle after each word, flag `csum_ok`). No image word is held.
//! - The section sizes: the header keeps NUM_LAYERS (14 bits), TILE_WORDS
//!   and CONST_WORDS (18) and TOTAL_WORDS (18) and one "too large" flag
//!   (`big`): the word counter stays at or below 2^17, so any of NUM_LAYERS >=
//!   2^14, TILE_WORDS, CONST_WORDS or TOTAL_WORDS >= 2^18 fails the
//!   LOAD_SEQUENCE check. Otherwise `H + H NUM_LAYERS + TILE_WORDS +
//!   CONST_WORDS + 2` (H = 16 in format 1, 32 in format 2) equals the word
//!   counter iff the section walk below ends just past the second checksum
//!   word.
//!
//! Routing (`r_we`, `r_sel`, `r_addr`, `r_data`, registered: two cycles
//! after the accepted write, from flip-flops into the memories' write
//! enables and bank decodes): `r_sel` 1 descriptor memory (address = index - H:
//! layer `l`'s word `k` at `H l + k`), 2
//! tile memory (index - tile section start), 3 constants memory (index -
//! constants section start), `r_data` the held `wdata`. Header and checksum
//! words are not routed; words beyond a memory's capacity are routed (the
//! memories drop writes past their depth; the fit check fails for such
//! images, so no model is loaded from them). No subtractor, adder or
//! magnitude comparator per section: the accepted words come in index order,
//! so a section walk follows them. Registers `sec`, `rel` hold the section
//! and address of the next word (the routed word's, in the cycle after its
//! write); after each word the address counts up, and where it reaches the
//! section's size (the end flag registered in the cycle between two words) (one equality per section against the header register:
//! H words, `H NUM_LAYERS`, TILE_WORDS, CONST_WORDS; the header's last
//! address becomes 31 at a format-2 version word, which arrives long before
//! word 15) the walk moves to the
//! next non-empty section at address 0 (flags of the empty sections kept
//! from the header words). The checksum section never ends: the walk ends at
//! its address 2 iff the sizes add up to the word count.

use rust_hdl::prelude::*;
use tbn_driver::image::format::{Target, MAGIC, VERSION_CONV_MAJOR, VERSION_MAJOR};

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
    // format 2's major version, a literal in the generated logic
    assert!(VERSION_CONV_MAJOR == 2);
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
    /// Its word index equals `load_words` (compared in the write's access
    /// cycle: the counter does not change between the two).
    pub in_order: Signal<In, Bit>,
    /// Its data (held in the next cycle).
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
    /// The image is format 2 (conv and max-pool layers; 32-word header and
    /// descriptors): registered at its version word, valid while `loaded`.
    /// Always 0 on a target without feature maps.
    pub hdr_conv: Signal<Out, Bit>,
    /// Route a word into a memory.
    pub r_we: Signal<Out, Bit>,
    /// Which memory (see [`route`]).
    pub r_sel: Signal<Out, Bits<2>>,
    /// Word address in that memory.
    pub r_addr: Signal<Out, Bits<17>>,
    /// The word.
    pub r_data: Signal<Out, Bits<32>>,
    /// Write `share_data` into the shared registers (bit 0: `share_a`, 1:
    /// `share_b`, 2: `share_c`); never while loading or checking.
    pub share_we: Signal<In, Bits<3>>,
    /// Data for the shared registers.
    pub share_data: Signal<In, Bits<24>>,
    /// Shared register a (TILE_WORDS while loading).
    pub share_a: Signal<Out, Bits<24>>,
    /// Shared register b (CONST_WORDS while loading).
    pub share_b: Signal<Out, Bits<24>>,
    /// Shared register c (TOTAL_WORDS while loading).
    pub share_c: Signal<Out, Bits<24>>,
    // state; the word counter is 0 when not loading
    load_q: DFF<Bit>,
    count: DFF<Bits<18>>,
    ooo: DFF<Bit>,
    // checksum: the running sums and the flags of the last two words
    s1: DFF<Bits<32>>,
    s2: DFF<Bits<32>>,
    s2_pend: DFF<Bit>,
    m1: DFF<Bit>,
    m1p: DFF<Bit>,
    csum_ok: DFF<Bit>,
    // header checks and fields
    magic_ok: DFF<Bit>,
    ver_ok: DFF<Bit>,
    /// Format 2 (the version word's major is 2 and the target has maps).
    v2: DFF<Bit>,
    fit_bad: DFF<Bit>,
    big: DFF<Bit>,
    total: DFF<Bits<24>>,
    nl: DFF<Bits<14>>,
    nl0: DFF<Bit>,
    tile_w: DFF<Bits<24>>,
    tile0: DFF<Bit>,
    const_w: DFF<Bits<24>>,
    const0: DFF<Bit>,
    num_in: DFF<Bits<17>>,
    num_out: DFF<Bits<17>>,
    in_fmt: DFF<Bits<9>>,
    loaded_q: DFF<Bit>,
    // the section walk: section of the next word (0 header, 1 descriptors,
    // 2 tiles, 3 constants, 4 checksum and beyond) and its address there
    sec: DFF<Bits<3>>,
    rel: DFF<Bits<18>>,
    // the accepted write, registered (its index and data are held)
    a1_we: DFF<Bit>,
    // checks
    chk: DFF<Bits<2>>,
    // LOAD_SEQUENCE's two wide terms, registered every cycle: the walk did
    // not end just past the second checksum word; the word count differs
    // from TOTAL_WORDS
    walk_bad: DFF<Bit>,
    count_bad: DFF<Bit>,
    seq_bad: DFF<Bit>,
    csum_bad: DFF<Bit>,
    err_q: DFF<Bit>,
    code_q: DFF<Bits<4>>,
    // locals
    accept: Signal<Local, Bit>,
    hdr: Signal<Local, Bit>,
    hidx: Signal<Local, Bits<5>>,
    // the header word's index and "in the header" as flip-flops of their
    // own for the field enables (the index is stable for a cycle before a
    // word's walk step: writes come at most every other cycle), so that
    // synthesis does not share their decode with the capacity multiplexer's
    hf: DFF<Bits<5>>,
    in_hdr: DFF<Bit>,
    cap: Signal<Local, Bits<32>>,
    cap_en: Signal<Local, Bit>,
    /// `cap` and `cap_en` registered: valid a cycle after `rel` changes
    /// (words come at most every other cycle), so the comparator starts at
    /// flip-flops (the capacity bits above the widest are constant zero).
    cap_q: DFF<Bits<32>>,
    cap_en_q: DFF<Bit>,
    // the route, registered
    r_we_q: DFF<Bit>,
    r_sel_q: DFF<Bits<2>>,
    r_addr_q: DFF<Bits<17>>,
    r_data_q: DFF<Bits<32>>,
    above_cap: Signal<Local, Bit>,
    dzero: Signal<Local, Bit>,
    z18: Signal<Local, Bit>,
    z16: Signal<Local, Bit>,
    z14: Signal<Local, Bit>,
    hi_cap: Signal<Local, Bit>,
    rel_n: Signal<Local, Bits<18>>,
    sec_end: Signal<Local, Bit>,
    /// `sec_end` registered: computed in the cycle after a word's walk step
    /// (writes come at most every other cycle), used at the next word (the
    /// incrementer and the equality in one cycle with the walk's enable
    /// missed 48 MHz on the UP5K)
    end_q: DFF<Bit>,
    sec_next: Signal<Local, Bits<3>>,
    /// Words of the descriptor section: `16 NUM_LAYERS`, format 2 `32 NUM_LAYERS`.
    desc_n: Signal<Local, Bits<19>>,
    /// Word 1 (when it is the word in the header check): a format-2
    /// version on a target with maps.
    maj2: Signal<Local, Bit>,
    /// The last address of the section being walked (15 in the header, 31
    /// from a format-2 version word on;
    /// bit 18: none, the checksum section or a size beyond the address
    /// range), set when the section begins: the walk's end test is one
    /// equality with a register (no incrementer, no size multiplexer).
    sec_last: DFF<Bits<19>>,
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
    c_max_fmap: Constant<Bits<32>>,
    c_max_channels: Constant<Bits<32>>,
    c_max_hw: Constant<Bits<32>>,
    c_max_kernel: Constant<Bits<32>>,
    /// The target has feature maps: format 2 accepted.
    c_conv: Constant<Bit>,
    /// The header word index's mask: 31, or 15 without maps (bit 4 then
    /// constant 0, so that the format-2 header logic is pruned).
    c_hmask: Constant<Bits<5>>,
    // the bits at and above the widest capacity, and those below
    c_cap_lo: Constant<Bits<32>>,
    c_cap_bits: Constant<Bits<6>>,
}

impl ImageLoader {
    /// A loader checking against the capacities of `t` (the chip's CFG_* values).
    pub fn new(t: &Target) -> Self {
        let caps = [
            t.max_layers,
            t.weight_words,
            t.const_words,
            t.max_in,
            t.tile_max,
            t.max_d,
            t.max_out,
            t.max_abits,
            t.max_logits,
            t.v_bits,
            t.maps.max_fmap,
            t.maps.max_channels,
            t.maps.max_hw,
            t.maps.max_kernel,
        ];
        let conv = t.maps.supports_conv();
        // the comparator's width: 14, 16 or 18 bits (whose "bits above are
        // not all zero" the other header checks need too), else 32
        let cap_bits = 32 - caps.iter().max().copied().unwrap_or(0).leading_zeros();
        let cap_bits = [14, 16, 18, 32]
            .into_iter()
            .find(|&b| cap_bits <= b)
            .unwrap_or(32);
        let cap_lo = u32::MAX.checked_shr(32 - cap_bits).unwrap_or(0);
        assert!(t.lanes < 1 << 18 && VERSION_MAJOR < 4 && VERSION_CONV_MAJOR < 4);
        ImageLoader {
            clk: Default::default(),
            ld_begin: Default::default(),
            ld_end: Default::default(),
            abort: Default::default(),
            drop: Default::default(),
            we: Default::default(),
            in_order: Default::default(),
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
            hdr_conv: Default::default(),
            r_we: Default::default(),
            r_sel: Default::default(),
            r_addr: Default::default(),
            r_data: Default::default(),
            share_we: Default::default(),
            share_data: Default::default(),
            share_a: Default::default(),
            share_b: Default::default(),
            share_c: Default::default(),
            load_q: Default::default(),
            count: Default::default(),
            ooo: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            s2_pend: Default::default(),
            m1: Default::default(),
            m1p: Default::default(),
            csum_ok: Default::default(),
            magic_ok: Default::default(),
            ver_ok: Default::default(),
            v2: Default::default(),
            fit_bad: Default::default(),
            big: Default::default(),
            total: Default::default(),
            nl: Default::default(),
            nl0: Default::default(),
            tile_w: Default::default(),
            tile0: Default::default(),
            const_w: Default::default(),
            const0: Default::default(),
            num_in: Default::default(),
            num_out: Default::default(),
            in_fmt: Default::default(),
            loaded_q: Default::default(),
            sec: Default::default(),
            rel: Default::default(),
            a1_we: Default::default(),
            chk: Default::default(),
            walk_bad: Default::default(),
            count_bad: Default::default(),
            seq_bad: Default::default(),
            csum_bad: Default::default(),
            err_q: Default::default(),
            code_q: Default::default(),
            accept: Default::default(),
            hdr: Default::default(),
            hidx: Default::default(),
            hf: Default::default(),
            in_hdr: Default::default(),
            cap: Default::default(),
            cap_en: Default::default(),
            cap_q: Default::default(),
            cap_en_q: Default::default(),
            r_we_q: Default::default(),
            r_sel_q: Default::default(),
            r_addr_q: Default::default(),
            r_data_q: Default::default(),
            above_cap: Default::default(),
            dzero: Default::default(),
            z18: Default::default(),
            z16: Default::default(),
            z14: Default::default(),
            hi_cap: Default::default(),
            rel_n: Default::default(),
            sec_end: Default::default(),
            end_q: Default::default(),
            sec_next: Default::default(),
            desc_n: Default::default(),
            maj2: Default::default(),
            sec_last: Default::default(),
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
            c_max_fmap: c32(t.maps.max_fmap),
            c_max_channels: c32(t.maps.max_channels),
            c_max_hw: c32(t.maps.max_hw),
            c_max_kernel: c32(t.maps.max_kernel),
            c_conv: Constant::new(conv),
            c_hmask: Constant::new(if conv { 31u64 } else { 15 }.to_bits()),
            c_cap_lo: c32(cap_lo),
            c_cap_bits: Constant::new(u64::from(cap_bits).to_bits()),
        }
    }
}

impl Logic for ImageLoader {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, load_q, count, ooo, s1, s2, s2_pend, m1, m1p, csum_ok, magic_ok, ver_ok, v2,
            fit_bad, big, total, nl, nl0, tile_w, tile0, const_w, const0, num_in, num_out, in_fmt,
            loaded_q, sec, rel, end_q, sec_last, cap_q, cap_en_q, r_we_q, r_sel_q, r_addr_q,
            r_data_q, a1_we, hf, in_hdr, chk, walk_bad, count_bad, seq_bad, csum_bad, err_q,
            code_q
        );
        // ---- accepting a write: in order, while loading ----
        self.accept.next = self.we.val() & self.load_q.q.val() & self.in_order.val();
        if self.we.val() & !self.accept.val() {
            self.ooo.d.next = true;
        }
        self.a1_we.d.next = self.accept.val();
        if self.accept.val() {
            self.count.d.next = self.count.q.val() + 1;
            // the checksum: the word against the sum of the words before it,
            // then into the sum
            self.m1.d.next = self.wdata.val() == self.s1.q.val();
            self.m1p.d.next = self.m1.q.val();
            self.s1.d.next = self.s1.q.val() + self.wdata.val();
            self.s2_pend.d.next = true;
        }
        if self.s2_pend.q.val() {
            // `s1` holds the word, `s2` not yet: the word equals `s2` before
            // the previous word iff `s1 == s2` now
            self.csum_ok.d.next = self.m1p.q.val() & (self.s1.q.val() == self.s2.q.val());
            self.s2.d.next = self.s2.q.val() + self.s1.q.val();
            self.s2_pend.d.next = false;
        }
        // ---- the cycle after an accepted write: header words (checks,
        // fields), the route and the section walk; `widx` and `wdata` are
        // held ----
        // (format 2's header words 16-31 need bit 4: constant 0 without maps)
        self.hidx.next = self.rel.q.val().get_bits::<5>(0) & self.c_hmask.val();
        self.hf.d.next = self.hidx.val();
        self.in_hdr.d.next = self.sec.q.val() == 0;
        self.hdr.next = self.a1_we.q.val() & self.in_hdr.q.val();
        // the word's upper bits zero from bit 18, 16, 14 and 0 on: one tree
        // shared by the size, zero, version, lanes and capacity checks
        self.z18.next = (self.wdata.val() >> 18) == 0;
        self.z16.next = self.z18.val() & (self.wdata.val().get_bits::<2>(16) == 0);
        self.z14.next = self.z16.val() & (self.wdata.val().get_bits::<2>(14) == 0);
        self.dzero.next = self.z14.val() & (self.wdata.val().get_bits::<14>(0) == 0);
        // a format-2 version word (major 2) on a target with maps
        self.maj2.next =
            self.c_conv.val() & self.z18.val() & (self.wdata.val().get_bits::<2>(16) == 2);
        self.hi_cap.next = (self.wdata.val() & !self.c_cap_lo.val()) != 0;
        if self.c_cap_bits.val() == 14 {
            self.hi_cap.next = !self.z14.val();
        }
        if self.c_cap_bits.val() == 16 {
            self.hi_cap.next = !self.z16.val();
        }
        if self.c_cap_bits.val() == 18 {
            self.hi_cap.next = !self.z18.val();
        }
        self.cap_en.next = true;
        self.cap.next = self.c_v_bits.val();
        if self.hidx.val() == 4 {
            self.cap.next = self.c_max_layers.val();
        } else if self.hidx.val() == 5 {
            self.cap.next = self.c_weight_words.val();
        } else if self.hidx.val() == 6 {
            self.cap.next = self.c_const_words.val();
        } else if self.hidx.val() == 7 {
            self.cap.next = self.c_max_in.val();
        } else if self.hidx.val() == 8 {
            self.cap.next = self.c_tile_max.val();
        } else if self.hidx.val() == 9 {
            self.cap.next = self.c_max_d.val();
        } else if self.hidx.val() == 10 {
            self.cap.next = self.c_max_out.val();
        } else if self.hidx.val() == 11 {
            self.cap.next = self.c_max_abits.val();
        } else if self.hidx.val() == 13 {
            self.cap.next = self.c_max_logits.val();
        } else if self.hidx.val() == 18 {
            self.cap.next = self.c_max_fmap.val();
        } else if self.hidx.val() == 19 {
            self.cap.next = self.c_max_channels.val();
        } else if self.hidx.val() == 20 {
            self.cap.next = self.c_max_hw.val();
        } else if self.hidx.val() == 21 {
            self.cap.next = self.c_max_kernel.val();
        } else if self.hidx.val() != 15 {
            self.cap_en.next = false;
        }
        self.cap_q.d.next = self.cap.val();
        self.cap_en_q.d.next = self.cap_en.val();
        // (a comparator only as wide as the widest capacity)
        self.above_cap.next =
            self.hi_cap.val() | ((self.wdata.val() & self.c_cap_lo.val()) > self.cap_q.q.val());
        if self.hdr.val() {
            if self.cap_en_q.q.val() & self.above_cap.val() {
                self.fit_bad.d.next = true;
            }
            if self.hf.q.val() == 0 {
                self.magic_ok.d.next = self.wdata.val() == self.c_magic.val();
            }
            if self.hf.q.val() == 1 {
                self.ver_ok.d.next = self.z18.val()
                    & ((bit_cast::<32, 2>(self.wdata.val().get_bits::<2>(16))
                        == self.c_major.val())
                        | self.maj2.val());
                self.v2.d.next = self.maj2.val();
                // format 2: the header ends at word 31 (15 | 16: only bit
                // 4 of the register changes)
                if self.maj2.val() {
                    self.sec_last.d.next = self.sec_last.q.val() | 16;
                }
            }
            if self.hf.q.val() == 2 {
                self.total.d.next = bit_cast::<24, 32>(self.wdata.val());
                if !self.z18.val() {
                    self.big.d.next = true;
                }
            }
            if (self.hf.q.val() == 3)
                & !(self.z18.val()
                    & (bit_cast::<32, 18>(self.wdata.val().get_bits::<18>(0))
                        == self.c_lanes.val()))
            {
                self.fit_bad.d.next = true;
            }
            if self.hf.q.val() == 4 {
                self.nl.d.next = bit_cast::<14, 32>(self.wdata.val());
                self.nl0.d.next = self.dzero.val();
                if !self.z14.val() {
                    self.big.d.next = true;
                }
                if self.dzero.val() {
                    self.fit_bad.d.next = true;
                }
            }
            if self.hf.q.val() == 5 {
                self.tile_w.d.next = bit_cast::<24, 32>(self.wdata.val());
                self.tile0.d.next = self.dzero.val();
                if !self.z18.val() {
                    self.big.d.next = true;
                }
            }
            if self.hf.q.val() == 6 {
                self.const_w.d.next = bit_cast::<24, 32>(self.wdata.val());
                self.const0.d.next = self.dzero.val();
                if !self.z18.val() {
                    self.big.d.next = true;
                }
            }
            if self.hf.q.val() == 12 {
                self.num_in.d.next = bit_cast::<17, 32>(self.wdata.val());
            }
            if self.hf.q.val() == 13 {
                self.num_out.d.next = bit_cast::<17, 32>(self.wdata.val());
            }
            if self.hf.q.val() == 14 {
                self.in_fmt.d.next = bit_cast::<9, 32>(self.wdata.val());
            }
        }
        // The walk: the address counts up; where it reaches the section's
        // size the next non-empty section begins at address 0 (the header
        // has 16 words, the descriptors 16 per layer; the checksum section
        // never ends).
        self.rel_n.next = self.rel.q.val() + 1;
        self.sec_end.next = bit_cast::<19, 18>(self.rel.q.val()) == self.sec_last.q.val();
        self.sec_next.next = 4.into();
        if (self.sec.q.val() < 3) & !self.const0.q.val() {
            self.sec_next.next = 3.into();
        }
        if (self.sec.q.val() < 2) & !self.tile0.q.val() {
            self.sec_next.next = 2.into();
        }
        if (self.sec.q.val() == 0) & !self.nl0.q.val() {
            self.sec_next.next = 1.into();
        }
        // the descriptor section's size: 16 or (format 2) 32 words a layer
        self.desc_n.next = bit_cast::<19, 14>(self.nl.q.val()) << 4;
        if self.v2.q.val() {
            self.desc_n.next = bit_cast::<19, 14>(self.nl.q.val()) << 5;
        }
        self.end_q.d.next = self.sec_end.val();
        if self.a1_we.q.val() {
            self.rel.d.next = self.rel_n.val();
            if self.end_q.q.val() {
                self.sec.d.next = self.sec_next.val();
                self.rel.d.next = 0.into();
                // (a size beyond the address range: never reached)
                self.sec_last.d.next = 0x40000.into();
                if self.sec_next.val() == 1 {
                    self.sec_last.d.next = self.desc_n.val() - 1;
                }
                if (self.sec_next.val() == 2) & (self.tile_w.q.val().get_bits::<6>(18) == 0) {
                    self.sec_last.d.next =
                        bit_cast::<19, 18>(self.tile_w.q.val().get_bits::<18>(0)) - 1;
                }
                if (self.sec_next.val() == 3) & (self.const_w.q.val().get_bits::<6>(18) == 0) {
                    self.sec_last.d.next =
                        bit_cast::<19, 18>(self.const_w.q.val().get_bits::<18>(0)) - 1;
                }
            }
        }
        // ---- the shared registers: outside a load the engine keeps three
        // descriptor fields in the registers of TILE_WORDS, CONST_WORDS and
        // TOTAL_WORDS, which only the load and its checks read ----
        if self.share_we.val().get_bit(0) {
            self.tile_w.d.next = self.share_data.val();
        }
        if self.share_we.val().get_bit(1) {
            self.const_w.d.next = self.share_data.val();
        }
        if self.share_we.val().get_bit(2) {
            self.total.d.next = self.share_data.val();
        }
        // ---- LOAD_END checks: the flags follow the load (the last word's
        // walk step and checksum flag land within 2 cycles of its write,
        // before LOAD_END can act); unless `big`, the section sizes add up to
        // the word count iff the walk ended just past the second checksum
        // word ----
        // (the wide terms registered first: the flag follows them a cycle
        // later, in the first check cycle at the latest, from their values
        // in LOAD_END's cycle)
        self.walk_bad.d.next = (self.sec.q.val() != 4) | (self.rel.q.val() != 2);
        self.count_bad.d.next = bit_cast::<18, 24>(self.total.q.val()) != self.count.q.val();
        if self.load_q.q.val() | (self.chk.q.val() == 1) {
            self.seq_bad.d.next = self.big.q.val()
                | self.walk_bad.q.val()
                | self.count_bad.q.val()
                | self.ooo.q.val();
        }
        if self.load_q.q.val() {
            self.csum_bad.d.next = !self.csum_ok.q.val();
        }
        self.err_q.d.next = false;
        if self.chk.q.val() == 1 {
            self.chk.d.next = 2.into();
        }
        if self.chk.q.val() == 2 {
            self.chk.d.next = 3.into();
        }
        if self.chk.q.val() == 3 {
            self.chk.d.next = 0.into();
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
                self.count.d.next = 0.into();
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
            self.m1.d.next = false;
            self.m1p.d.next = false;
            self.csum_ok.d.next = false;
            self.magic_ok.d.next = false;
            self.ver_ok.d.next = false;
            self.v2.d.next = false;
            self.fit_bad.d.next = false;
            self.big.d.next = false;
            self.total.d.next = 0.into();
            self.nl.d.next = 0.into();
            self.nl0.d.next = false;
            self.tile_w.d.next = 0.into();
            self.tile0.d.next = false;
            self.const_w.d.next = 0.into();
            self.const0.d.next = false;
            self.sec.d.next = 0.into();
            self.rel.d.next = 0.into();
            self.sec_last.d.next = 15.into();
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
            self.err_q.d.next = false;
            if self.chk.q.val() != 0 {
                self.loaded_q.d.next = false;
            }
            self.chk.d.next = 0.into();
        }
        // ---- outputs ----
        self.loading.next = self.load_q.q.val();
        self.load_words.next = self.count.q.val();
        self.checking.next = self.chk.q.val() != 0;
        self.loaded.next = self.loaded_q.q.val();
        self.err.next = self.err_q.q.val();
        self.err_code.next = self.code_q.q.val();
        self.hdr_layers.next = bit_cast::<8, 14>(self.nl.q.val());
        self.hdr_num_in.next = self.num_in.q.val();
        self.hdr_num_out.next = self.num_out.q.val();
        self.hdr_in_fmt.next = self.in_fmt.q.val();
        self.hdr_conv.next = self.v2.q.val();
        self.r_we_q.d.next =
            self.a1_we.q.val() & (self.sec.q.val() != 0) & !self.sec.q.val().get_bit(2);
        self.r_sel_q.d.next = self.sec.q.val().get_bits::<2>(0);
        self.r_addr_q.d.next = self.rel.q.val().get_bits::<17>(0);
        self.r_data_q.d.next = self.wdata.val();
        self.r_we.next = self.r_we_q.q.val();
        self.r_sel.next = self.r_sel_q.q.val();
        self.r_addr.next = self.r_addr_q.q.val();
        self.r_data.next = self.r_data_q.q.val();
        self.share_a.next = self.tile_w.q.val();
        self.share_b.next = self.const_w.q.val();
        self.share_c.next = self.total.q.val();
    }
}

crate::lockstep_block!(
    ImageLoader,
    inputs [ld_begin, ld_end, abort, drop, we, in_order, wdata, share_we, share_data],
    outputs [loading, load_words, checking, loaded, err, err_code, hdr_layers, hdr_num_in, hdr_num_out, hdr_in_fmt, hdr_conv, r_we, r_sel, r_addr, r_data, share_a, share_b, share_c]
);
