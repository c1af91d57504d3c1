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
    // constants: multiples of L, masks of the bits at and above them, the
    // offset arithmetic's modulus (2 TILE_MAX) and the sign bit
    two_l: Constant<Bits<N>>,
    three_l: Constant<Bits<N>>,
    mask_ge_l: Constant<Bits<N>>,
    mask_ge_2l: Constant<Bits<N>>,
    mask_ge_4l: Constant<Bits<N>>,
    offset_mask: Constant<Bits<N>>,
    offset_top: Constant<Bits<N>>,
    sign_bit: Constant<Bits<N>>,
    /// The job inputs stay stable while a job runs (see
    /// [`Sequencer::with_stable_job`]): the job constants are used from
    /// the inputs and `pre_*` directly, and the `held_*` copies go unused.
    stable_job: Constant<Bit>,
    // widths of the row counter and of the row-position registers (the
    // lanes left and the chunk's activation start): CFG_MAX_ROWS and
    // CFG_MAX_IN bits for the stable-job sequencer, full otherwise
    row_mask: Constant<Bits<14>>,
    len_mask: Constant<Bits<N>>,
    // phase of the job
    running: DFF<Bit>,
    draining: DFF<Bit>,
    done_pulse: DFF<Bit>,
    // position: row, plane, and the chunk's window start, activation start,
    // lanes left in the row and distance to the tile end
    row_index: DFF<Bits<14>>,
    plane_index: DFF<Bits<4>>,
    chunk_start: DFF<Bits<N>>,
    act_start: DFF<Bits<N>>,
    lanes_left: DFF<Bits<N>>,
    dist_to_end: DFF<Bits<N>>,
    segb_reg: DFF<Bits<9>>,
    first_reg: DFF<Bit>,
    // flags registered with the counters they derive from
    last_plane_q: DFF<Bit>,
    last_chunk_q: DFF<Bit>,
    last_row_q: DFF<Bit>,
    next_chunk_wraps_q: DFF<Bit>,
    dist_below_2l_q: DFF<Bit>,
    // offset state of the next row (kept a row ahead)
    next_row_offset: DFF<Bits<N>>,
    next_row_dist: DFF<Bits<N>>,
    next_row_wraps: DFF<Bit>,
    // job constants held during a job (copied from `pre_*` while idle or at START)
    held_m: DFF<Bits<N>>,
    held_signed: DFF<Bit>,
    held_m_minus_q: DFF<Bits<N>>,
    held_row_step: DFF<Bits<N>>,
    /// 2 TILE_MAX - max(q - 2m, 0) (complement for the comparator).
    held_cmp_q_2m: DFF<Bits<N>>,
    /// 2 TILE_MAX - (2q - 2m).
    held_cmp_2q_2m: DFF<Bits<N>>,
    held_abits_minus_2: DFF<Bits<4>>,
    held_xnor: DFF<Bit>,
    held_rows_minus_2: DFF<Bits<14>>,
    held_one_chunk: DFF<Bit>,
    // job constants precomputed every cycle from the job inputs
    pre_m_minus_q: DFF<Bits<N>>,
    pre_m_eq_q: DFF<Bit>,
    /// 2 TILE_MAX - max(q - 2m, 0) (complement for the comparator).
    pre_cmp_q_2m: DFF<Bits<N>>,
    pre_one_chunk: DFF<Bit>,
    pre_one_row: DFF<Bit>,
    pre_rows_minus_2: DFF<Bits<14>>,
    pre_abits_minus_2: DFF<Bits<4>>,
    pre_xnor: DFF<Bit>,
    pre_segb: DFF<Bits<9>>,
    pre_q_wraps: DFF<Bit>,
    pre_q_below_l: DFF<Bit>,
    pre_q_eq_l: DFF<Bit>,
    pre_q_below_2l: DFF<Bit>,
    // combinational: the job inputs at width N, aliases of registered flags,
    // and the candidates of the next values (one adder or comparator each)
    m_n: Signal<Local, Bits<N>>,
    q_n: Signal<Local, Bits<N>>,
    two_m_minus_q: Signal<Local, Bits<N>>,
    // the job constants in use: the `held_*` copies, or with a stable job
    // the inputs and `pre_*` themselves
    k_m: Signal<Local, Bits<N>>,
    k_signed: Signal<Local, Bit>,
    k_m_minus_q: Signal<Local, Bits<N>>,
    k_row_step: Signal<Local, Bits<N>>,
    k_cmp_q_2m: Signal<Local, Bits<N>>,
    k_cmp_2q_2m: Signal<Local, Bits<N>>,
    k_abits_minus_2: Signal<Local, Bits<4>>,
    k_xnor: Signal<Local, Bit>,
    k_rows_minus_2: Signal<Local, Bits<14>>,
    k_one_chunk: Signal<Local, Bit>,
    idle: Signal<Local, Bit>,
    hold_row_minus_1: Signal<Local, Bit>,
    row_advance: Signal<Local, Bit>,
    last_plane: Signal<Local, Bit>,
    last_chunk: Signal<Local, Bit>,
    last_row: Signal<Local, Bit>,
    lanes_left_le_2l: Signal<Local, Bit>,
    dist_next_chunk: Signal<Local, Bits<N>>,
    next_chunk_wraps: Signal<Local, Bit>,
    dist_below_2l: Signal<Local, Bit>,
    chunk_opnd: Signal<Local, Bits<N>>,
    next_chunk_start: Signal<Local, Bits<N>>,
    wraps_after_chunk: Signal<Local, Bit>,
    below_2l_after_chunk: Signal<Local, Bit>,
    wraps_next_row: Signal<Local, Bit>,
    below_2l_next_row: Signal<Local, Bit>,
    segb_next_chunk: Signal<Local, Bits<9>>,
    segb_next_row: Signal<Local, Bits<9>>,
    step_sel: Signal<Local, Bits<N>>,
    cmp_sel: Signal<Local, Bits<N>>,
    offset_ge_next: Signal<Local, Bit>,
    offset_next: Signal<Local, Bits<N>>,
    dist_next: Signal<Local, Bits<N>>,
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
    /// A sequencer for `lanes` lanes and tiles of up to `tile_max` bits
    /// whose job inputs may change while a job runs (the job-mode core's
    /// bus-writable job registers): the job constants are held from START.
    pub fn new(lanes: usize, tile_max: usize) -> Self {
        Self::build(lanes, tile_max, false)
    }

    /// A sequencer whose job inputs stay stable from two cycles before
    /// START until its last issue (the network engine's descriptor
    /// registers): no held copies of the job constants. Its jobs have `m <=
    /// max_in` and `D <= max_rows`: the row counter and the row-position
    /// registers are only as wide as those need.
    pub fn with_stable_job(lanes: usize, tile_max: usize, max_in: usize, max_rows: usize) -> Self {
        let mut s = Self::build(lanes, tile_max, true);
        let bits = |x: usize| usize::BITS - x.leading_zeros();
        s.row_mask = Constant::new(((1u64 << bits(max_rows.max(2) - 1).min(14)) - 1).to_bits());
        s.len_mask = Constant::new(((1u64 << bits(max_in).min(N as u32)) - 1).to_bits());
        s
    }

    fn build(lanes: usize, tile_max: usize, stable_job: bool) -> Self {
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
            two_l: Constant::new((2 * lanes as u64).to_bits()),
            three_l: Constant::new((3 * lanes as u64).to_bits()),
            mask_ge_l: high_bits::<N>(lanes),
            mask_ge_2l: high_bits::<N>(2 * lanes),
            mask_ge_4l: high_bits::<N>(4 * lanes),
            running: Default::default(),
            draining: Default::default(),
            done_pulse: Default::default(),
            held_m: Default::default(),
            held_signed: Default::default(),
            row_index: Default::default(),
            plane_index: Default::default(),
            chunk_start: Default::default(),
            dist_to_end: Default::default(),
            lanes_left: Default::default(),
            act_start: Default::default(),
            next_row_offset: Default::default(),
            next_row_dist: Default::default(),
            segb_reg: Default::default(),
            next_chunk_wraps_q: Default::default(),
            dist_below_2l_q: Default::default(),
            first_reg: Default::default(),
            held_m_minus_q: Default::default(),
            held_row_step: Default::default(),
            pre_m_eq_q: Default::default(),
            idle: Default::default(),
            step_sel: Default::default(),
            cmp_sel: Default::default(),
            offset_ge_next: Default::default(),
            offset_next: Default::default(),
            dist_next: Default::default(),
            hold_row_minus_1: Default::default(),
            row_advance: Default::default(),
            held_cmp_q_2m: Default::default(),
            held_cmp_2q_2m: Default::default(),
            next_row_wraps: Default::default(),
            offset_mask: Constant::new((2 * tile_max as u64 - 1).to_bits()),
            offset_top: Constant::new((2 * tile_max as u64).to_bits()),
            held_abits_minus_2: Default::default(),
            held_xnor: Default::default(),
            last_plane_q: Default::default(),
            held_rows_minus_2: Default::default(),
            held_one_chunk: Default::default(),
            last_chunk_q: Default::default(),
            last_row_q: Default::default(),
            lanes_left_le_2l: Default::default(),
            last_plane: Default::default(),
            last_chunk: Default::default(),
            dist_next_chunk: Default::default(),
            next_chunk_wraps: Default::default(),
            chunk_opnd: Default::default(),
            next_chunk_start: Default::default(),
            last_row: Default::default(),
            m_n: Default::default(),
            q_n: Default::default(),
            sign_bit: Constant::new((1u64 << (N - 1)).to_bits()),
            stable_job: Constant::new(stable_job),
            row_mask: Constant::new(((1u64 << 14) - 1).to_bits()),
            len_mask: Constant::new(((1u64 << N) - 1).to_bits()),
            two_m_minus_q: Default::default(),
            k_m: Default::default(),
            k_signed: Default::default(),
            k_m_minus_q: Default::default(),
            k_row_step: Default::default(),
            k_cmp_q_2m: Default::default(),
            k_cmp_2q_2m: Default::default(),
            k_abits_minus_2: Default::default(),
            k_xnor: Default::default(),
            k_rows_minus_2: Default::default(),
            k_one_chunk: Default::default(),
            pre_m_minus_q: Default::default(),
            pre_cmp_q_2m: Default::default(),
            pre_one_chunk: Default::default(),
            pre_one_row: Default::default(),
            pre_rows_minus_2: Default::default(),
            pre_abits_minus_2: Default::default(),
            pre_xnor: Default::default(),
            dist_below_2l: Default::default(),
            segb_next_chunk: Default::default(),
            segb_next_row: Default::default(),
            pre_segb: Default::default(),
            wraps_after_chunk: Default::default(),
            below_2l_after_chunk: Default::default(),
            wraps_next_row: Default::default(),
            below_2l_next_row: Default::default(),
            pre_q_wraps: Default::default(),
            pre_q_below_l: Default::default(),
            pre_q_eq_l: Default::default(),
            pre_q_below_2l: Default::default(),
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
            done_pulse,
            held_m,
            held_signed,
            row_index,
            plane_index,
            chunk_start,
            dist_to_end,
            lanes_left,
            act_start,
            next_row_offset,
            next_row_dist,
            segb_reg,
            next_chunk_wraps_q,
            dist_below_2l_q,
            first_reg,
            held_m_minus_q,
            held_row_step,
            pre_m_eq_q,
            held_cmp_q_2m,
            held_cmp_2q_2m,
            next_row_wraps,
            held_abits_minus_2,
            held_xnor,
            last_plane_q,
            held_rows_minus_2,
            held_one_chunk,
            last_chunk_q,
            last_row_q,
            pre_m_minus_q,
            pre_cmp_q_2m,
            pre_one_chunk,
            pre_one_row,
            pre_rows_minus_2,
            pre_abits_minus_2,
            pre_xnor,
            pre_segb,
            pre_q_wraps,
            pre_q_below_l,
            pre_q_eq_l,
            pre_q_below_2l
        );
        // (the row counter and the row-position registers hold their masked
        // values: their bits above the masks are constant 0)
        self.row_index.d.next = self.row_index.q.val() & self.row_mask.val();
        self.lanes_left.d.next = self.lanes_left.q.val() & self.len_mask.val();
        self.act_start.d.next = self.act_start.q.val() & self.len_mask.val();
        self.m_n.next = bit_cast::<N, 24>(self.job_m.val());
        self.q_n.next = bit_cast::<N, 24>(self.job_q.val());
        // the job constants in use: held from START (the job-mode core's job
        // registers may change while a job runs), or the precomputed values
        // themselves when the job inputs are stable
        self.k_m.next = self.held_m.q.val();
        self.k_signed.next = self.held_signed.q.val();
        self.k_m_minus_q.next = self.held_m_minus_q.q.val();
        self.k_row_step.next = self.held_row_step.q.val();
        self.k_cmp_q_2m.next = self.held_cmp_q_2m.q.val();
        self.k_cmp_2q_2m.next = self.held_cmp_2q_2m.q.val();
        self.k_abits_minus_2.next = self.held_abits_minus_2.q.val();
        self.k_xnor.next = self.held_xnor.q.val();
        self.k_rows_minus_2.next = self.held_rows_minus_2.q.val();
        self.k_one_chunk.next = self.held_one_chunk.q.val();
        if self.stable_job.val() {
            self.k_m.next = self.m_n.val();
            self.k_signed.next = self.job_signed.val();
            self.k_m_minus_q.next = self.pre_m_minus_q.q.val();
            self.k_row_step.next = self.m_n.val();
            if self.pre_m_eq_q.q.val() {
                self.k_row_step.next = 0.into();
            }
            self.k_cmp_q_2m.next = self.pre_cmp_q_2m.q.val();
            // T + 2(m - q): T when m = q, else the low bits of 2(m - q)
            // (in [-T, 0): adding T clears the bits at and above T)
            self.k_cmp_2q_2m.next = self.offset_top.val();
            if !self.pre_m_eq_q.q.val() {
                self.k_cmp_2q_2m.next = (self.pre_m_minus_q.q.val() << 1) & self.offset_mask.val();
            }
            self.k_abits_minus_2.next = self.pre_abits_minus_2.q.val();
            self.k_xnor.next = self.pre_xnor.q.val();
            self.k_rows_minus_2.next = self.pre_rows_minus_2.q.val();
            self.k_one_chunk.next = self.pre_one_chunk.q.val();
        }
        // combinational helpers: each is one adder or comparator on registers
        // (no chained carry paths; constants of the job precomputed at start)
        // "last plane" is registered, computed when the plane advances (it
        // gates the enables of the whole address state: keep it a flip-flop)
        self.last_plane.next = self.last_plane_q.q.val();
        // "last chunk of the row" and "last row" are registered, computed when
        // `lanes_left` / `row_index` are assigned (keeps comparators off the control path)
        self.last_chunk.next = self.last_chunk_q.q.val();
        self.last_row.next = self.last_row_q.q.val();
        // comparisons with small constants (<= 2L <= 512): upper 14 bits zero
        // (a LUT tree) and a 10-bit comparator, instead of a 24-bit carry chain
        // (comparisons with multiples of L, L a power of two, as masks and
        // equalities: LUT trees, no carry chains)
        self.lanes_left_le_2l.next = ((self.lanes_left.q.val() & self.mask_ge_2l.val()) == 0)
            | (self.lanes_left.q.val() == self.two_l.val());
        self.dist_next_chunk.next = self.dist_to_end.q.val() - self.lanes.val();
        // the next chunk starts at or past the tile end (distance <= L, or already past)
        // registered with the distance (see the flags below)
        self.next_chunk_wraps.next = self.next_chunk_wraps_q.q.val();
        // the next chunk's start: L - distance when it wraps (as ~distance + L
        // + 1), else start + L: one chain, its operand selected by the flag
        self.chunk_opnd.next = self.chunk_start.q.val();
        if self.next_chunk_wraps.val() {
            self.chunk_opnd.next = !self.dist_to_end.q.val();
        }
        self.next_chunk_start.next = self.chunk_opnd.val()
            + self.lanes.val()
            + bit_cast::<N, 1>(self.next_chunk_wraps.val().into());
        // the offset state's next values (see below): one adder or one
        // comparator each, on registers, with the operand selected by the
        // registered wrap flag (one LUT before each chain: a multiplexed
        // operand instead of two candidate chains and a multiplexer after them).
        // Offsets and thresholds are below 2 TILE_MAX: the comparators are
        // log2(TILE_MAX) + 1 bits
        // (o >= t is the carry out of o + (T - t), T = 2 TILE_MAX: the
        // complements are kept in `held_cmp_*`, so each comparator is one plain adder)
        self.step_sel.next = self.k_row_step.val();
        self.cmp_sel.next = self.k_cmp_q_2m.val();
        if self.next_row_wraps.q.val() {
            self.step_sel.next = self.k_m_minus_q.val();
            self.cmp_sel.next = self.k_cmp_2q_2m.val();
        }
        self.offset_ge_next.next = (((self.next_row_offset.q.val() & self.offset_mask.val())
            + self.cmp_sel.val())
            & self.offset_top.val())
            != 0;
        // (offsets and distances are in [0, q]: modulo 2 TILE_MAX arithmetic)
        self.offset_next.next =
            (self.next_row_offset.q.val() + self.step_sel.val()) & self.offset_mask.val();
        self.dist_next.next =
            (self.next_row_dist.q.val() - self.step_sel.val()) & self.offset_mask.val();
        // job constants, precomputed every cycle from the job registers
        // (`pre_*`) and copied into `held_*` while idle (the copies hold during
        // a job, whatever the bus writes). A job register written by the
        // access in cycle t holds its new value from t+2; the next access
        // (START) comes at t+2 at the earliest and reaches `start` two cycles
        // later (registered write, registered start), at t+4, when both
        // stages are current.
        self.pre_m_minus_q.d.next = self.m_n.val() - self.q_n.val();
        // m = q (then the offset step of the first row, m mod q, is 0; the
        // start checks guarantee m <= q)
        self.pre_m_eq_q.d.next = self.m_n.val() == self.q_n.val();
        // T - max(q - 2m, 0) = T + min(2m - q, 0) (o >= q - 2m always holds
        // when q - 2m is negative): T unless 2m - q is negative, then the
        // low bits of 2m - q (in [-T/2, 0): adding T clears the bits at and
        // above T)
        self.two_m_minus_q.next = (self.m_n.val() << 1) - self.q_n.val();
        self.pre_cmp_q_2m.d.next = self.offset_top.val();
        if (self.two_m_minus_q.val() & self.sign_bit.val()) != 0 {
            self.pre_cmp_q_2m.d.next = self.two_m_minus_q.val() & self.offset_mask.val();
        }
        self.pre_one_chunk.d.next =
            ((self.m_n.val() & self.mask_ge_l.val()) == 0) | (self.m_n.val() == self.lanes.val());
        self.pre_one_row.d.next = self.job_rows.val() == 1;
        self.pre_rows_minus_2.d.next = self.job_rows.val() - 2;
        self.pre_abits_minus_2.d.next = self.job_abits.val() - 2;
        self.pre_xnor.d.next = self.job_abits.val() == 1;
        // first lane of segment b, registered with the distance it derives
        // from (each candidate is one comparator on a register): after a chunk
        // advance (distance - L), at a row start (d_{j+1} >= 1) and at the job
        // start (q >= 1)
        self.dist_below_2l.next = self.dist_below_2l_q.q.val();
        // flags of the distance, registered with it: wrap = (distance <= L,
        // or negative), lt2 = (distance < 2L); candidates after a chunk
        // advance (distance - L), at a row start and at the job start
        self.wraps_after_chunk.next = ((self.dist_to_end.q.val() & self.sign_bit.val()) != 0)
            | ((self.dist_to_end.q.val() & self.mask_ge_2l.val()) == 0)
            | (self.dist_to_end.q.val() == self.two_l.val());
        // x < 3L: below 4L and not both bits of 3L set
        self.below_2l_after_chunk.next = ((self.dist_to_end.q.val() & self.sign_bit.val()) != 0)
            | (((self.dist_to_end.q.val() & self.mask_ge_4l.val()) == 0)
                & ((self.dist_to_end.q.val() & self.three_l.val()) != self.three_l.val()));
        self.wraps_next_row.next = ((self.next_row_dist.q.val() & self.mask_ge_l.val()) == 0)
            | (self.next_row_dist.q.val() == self.lanes.val());
        self.below_2l_next_row.next = (self.next_row_dist.q.val() & self.mask_ge_2l.val()) == 0;
        // (flags of q for the job start: comparisons in a first stage, the
        // selections from them in a second)
        self.pre_q_below_l.d.next = (self.q_n.val() & self.mask_ge_l.val()) == 0;
        self.pre_q_eq_l.d.next = self.q_n.val() == self.lanes.val();
        self.pre_q_wraps.d.next = self.pre_q_below_l.q.val() | self.pre_q_eq_l.q.val();
        self.pre_q_below_2l.d.next = (self.q_n.val() & self.mask_ge_2l.val()) == 0;
        self.segb_next_chunk.next = self.lanes.val().get_bits::<9>(0);
        if self.next_chunk_wraps.val() {
            self.segb_next_chunk.next = 0.into();
        } else if self.dist_below_2l.val() {
            self.segb_next_chunk.next = self.dist_next_chunk.val().get_bits::<9>(0);
        }
        self.segb_next_row.next = self.lanes.val().get_bits::<9>(0);
        if (self.next_row_dist.q.val() & self.mask_ge_l.val()) == 0 {
            self.segb_next_row.next = self.next_row_dist.q.val().get_bits::<9>(0);
        }
        self.pre_segb.d.next = self.lanes.val().get_bits::<9>(0);
        if self.pre_q_below_l.q.val() {
            self.pre_segb.d.next = self.q_n.val().get_bits::<9>(0);
        }
        // issue outputs
        self.issue.next = self.running.q.val();
        self.tile_bit.next = bit_cast::<22, N>(self.chunk_start.q.val());
        self.act_bit.next = bit_cast::<17, N>(self.act_start.q.val());
        self.plane.next = self.plane_index.q.val().get_bits::<3>(0);
        self.nvalid.next = self.lanes_left.q.val().get_bits::<9>(0);
        if !self.last_chunk.val() {
            self.nvalid.next = self.lanes.val().get_bits::<9>(0);
        }
        self.segb.next = self.segb_reg.q.val();
        self.neg.next = self.k_signed.val() & self.last_plane.val() & !self.k_xnor.val();
        self.xnor_mode.next = self.k_xnor.val();
        self.first.next = self.first_reg.q.val();
        self.last.next = self.last_plane.val() & self.last_chunk.val();
        self.row.next = self.row_index.q.val().get_bits::<13>(0);
        self.busy.next = self.running.q.val() | self.draining.q.val();
        self.done.next = self.done_pulse.q.val();
        self.done_pulse.d.next = false;
        // sequencing
        if self.running.q.val() {
            self.first_reg.d.next = false;
            if !self.last_plane.val() {
                self.plane_index.d.next = self.plane_index.q.val() + 1;
                self.last_plane_q.d.next = self.plane_index.q.val() == self.k_abits_minus_2.val();
            } else {
                self.plane_index.d.next = 0.into();
                self.last_plane_q.d.next = self.k_xnor.val();
                if !self.last_chunk.val() {
                    self.lanes_left.d.next =
                        (self.lanes_left.q.val() - self.lanes.val()) & self.len_mask.val();
                    self.last_chunk_q.d.next = self.lanes_left_le_2l.val();
                    // (a multiple of L: the low bits are constant 0)
                    self.act_start.d.next = (self.act_start.q.val() + self.lanes.val())
                        & self.mask_ge_l.val()
                        & self.len_mask.val();
                    self.dist_to_end.d.next = self.dist_next_chunk.val();
                    self.segb_reg.d.next = self.segb_next_chunk.val();
                    self.next_chunk_wraps_q.d.next = self.wraps_after_chunk.val();
                    self.dist_below_2l_q.d.next = self.below_2l_after_chunk.val();
                    self.chunk_start.d.next = self.next_chunk_start.val();
                } else if self.last_row.val() {
                    self.running.d.next = false;
                    self.draining.d.next = true;
                } else {
                    self.row_index.d.next = (self.row_index.q.val() + 1) & self.row_mask.val();
                    self.last_row_q.d.next =
                        self.row_index.q.val() == (self.k_rows_minus_2.val() & self.row_mask.val());
                    self.last_chunk_q.d.next = self.k_one_chunk.val();
                    self.chunk_start.d.next = self.next_row_offset.q.val();
                    self.dist_to_end.d.next = self.next_row_dist.q.val();
                    self.segb_reg.d.next = self.segb_next_row.val();
                    self.next_chunk_wraps_q.d.next = self.wraps_next_row.val();
                    self.dist_below_2l_q.d.next = self.below_2l_next_row.val();
                    self.lanes_left.d.next = self.k_m.val() & self.len_mask.val();
                    self.act_start.d.next = 0.into();
                    self.first_reg.d.next = true;
                }
            }
        }
        // offset state: o_{j+1} (`next_row_offset`), d_{j+1} = q - o_{j+1} (`next_row_dist`)
        // and wrap_{j+1} = (o_{j+1} >= q - m) (`next_row_wraps`). A row advance
        // computes o_{j+2} = o_{j+1} + m - q after a wrap, else o_{j+1} + m,
        // and wrap_{j+2} from o_{j+1} alone: o_{j+1} >= 2q - 2m after a wrap,
        // else o_{j+1} >= max(q - 2m, 0). While idle the state holds "row -1"
        // (o = 0, d = q, no wrap; the step of that row is m mod q = `held_row_step`),
        // and the START cycle is a row advance from it, which yields row 0's
        // state: START needs no load path of its own.
        self.idle.next = !self.running.q.val() & !self.draining.q.val();
        self.hold_row_minus_1.next = !self.start.val() & self.idle.val();
        self.row_advance.next = self.running.q.val()
            & self.last_plane.val()
            & self.last_chunk.val()
            & !self.last_row.val();
        if self.idle.val() {
            self.held_m_minus_q.d.next = self.pre_m_minus_q.q.val();
            self.held_row_step.d.next = self.m_n.val();
            if self.pre_m_eq_q.q.val() {
                self.held_row_step.d.next = 0.into();
            }
            self.held_cmp_q_2m.d.next = self.pre_cmp_q_2m.q.val();
            // T - 2(q - m) = T + 2(m - q): T when m = q, else the low bits
            // of 2(m - q) (in [-T, 0): adding T clears the bits at and above T)
            self.held_cmp_2q_2m.d.next = self.offset_top.val();
            if !self.pre_m_eq_q.q.val() {
                self.held_cmp_2q_2m.d.next =
                    (self.pre_m_minus_q.q.val() << 1) & self.offset_mask.val();
            }
        }
        if self.idle.val() | self.row_advance.val() {
            self.next_row_wraps.d.next = self.offset_ge_next.val();
            self.next_row_offset.d.next = self.offset_next.val();
            self.next_row_dist.d.next = self.dist_next.val();
            if self.hold_row_minus_1.val() {
                self.next_row_wraps.d.next = false;
                self.next_row_offset.d.next = 0.into();
                self.next_row_dist.d.next = self.q_n.val();
            }
        }
        if self.draining.q.val() & !self.engine_active.val() {
            self.draining.d.next = false;
            self.done_pulse.d.next = true;
        }
        // the control raises `start` only when the sequencer is idle (a START
        // while busy is refused there), so `start` alone loads the job
        if self.start.val() {
            self.running.d.next = true;
            self.held_m.d.next = self.m_n.val();
            self.held_signed.d.next = self.job_signed.val();
            self.row_index.d.next = 0.into();
            self.plane_index.d.next = 0.into();
            self.chunk_start.d.next = 0.into();
            self.dist_to_end.d.next = self.q_n.val();
            self.segb_reg.d.next = self.pre_segb.q.val();
            self.next_chunk_wraps_q.d.next = self.pre_q_wraps.q.val();
            self.dist_below_2l_q.d.next = self.pre_q_below_2l.q.val();
            self.lanes_left.d.next = self.m_n.val() & self.len_mask.val();
            self.last_chunk_q.d.next = self.pre_one_chunk.q.val();
            self.held_one_chunk.d.next = self.pre_one_chunk.q.val();
            self.last_row_q.d.next = self.pre_one_row.q.val();
            self.held_rows_minus_2.d.next = self.pre_rows_minus_2.q.val();
            self.act_start.d.next = 0.into();
            self.first_reg.d.next = true;
            self.held_abits_minus_2.d.next = self.pre_abits_minus_2.q.val();
            self.held_xnor.d.next = self.pre_xnor.q.val();
            self.last_plane_q.d.next = self.pre_xnor.q.val();
        }
        if self.abort.val() {
            self.running.d.next = false;
            self.draining.d.next = false;
            self.done_pulse.d.next = false;
        }
    }
}
