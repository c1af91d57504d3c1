//! START validation: is the sequencer busy, and do the job registers fit the
//! capacities? The first failing check gives the error code (register map,
//! `ERROR_CODES`): 1 busy, 2 A (0 or above the largest A), 3 m (0 or above
//! MAX_IN), 4 q (below m or above TILE_MAX), 5 D (0 or above MAX_ROWS).
//!
//! The capacity checks are registered: each comparison lands in its own
//! flip-flop (one comparator per path) and the code is selected from the
//! registered flags, so the verdict reflects the job registers of the cycle
//! before. That is always current when START acts: the job registers change
//! only by bus writes, and a START takes effect at least 2 cycles after the
//! write before it (registered ack). Capacities are powers of two, so
//! "v > capacity" is a mask and an equality (LUT trees, no carry chain).

use rust_hdl::prelude::*;

use crate::control::IdValues;
use crate::util::{c32, high_mask32};

/// The start checks.
#[derive(LogicBlock)]
pub struct StartCheck {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// JOB_M register.
    pub job_m: Signal<In, Bits<32>>,
    /// JOB_Q register.
    pub job_q: Signal<In, Bits<32>>,
    /// JOB_ROWS register.
    pub job_rows: Signal<In, Bits<32>>,
    /// A, the low 4 bits of JOB_ABITS.
    pub job_abits: Signal<In, Bits<4>>,
    /// The sequencer is busy (this cycle).
    pub seq_busy: Signal<In, Bit>,
    /// A START in this cycle is refused.
    pub fail: Signal<Out, Bit>,
    /// Its error code (0 when none fails).
    pub fail_code: Signal<Out, Bits<4>>,
    max_abits: Constant<Bits<32>>,
    max_in: Constant<Bits<32>>,
    above_max_in: Constant<Bits<32>>,
    below_2_max_in: Constant<Bits<32>>,
    tile_max: Constant<Bits<32>>,
    above_tile_max: Constant<Bits<32>>,
    max_rows: Constant<Bits<32>>,
    above_max_rows: Constant<Bits<32>>,
    abits: Signal<Local, Bits<32>>,
    bad_abits: DFF<Bit>,
    bad_m: DFF<Bit>,
    q_below_m: DFF<Bit>,
    q_below_max_in: DFF<Bit>,
    q_above_tile_max: DFF<Bit>,
    bad_q: Signal<Local, Bit>,
    bad_rows: DFF<Bit>,
    capacity_fail: Signal<Local, Bit>,
    capacity_code: Signal<Local, Bits<4>>,
}

impl StartCheck {
    /// Checks against the capacities of `id`.
    pub fn new(id: &IdValues) -> Self {
        StartCheck {
            clk: Default::default(),
            job_m: Default::default(),
            job_q: Default::default(),
            job_rows: Default::default(),
            job_abits: Default::default(),
            seq_busy: Default::default(),
            fail: Default::default(),
            fail_code: Default::default(),
            max_abits: c32(id.max_abits),
            max_in: c32(id.max_in),
            above_max_in: high_mask32(id.max_in),
            below_2_max_in: c32(id.max_in.wrapping_mul(2).wrapping_sub(1)),
            tile_max: c32(id.tile_max),
            above_tile_max: high_mask32(id.tile_max),
            max_rows: c32(id.max_rows),
            above_max_rows: high_mask32(id.max_rows),
            abits: Default::default(),
            bad_abits: Default::default(),
            bad_m: Default::default(),
            q_below_m: Default::default(),
            q_below_max_in: Default::default(),
            q_above_tile_max: Default::default(),
            bad_q: Default::default(),
            bad_rows: Default::default(),
            capacity_fail: Default::default(),
            capacity_code: Default::default(),
        }
    }
}

impl Logic for StartCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            bad_abits,
            bad_m,
            q_below_m,
            q_below_max_in,
            q_above_tile_max,
            bad_rows
        );
        self.abits.next = bit_cast::<32, 4>(self.job_abits.val());
        self.bad_abits.d.next = (self.abits.val() == 0) | (self.abits.val() > self.max_abits.val());
        self.bad_m.d.next = (self.job_m.val() == 0)
            | (((self.job_m.val() & self.above_max_in.val()) != 0)
                & (self.job_m.val() != self.max_in.val()));
        // q < m matters only when m passed its check (m <= MAX_IN = 2^k):
        // then it is q < 2^k and q < m on k + 1 bits (a short carry chain),
        // each part in its own flip-flop
        self.q_below_m.d.next = (self.job_q.val() & self.below_2_max_in.val())
            < (self.job_m.val() & self.below_2_max_in.val());
        self.q_below_max_in.d.next = (self.job_q.val() & self.above_max_in.val()) == 0;
        self.q_above_tile_max.d.next = ((self.job_q.val() & self.above_tile_max.val()) != 0)
            & (self.job_q.val() != self.tile_max.val());
        self.bad_q.next =
            (self.q_below_m.q.val() & self.q_below_max_in.q.val()) | self.q_above_tile_max.q.val();
        self.bad_rows.d.next = (self.job_rows.val() == 0)
            | (((self.job_rows.val() & self.above_max_rows.val()) != 0)
                & (self.job_rows.val() != self.max_rows.val()));
        self.capacity_fail.next =
            self.bad_abits.q.val() | self.bad_m.q.val() | self.bad_q.val() | self.bad_rows.q.val();
        self.capacity_code.next = 0.into();
        if self.bad_abits.q.val() {
            self.capacity_code.next = 2.into();
        } else if self.bad_m.q.val() {
            self.capacity_code.next = 3.into();
        } else if self.bad_q.val() {
            self.capacity_code.next = 4.into();
        } else if self.bad_rows.q.val() {
            self.capacity_code.next = 5.into();
        }
        // busy first, then the capacity checks (a START is at least two
        // cycles after the previous one, whose registered start has then
        // become the sequencer's busy: the sequencer's flag alone is the check)
        self.fail.next = self.seq_busy.val() | self.capacity_fail.val();
        self.fail_code.next = self.capacity_code.val();
        if self.seq_busy.val() {
            self.fail_code.next = 1.into();
        }
    }
}
