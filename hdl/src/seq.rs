//! Row sequencer: walks the distinct rows `j < D`, each row's chunks of `L`
//! lanes and, per chunk, the `A` bit-planes, issuing one (chunk, plane) per
//! cycle without bubbles between rows. Row offsets advance incrementally
//! (`o_{j+1} = (o_j + m) mod q`), the chunk start wraps at `q` (segment b)
//! and the lane mask and segment boundary travel with each issue.

use rust_hdl::prelude::*;

/// The row sequencer. `N` is the width of its address arithmetic (tile bit
/// addresses, distances and row offsets, with a sign bit): see
/// [`seq_width`]; narrower arithmetic means shorter carry chains, which set
/// the core's fmax on iCE40.
#[derive(LogicBlock)]
pub struct Sequencer<const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous abort (soft reset / reset): stops issuing at once.
    pub abort: Signal<In, Bit>,
    /// Start pulse (parameters already validated; raised only while idle).
    pub start: Signal<In, Bit>,
    /// Row length m.
    pub job_m: Signal<In, Bits<24>>,
    /// Tile length q.
    pub job_q: Signal<In, Bits<24>>,
    /// Rows D.
    pub job_rows: Signal<In, Bits<14>>,
    /// Activation bits A.
    pub job_abits: Signal<In, Bits<4>>,
    /// Signed activations.
    pub job_signed: Signal<In, Bit>,
    /// The engine still has issues in flight.
    pub engine_active: Signal<In, Bit>,
    /// Issuing or draining.
    pub busy: Signal<Out, Bit>,
    /// One-cycle pulse when the last row has been written.
    pub done: Signal<Out, Bit>,
    /// Issue valid.
    pub issue: Signal<Out, Bit>,
    /// Tile bit address of the chunk (window start).
    pub tile_bit: Signal<Out, Bits<22>>,
    /// Activation bit address of the chunk.
    pub act_bit: Signal<Out, Bits<17>>,
    /// Bit-plane.
    pub plane: Signal<Out, Bits<3>>,
    /// Valid lanes of the chunk.
    pub nvalid: Signal<Out, Bits<9>>,
    /// First lane of segment b.
    pub segb: Signal<Out, Bits<9>>,
    /// Sign plane (negative weight).
    pub neg: Signal<Out, Bit>,
    /// XNOR mode (A = 1).
    pub xnor_mode: Signal<Out, Bit>,
    /// First issue of the row.
    pub first: Signal<Out, Bit>,
    /// Last issue of the row.
    pub last: Signal<Out, Bit>,
    /// Row index.
    pub row: Signal<Out, Bits<13>>,
    /// Lanes L.
    pub lanes: Constant<Bits<N>>,
    lanes2: Constant<Bits<N>>,
    lanes3: Constant<Bits<N>>,
    hi_l: Constant<Bits<N>>,
    hi_2l: Constant<Bits<N>>,
    hi_4l: Constant<Bits<N>>,
    running: DFF<Bit>,
    draining: DFF<Bit>,
    done_q: DFF<Bit>,
    p_m: DFF<Bits<N>>,
    p_signed: DFF<Bit>,
    row_q: DFF<Bits<14>>,
    plane_q: DFF<Bits<4>>,
    start_bit: DFF<Bits<N>>,
    dist_left: DFF<Bits<N>>,
    rem: DFF<Bits<N>>,
    abit: DFF<Bits<N>>,
    next_o: DFF<Bits<N>>,
    next_d: DFF<Bits<N>>,
    segb_q: DFF<Bits<9>>,
    wrap_q: DFF<Bit>,
    lt2_q: DFF<Bit>,
    first_q: DFF<Bit>,
    p_mq: DFF<Bits<N>>,
    p_m0: DFF<Bits<N>>,
    pre_meq: DFF<Bit>,
    idle: Signal<Local, Bit>,
    ge_2q2m: Signal<Local, Bit>,
    ge_q2m: Signal<Local, Bit>,
    o_wrap: Signal<Local, Bits<N>>,
    o_plain: Signal<Local, Bits<N>>,
    d_wrap: Signal<Local, Bits<N>>,
    d_plain: Signal<Local, Bits<N>>,
    hold: Signal<Local, Bit>,
    adv_row: Signal<Local, Bit>,
    /// 2 TILE_MAX - max(q - 2m, 0) (complement for the comparator).
    p_q2m: DFF<Bits<N>>,
    /// 2 TILE_MAX - (2q - 2m).
    p_2q2m: DFF<Bits<N>>,
    wrap_o: DFF<Bit>,
    c_off_mask: Constant<Bits<N>>,
    c_off_top: Constant<Bits<N>>,
    p_abits_m2: DFF<Bits<4>>,
    p_a1: DFF<Bit>,
    last_plane_q: DFF<Bit>,
    p_rows_m2: DFF<Bits<14>>,
    m_le_l: DFF<Bit>,
    last_chunk_q: DFF<Bit>,
    last_row_q: DFF<Bit>,
    rem_le_2l: Signal<Local, Bit>,
    last_plane: Signal<Local, Bit>,
    last_chunk: Signal<Local, Bit>,
    dist_next: Signal<Local, Bits<N>>,
    wraps_next: Signal<Local, Bit>,
    wrap_start: Signal<Local, Bits<N>>,
    last_row: Signal<Local, Bit>,
    jm: Signal<Local, Bits<N>>,
    jq: Signal<Local, Bits<N>>,
    c_sign: Constant<Bits<N>>,
    pre_mq: DFF<Bits<N>>,
    pre_q2m: DFF<Bits<N>>,
    pre_2q2m: DFF<Bits<N>>,
    pre_m_le_l: DFF<Bit>,
    pre_last_row: DFF<Bit>,
    pre_rows_m2: DFF<Bits<14>>,
    pre_abits_m2: DFF<Bits<4>>,
    pre_a1: DFF<Bit>,
    dist_lt_2l: Signal<Local, Bit>,
    seg_adv: Signal<Local, Bits<9>>,
    seg_row: Signal<Local, Bits<9>>,
    pre_segb: DFF<Bits<9>>,
    adv_wrap: Signal<Local, Bit>,
    adv_lt2: Signal<Local, Bit>,
    row_wrap: Signal<Local, Bit>,
    row_lt2: Signal<Local, Bit>,
    pre_wrap: DFF<Bit>,
    jq_lt_l: DFF<Bit>,
    jq_eq_l: DFF<Bit>,
    pre_lt2: DFF<Bit>,
}

/// Width of the sequencer arithmetic for tiles of up to `tile_max` bits:
/// values reach `2 * tile_max` (`2q - 2m`) and go negative (distances past
/// the tile end), so `log2(tile_max) + 3` bits; two classes keep the number
/// of core types small.
pub fn seq_width(tile_max: usize) -> usize {
    if tile_max <= SEQ_NARROW_TILE {
        SEQ_NARROW
    } else {
        SEQ_WIDE
    }
}

/// Largest TILE_MAX of the narrow sequencer.
pub const SEQ_NARROW_TILE: usize = 1 << 15;
/// Narrow sequencer width (TILE_MAX <= 32768).
pub const SEQ_NARROW: usize = 18;
/// Wide sequencer width (TILE_MAX up to the map limit, 2^21 - L).
pub const SEQ_WIDE: usize = 24;

/// The bits of an `N`-bit value at and above `limit` (a power of two):
/// `x < limit` is `(x & mask) == 0` for non-negative `x`. Comparisons with
/// multiples of `L` become LUT trees instead of carry chains.
fn high_bits<const N: usize>(limit: usize) -> Constant<Bits<N>> {
    assert!(limit.is_power_of_two());
    let all = (1u64 << N) - 1;
    Constant::new((all & !(limit as u64 - 1)).to_bits())
}

impl<const N: usize> Sequencer<N> {
    /// A sequencer for `lanes` lanes and tiles of up to `tile_max` bits.
    pub fn new(lanes: usize, tile_max: usize) -> Self {
        assert!(N == SEQ_NARROW || N == SEQ_WIDE, "sequencer width {N}");
        assert!(tile_max.is_power_of_two() && 4 * tile_max <= 1 << N);
        Sequencer {
            clk: Default::default(),
            abort: Default::default(),
            start: Default::default(),
            job_m: Default::default(),
            job_q: Default::default(),
            job_rows: Default::default(),
            job_abits: Default::default(),
            job_signed: Default::default(),
            engine_active: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            issue: Default::default(),
            tile_bit: Default::default(),
            act_bit: Default::default(),
            plane: Default::default(),
            nvalid: Default::default(),
            segb: Default::default(),
            neg: Default::default(),
            xnor_mode: Default::default(),
            first: Default::default(),
            last: Default::default(),
            row: Default::default(),
            lanes: Constant::new((lanes as u64).to_bits()),
            lanes2: Constant::new((2 * lanes as u64).to_bits()),
            lanes3: Constant::new((3 * lanes as u64).to_bits()),
            hi_l: high_bits::<N>(lanes),
            hi_2l: high_bits::<N>(2 * lanes),
            hi_4l: high_bits::<N>(4 * lanes),
            running: Default::default(),
            draining: Default::default(),
            done_q: Default::default(),
            p_m: Default::default(),
            p_signed: Default::default(),
            row_q: Default::default(),
            plane_q: Default::default(),
            start_bit: Default::default(),
            dist_left: Default::default(),
            rem: Default::default(),
            abit: Default::default(),
            next_o: Default::default(),
            next_d: Default::default(),
            segb_q: Default::default(),
            wrap_q: Default::default(),
            lt2_q: Default::default(),
            first_q: Default::default(),
            p_mq: Default::default(),
            p_m0: Default::default(),
            pre_meq: Default::default(),
            idle: Default::default(),
            ge_2q2m: Default::default(),
            ge_q2m: Default::default(),
            o_wrap: Default::default(),
            o_plain: Default::default(),
            d_wrap: Default::default(),
            d_plain: Default::default(),
            hold: Default::default(),
            adv_row: Default::default(),
            p_q2m: Default::default(),
            p_2q2m: Default::default(),
            wrap_o: Default::default(),
            c_off_mask: Constant::new((2 * tile_max as u64 - 1).to_bits()),
            c_off_top: Constant::new((2 * tile_max as u64).to_bits()),
            p_abits_m2: Default::default(),
            p_a1: Default::default(),
            last_plane_q: Default::default(),
            p_rows_m2: Default::default(),
            m_le_l: Default::default(),
            last_chunk_q: Default::default(),
            last_row_q: Default::default(),
            rem_le_2l: Default::default(),
            last_plane: Default::default(),
            last_chunk: Default::default(),
            dist_next: Default::default(),
            wraps_next: Default::default(),
            wrap_start: Default::default(),
            last_row: Default::default(),
            jm: Default::default(),
            jq: Default::default(),
            c_sign: Constant::new((1u64 << (N - 1)).to_bits()),
            pre_mq: Default::default(),
            pre_q2m: Default::default(),
            pre_2q2m: Default::default(),
            pre_m_le_l: Default::default(),
            pre_last_row: Default::default(),
            pre_rows_m2: Default::default(),
            pre_abits_m2: Default::default(),
            pre_a1: Default::default(),
            dist_lt_2l: Default::default(),
            seg_adv: Default::default(),
            seg_row: Default::default(),
            pre_segb: Default::default(),
            adv_wrap: Default::default(),
            adv_lt2: Default::default(),
            row_wrap: Default::default(),
            row_lt2: Default::default(),
            pre_wrap: Default::default(),
            jq_lt_l: Default::default(),
            jq_eq_l: Default::default(),
            pre_lt2: Default::default(),
        }
    }
}

impl<const N: usize> Logic for Sequencer<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            running,
            draining,
            done_q,
            p_m,
            p_signed,
            row_q,
            plane_q,
            start_bit,
            dist_left,
            rem,
            abit,
            next_o,
            next_d,
            segb_q,
            wrap_q,
            lt2_q,
            first_q,
            p_mq,
            p_m0,
            pre_meq,
            p_q2m,
            p_2q2m,
            wrap_o,
            p_abits_m2,
            p_a1,
            last_plane_q,
            p_rows_m2,
            m_le_l,
            last_chunk_q,
            last_row_q,
            pre_mq,
            pre_q2m,
            pre_2q2m,
            pre_m_le_l,
            pre_last_row,
            pre_rows_m2,
            pre_abits_m2,
            pre_a1,
            pre_segb,
            pre_wrap,
            jq_lt_l,
            jq_eq_l,
            pre_lt2
        );
        // combinational helpers: each is one adder or comparator on registers
        // (no chained carry paths; constants of the job precomputed at start)
        // "last plane" is registered, computed when the plane advances (it
        // gates the enables of the whole address state: keep it a flip-flop)
        self.last_plane.next = self.last_plane_q.q.val();
        // "last chunk of the row" and "last row" are registered, computed when
        // `rem` / `row_q` are assigned (keeps comparators off the control path)
        self.last_chunk.next = self.last_chunk_q.q.val();
        self.last_row.next = self.last_row_q.q.val();
        // comparisons with small constants (<= 2L <= 512): upper 14 bits zero
        // (a LUT tree) and a 10-bit comparator, instead of a 24-bit carry chain
        // (comparisons with multiples of L, L a power of two, as masks and
        // equalities: LUT trees, no carry chains)
        self.rem_le_2l.next =
            ((self.rem.q.val() & self.hi_2l.val()) == 0) | (self.rem.q.val() == self.lanes2.val());
        self.dist_next.next = self.dist_left.q.val() - self.lanes.val();
        // the next chunk starts at or past the tile end (distance <= L, or already past)
        // registered with the distance (see the flags below)
        self.wraps_next.next = self.wrap_q.q.val();
        self.wrap_start.next = self.lanes.val() - self.dist_left.q.val();
        // candidates of the offset state's next values (see below), each one
        // adder or one comparator on registers; the row advance selects
        // among them with the registered wrap flag (one LUT after each chain).
        // Offsets and thresholds are below 2 TILE_MAX: the comparators are
        // log2(TILE_MAX) + 1 bits
        // (o >= t is the carry out of o + (T - t), T = 2 TILE_MAX: the
        // complements are kept in `p_*`, so each comparator is one plain adder)
        self.ge_2q2m.next = (((self.next_o.q.val() & self.c_off_mask.val()) + self.p_2q2m.q.val())
            & self.c_off_top.val())
            != 0;
        self.ge_q2m.next = (((self.next_o.q.val() & self.c_off_mask.val()) + self.p_q2m.q.val())
            & self.c_off_top.val())
            != 0;
        // (offsets and distances are in [0, q]: modulo 2 TILE_MAX arithmetic)
        self.o_wrap.next = (self.next_o.q.val() + self.p_mq.q.val()) & self.c_off_mask.val();
        self.o_plain.next = (self.next_o.q.val() + self.p_m0.q.val()) & self.c_off_mask.val();
        self.d_wrap.next = (self.next_d.q.val() - self.p_mq.q.val()) & self.c_off_mask.val();
        self.d_plain.next = (self.next_d.q.val() - self.p_m0.q.val()) & self.c_off_mask.val();
        self.jm.next = bit_cast::<N, 24>(self.job_m.val());
        self.jq.next = bit_cast::<N, 24>(self.job_q.val());
        // job constants, precomputed every cycle from the job registers
        // (`pre_*`) and copied into `p_*` while idle (the copies hold during
        // a job, whatever the bus writes). A job register written by the
        // access in cycle t holds its new value from t+2; the next access
        // (START) comes at t+2 at the earliest and reaches `start` two cycles
        // later (registered write, registered start), at t+4, when both
        // stages are current.
        self.pre_mq.d.next = self.jm.val() - self.jq.val();
        // m = q (then the offset step of the first row, m mod q, is 0; the
        // start checks guarantee m <= q)
        self.pre_meq.d.next = self.jm.val() == self.jq.val();
        // q - 2m, clamped at 0 (o >= q - 2m always holds when it is negative)
        self.pre_q2m.d.next = self.jq.val() - (self.jm.val() << 1);
        if ((self.jq.val() - (self.jm.val() << 1)) & self.c_sign.val()) != 0 {
            self.pre_q2m.d.next = 0.into();
        }
        self.pre_2q2m.d.next = (self.jq.val() - self.jm.val()) << 1;
        self.pre_m_le_l.d.next =
            ((self.jm.val() & self.hi_l.val()) == 0) | (self.jm.val() == self.lanes.val());
        self.pre_last_row.d.next = self.job_rows.val() == 1;
        self.pre_rows_m2.d.next = self.job_rows.val() - 2;
        self.pre_abits_m2.d.next = self.job_abits.val() - 2;
        self.pre_a1.d.next = self.job_abits.val() == 1;
        // first lane of segment b, registered with the distance it derives
        // from (each candidate is one comparator on a register): after a chunk
        // advance (distance - L), at a row start (d_{j+1} >= 1) and at the job
        // start (q >= 1)
        self.dist_lt_2l.next = self.lt2_q.q.val();
        // flags of the distance, registered with it: wrap = (distance <= L,
        // or negative), lt2 = (distance < 2L); candidates after a chunk
        // advance (distance - L), at a row start and at the job start
        self.adv_wrap.next = ((self.dist_left.q.val() & self.c_sign.val()) != 0)
            | ((self.dist_left.q.val() & self.hi_2l.val()) == 0)
            | (self.dist_left.q.val() == self.lanes2.val());
        // x < 3L: below 4L and not both bits of 3L set
        self.adv_lt2.next = ((self.dist_left.q.val() & self.c_sign.val()) != 0)
            | (((self.dist_left.q.val() & self.hi_4l.val()) == 0)
                & ((self.dist_left.q.val() & self.lanes3.val()) != self.lanes3.val()));
        self.row_wrap.next = ((self.next_d.q.val() & self.hi_l.val()) == 0)
            | (self.next_d.q.val() == self.lanes.val());
        self.row_lt2.next = (self.next_d.q.val() & self.hi_2l.val()) == 0;
        // (flags of q for the job start: comparisons in a first stage, the
        // selections from them in a second)
        self.jq_lt_l.d.next = (self.jq.val() & self.hi_l.val()) == 0;
        self.jq_eq_l.d.next = self.jq.val() == self.lanes.val();
        self.pre_wrap.d.next = self.jq_lt_l.q.val() | self.jq_eq_l.q.val();
        self.pre_lt2.d.next = (self.jq.val() & self.hi_2l.val()) == 0;
        self.seg_adv.next = self.lanes.val().get_bits::<9>(0);
        if self.wraps_next.val() {
            self.seg_adv.next = 0.into();
        } else if self.dist_lt_2l.val() {
            self.seg_adv.next = self.dist_next.val().get_bits::<9>(0);
        }
        self.seg_row.next = self.lanes.val().get_bits::<9>(0);
        if (self.next_d.q.val() & self.hi_l.val()) == 0 {
            self.seg_row.next = self.next_d.q.val().get_bits::<9>(0);
        }
        self.pre_segb.d.next = self.lanes.val().get_bits::<9>(0);
        if self.jq_lt_l.q.val() {
            self.pre_segb.d.next = self.jq.val().get_bits::<9>(0);
        }
        // issue outputs
        self.issue.next = self.running.q.val();
        self.tile_bit.next = bit_cast::<22, N>(self.start_bit.q.val());
        self.act_bit.next = bit_cast::<17, N>(self.abit.q.val());
        self.plane.next = self.plane_q.q.val().get_bits::<3>(0);
        self.nvalid.next = self.rem.q.val().get_bits::<9>(0);
        if !self.last_chunk.val() {
            self.nvalid.next = self.lanes.val().get_bits::<9>(0);
        }
        self.segb.next = self.segb_q.q.val();
        self.neg.next = self.p_signed.q.val() & self.last_plane.val() & !self.p_a1.q.val();
        self.xnor_mode.next = self.p_a1.q.val();
        self.first.next = self.first_q.q.val();
        self.last.next = self.last_plane.val() & self.last_chunk.val();
        self.row.next = self.row_q.q.val().get_bits::<13>(0);
        self.busy.next = self.running.q.val() | self.draining.q.val();
        self.done.next = self.done_q.q.val();
        self.done_q.d.next = false;
        // sequencing
        if self.running.q.val() {
            self.first_q.d.next = false;
            if !self.last_plane.val() {
                self.plane_q.d.next = self.plane_q.q.val() + 1;
                self.last_plane_q.d.next = self.plane_q.q.val() == self.p_abits_m2.q.val();
            } else {
                self.plane_q.d.next = 0.into();
                self.last_plane_q.d.next = self.p_a1.q.val();
                if !self.last_chunk.val() {
                    self.rem.d.next = self.rem.q.val() - self.lanes.val();
                    self.last_chunk_q.d.next = self.rem_le_2l.val();
                    self.abit.d.next = self.abit.q.val() + self.lanes.val();
                    self.dist_left.d.next = self.dist_next.val();
                    self.segb_q.d.next = self.seg_adv.val();
                    self.wrap_q.d.next = self.adv_wrap.val();
                    self.lt2_q.d.next = self.adv_lt2.val();
                    if self.wraps_next.val() {
                        self.start_bit.d.next = self.wrap_start.val();
                    } else {
                        self.start_bit.d.next = self.start_bit.q.val() + self.lanes.val();
                    }
                } else if self.last_row.val() {
                    self.running.d.next = false;
                    self.draining.d.next = true;
                } else {
                    self.row_q.d.next = self.row_q.q.val() + 1;
                    self.last_row_q.d.next = self.row_q.q.val() == self.p_rows_m2.q.val();
                    self.last_chunk_q.d.next = self.m_le_l.q.val();
                    self.start_bit.d.next = self.next_o.q.val();
                    self.dist_left.d.next = self.next_d.q.val();
                    self.segb_q.d.next = self.seg_row.val();
                    self.wrap_q.d.next = self.row_wrap.val();
                    self.lt2_q.d.next = self.row_lt2.val();
                    self.rem.d.next = self.p_m.q.val();
                    self.abit.d.next = 0.into();
                    self.first_q.d.next = true;
                }
            }
        }
        // offset state: o_{j+1} (`next_o`), d_{j+1} = q - o_{j+1} (`next_d`)
        // and wrap_{j+1} = (o_{j+1} >= q - m) (`wrap_o`). A row advance
        // computes o_{j+2} = o_{j+1} + m - q after a wrap, else o_{j+1} + m,
        // and wrap_{j+2} from o_{j+1} alone: o_{j+1} >= 2q - 2m after a wrap,
        // else o_{j+1} >= max(q - 2m, 0). While idle the state holds "row -1"
        // (o = 0, d = q, no wrap; the step of that row is m mod q = `p_m0`),
        // and the START cycle is a row advance from it, which yields row 0's
        // state: START needs no load path of its own.
        self.idle.next = !self.running.q.val() & !self.draining.q.val();
        self.hold.next = !self.start.val() & self.idle.val();
        self.adv_row.next = self.running.q.val()
            & self.last_plane.val()
            & self.last_chunk.val()
            & !self.last_row.val();
        if self.idle.val() {
            self.p_mq.d.next = self.pre_mq.q.val();
            self.p_m0.d.next = self.jm.val();
            if self.pre_meq.q.val() {
                self.p_m0.d.next = 0.into();
            }
            self.p_q2m.d.next = self.c_off_top.val() - self.pre_q2m.q.val();
            self.p_2q2m.d.next = self.c_off_top.val() - self.pre_2q2m.q.val();
        }
        if self.idle.val() | self.adv_row.val() {
            if self.wrap_o.q.val() {
                self.wrap_o.d.next = self.ge_2q2m.val();
                self.next_o.d.next = self.o_wrap.val();
                self.next_d.d.next = self.d_wrap.val();
            } else {
                self.wrap_o.d.next = self.ge_q2m.val();
                self.next_o.d.next = self.o_plain.val();
                self.next_d.d.next = self.d_plain.val();
            }
            if self.hold.val() {
                self.wrap_o.d.next = false;
                self.next_o.d.next = 0.into();
                self.next_d.d.next = self.jq.val();
            }
        }
        if self.draining.q.val() & !self.engine_active.val() {
            self.draining.d.next = false;
            self.done_q.d.next = true;
        }
        // the control raises `start` only when the sequencer is idle (a START
        // while busy is refused there), so `start` alone loads the job
        if self.start.val() {
            self.running.d.next = true;
            self.p_m.d.next = self.jm.val();
            self.p_signed.d.next = self.job_signed.val();
            self.row_q.d.next = 0.into();
            self.plane_q.d.next = 0.into();
            self.start_bit.d.next = 0.into();
            self.dist_left.d.next = self.jq.val();
            self.segb_q.d.next = self.pre_segb.q.val();
            self.wrap_q.d.next = self.pre_wrap.q.val();
            self.lt2_q.d.next = self.pre_lt2.q.val();
            self.rem.d.next = self.jm.val();
            self.last_chunk_q.d.next = self.pre_m_le_l.q.val();
            self.m_le_l.d.next = self.pre_m_le_l.q.val();
            self.last_row_q.d.next = self.pre_last_row.q.val();
            self.p_rows_m2.d.next = self.pre_rows_m2.q.val();
            self.abit.d.next = 0.into();
            self.first_q.d.next = true;
            self.p_abits_m2.d.next = self.pre_abits_m2.q.val();
            self.p_a1.d.next = self.pre_a1.q.val();
            self.last_plane_q.d.next = self.pre_a1.q.val();
        }
        if self.abort.val() {
            self.running.d.next = false;
            self.draining.d.next = false;
            self.done_q.d.next = false;
        }
    }
}
