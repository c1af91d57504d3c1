//! Row sequencer: walks the distinct rows `j < D`, each row's chunks of `L`
//! lanes and, per chunk, the `A` bit-planes, issuing one (chunk, plane) per
//! cycle without bubbles between rows. Row offsets advance incrementally
//! (`o_{j+1} = (o_j + m) mod q`), the chunk start wraps at `q` (segment b)
//! and the lane mask and segment boundary travel with each issue.

use rust_hdl::prelude::*;

/// The row sequencer (widths fixed for the largest map: tile bit addresses
/// of 22 bits, rows of 13 bits).
#[derive(LogicBlock)]
pub struct Sequencer {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous abort (soft reset / reset): stops issuing at once.
    pub abort: Signal<In, Bit>,
    /// Start pulse (parameters already validated).
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
    pub lanes: Constant<Bits<24>>,
    lanes3_lo: Constant<Bits<10>>,
    lanes_lo: Constant<Bits<10>>,
    lanes2_lo: Constant<Bits<10>>,
    running: DFF<Bit>,
    draining: DFF<Bit>,
    done_q: DFF<Bit>,
    p_m: DFF<Bits<24>>,
    p_q: DFF<Bits<24>>,
    p_abits: DFF<Bits<4>>,
    p_signed: DFF<Bit>,
    row_q: DFF<Bits<14>>,
    plane_q: DFF<Bits<4>>,
    start_bit: DFF<Bits<24>>,
    dist_left: DFF<Bits<24>>,
    rem: DFF<Bits<24>>,
    abit: DFF<Bits<24>>,
    next_o: DFF<Bits<24>>,
    next_d: DFF<Bits<24>>,
    segb_q: DFF<Bits<9>>,
    wrap_q: DFF<Bit>,
    lt2_q: DFF<Bit>,
    first_q: DFF<Bit>,
    p_qm: DFF<Bits<24>>,
    p_q2m: DFF<Bits<24>>,
    p_2q2m: DFF<Bits<24>>,
    wrap_o: DFF<Bit>,
    p_abits_m1: DFF<Bits<4>>,
    p_rows_m2: DFF<Bits<14>>,
    m_le_l: DFF<Bit>,
    last_chunk_q: DFF<Bit>,
    last_row_q: DFF<Bit>,
    rem_le_2l: Signal<Local, Bit>,
    last_plane: Signal<Local, Bit>,
    last_chunk: Signal<Local, Bit>,
    dist_next: Signal<Local, Bits<24>>,
    wraps_next: Signal<Local, Bit>,
    wrap_start: Signal<Local, Bits<24>>,
    next_o_add: Signal<Local, Bits<24>>,
    next_o_sub: Signal<Local, Bits<24>>,
    next_o_wraps: Signal<Local, Bit>,
    wrap_o_next: Signal<Local, Bit>,
    last_row: Signal<Local, Bit>,
    start_next_o: Signal<Local, Bits<24>>,
    start_next_d: Signal<Local, Bits<24>>,
    next_d_add: Signal<Local, Bits<24>>,
    next_d_sub: Signal<Local, Bits<24>>,
    dist_lt_2l: Signal<Local, Bit>,
    seg_adv: Signal<Local, Bits<9>>,
    seg_row: Signal<Local, Bits<9>>,
    seg_job: Signal<Local, Bits<9>>,
    adv_wrap: Signal<Local, Bit>,
    adv_lt2: Signal<Local, Bit>,
    row_wrap: Signal<Local, Bit>,
    row_lt2: Signal<Local, Bit>,
    job_wrap: Signal<Local, Bit>,
    job_lt2: Signal<Local, Bit>,
}

impl Sequencer {
    /// A sequencer for `lanes` lanes.
    pub fn new(lanes: usize) -> Self {
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
            lanes3_lo: Constant::new((3 * lanes as u64).to_bits()),
            lanes_lo: Constant::new((lanes as u64).to_bits()),
            lanes2_lo: Constant::new((2 * lanes as u64).to_bits()),
            running: Default::default(),
            draining: Default::default(),
            done_q: Default::default(),
            p_m: Default::default(),
            p_q: Default::default(),
            p_abits: Default::default(),
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
            p_qm: Default::default(),
            p_q2m: Default::default(),
            p_2q2m: Default::default(),
            wrap_o: Default::default(),
            p_abits_m1: Default::default(),
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
            next_o_add: Default::default(),
            next_o_sub: Default::default(),
            next_o_wraps: Default::default(),
            wrap_o_next: Default::default(),
            last_row: Default::default(),
            start_next_o: Default::default(),
            start_next_d: Default::default(),
            next_d_add: Default::default(),
            next_d_sub: Default::default(),
            dist_lt_2l: Default::default(),
            seg_adv: Default::default(),
            seg_row: Default::default(),
            seg_job: Default::default(),
            adv_wrap: Default::default(),
            adv_lt2: Default::default(),
            row_wrap: Default::default(),
            row_lt2: Default::default(),
            job_wrap: Default::default(),
            job_lt2: Default::default(),
        }
    }
}

impl Logic for Sequencer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            running,
            draining,
            done_q,
            p_m,
            p_q,
            p_abits,
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
            p_qm,
            p_q2m,
            p_2q2m,
            wrap_o,
            p_abits_m1,
            p_rows_m2,
            m_le_l,
            last_chunk_q,
            last_row_q
        );
        // combinational helpers: each is one adder or comparator on registers
        // (no chained carry paths; constants of the job precomputed at start)
        self.last_plane.next = self.plane_q.q.val() == self.p_abits_m1.q.val();
        // "last chunk of the row" and "last row" are registered, computed when
        // `rem` / `row_q` are assigned (keeps comparators off the control path)
        self.last_chunk.next = self.last_chunk_q.q.val();
        self.last_row.next = self.last_row_q.q.val();
        // comparisons with small constants (<= 2L <= 512): upper 14 bits zero
        // (a LUT tree) and a 10-bit comparator, instead of a 24-bit carry chain
        self.rem_le_2l.next = (self.rem.q.val().get_bits::<14>(10) == 0)
            & (self.rem.q.val().get_bits::<10>(0) <= self.lanes2_lo.val());
        self.dist_next.next = self.dist_left.q.val() - self.lanes.val();
        // the next chunk starts at or past the tile end (distance <= L, or already past)
        // registered with the distance (see the flags below)
        self.wraps_next.next = self.wrap_q.q.val();
        self.wrap_start.next = self.lanes.val() - self.dist_left.q.val();
        // o_{j+1} = o_j + m - q if o_j + m >= q (i.e. o_j >= q - m), else o_j + m
        self.next_o_add.next = self.next_o.q.val() + self.p_m.q.val();
        self.next_o_sub.next = self.next_o.q.val() - self.p_qm.q.val();
        // wrap_{j+1} = (o_{j+1} >= q - m) is registered with o_{j+1}; the flag
        // of the row after it follows from o_{j+1} alone: o_{j+1} >= 2q - 2m
        // after a wrap, o_{j+1} >= q - 2m otherwise (always when q < 2m)
        self.next_o_wraps.next = self.wrap_o.q.val();
        self.wrap_o_next.next =
            self.p_q2m.q.val().get_bit(23) | (self.next_o.q.val() >= self.p_q2m.q.val());
        if self.wrap_o.q.val() {
            self.wrap_o_next.next = self.next_o.q.val() >= self.p_2q2m.q.val();
        }
        // o_1 = m mod q: the start checks guarantee m <= q, so o_1 is m, or 0
        // when m = q (an equality, no carry chain from the bus registers)
        self.start_next_o.next = self.job_m.val();
        if self.job_m.val() == self.job_q.val() {
            self.start_next_o.next = 0.into();
        }
        // d_{j+1} = q - o_{j+1}, kept incrementally next to o_{j+1} (the
        // distance of the next row's start to the tile end)
        self.next_d_add.next = self.next_d.q.val() + self.p_qm.q.val();
        self.next_d_sub.next = self.next_d.q.val() - self.p_m.q.val();
        self.start_next_d.next = self.job_q.val() - self.job_m.val();
        if self.job_m.val() == self.job_q.val() {
            self.start_next_d.next = self.job_q.val();
        }
        // first lane of segment b, registered with the distance it derives
        // from (each candidate is one comparator on a register): after a chunk
        // advance (distance - L), at a row start (d_{j+1} >= 1) and at the job
        // start (q >= 1)
        self.dist_lt_2l.next = self.lt2_q.q.val();
        // flags of the distance, registered with it: wrap = (distance <= L,
        // or negative), lt2 = (distance < 2L); candidates after a chunk
        // advance (distance - L), at a row start and at the job start
        self.adv_wrap.next = self.dist_left.q.val().get_bit(23)
            | ((self.dist_left.q.val().get_bits::<14>(10) == 0)
                & (self.dist_left.q.val().get_bits::<10>(0) <= self.lanes2_lo.val()));
        self.adv_lt2.next = self.dist_left.q.val().get_bit(23)
            | ((self.dist_left.q.val().get_bits::<14>(10) == 0)
                & (self.dist_left.q.val().get_bits::<10>(0) < self.lanes3_lo.val()));
        self.row_wrap.next = (self.next_d.q.val().get_bits::<14>(10) == 0)
            & (self.next_d.q.val().get_bits::<10>(0) <= self.lanes_lo.val());
        self.row_lt2.next = (self.next_d.q.val().get_bits::<14>(10) == 0)
            & (self.next_d.q.val().get_bits::<10>(0) < self.lanes2_lo.val());
        self.job_wrap.next = (self.job_q.val().get_bits::<14>(10) == 0)
            & (self.job_q.val().get_bits::<10>(0) <= self.lanes_lo.val());
        self.job_lt2.next = (self.job_q.val().get_bits::<14>(10) == 0)
            & (self.job_q.val().get_bits::<10>(0) < self.lanes2_lo.val());
        self.seg_adv.next = self.lanes.val().get_bits::<9>(0);
        if self.wraps_next.val() {
            self.seg_adv.next = 0.into();
        } else if self.dist_lt_2l.val() {
            self.seg_adv.next = self.dist_next.val().get_bits::<9>(0);
        }
        self.seg_row.next = self.lanes.val().get_bits::<9>(0);
        if (self.next_d.q.val().get_bits::<14>(10) == 0)
            & (self.next_d.q.val().get_bits::<10>(0) < self.lanes_lo.val())
        {
            self.seg_row.next = self.next_d.q.val().get_bits::<9>(0);
        }
        self.seg_job.next = self.lanes.val().get_bits::<9>(0);
        if (self.job_q.val().get_bits::<14>(10) == 0)
            & (self.job_q.val().get_bits::<10>(0) < self.lanes_lo.val())
        {
            self.seg_job.next = self.job_q.val().get_bits::<9>(0);
        }
        // issue outputs
        self.issue.next = self.running.q.val();
        self.tile_bit.next = self.start_bit.q.val().get_bits::<22>(0);
        self.act_bit.next = self.abit.q.val().get_bits::<17>(0);
        self.plane.next = self.plane_q.q.val().get_bits::<3>(0);
        self.nvalid.next = self.rem.q.val().get_bits::<9>(0);
        if !self.last_chunk.val() {
            self.nvalid.next = self.lanes.val().get_bits::<9>(0);
        }
        self.segb.next = self.segb_q.q.val();
        self.neg.next = self.p_signed.q.val() & self.last_plane.val() & (self.p_abits.q.val() != 1);
        self.xnor_mode.next = self.p_abits.q.val() == 1;
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
            } else {
                self.plane_q.d.next = 0.into();
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
                    self.wrap_o.d.next = self.wrap_o_next.val();
                    if self.next_o_wraps.val() {
                        self.next_o.d.next = self.next_o_sub.val();
                        self.next_d.d.next = self.next_d_add.val();
                    } else {
                        self.next_o.d.next = self.next_o_add.val();
                        self.next_d.d.next = self.next_d_sub.val();
                    }
                }
            }
        }
        if self.draining.q.val() & !self.engine_active.val() {
            self.draining.d.next = false;
            self.done_q.d.next = true;
        }
        if self.start.val() & !self.running.q.val() & !self.draining.q.val() {
            self.running.d.next = true;
            self.p_m.d.next = self.job_m.val();
            self.p_q.d.next = self.job_q.val();
            self.p_abits.d.next = self.job_abits.val();
            self.p_signed.d.next = self.job_signed.val();
            self.row_q.d.next = 0.into();
            self.plane_q.d.next = 0.into();
            self.start_bit.d.next = 0.into();
            self.dist_left.d.next = self.job_q.val();
            self.segb_q.d.next = self.seg_job.val();
            self.wrap_q.d.next = self.job_wrap.val();
            self.lt2_q.d.next = self.job_lt2.val();
            self.rem.d.next = self.job_m.val();
            self.last_chunk_q.d.next = self.job_m.val() <= self.lanes.val();
            self.m_le_l.d.next = self.job_m.val() <= self.lanes.val();
            self.last_row_q.d.next = self.job_rows.val() == 1;
            self.p_rows_m2.d.next = self.job_rows.val() - 2;
            self.abit.d.next = 0.into();
            self.first_q.d.next = true;
            self.next_o.d.next = self.start_next_o.val();
            self.next_d.d.next = self.start_next_d.val();
            self.p_qm.d.next = self.job_q.val() - self.job_m.val();
            self.p_q2m.d.next = self.job_q.val() - (self.job_m.val() << 1);
            self.p_2q2m.d.next = (self.job_q.val() - self.job_m.val()) << 1;
            // o_1 = m mod q wraps (o_1 >= q - m) iff 2m >= q
            self.wrap_o.d.next = (self.job_m.val() << 1) >= self.job_q.val();
            self.p_abits_m1.d.next = self.job_abits.val() - 1;
        }
        if self.abort.val() {
            self.running.d.next = false;
            self.draining.d.next = false;
            self.done_q.d.next = false;
        }
    }
}
