//! Activation writer: turns a stream of values (the requantized outputs of a
//! stage, one per cycle, or the host's input bytes, two per cycle) into the
//! bit-planes of the next stage's input, written as 32-bit words through the
//! activation memory's write port (address `plane << 11 | word`, as the bus
//! window).
//!
//! Value `k` of a stage is lane `k` (bit `k mod 32` of word `k div 32`);
//! plane `b` holds bit `b` of each value (two's complement; for sign
//! activations the stored bit). Values are collected in place: value `k`
//! sets bit `k mod 32` of eight 32-bit collection registers (one per plane;
//! a 32-way decoder drives the enables, the data is the value's bit, so the
//! collection costs no multiplexers). One cycle after a group of 32 values
//! is complete (or after the stage's last value), the collection is copied
//! into a write buffer and its `planes` words are written on the following
//! cycles, one per cycle, while the next group is collected (a group takes at
//! least 16 cycles, a write burst at most 8). The buffer holds lanes 0..15
//! only: at most two values per cycle, the next group has written at most
//! lanes 0..15 when the burst writes its last plane (plane `p` is written in
//! the `p + 1`-th cycle after the copy), so lanes 16..31 of every plane word
//! are read from the collection itself (128 flip-flops less). A stage's partial last group
//! may complete during the previous group's burst: its copy waits for the
//! burst to end (no values follow it, so the collection holds). `in_last` without values
//! flushes a partial group (the end of the host's input). Lanes of a partial last group
//! above the last value keep stale bits: they are beyond the next stage's
//! row length, which the engine masks.
//!
//! Two values per cycle (`in_count = 2`, the input packer's rate: a bus
//! word holds 4 input bytes and the bus writes at most every other cycle)
//! must start on an even lane; with one value per cycle the value is given
//! on both halves of `in_y`. The byte pairs of a bus word go through
//! [`ActWriter`]'s own packer path: `pk_we` with the word presents bytes 0
//! and 1 in that cycle and bytes 2 and 3 in the next.
//!
//! Input range check (the packer path only): with `in_bits` A and
//! `in_signed`, each byte must be a valid A-bit value (unsigned `0..2^A - 1`,
//! signed: the 8-bit sign extension of an A-bit value; A = 1: 0 or 1);
//! `range_err` pulses one cycle after a word with a bad byte (its values are
//! still written).

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
    /// Copy or writes pending.
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
    coll: [u32; 8],
    buf: [u32; 8],
    n: u8,
    group: u16,
    copy_q: bool,
    copy_group: u16,
    writing: bool,
    wr_plane: u8,
    wr_word: u16,
    planes_q: u8,
    pk_hold: u16,
    pk_second: bool,
    range_err: bool,
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
        // writes of the buffered group; a completed group waits for the
        // previous burst (only a stage's partial last group can complete
        // that early: no values follow it)
        let (writing_old, copy_old) = (self.writing, self.copy_q);
        if writing_old {
            if self.wr_plane + 1 >= self.planes_q.clamp(1, 8) {
                self.writing = false;
            }
            self.wr_plane = (self.wr_plane + 1) & 7;
        }
        if copy_old && !writing_old {
            // lanes 0..15 only: see `outputs`
            for p in 0..8 {
                self.buf[p] = self.coll[p] & 0xFFFF;
            }
            self.writing = true;
            self.wr_plane = 0;
            self.wr_word = self.copy_group;
        }
        self.planes_q = i.planes & 15;
        // collection
        let n = self.n;
        let mut complete = false;
        if count >= 1 {
            for p in 0..8 {
                let b0 = (y >> p) & 1 == 1;
                let b1 = (y >> (8 + p)) & 1 == 1;
                // bit n gets the lane-parity half of y
                let bn = if n & 1 == 0 { b0 } else { b1 };
                self.coll[p] = (self.coll[p] & !(1 << n)) | (u32::from(bn) << n);
                if count == 2 && n < 31 {
                    let m = n + 1;
                    let bm = if m & 1 == 0 { b0 } else { b1 };
                    self.coll[p] = (self.coll[p] & !(1 << m)) | (u32::from(bm) << m);
                }
            }
            let end = n + count - 1;
            complete = end >= 31 || last;
            self.n = if complete { 0 } else { end + 1 };
        } else if last && n != 0 {
            // a flush: the partial group is written
            complete = true;
            self.n = 0;
        }
        self.copy_q = complete || (copy_old && writing_old);
        if complete {
            self.copy_group = self.group;
            self.group = (self.group + 1) & 0x7FF;
        }
        // packer: bytes 2 and 3 follow in the next cycle
        self.range_err = false;
        if i.pk_we && !self.pk_second {
            self.range_err = (0..4)
                .any(|k| !byte_in_range((i.pk_data >> (8 * k)) as u8, i.in_bits, i.in_signed));
        }
        self.pk_second = i.pk_we && !self.pk_second;
        self.pk_hold = (i.pk_data >> 16) as u16;
        if i.clear {
            self.n = 0;
            self.group = 0;
            self.copy_q = false;
            self.writing = false;
            self.pk_second = false;
        }
    }

    /// Current outputs.
    pub fn outputs(&self) -> WriterOut {
        WriterOut {
            we: self.writing,
            addr: (u16::from(self.wr_plane) << 11) | (self.wr_word & 0x7FF),
            // lanes 16..31 straight from the collection (see the module doc)
            data: (self.coll[self.wr_plane as usize] & 0xFFFF_0000)
                | self.buf[self.wr_plane as usize],
            busy: self.copy_q || self.writing || self.pk_second,
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
        self.busy.next = o.busy;
        self.range_err.next = o.range_err;
    }

    fn connect(&mut self) {
        self.we.connect();
        self.addr.connect();
        self.data.connect();
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
    outputs [we, addr, data, busy, range_err]
);

/// Verilog of the byte range check of `b` (an 8-bit expression).
fn range_ok(b: &str) -> String {
    // in_bits 8 (or 0 / > 8: treated as 8): always; unsigned or A = 1: no
    // bits at or above A; signed: bits 7..A-1 all equal
    let mut v = String::from("((in_bits == 4'd0) || (in_bits >= 4'd8)");
    for a in 1..8u8 {
        let hi = format!("{b}[7:{a}]");
        let unsigned = format!("({hi} == {}'d0)", 8 - a);
        let cond = if a == 1 {
            unsigned
        } else {
            let top = format!("{b}[7:{}]", a - 1);
            format!(
                "(in_signed ? (({top} == {w}'d0) || ({top} == {w}'h{ones:x})) : {unsigned})",
                w = 9 - a,
                ones = (1u32 << (9 - a)) - 1
            )
        };
        let _ = write!(v, " || ((in_bits == 4'd{a}) && {cond})");
    }
    v + ")"
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
reg [4:0] n; reg [10:0] grp; reg copy_q; reg [10:0] copy_grp;
wire [7:1] pkb0 = pk_data[7:1]; wire [7:1] pkb1 = pk_data[15:9]; wire [7:1] pkb2 = pk_data[23:17]; wire [7:1] pkb3 = pk_data[31:25];
reg writing; reg [2:0] wr_plane; reg [10:0] wr_word; reg [3:0] planes_q;
reg [31:0] c0; reg [31:0] c1; reg [31:0] c2; reg [31:0] c3; reg [31:0] c4; reg [31:0] c5; reg [31:0] c6; reg [31:0] c7;
// write buffer: lanes 0..15 of each plane (16..31 are read from the collection)
reg [15:0] b0; reg [15:0] b1; reg [15:0] b2; reg [15:0] b3; reg [15:0] b4; reg [15:0] b5; reg [15:0] b6; reg [15:0] b7;
// the group completes when lane 31 is written (n = 31, or n = 30 with two
// values) or with the stage's last values (no adder on this path)
// (flags of n registered with it: n >= 30, n = 31, n != 0)
reg n_ge30; reg n_31; reg n_nz;
wire n_top = n_ge30 & ((cnt == 2'd2) | n_31);
wire complete = ((cnt != 2'd0) & n_top) | (lastv & ((cnt != 2'd0) | n_nz));
wire [4:0] n_next = n + {3'd0, cnt};
wire [3:0] pl = (planes_q == 4'd0) ? 4'd1 : ((planes_q > 4'd8) ? 4'd8 : planes_q);
// lane enables: lane i takes the value of its parity half
";
    for i in 0..32 {
        let second = if i == 0 {
            "1'b0".to_string()
        } else {
            format!("((cnt == 2'd2) & (n == 5'd{}))", i - 1)
        };
        let _ = writeln!(
            v,
            "wire en{i} = ((cnt != 2'd0) & (n == 5'd{i})) | {second};"
        );
    }
    v += "always @(posedge clk) begin\n";
    for i in 0..32 {
        let half = if i % 2 == 0 { 0 } else { 8 };
        let mut s = format!("  if (en{i}) begin");
        for p in 0..8 {
            let _ = write!(s, " c{p}[{i}] <= yv[{}];", half + p);
        }
        s += " end\n";
        v += &s;
    }
    v += "\
  if (writing) begin
    if ({1'b0, wr_plane} + 4'd1 >= pl) writing <= 1'b0;
    wr_plane <= wr_plane + 3'd1;
  end
  if (copy_q & ~writing) begin
    b0 <= c0[15:0]; b1 <= c1[15:0]; b2 <= c2[15:0]; b3 <= c3[15:0]; b4 <= c4[15:0]; b5 <= c5[15:0]; b6 <= c6[15:0]; b7 <= c7[15:0];
    writing <= 1'b1; wr_plane <= 3'd0; wr_word <= copy_grp;
  end
  planes_q <= planes;
  if (complete) begin
    n <= 5'd0; n_ge30 <= 1'b0; n_31 <= 1'b0; n_nz <= 1'b0;
  end else begin
    // (n + 0 when no value: no enable on this path)
    n <= n_next; n_ge30 <= n_next[4:1] == 4'b1111; n_31 <= n_next == 5'd31; n_nz <= n_next != 5'd0;
  end
  copy_q <= complete | (copy_q & writing);
  if (complete) begin copy_grp <= grp; grp <= grp + 11'd1; end
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
  pk_hold <= pk_data[31:16];
  if (clear) begin n <= 5'd0; n_ge30 <= 1'b0; n_31 <= 1'b0; n_nz <= 1'b0; grp <= 11'd0; copy_q <= 1'b0; writing <= 1'b0; pk_second <= 1'b0; end
end
reg [31:0] wsel;
always @(*) begin
  case (wr_plane)
    3'd0: wsel = {c0[31:16], b0}; 3'd1: wsel = {c1[31:16], b1};
    3'd2: wsel = {c2[31:16], b2}; 3'd3: wsel = {c3[31:16], b3};
    3'd4: wsel = {c4[31:16], b4}; 3'd5: wsel = {c5[31:16], b5};
    3'd6: wsel = {c6[31:16], b6}; default: wsel = {c7[31:16], b7};
  endcase
  we = writing; addr = {wr_plane, wr_word}; data = wsel;
  busy = copy_q | writing | pk_second; range_err = range_q;
end
";
    v += "initial begin\n";
    for r in crate::engine::reg_names(&v) {
        if r != "wsel" {
            let _ = writeln!(v, "  {r} = 0;");
        }
    }
    v += "end\n";
    v
}
