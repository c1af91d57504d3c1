//! Feature-map walker of the conv and max-pool layers (issue 13): the
//! im2col address stream of docs/model-image.md section 9, generated in
//! hardware from an on-chip map so that the engine never stores a patch
//! matrix. A conv layer reads, per output position `(oy, ox)` in row-major
//! order, its patch in `(c, ky, kx)` order from input `(c, oy S + ky - PAD,
//! ox S + kx - PAD)` (padding: an invalid lane); a max-pool reads, per
//! output `(c, oy, ox)` in CHW order, its window `(ky, kx)` from `(c, oy S +
//! ky, ox S + kx)`. Both read the input in its layout: CHW, value `(c, y, x)`
//! at `(c H + y) W + x`, or HWC, at `(y W + x) C + c` (the reference is
//! `tbn_driver::image::exec`'s `Engine::conv` and `max_pool`, through
//! `LayerGeom::in_index`).
//!
//! Why this shape. Both walks are five nested counters, innermost first
//! `kx, ky` and then (conv) `c, ox, oy` or (max-pool) `ox, oy, c`; the mode
//! only permutes the three outer levels, so it is applied once at START (the
//! sizes and address strides of levels 2-4 are loaded in the mode's order)
//! and the walk itself has no mode muxes. Every level `p` holds the address
//! `a_p` of the first element of its current iteration (inner indices 0)
//! and a stride `st_p`: `e_x` (kx), `e_y` (ky), `e_c` (c), `S e_x` (ox),
//! `S e_y` (oy), with `e_x, e_y, e_c = 1, W, H W` for CHW and `C, W C, 1`
//! for HWC. When an element is consumed, the outermost level `L` whose inner
//! levels are all at their last index advances: `a_L + st_L` (one adder
//! after a one-hot AND-OR mux of the five start addresses and strides,
//! selected by the registered last flags) is
//! loaded into `a_L` and every inner `a_p`. No multiplier or divider: the
//! strides' products `H W` or `W C`, `S e_x`, `S e_y` and the first
//! position's address `-(PAD e_y + PAD e_x)` are made at START by a
//! shift-and-add (Horner, MSB first) on one adder, 8 steps per product
//! (16 for the base, whose two products interleave): [`SETUP_CYCLES`]
//! cycles per layer, noise against the layer's thousands of elements. The
//! engine's sequencer thus passes the descriptor's fields as they are
//! (docs/model-image.md section 9), and no DSP tile is spent (the
//! requantization unit holds 7 of the UP5K's 8). Address arithmetic is
//! modulo `2^A`: addresses of padding elements (negative or past the map)
//! wrap and are don't-care; those of valid elements are exact.
//!
//! Validity (padding) uses the coordinates, not the address: `ix`, `iy`
//! (10-bit two's complement, from `-PAD`) step by 1 at kx / ky and by `S` at
//! ox / oy, and `valid = 0 <= ix < W and 0 <= iy < H`.
//!
//! Handshake: START (while idle; it restarts a walk in progress) samples
//! every descriptor input; `busy` rises, and after [`FIRST_LATENCY`] cycles
//! `ready` presents the first element (`addr`, `valid`, the flags). The
//! element is consumed in a cycle with `ready` and `advance` high (the
//! engine's stall: `advance` low holds the element), and the next one is
//! presented in the next cycle. After the element with `last` is consumed,
//! `ready` and `busy` fall and `done` pulses for one cycle. `cancel` (over
//! START) stops the walk synchronously.
//!
//! Widths (the UP5K's needs, section 9's capacities): channels, heights,
//! widths and the output sides 8 bits (1..=255), kernel sides, stride and
//! padding 4 bits (kernel 1..=15, stride 1..=15, PAD 0..=15); addresses `A`
//! bits (a const generic; 16 covers a map of 2^16 values, above the trained
//! CNN's MAX_FMAP 12,544). `H W` and `W C` must be below `2^A`.
//! Outputs are registers or a few gates of registers (the flags and `valid`:
//! two 10-bit comparisons).

use rust_hdl::prelude::*;

/// Setup cycles after START (Horner steps 0..=39 and the load of the walk).
pub const SETUP_CYCLES: usize = 41;
/// Cycles from START's cycle to the first cycle with `ready` high.
pub const FIRST_LATENCY: usize = SETUP_CYCLES + 1;

/// The walker; `A` address bits.
#[derive(LogicBlock)]
pub struct MapWalker<const A: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Start (samples the inputs below).
    pub start: Signal<In, Bit>,
    /// Synchronous cancel (over START).
    pub cancel: Signal<In, Bit>,
    /// Consume the presented element (when `ready`); low stalls the walk.
    pub advance: Signal<In, Bit>,
    /// 1: conv patch walk; 0: max-pool window walk.
    pub conv: Signal<In, Bit>,
    /// The input map is HWC (else CHW).
    pub in_hwc: Signal<In, Bit>,
    /// Input channels C (1..=255).
    pub in_c: Signal<In, Bits<8>>,
    /// Input height H (1..=255).
    pub in_h: Signal<In, Bits<8>>,
    /// Input width W (1..=255).
    pub in_w: Signal<In, Bits<8>>,
    /// Kernel height (1..=15).
    pub kh: Signal<In, Bits<4>>,
    /// Kernel width (1..=15).
    pub kw: Signal<In, Bits<4>>,
    /// Stride S (1..=15, both directions).
    pub stride: Signal<In, Bits<4>>,
    /// Zero padding on every side (0..=15; 0 for max-pool).
    pub pad: Signal<In, Bits<4>>,
    /// Output height (1..=255).
    pub out_h: Signal<In, Bits<8>>,
    /// Output width (1..=255).
    pub out_w: Signal<In, Bits<8>>,
    /// An element is presented.
    pub ready: Signal<Out, Bit>,
    /// The element is inside the map (not padding).
    pub valid: Signal<Out, Bit>,
    /// The element's index in the input map (don't-care when not `valid`).
    pub addr: Signal<Out, Bits<A>>,
    /// First element of its window / patch (kx = ky = 0).
    pub first_in_window: Signal<Out, Bit>,
    /// Last element of its window (max-pool: kx, ky last).
    pub last_in_window: Signal<Out, Bit>,
    /// Last element of its patch (conv only: kx, ky, c last).
    pub last_in_patch: Signal<Out, Bit>,
    /// The layer's last element.
    pub last: Signal<Out, Bit>,
    /// Setting up or walking.
    pub busy: Signal<Out, Bit>,
    /// Pulse after the last element is consumed.
    pub done: Signal<Out, Bit>,
    setup: DFF<Bit>,
    t: DFF<Bits<6>>,
    rdy: DFF<Bit>,
    done_q: DFF<Bit>,
    conv_q: DFF<Bit>,
    hwc_q: DFF<Bit>,
    h_q: DFF<Bits<8>>,
    w_q: DFF<Bits<8>>,
    s_q: DFF<Bits<4>>,
    pad_q: DFF<Bits<4>>,
    npad: DFF<Bits<10>>,
    mreg: DFF<Bits<8>>,
    acc: DFF<Bits<A>>,
    st0: DFF<Bits<A>>,
    st1: DFF<Bits<A>>,
    st2: DFF<Bits<A>>,
    st3: DFF<Bits<A>>,
    st4: DFF<Bits<A>>,
    a0: DFF<Bits<A>>,
    a1: DFF<Bits<A>>,
    a2: DFF<Bits<A>>,
    a3: DFF<Bits<A>>,
    a4: DFF<Bits<A>>,
    sz0: DFF<Bits<4>>,
    sz1: DFF<Bits<4>>,
    sz2: DFF<Bits<8>>,
    sz3: DFF<Bits<8>>,
    sz4: DFF<Bits<8>>,
    rem0: DFF<Bits<4>>,
    rem1: DFF<Bits<4>>,
    rem2: DFF<Bits<8>>,
    rem3: DFF<Bits<8>>,
    rem4: DFF<Bits<8>>,
    l0: DFF<Bit>,
    l1: DFF<Bit>,
    l2: DFF<Bit>,
    l3: DFF<Bit>,
    l4: DFF<Bit>,
    f0: DFF<Bit>,
    ohr0: DFF<Bit>,
    ohr1: DFF<Bit>,
    ohr2: DFF<Bit>,
    ohr3: DFF<Bit>,
    ohr4: DFF<Bit>,
    f1: DFF<Bit>,
    ix: DFF<Bits<10>>,
    ixo: DFF<Bits<10>>,
    iy: DFF<Bits<10>>,
    iyo: DFF<Bits<10>>,
    // Horner step
    h_first: Signal<Local, Bit>,
    h_nb: Signal<Local, Bit>,
    h_dbl: Signal<Local, Bit>,
    h_bit: Signal<Local, Bit>,
    h_base: Signal<Local, Bits<A>>,
    h_add: Signal<Local, Bits<A>>,
    // walk
    step: Signal<Local, Bit>,
    g1: Signal<Local, Bit>,
    g2: Signal<Local, Bit>,
    g3: Signal<Local, Bit>,
    g4: Signal<Local, Bit>,
    g5: Signal<Local, Bit>,
    gx: Signal<Local, Bit>,
    gy: Signal<Local, Bit>,
    gyy: Signal<Local, Bit>,
    bcast: Signal<Local, Bits<A>>,
    oh0: Signal<Local, Bit>,
    oh1: Signal<Local, Bit>,
    oh2: Signal<Local, Bit>,
    oh3: Signal<Local, Bit>,
    oh4: Signal<Local, Bit>,
    ta0: Signal<Local, Bits<A>>,
    ta1: Signal<Local, Bits<A>>,
    ta2: Signal<Local, Bits<A>>,
    ta3: Signal<Local, Bits<A>>,
    ta4: Signal<Local, Bits<A>>,
    ts0: Signal<Local, Bits<A>>,
    ts1: Signal<Local, Bits<A>>,
    ts2: Signal<Local, Bits<A>>,
    ts3: Signal<Local, Bits<A>>,
    ts4: Signal<Local, Bits<A>>,
    s10: Signal<Local, Bits<10>>,
}

impl<const A: usize> Default for MapWalker<A> {
    fn default() -> Self {
        MapWalker {
            clk: Default::default(),
            start: Default::default(),
            cancel: Default::default(),
            advance: Default::default(),
            conv: Default::default(),
            in_hwc: Default::default(),
            in_c: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            kh: Default::default(),
            kw: Default::default(),
            stride: Default::default(),
            pad: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            ready: Default::default(),
            valid: Default::default(),
            addr: Default::default(),
            first_in_window: Default::default(),
            last_in_window: Default::default(),
            last_in_patch: Default::default(),
            last: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            setup: Default::default(),
            t: Default::default(),
            rdy: Default::default(),
            done_q: Default::default(),
            conv_q: Default::default(),
            hwc_q: Default::default(),
            h_q: Default::default(),
            w_q: Default::default(),
            s_q: Default::default(),
            pad_q: Default::default(),
            npad: Default::default(),
            mreg: Default::default(),
            acc: Default::default(),
            st0: Default::default(),
            st1: Default::default(),
            st2: Default::default(),
            st3: Default::default(),
            st4: Default::default(),
            a0: Default::default(),
            a1: Default::default(),
            a2: Default::default(),
            a3: Default::default(),
            a4: Default::default(),
            sz0: Default::default(),
            sz1: Default::default(),
            sz2: Default::default(),
            sz3: Default::default(),
            sz4: Default::default(),
            rem0: Default::default(),
            rem1: Default::default(),
            rem2: Default::default(),
            rem3: Default::default(),
            rem4: Default::default(),
            l0: Default::default(),
            l1: Default::default(),
            l2: Default::default(),
            l3: Default::default(),
            l4: Default::default(),
            f0: Default::default(),
            ohr0: Default::default(),
            ohr1: Default::default(),
            ohr2: Default::default(),
            ohr3: Default::default(),
            ohr4: Default::default(),
            f1: Default::default(),
            ix: Default::default(),
            ixo: Default::default(),
            iy: Default::default(),
            iyo: Default::default(),
            h_first: Default::default(),
            h_nb: Default::default(),
            h_dbl: Default::default(),
            h_bit: Default::default(),
            h_base: Default::default(),
            h_add: Default::default(),
            step: Default::default(),
            g1: Default::default(),
            g2: Default::default(),
            g3: Default::default(),
            g4: Default::default(),
            g5: Default::default(),
            gx: Default::default(),
            gy: Default::default(),
            gyy: Default::default(),
            bcast: Default::default(),
            oh0: Default::default(),
            oh1: Default::default(),
            oh2: Default::default(),
            oh3: Default::default(),
            oh4: Default::default(),
            ta0: Default::default(),
            ta1: Default::default(),
            ta2: Default::default(),
            ta3: Default::default(),
            ta4: Default::default(),
            ts0: Default::default(),
            ts1: Default::default(),
            ts2: Default::default(),
            ts3: Default::default(),
            ts4: Default::default(),
            s10: Default::default(),
        }
    }
}

impl<const A: usize> Logic for MapWalker<A> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, setup, t, rdy, done_q, conv_q, hwc_q, h_q, w_q, s_q, pad_q, npad, mreg, acc,
            st0, st1, st2, st3, st4, a0, a1, a2, a3, a4, sz0, sz1, sz2, sz3, sz4, rem0, rem1, rem2,
            rem3, rem4, l0, l1, l2, l3, l4, f0, f1, ohr0, ohr1, ohr2, ohr3, ohr4, ix, ixo, iy, iyo
        );
        // ---- setup: Horner products, MSB first, one step per cycle ----
        // t 0..7: H W (CHW) or W C (HWC) = mreg x W; 8..15: S e_x; 16..23:
        // S e_y; 24..39: -(PAD e_y + PAD e_x), even steps double and
        // subtract e_y, odd steps subtract e_x with the same PAD bit.
        self.h_nb.next =
            self.t.q.val().get_bit(5) | (self.t.q.val().get_bit(4) & self.t.q.val().get_bit(3));
        self.h_first.next = (self.t.q.val() == 0)
            | (self.t.q.val() == 8)
            | (self.t.q.val() == 16)
            | (self.t.q.val() == 24);
        self.h_dbl.next = !self.h_nb.val() | !self.t.q.val().get_bit(0);
        self.h_bit.next = self.mreg.q.val().get_bit(7);
        self.h_base.next = self.acc.q.val();
        if self.h_dbl.val() {
            self.h_base.next = self.acc.q.val() << 1;
        }
        if self.h_first.val() {
            self.h_base.next = 0.into();
        }
        self.h_add.next = bit_cast::<A, 8>(self.w_q.q.val());
        if self.t.q.val().get_bit(3) {
            self.h_add.next = self.st0.q.val();
        }
        if self.t.q.val().get_bit(4) {
            self.h_add.next = self.st1.q.val();
        }
        if self.h_nb.val() {
            self.h_add.next = !self.st1.q.val();
            if self.t.q.val().get_bit(0) {
                self.h_add.next = !self.st0.q.val();
            }
        }
        if !self.h_bit.val() {
            self.h_add.next = 0.into();
        }
        self.acc.d.next = self.h_base.val()
            + self.h_add.val()
            + bit_cast::<A, 1>((self.h_nb.val() & self.h_bit.val()).into());
        // the multiplier bits: shift left each step (the base's pairs: after
        // the odd step); reload S, S, PAD at the end of each product
        if !self.h_nb.val() | self.t.q.val().get_bit(0) {
            self.mreg.d.next = self.mreg.q.val() << 1;
        }
        if (self.t.q.val() == 7) | (self.t.q.val() == 15) {
            self.mreg.d.next = bit_cast::<8, 4>(self.s_q.q.val());
        }
        if self.t.q.val() == 23 {
            self.mreg.d.next = bit_cast::<8, 4>(self.pad_q.q.val());
        }
        // the products' destinations (levels 2-4 in the mode's order:
        // conv c, ox, oy; max-pool ox, oy, c)
        if self.setup.q.val() & (self.t.q.val() == 8) {
            if self.hwc_q.q.val() {
                self.st1.d.next = self.acc.q.val();
            } else if self.conv_q.q.val() {
                self.st2.d.next = self.acc.q.val();
            } else {
                self.st4.d.next = self.acc.q.val();
            }
        }
        if self.setup.q.val() & (self.t.q.val() == 16) {
            if self.conv_q.q.val() {
                self.st3.d.next = self.acc.q.val();
            } else {
                self.st2.d.next = self.acc.q.val();
            }
        }
        if self.setup.q.val() & (self.t.q.val() == 24) {
            if self.conv_q.q.val() {
                self.st4.d.next = self.acc.q.val();
            } else {
                self.st3.d.next = self.acc.q.val();
            }
        }
        self.t.d.next = self.t.q.val() + 1;
        if !self.setup.q.val() {
            self.t.d.next = self.t.q.val();
        }

        // ---- walk ----
        // g_p: levels 0..p-1 are at their last index (level p or an outer
        // one advances on the next step); g5: the layer's last element
        self.step.next = self.rdy.q.val() & self.advance.val();
        self.g1.next = self.l0.q.val();
        self.g2.next = self.g1.val() & self.l1.q.val();
        self.g3.next = self.g2.val() & self.l2.q.val();
        self.g4.next = self.g3.val() & self.l3.q.val();
        self.g5.next = self.g4.val() & self.l4.q.val();
        // the ox and oy levels (conv 3, 4; max-pool 2, 3) and the one above oy
        self.gx.next = self.g2.val();
        self.gy.next = self.g3.val();
        self.gyy.next = self.g4.val();
        if self.conv_q.q.val() {
            self.gx.next = self.g3.val();
            self.gy.next = self.g4.val();
            self.gyy.next = self.g5.val();
        }
        // the advancing level's next address, broadcast to it and inside it
        // one-hot selects of the advancing level (registered with the last
        // flags, from their next values, below), an AND-OR mux of its start address and stride before the one adder
        self.oh0.next = self.ohr0.q.val();
        self.oh1.next = self.ohr1.q.val();
        self.oh2.next = self.ohr2.q.val();
        self.oh3.next = self.ohr3.q.val();
        self.oh4.next = self.ohr4.q.val();
        self.ta0.next = 0.into();
        self.ts0.next = 0.into();
        if self.oh0.val() {
            self.ta0.next = self.a0.q.val();
            self.ts0.next = self.st0.q.val();
        }
        self.ta1.next = 0.into();
        self.ts1.next = 0.into();
        if self.oh1.val() {
            self.ta1.next = self.a1.q.val();
            self.ts1.next = self.st1.q.val();
        }
        self.ta2.next = 0.into();
        self.ts2.next = 0.into();
        if self.oh2.val() {
            self.ta2.next = self.a2.q.val();
            self.ts2.next = self.st2.q.val();
        }
        self.ta3.next = 0.into();
        self.ts3.next = 0.into();
        if self.oh3.val() {
            self.ta3.next = self.a3.q.val();
            self.ts3.next = self.st3.q.val();
        }
        self.ta4.next = 0.into();
        self.ts4.next = 0.into();
        if self.oh4.val() {
            self.ta4.next = self.a4.q.val();
            self.ts4.next = self.st4.q.val();
        }
        self.bcast.next = (self.ta0.val()
            | self.ta1.val()
            | self.ta2.val()
            | self.ta3.val()
            | self.ta4.val())
            + (self.ts0.val() | self.ts1.val() | self.ts2.val() | self.ts3.val() | self.ts4.val());
        self.s10.next = bit_cast::<10, 4>(self.s_q.q.val());
        if self.step.val() {
            self.a0.d.next = self.bcast.val();
            if self.g1.val() {
                self.a1.d.next = self.bcast.val();
            }
            if self.g2.val() {
                self.a2.d.next = self.bcast.val();
            }
            if self.g3.val() {
                self.a3.d.next = self.bcast.val();
            }
            if self.g4.val() {
                self.a4.d.next = self.bcast.val();
            }
            // down-counters size..1, last flags registered a step ahead
            if self.g1.val() {
                self.rem0.d.next = self.sz0.q.val();
                self.l0.d.next = self.sz0.q.val() == 1;
                self.f0.d.next = true;
            } else {
                self.rem0.d.next = self.rem0.q.val() - 1;
                self.l0.d.next = self.rem0.q.val() == 2;
                self.f0.d.next = false;
            }
            if self.g2.val() {
                self.rem1.d.next = self.sz1.q.val();
                self.l1.d.next = self.sz1.q.val() == 1;
                self.f1.d.next = true;
            } else if self.g1.val() {
                self.rem1.d.next = self.rem1.q.val() - 1;
                self.l1.d.next = self.rem1.q.val() == 2;
                self.f1.d.next = false;
            }
            if self.g3.val() {
                self.rem2.d.next = self.sz2.q.val();
                self.l2.d.next = self.sz2.q.val() == 1;
            } else if self.g2.val() {
                self.rem2.d.next = self.rem2.q.val() - 1;
                self.l2.d.next = self.rem2.q.val() == 2;
            }
            if self.g4.val() {
                self.rem3.d.next = self.sz3.q.val();
                self.l3.d.next = self.sz3.q.val() == 1;
            } else if self.g3.val() {
                self.rem3.d.next = self.rem3.q.val() - 1;
                self.l3.d.next = self.rem3.q.val() == 2;
            }
            if self.g4.val() {
                self.rem4.d.next = self.rem4.q.val() - 1;
                self.l4.d.next = self.rem4.q.val() == 2;
            }
            // coordinates: x steps at kx (1) and ox (S), y at ky and oy
            if self.gy.val() {
                self.ixo.d.next = self.npad.q.val();
                self.ix.d.next = self.npad.q.val();
            } else if self.gx.val() {
                self.ixo.d.next = self.ixo.q.val() + self.s10.val();
                self.ix.d.next = self.ixo.q.val() + self.s10.val();
            } else if self.g1.val() {
                self.ix.d.next = self.ixo.q.val();
            } else {
                self.ix.d.next = self.ix.q.val() + 1;
            }
            if self.gyy.val() {
                self.iyo.d.next = self.npad.q.val();
                self.iy.d.next = self.npad.q.val();
            } else if self.gy.val() {
                self.iyo.d.next = self.iyo.q.val() + self.s10.val();
                self.iy.d.next = self.iyo.q.val() + self.s10.val();
            } else if self.g2.val() {
                self.iy.d.next = self.iyo.q.val();
            } else if self.g1.val() {
                self.iy.d.next = self.iy.q.val() + 1;
            }
        }
        self.done_q.d.next = false;
        if self.step.val() & self.g5.val() {
            self.rdy.d.next = false;
            self.done_q.d.next = true;
        }
        // the end of the setup: the walk's first element
        if self.setup.q.val() & (self.t.q.val() == 40) {
            self.setup.d.next = false;
            self.rdy.d.next = true;
            self.a0.d.next = self.acc.q.val();
            self.a1.d.next = self.acc.q.val();
            self.a2.d.next = self.acc.q.val();
            self.a3.d.next = self.acc.q.val();
            self.a4.d.next = self.acc.q.val();
            self.rem0.d.next = self.sz0.q.val();
            self.rem1.d.next = self.sz1.q.val();
            self.rem2.d.next = self.sz2.q.val();
            self.rem3.d.next = self.sz3.q.val();
            self.rem4.d.next = self.sz4.q.val();
            self.l0.d.next = self.sz0.q.val() == 1;
            self.l1.d.next = self.sz1.q.val() == 1;
            self.l2.d.next = self.sz2.q.val() == 1;
            self.l3.d.next = self.sz3.q.val() == 1;
            self.l4.d.next = self.sz4.q.val() == 1;
            self.f0.d.next = true;
            self.f1.d.next = true;
            self.ix.d.next = self.npad.q.val();
            self.ixo.d.next = self.npad.q.val();
            self.iy.d.next = self.npad.q.val();
            self.iyo.d.next = self.npad.q.val();
        }
        // ---- START: sample the descriptor ----
        if self.start.val() {
            self.setup.d.next = true;
            self.rdy.d.next = false;
            self.done_q.d.next = false;
            self.t.d.next = 0.into();
            self.conv_q.d.next = self.conv.val();
            self.hwc_q.d.next = self.in_hwc.val();
            self.h_q.d.next = self.in_h.val();
            self.w_q.d.next = self.in_w.val();
            self.s_q.d.next = self.stride.val();
            self.pad_q.d.next = self.pad.val();
            self.npad.d.next = !bit_cast::<10, 4>(self.pad.val()) + 1;
            self.mreg.d.next = self.in_h.val();
            self.st0.d.next = 1.into();
            self.st1.d.next = bit_cast::<A, 8>(self.in_w.val());
            if self.in_hwc.val() {
                self.mreg.d.next = self.in_c.val();
                self.st0.d.next = bit_cast::<A, 8>(self.in_c.val());
            }
            self.st2.d.next = 1.into();
            self.st4.d.next = 1.into();
            self.sz0.d.next = self.kw.val();
            self.sz1.d.next = self.kh.val();
            self.sz2.d.next = self.out_w.val();
            self.sz3.d.next = self.out_h.val();
            self.sz4.d.next = self.in_c.val();
            if self.conv.val() {
                self.sz2.d.next = self.in_c.val();
                self.sz3.d.next = self.out_w.val();
                self.sz4.d.next = self.out_h.val();
            }
        }
        if self.cancel.val() {
            self.setup.d.next = false;
            self.rdy.d.next = false;
            self.done_q.d.next = false;
        }
        // the next element's advancing level, one-hot, from the last flags'
        // next values (whatever above set them)
        self.ohr0.d.next = !self.l0.d.val();
        self.ohr1.d.next = self.l0.d.val() & !self.l1.d.val();
        self.ohr2.d.next = self.l0.d.val() & self.l1.d.val() & !self.l2.d.val();
        self.ohr3.d.next = self.l0.d.val() & self.l1.d.val() & self.l2.d.val() & !self.l3.d.val();
        self.ohr4.d.next = self.l0.d.val() & self.l1.d.val() & self.l2.d.val() & self.l3.d.val();
        // ---- outputs ----
        self.ready.next = self.rdy.q.val();
        self.valid.next = !self.ix.q.val().get_bit(9)
            & (self.ix.q.val() < bit_cast::<10, 8>(self.w_q.q.val()))
            & !self.iy.q.val().get_bit(9)
            & (self.iy.q.val() < bit_cast::<10, 8>(self.h_q.q.val()));
        self.addr.next = self.a0.q.val();
        self.first_in_window.next = self.f0.q.val() & self.f1.q.val();
        self.last_in_window.next = self.g2.val();
        self.last_in_patch.next = self.g3.val() & self.conv_q.q.val();
        self.last.next = self.g5.val();
        self.busy.next = self.setup.q.val() | self.rdy.q.val();
        self.done.next = self.done_q.q.val();
    }
}

crate::lockstep_block!(
    MapWalker<16>,
    inputs [start, cancel, advance, conv, in_hwc, in_c, in_h, in_w, kh, kw, stride, pad, out_h, out_w],
    outputs [ready, valid, addr, first_in_window, last_in_window, last_in_patch, last, busy, done]
);

/// Descriptor inputs of one walk (the values START samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkGeom {
    /// Conv patch walk (else max-pool window walk).
    pub conv: bool,
    /// The input map is HWC.
    pub in_hwc: bool,
    /// Input channels.
    pub c: u32,
    /// Input height.
    pub h: u32,
    /// Input width.
    pub w: u32,
    /// Kernel height.
    pub kh: u32,
    /// Kernel width.
    pub kw: u32,
    /// Stride.
    pub stride: u32,
    /// Padding.
    pub pad: u32,
    /// Output height.
    pub out_h: u32,
    /// Output width.
    pub out_w: u32,
}

/// Inputs of one cycle of [`MapWalkModel`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkIn {
    /// START with these descriptor inputs.
    pub start: Option<WalkGeom>,
    /// Cancel.
    pub cancel: bool,
    /// Advance.
    pub advance: bool,
}

/// Outputs of one cycle (the ports of [`MapWalker`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkOut {
    /// `ready`.
    pub ready: bool,
    /// `valid`.
    pub valid: bool,
    /// `addr`.
    pub addr: u32,
    /// `first_in_window`.
    pub first_in_window: bool,
    /// `last_in_window`.
    pub last_in_window: bool,
    /// `last_in_patch`.
    pub last_in_patch: bool,
    /// `last`.
    pub last: bool,
    /// `busy`.
    pub busy: bool,
    /// `done`.
    pub done: bool,
}

/// Cycle model of [`MapWalker<A>`] in plain integers: the setup as a
/// countdown of [`SETUP_CYCLES`] (its products computed directly), then the
/// five levels with their start addresses and strides, outputs valid
/// while `ready` (the RTL's don't-care values while not `ready` are not
/// modelled: compare the outputs of cycles with `ready` only, and `busy`,
/// `done` and `ready` in every cycle).
#[derive(Clone, Debug, Default)]
pub struct MapWalkModel {
    /// Address bits A.
    pub abits: u32,
    g: WalkGeom,
    setup_left: usize,
    ready: bool,
    done: bool,
    // per level (0 = kx, 1 = ky, 2..4 the mode's order): size, index, start address, stride
    size: [u32; 5],
    idx: [u32; 5],
    a: [u32; 5],
    st: [u32; 5],
    x: i64,
    y: i64,
    xo: i64,
    yo: i64,
}

impl MapWalkModel {
    /// An idle walker of `abits`-bit addresses.
    pub fn new(abits: u32) -> Self {
        MapWalkModel {
            abits,
            ..Default::default()
        }
    }

    fn mask(&self, v: i64) -> u32 {
        (v as u64 & ((1u64 << self.abits) - 1)) as u32
    }

    fn last(&self, p: usize) -> bool {
        self.idx[p] + 1 == self.size[p]
    }

    /// Levels 0..p-1 at their last index.
    fn g(&self, p: usize) -> bool {
        (0..p).all(|k| self.last(k))
    }

    /// The outputs of this cycle, then the clock edge.
    pub fn cycle(&mut self, i: &WalkIn) -> WalkOut {
        let g = self.g;
        let out = WalkOut {
            ready: self.ready,
            valid: self.x >= 0 && self.x < g.w as i64 && self.y >= 0 && self.y < g.h as i64,
            addr: self.a[0],
            first_in_window: self.idx[0] == 0 && self.idx[1] == 0,
            last_in_window: self.g(2),
            last_in_patch: g.conv && self.g(3),
            last: self.g(5),
            busy: self.setup_left > 0 || self.ready,
            done: self.done,
        };
        self.done = false;
        if self.ready && i.advance {
            self.step();
        }
        if self.setup_left > 0 {
            self.setup_left -= 1;
            if self.setup_left == 0 {
                self.begin();
            }
        }
        if let Some(ng) = i.start {
            self.g = ng;
            self.setup_left = SETUP_CYCLES;
            self.ready = false;
            self.done = false;
        }
        if i.cancel {
            self.setup_left = 0;
            self.ready = false;
            self.done = false;
        }
        out
    }

    fn begin(&mut self) {
        let g = self.g;
        let (ex, ey, ec) = if g.in_hwc {
            (g.c, g.w * g.c, 1)
        } else {
            (1, g.w, g.h * g.w)
        };
        let (dox, doy) = (g.stride * ex, g.stride * ey);
        if g.conv {
            self.size = [g.kw, g.kh, g.c, g.out_w, g.out_h];
            self.st = [ex, ey, ec, dox, doy].map(|v| self.mask(v as i64));
        } else {
            self.size = [g.kw, g.kh, g.out_w, g.out_h, g.c];
            self.st = [ex, ey, dox, doy, ec].map(|v| self.mask(v as i64));
        }
        let base = self.mask(-(g.pad as i64) * (ex as i64 + ey as i64));
        self.a = [base; 5];
        self.idx = [0; 5];
        self.x = -(g.pad as i64);
        self.y = -(g.pad as i64);
        self.xo = self.x;
        self.yo = self.y;
        self.ready = true;
    }

    fn step(&mut self) {
        if self.g(5) {
            self.ready = false;
            self.done = true;
            return;
        }
        // the outermost level that advances
        let l = (0..5).rev().find(|&p| self.g(p)).expect("level 0");
        let v = self.mask(self.a[l] as i64 + self.st[l] as i64);
        for p in 0..=l {
            self.a[p] = v;
        }
        self.idx[l] += 1;
        for p in 0..l {
            self.idx[p] = 0;
        }
        let (px, py) = if self.g.conv { (3, 4) } else { (2, 3) };
        let (s, np) = (self.g.stride as i64, -(self.g.pad as i64));
        if l > px {
            self.xo = np;
            self.x = np;
        } else if l == px {
            self.xo += s;
            self.x = self.xo;
        } else if l >= 1 {
            self.x = self.xo;
        } else {
            self.x += 1;
        }
        if l > py {
            self.yo = np;
            self.y = np;
        } else if l == py {
            self.yo += s;
            self.y = self.yo;
        } else if l >= 2 {
            self.y = self.yo;
        } else if l == 1 {
            self.y += 1;
        }
    }
}
