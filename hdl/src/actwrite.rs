//! Activation writer: turns a stream of values (the requantized outputs of a
//! stage, one per cycle, or the host's input bytes, two per cycle) into the
//! bit-planes of the next stage's input, written as 32-bit words through the
//! activation memory's write port (address `plane << 11 | word`, as the bus
//! window) with byte-lane selects (`sel`).
//!
//! Value `k` of a stage is lane `k` (bit `k mod 32` of word `k div 32`);
//! plane `b` holds bit `b` of each value (two's complement; for sign
//! activations the stored bit). Values are collected in place: value `k`
//! sets bit `k mod 32` of eight 32-bit collection registers (one per plane;
//! a lane-pair decoder drives the enables, the data is the value's bit).
//! The collection is written in halves (lanes 0..15, bytes 0-1, and lanes
//! 16..31, bytes 2-3): one cycle after a half is complete (lane 15 or 31
//! written, or the stage's last value in it) its `planes` half-words are
//! written on the following cycles, plane 0 first, one per cycle, while the
//! values go on into the other half (a half takes at least 8 cycles to
//! fill, a burst at most 8 cycles). Each lane's 8 plane bits form a shift
//! chain: a half taking part in a write shifts its planes down by one after
//! it (not after the burst's last write), so the word written is always
//! collection register 0 (no plane multiplexer, no write buffer). A burst
//! starts in the cycle after the previous one's last write. If the stage's
//! last half (lanes 16..31) completes while the burst of lanes 0..15 of the
//! same group is still running, that burst is suspended and resumed within
//! the new one (which restarts at plane 0 and writes whole words from the
//! suspended half's next plane on), so a stage's writes end `1 + planes`
//! cycles after its last value as with whole-word bursts; a half of the
//! next group waits for the running burst (the stage's last half one cycle
//! more, as a whole-group burst did: the stage ends in the same cycle as
//! with whole-group bursts, for any length and rate). `in_last` without values flushes
//! a partial group (the end of the host's input): the half of the next lane
//! is written (lanes 16..31 when exactly 16 values are pending). Lanes of a
//! partial last half above the last value hold stale bits: they are beyond
//! the next stage's row length, which the engine masks.
//!
//! Two values per cycle (`in_count = 2`, the input packer's rate: a bus
//! word holds 4 input bytes and the bus writes at most every other cycle)
//! must start on an even lane (at an odd lane only the first is taken);
//! with one value per cycle the value is given on both halves of `in_y`.
//! The byte pairs of a bus word go through [`ActWriter`]'s own packer path:
//! `pk_we` with the word presents bytes 0 and 1 in that cycle and bytes 2
//! and 3 in the next.
//!
//! Input range check (the packer path only): with `in_bits` A and
//! `in_signed`, each byte must be a valid A-bit value (unsigned `0..2^A - 1`,
//! signed: the 8-bit sign extension of an A-bit value; A = 1: 0 or 1), with
//! the format of the previous cycle (registered as masks: the format holds
//! for a whole inference); `range_err` pulses one cycle after a word with a
//! bad byte (its values are still written).

use crate::util::*;
use rust_hdl::prelude::*;
use std::fmt::Write as _;

/// A cycle's inputs of the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterIn {
    /// Start of a stage: lane counter and pending writes cleared.
    pub clear: bool,
    /// Planes to write (A', 1..=8).
    pub planes: u8,
    /// Values presented (0, 1 or 2) on the value path.
    pub count: u8,
    /// Value(s): low byte = lane `n`, high byte = lane `n + 1`.
    pub y: u16,
    /// The values presented are the stage's last (never with packer words).
    pub last: bool,
    /// A bus word of input bytes (packer path).
    pub pk_we: bool,
    /// The bus word.
    pub pk_data: u32,
    /// Input bits A (range check).
    pub in_bits: u8,
    /// Signed input (range check).
    pub in_signed: bool,
}

/// Registered outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterOut {
    /// Write a plane word.
    pub we: bool,
    /// `plane << 11 | word`.
    pub addr: u16,
    /// The plane word.
    pub data: u32,
    /// Byte lanes written (`0b0011`: lanes 0..15, `0b1100`: 16..31).
    pub sel: u8,
    /// Writes pending.
    pub busy: bool,
    /// A packer word had a byte out of range (one-cycle pulse).
    pub range_err: bool,
}

/// True when byte `b` is a valid `bits`-bit value.
pub fn byte_in_range(b: u8, bits: u8, signed: bool) -> bool {
    // 0 and values above 8 are treated as 8 (as the Verilog)
    if bits == 0 || bits >= 8 {
        return true;
    }
    if bits == 1 || !signed {
        return u32::from(b) >> bits == 0;
    }
    // sign extension: bits 7..bits-1 all equal
    let top = b >> (bits - 1);
    top == 0 || top == (0xFFu8 >> (bits - 1))
}

/// Cycle-exact model.
#[derive(Clone, Debug, Default)]
pub struct WriterModel {
    /// Collection: plane `p`'s bits of the 32 lanes (a lane's 8 bits are
    /// its shift chain, plane 0 at the output).
    coll: [u32; 8],
    n: u8,
    n_nz: bool,
    /// Halves complete, waiting for their burst (lanes 0..15, 16..31).
    pend: [bool; 2],
    /// The pending lanes 0..15 hold the stage's last value.
    pend_fin: bool,
    writing: bool,
    wr_plane: u8,
    /// Word of the current or next burst: advanced after the burst of a
    /// group's lanes 16..31 (bursts follow the groups' order).
    wr_word: u16,
    /// Halves taking part in the current burst's writes.
    on: [bool; 2],
    /// Lanes 0..15 suspended until the burst has written plane `kp`.
    lo_wait: bool,
    kp: u8,
    /// The current write is the burst's last (registered: no comparator
    /// before the shift enables).
    wlast: bool,
    /// Planes to write minus one (`planes` clamped to 1..=8, registered).
    plm1: u8,
    pk_hold: u16,
    pk_second: bool,
    range_err: bool,
    /// `in_bits` and `in_signed` of the previous cycle.
    fmt_bits: u8,
    fmt_signed: bool,
}

impl WriterModel {
    /// One rising edge.
    pub fn step(&mut self, i: WriterIn) {
        // value path: the packer's second half wins over nothing (the
        // sequencer never streams values while the host writes input words)
        let (count, y) = if self.pk_second {
            (2u8, self.pk_hold)
        } else if i.pk_we {
            (2, i.pk_data as u16)
        } else {
            (i.count.min(2), i.y)
        };
        // (`last` is never raised with packer words: not gated by them)
        let last = i.last;
        // burst: plane advance, end, the suspended half's return; a half
        // shifts its chains after each of its writes but the burst's last
        let (writing_old, p_old, on_old, pend_old) =
            (self.writing, self.wr_plane, self.on, self.pend);
        let wend = writing_old && self.wlast;
        let sh = [
            writing_old && on_old[0] && !wend,
            writing_old && on_old[1] && !wend,
        ];
        // (the plane advances while idle too, where nothing reads it)
        self.wr_plane = (p_old + 1) & 7;
        self.wlast = self.wr_plane == self.plm1;
        if writing_old {
            if wend {
                self.writing = false;
                self.on = [false; 2];
                self.lo_wait = false;
                if on_old[1] {
                    self.wr_word = (self.wr_word + 1) & 0x7FF;
                }
            } else if self.lo_wait && p_old == self.kp {
                self.on[0] = true;
                self.lo_wait = false;
            }
        }
        // (the stage's last half in lanes 0..15 waits for the cycle after a
        // running burst, as whole-group bursts did)
        let fin_wait = pend_old[0] && self.pend_fin && writing_old;
        if (pend_old[0] || pend_old[1]) && (!writing_old || wend) && !fin_wait {
            // a burst of the pending halves, right after the previous one
            self.writing = true;
            self.wr_plane = 0;
            self.wlast = self.plm1 == 0;
            self.on = pend_old;
            self.lo_wait = false;
            self.pend = [false; 2];
        } else if pend_old[1] && writing_old && on_old[0] && !on_old[1] && !wend {
            // lanes 16..31 of the group whose lanes 0..15 are being
            // written: restart at plane 0, lanes 0..15 rejoin at their next plane
            self.wr_plane = 0;
            self.wlast = self.plm1 == 0;
            self.on = [false, true];
            self.lo_wait = true;
            self.kp = p_old;
            self.pend[1] = false;
        }
        self.plm1 = (i.planes & 15).clamp(1, 8) - 1;
        // collection: lane-pair decoder (two values from an even lane)
        let n = self.n;
        let (g1, g2) = (count >= 1, count == 2);
        let odd = n & 1 == 1;
        let mut en = 0u32;
        if g1 && !odd {
            en |= 1 << n;
        }
        if g2 || (g1 && odd) {
            en |= 1 << (n | 1);
        }
        let shm = (if sh[0] { 0xFFFFu32 } else { 0 }) | (if sh[1] { 0xFFFF_0000 } else { 0 });
        let ce = en | shm;
        let old = self.coll;
        for p in 0..8 {
            // lane i takes the plane-p bit of its parity half of y
            let yb = (u32::from((y >> p) & 1) * 0x5555_5555)
                | (u32::from((y >> (8 + p)) & 1) * 0xAAAA_AAAA);
            let d = if p < 7 {
                (shm & old[p + 1]) | (!shm & yb)
            } else {
                yb
            };
            self.coll[p] = (old[p] & !ce) | (d & ce);
        }
        // completion: the half of lane n (every loaded lane is in it)
        let lastc = last && (g1 || self.n_nz);
        let c0 = en & (1 << 15) != 0 || (lastc && n < 16);
        let c1 = en & (1 << 31) != 0 || (lastc && n >= 16);
        let gdone = en & (1 << 31) != 0 || lastc;
        if c0 {
            self.pend[0] = true;
            self.pend_fin = lastc;
        }
        if c1 {
            self.pend[1] = true;
        }
        if gdone {
            self.n = 0;
        } else {
            self.n = (n + count) & 31;
        }
        self.n_nz = self.n != 0;
        // packer: bytes 2 and 3 follow in the next cycle
        self.range_err = false;
        if i.pk_we && !self.pk_second {
            self.range_err = (0..4).any(|k| {
                !byte_in_range((i.pk_data >> (8 * k)) as u8, self.fmt_bits, self.fmt_signed)
            });
        }
        self.fmt_bits = i.in_bits & 15;
        self.fmt_signed = i.in_signed;
        self.pk_second = i.pk_we && !self.pk_second;
        self.pk_hold = (i.pk_data >> 16) as u16;
        if i.clear {
            self.n = 0;
            self.n_nz = false;
            self.wr_word = 0;
            self.pend = [false; 2];
            self.writing = false;
            self.on = [false; 2];
            self.lo_wait = false;
            self.pk_second = false;
        }
    }

    /// Current outputs.
    pub fn outputs(&self) -> WriterOut {
        WriterOut {
            we: self.writing,
            addr: (u16::from(self.wr_plane) << 11) | (self.wr_word & 0x7FF),
            data: self.coll[0],
            sel: (if self.on[0] { 0b0011 } else { 0 }) | (if self.on[1] { 0b1100 } else { 0 }),
            busy: self.pend[0] || self.pend[1] || self.writing || self.pk_second,
            range_err: self.range_err,
        }
    }
}

/// The activation writer block.
#[derive(LogicBlock, Default)]
pub struct ActWriter {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Start of a stage (clears the lane counter and pending writes).
    pub clear: Signal<In, Bit>,
    /// Planes to write (A').
    pub planes: Signal<In, Bits<4>>,
    /// Values presented on the value path (0, 1, 2).
    pub in_count: Signal<In, Bits<2>>,
    /// Values: low byte lane n, high byte lane n + 1 (one value: the same byte twice).
    pub in_y: Signal<In, Bits<16>>,
    /// The values presented are the stage's last.
    pub in_last: Signal<In, Bit>,
    /// Bus word of input bytes.
    pub pk_we: Signal<In, Bit>,
    /// The bus word.
    pub pk_data: Signal<In, Bits<32>>,
    /// Input bits (range check).
    pub in_bits: Signal<In, Bits<4>>,
    /// Signed input (range check).
    pub in_signed: Signal<In, Bit>,
    /// Plane word write.
    pub we: Signal<Out, Bit>,
    /// `plane << 11 | word`.
    pub addr: Signal<Out, Bits<14>>,
    /// Plane word.
    pub data: Signal<Out, Bits<32>>,
    /// Byte lanes of `data` written.
    pub sel: Signal<Out, Bits<4>>,
    /// Writes pending.
    pub busy: Signal<Out, Bit>,
    /// Input byte out of range (pulse).
    pub range_err: Signal<Out, Bit>,
    _model: Box<WriterModel>,
}

impl Logic for ActWriter {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            self._model.step(WriterIn {
                clear: self.clear.val(),
                planes: low_u64(self.planes.val()) as u8,
                count: low_u64(self.in_count.val()) as u8,
                y: low_u64(self.in_y.val()) as u16,
                last: self.in_last.val(),
                pk_we: self.pk_we.val(),
                pk_data: low_u64(self.pk_data.val()) as u32,
                in_bits: low_u64(self.in_bits.val()) as u8,
                in_signed: self.in_signed.val(),
            });
        }
        let o = self._model.outputs();
        self.we.next = o.we;
        self.addr.next = from_u64(u64::from(o.addr));
        self.data.next = from_u64(u64::from(o.data));
        self.sel.next = from_u64(u64::from(o.sel));
        self.busy.next = o.busy;
        self.range_err.next = o.range_err;
    }

    fn connect(&mut self) {
        self.we.connect();
        self.addr.connect();
        self.data.connect();
        self.sel.connect();
        self.busy.connect();
        self.range_err.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(act_writer_verilog())
    }
}

crate::lockstep_block!(
    ActWriter,
    inputs [clear, planes, in_count, in_y, in_last, pk_we, pk_data, in_bits, in_signed],
    outputs [we, addr, data, busy, range_err, sel]
);

/// Verilog of the byte range check of `b` (an 8-bit expression).
fn range_ok(b: &str) -> String {
    // no masked bit set, or (signed) every masked bit set
    format!("((({b} & rm) == 7'd0) || (rs && (({b} & rm) == rm)))")
}

/// The writer's Verilog body.
pub fn act_writer_verilog() -> String {
    let mut v = String::new();
    v += "\
// value path: the packer's second half, a packer word, or the requant stream
reg pk_second; reg [15:0] pk_hold; reg range_q;
wire [1:0] cnt = pk_second ? 2'd2 : (pk_we ? 2'd2 : ((in_count > 2'd2) ? 2'd2 : in_count));
wire [15:0] yv = pk_second ? pk_hold : (pk_we ? pk_data[15:0] : in_y);
wire lastv = in_last;
reg [4:0] n; reg n_nz;
// the input format's range masks, registered (the format holds for a whole
// inference): rm marks bits 7..1 of a byte that must be 0 (unsigned, A = 1)
// or all equal (signed, rs); none for A = 0 or A >= 8
reg [7:1] rm; reg rs;
wire [7:1] pkb0 = pk_data[7:1]; wire [7:1] pkb1 = pk_data[15:9]; wire [7:1] pkb2 = pk_data[23:17]; wire [7:1] pkb3 = pk_data[31:25];
// halves complete and waiting (lanes 0..15, 16..31); pend_fin: the pending
// lanes 0..15 hold the stage's last value (they wait for the cycle after a
// running burst, as whole-group bursts did)
reg pend0; reg pend1; reg pend_fin;
// burst: plane, word (advanced after a burst of lanes 16..31: bursts follow
// the groups' order), halves taking part, lanes 0..15 suspended until plane
// kp is written; wlast: this write is the burst's last (registered, so that no
// comparator precedes the shift enables); plm1: planes to write minus one
// pz: plm1 is 0 (registered with it, so that wlast's restart value is a flip-flop)
reg writing; reg [2:0] wr_plane; reg [10:0] wr_word; reg on0; reg on1; reg lo_wait; reg [2:0] kp; reg wlast; reg [2:0] plm1; reg pz;
// collection: c<p> holds plane p of the 32 lanes; a lane's 8 bits are a shift chain towards c0
reg [31:0] c0; reg [31:0] c1; reg [31:0] c2; reg [31:0] c3; reg [31:0] c4; reg [31:0] c5; reg [31:0] c6; reg [31:0] c7;
wire wend = writing & wlast;
wire [2:0] wr_plane_next = wr_plane + 3'd1;
// a half shifts after each of its writes but the burst's last
wire sh0 = writing & on0 & ~wend; wire sh1 = writing & on1 & ~wend;
// burst control as explicit next-state equations (shallow logic): a burst
// of the pending halves starts when the port is free or its burst ends (the
// stage's last lanes 0..15 only when it is free); lanes 16..31 of the
// group being written join a running burst of its lanes 0..15 (merge);
// the suspended lanes 0..15 rejoin after plane kp
// (restart in two LUT levels: a burst may start (wsafe) or lanes 16..31
// may join (wjoin), each one LUT of flip-flops; kept as nets so that
// synthesis does not restructure them into a deeper path)
(* keep *) wire wsafe = (~writing | wlast) & ~(pend0 & pend_fin & writing);
(* keep *) wire wjoin = writing & ~wlast & on0 & ~on1;
wire start = (pend0 | pend1) & wsafe;
wire merge = pend1 & wjoin;
wire run = writing & ~wlast;
wire rejoin = lo_wait & (wr_plane == kp);
(* keep *) wire restart = start | merge;
// lane-pair decoder: the pair n[4:1]; two values from an even lane
wire ld_even = (cnt != 2'd0) & ~n[0]; wire ld_odd = (cnt == 2'd2) | ((cnt != 2'd0) & n[0]);
wire [31:0] en;
";
    for j in 0..16 {
        let _ = writeln!(
            v,
            "assign en[{}] = (n[4:1] == 4'd{j}) & ld_even; assign en[{}] = (n[4:1] == 4'd{j}) & ld_odd;",
            2 * j,
            2 * j + 1
        );
    }
    v += "\
wire [31:0] shm = {{16{sh1}}, {16{sh0}}};
wire [31:0] ce = en | shm;
// completion: the half of lane n (every lane loaded this cycle is in it)
wire lastc = lastv & ((cnt != 2'd0) | n_nz);
wire c_lo = en[15] | (lastc & ~n[4]);
wire c_hi = en[31] | (lastc & n[4]);
wire gdone = en[31] | lastc;
wire [4:0] n_next = n + {3'd0, cnt};
always @(posedge clk) begin
";
    for i in 0..32 {
        let half = if i % 2 == 0 { 0 } else { 8 };
        let mut s = format!("  if (ce[{i}]) begin");
        for p in 0..7 {
            let _ = write!(
                s,
                " c{p}[{i}] <= shm[{i}] ? c{}[{i}] : yv[{}];",
                p + 1,
                half + p
            );
        }
        let _ = write!(s, " c7[{i}] <= yv[{}];", half + 7);
        s += " end\n";
        v += &s;
    }
    v += "\
  writing <= start | run;
  on0 <= start ? pend0 : (run & ~merge & (on0 | rejoin));
  on1 <= start ? pend1 : (merge | (run & on1));
  lo_wait <= merge | (run & lo_wait & ~rejoin);
  // (the plane advances also while idle, where it is not read: no clock
  // enable after restart, which is the burst control's deepest term)
  if (restart) begin wr_plane <= 3'd0; wlast <= pz; end
  else begin wr_plane <= wr_plane_next; wlast <= wr_plane_next == plm1; end
  if (merge) kp <= wr_plane;
  if (wend & on1) wr_word <= wr_word + 11'd1;
  pend0 <= pend0 & ~start;
  pend1 <= pend1 & ~restart;
  if (c_lo) begin pend0 <= 1'b1; pend_fin <= lastc; end
  if (c_hi) pend1 <= 1'b1;
  plm1 <= (planes == 4'd0) ? 3'd0 : ((planes > 4'd8) ? 3'd7 : planes[2:0] - 3'd1);
  pz <= planes[3:1] == 3'd0;
  if (gdone) begin
    n <= 5'd0; n_nz <= 1'b0;
  end else begin
    n <= n_next; n_nz <= n_next != 5'd0;
  end
";
    let checks: Vec<String> = (0..4)
        .map(|k| format!("~{}", range_ok(&format!("pkb{k}"))))
        .collect();
    let _ = writeln!(
        v,
        "  range_q <= pk_we & ~pk_second & ({});",
        checks.join(" | ")
    );
    v += "\
  pk_second <= pk_we & ~pk_second;
  rs <= in_signed & (in_bits >= 4'd2) & (in_bits < 4'd8);
  if ((in_bits == 4'd0) || (in_bits >= 4'd8)) rm <= 7'd0;
  else if (in_signed && (in_bits >= 4'd2)) rm <= 7'h7f << (in_bits - 4'd2);
  else rm <= 7'h7f << (in_bits - 4'd1);
  pk_hold <= pk_data[31:16];
  if (clear) begin
    n <= 5'd0; n_nz <= 1'b0; wr_word <= 11'd0; pend0 <= 1'b0; pend1 <= 1'b0;
    writing <= 1'b0; on0 <= 1'b0; on1 <= 1'b0; lo_wait <= 1'b0; pk_second <= 1'b0;
  end
end
always @(*) begin
  we = writing; addr = {wr_plane, wr_word}; data = c0; sel = {on1, on1, on0, on0};
  busy = pend0 | pend1 | writing | pk_second; range_err = range_q;
end
";
    v += "initial begin\n";
    for r in crate::engine::reg_names(&v) {
        let _ = writeln!(v, "  {r} = 0;");
    }
    v += "end\n";
    v
}
