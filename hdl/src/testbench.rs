//! Driving the emitted Verilog of the whole core from Rust through Icarus
//! Verilog: a bus script (Wishbone reads/writes, polls) is written as a hex
//! file that a small Verilog testbench replays; read values come back on stdout.

use std::path::Path;
use std::process::Command;
use tbn_driver::regmap;

/// One bus operation of a script (byte addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusOp {
    /// Wishbone write (all byte lanes).
    Write(u32, u32),
    /// Wishbone write with byte-lane selects (`wb_sel`, low 4 bits).
    WriteSel(u32, u32, u8),
    /// Wishbone read; the value is reported.
    Read(u32),
    /// Poll STATUS until BUSY is 0; the number of polls is reported.
    WaitIdle,
    /// Let `n` clock cycles pass.
    Idle(u32),
    /// Report the irq output (0 or 1).
    Irq,
}

/// Errors of a testbench run.
#[derive(Debug, thiserror::Error)]
pub enum TbError {
    /// A tool is missing or failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// Tool.
        tool: &'static str,
        /// Output.
        detail: String,
    },
    /// File system.
    #[error("testbench I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The one missing-tool policy of the project's tests (re-exported here for
/// the hdl, sim and synth tests).
pub use tbn_golden::test_policy::skip_missing_tool;

/// Whether a program is on PATH.
pub fn have_tool(name: &str) -> bool {
    Command::new(name)
        .arg(if name == "iverilog" {
            "-V"
        } else {
            "--version"
        })
        .output()
        .is_ok()
}

/// The testbench top (`tbn_tb`) instantiating `tbn_core`.
pub fn testbench_verilog(nops: usize) -> String {
    format!(
        r#"`timescale 1ns/1ps
module tbn_tb;
  reg clk = 0;
  always #5 clk = ~clk;
  reg rst = 1;
  reg [16:0] adr = 0;
  reg [31:0] dw = 0;
  reg we = 0, stb = 0, cyc = 0;
  wire [31:0] dr;
  wire ack, irq;
  tbn_core dut(.clk(clk), .rst(rst), .wb_adr(adr), .wb_dat_w(dw), .wb_dat_r(dr), .wb_we(we),
    .wb_sel(sel), .wb_stb(stb), .wb_cyc(cyc), .wb_ack(ack), .irq(irq));
  reg [79:0] ops [0:{last}];
  integer i;
  integer polls;
  reg [31:0] r;
  reg [3:0] sel = 4'hf;
  task wb(input w, input [31:0] a, input [31:0] d);
    begin
      adr = a[18:2]; dw = d; we = w; stb = 1; cyc = 1;
      @(posedge clk); #1;
      while (!ack) begin @(posedge clk); #1; end
      r = dr; stb = 0; cyc = 0; we = 0;
    end
  endtask
  initial begin
    $readmemh("ops.hex", ops);
    repeat (3) @(posedge clk);
    #1 rst = 0;
    for (i = 0; i <= {last}; i = i + 1) begin
      case (ops[i][71:64])
        8'd1: wb(1'b1, ops[i][63:32], ops[i][31:0]);
        8'd2: begin wb(1'b0, ops[i][63:32], 32'd0); $display("R %h", r); end
        8'd3: begin
          polls = 0; r = 32'd1;
          while (r[0]) begin wb(1'b0, 32'h{status:x}, 32'd0); polls = polls + 1; end
          $display("P %0d", polls);
        end
        8'd4: repeat (ops[i][31:0]) @(posedge clk);
        8'd5: $display("I %0d", irq);
        8'd6: begin sel = ops[i][75:72]; wb(1'b1, ops[i][63:32], ops[i][31:0]); sel = 4'hf; end
        default: begin $display("END"); $finish; end
      endcase
    end
    $display("END");
    $finish;
  end
endmodule
"#,
        last = nops,
        status = regmap::STATUS
    )
}

/// Compile `files` (in `dir`) with top module `top` under Icarus, run it and
/// return its standard output, which must contain the line `END`.
pub fn icarus(dir: &Path, top: &str, files: &[&str]) -> Result<String, TbError> {
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args(["-g2005", "-o", "tb.vvp", "-s", top])
        .args(files)
        .output()
        .map_err(|e| TbError::Tool {
            tool: "iverilog",
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(TbError::Tool {
            tool: "iverilog",
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let out = Command::new("vvp")
        .current_dir(dir)
        .args(["-n", "tb.vvp"])
        .output()
        .map_err(|e| TbError::Tool {
            tool: "vvp",
            detail: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.lines().any(|l| l.trim() == "END") {
        return Err(TbError::Tool {
            tool: "vvp",
            detail: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(text)
}

/// Values reported by a run: one per `Read`, `WaitIdle` and `Irq`, in order.
pub fn run_icarus(core_verilog: &str, ops: &[BusOp], dir: &Path) -> Result<Vec<u32>, TbError> {
    std::fs::create_dir_all(dir)?;
    let mut hex = String::new();
    for op in ops {
        let (sel, k, a, d) = match *op {
            BusOp::Write(a, d) => (0xf, 1, a, d),
            BusOp::WriteSel(a, d, sel) => (sel & 0xf, 6, a, d),
            BusOp::Read(a) => (0xf, 2, a, 0),
            BusOp::WaitIdle => (0xf, 3, 0, 0),
            BusOp::Idle(n) => (0xf, 4, 0, n),
            BusOp::Irq => (0xf, 5, 0, 0),
        };
        hex += &format!("{sel:02x}{k:02x}{a:08x}{d:08x}\n");
    }
    hex += &format!("{:020x}\n", 0);
    std::fs::write(dir.join("ops.hex"), hex)?;
    std::fs::write(dir.join("tbn_core.v"), core_verilog)?;
    std::fs::write(dir.join("tbn_tb.v"), testbench_verilog(ops.len()))?;
    let text = icarus(dir, "tbn_tb", &["tbn_tb.v", "tbn_core.v"])?;
    tb_values(&text, "R ", "bad read value")
}

/// The values a testbench printed: hex words on lines starting with
/// `hex_prefix` (`what` names them in the error for an X/Z value), decimal
/// poll counts (`P `) and interrupt waits (`I `), in order.
fn tb_values(text: &str, hex_prefix: &str, what: &str) -> Result<Vec<u32>, TbError> {
    let bad = |line: &str, what: &str| TbError::Tool {
        tool: "vvp",
        detail: format!("{what}: {line}"),
    };
    let mut vals = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix(hex_prefix) {
            let w = u32::from_str_radix(v.trim(), 16)
                .map_err(|_| bad(line, &format!("{what} (X or Z?)")))?;
            vals.push(w);
        } else if let Some(v) = line.strip_prefix("P ").or_else(|| line.strip_prefix("I ")) {
            vals.push(v.trim().parse().map_err(|_| bad(line, "bad value"))?);
        }
    }
    Ok(vals)
}

/// A job for the core: layer geometry, tile and inputs.
#[derive(Clone, Debug)]
pub struct Job {
    /// Row length m.
    pub m: usize,
    /// Tile length q.
    pub q: usize,
    /// Rows D to compute.
    pub rows: usize,
    /// Activation bits A.
    pub abits: usize,
    /// Signed inputs.
    pub signed: bool,
    /// Tile bits (`q`).
    pub tile: Vec<bool>,
    /// Inputs (`m` values; for `A = 1` the stored bit 0/1).
    pub x: Vec<i32>,
}

/// Bus operations that load and start `job` on a core with `lanes` lanes
/// (then wait for it and read STATUS, CYCLES and the `rows` output pairs).
/// Reported values: polls, STATUS, CYCLES, then 2 words per row.
pub fn job_ops(job: &Job, lanes: usize) -> Vec<BusOp> {
    let mut ops = Vec::new();
    let mut words = vec![0u32; job.q.div_ceil(32)];
    for (j, &b) in job.tile.iter().enumerate() {
        if b {
            words[j / 32] |= 1 << (j % 32);
        }
    }
    let (q, l) = (job.q as u32, lanes as u32);
    for w in 0..regmap::extended_tile_words(q, l) {
        ops.push(BusOp::Write(
            regmap::TILE_BASE + 4 * w,
            regmap::extended_tile_word(&words, q, l, w),
        ));
    }
    for b in 0..job.abits {
        for w in 0..job.m.div_ceil(32) {
            let mut v = 0u32;
            for i in 0..32 {
                let k = w * 32 + i;
                if k < job.m && (job.x[k] >> b) & 1 == 1 {
                    v |= 1 << i;
                }
            }
            ops.push(BusOp::Write(regmap::act_word_offset(b as u32, w as u32), v));
        }
    }
    ops.push(BusOp::Write(regmap::JOB_M, job.m as u32));
    ops.push(BusOp::Write(regmap::JOB_Q, job.q as u32));
    ops.push(BusOp::Write(regmap::JOB_ROWS, job.rows as u32));
    ops.push(BusOp::Write(
        regmap::JOB_ABITS,
        regmap::job_abits(job.abits as u32, job.signed),
    ));
    ops.push(BusOp::Write(regmap::CTRL, regmap::CTRL_START));
    ops.push(BusOp::WaitIdle);
    ops.push(BusOp::Read(regmap::STATUS));
    ops.push(BusOp::Read(regmap::CYCLES));
    for j in 0..job.rows as u32 {
        ops.push(BusOp::Read(regmap::out_offset(j, false)));
        ops.push(BusOp::Read(regmap::out_offset(j, true)));
    }
    ops
}

/// Reference accumulator pairs of `job` for rows `j < job.rows` (row `j` at
/// offset `j*m mod q`, so rows past the period repeat): the golden model's
/// element-by-element reference (docs/numerics.md sections 2 and 3).
pub fn reference_accumulators(job: &Job) -> Vec<(i32, i32)> {
    use tbn_golden::layout::RowGeometry;
    let geom = RowGeometry {
        rows: job.rows,
        m: job.m,
        q: job.q,
        p: (job.rows * job.m).div_ceil(job.q).max(1),
    };
    let tile = tbn_golden::tile::Tile::from_bools(&job.tile);
    let acc =
        tbn_golden::integer::accumulators_reference(&tile, &geom, job.abits as u8, &job.x, None);
    (0..job.rows).map(|j| acc[geom.distinct_of(j)]).collect()
}

/// A job the core must refuse at START, and the code STATUS must then carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadJob {
    /// JOB_ABITS: activation bits field.
    pub abits: u32,
    /// JOB_ABITS: signed flag.
    pub signed: bool,
    /// JOB_M.
    pub m: u32,
    /// JOB_Q.
    pub q: u32,
    /// JOB_ROWS.
    pub rows: u32,
    /// The error code of the first failing check.
    pub code: regmap::ErrorCode,
}

/// The invalid jobs of the misuse scenarios, one list for the Icarus test
/// (hdl/tests/misuse.rs) and the Verilator harness (`tbn_sim::misuse`), for a
/// core of these capacities: each check of [`regmap::START_CHECK_ORDER`] alone
/// (0, one past the capacity, far past it) from the valid job A = 4,
/// m = q = 64, D = 4, then several wrong at once (the first check wins).
pub fn bad_jobs(max_in: u32, tile_max: u32, max_rows: u32) -> Vec<BadJob> {
    use regmap::ErrorCode as E;
    let job = |abits, signed, m, q, rows, code| BadJob {
        abits,
        signed,
        m,
        q,
        rows,
        code,
    };
    vec![
        job(0, false, 64, 64, 4, E::BadActivationBits),
        job(9, true, 64, 64, 4, E::BadActivationBits),
        job(0xF, false, 64, 64, 4, E::BadActivationBits),
        job(4, false, 0, 64, 4, E::BadRowLength),
        job(4, false, max_in + 1, max_in + 1, 4, E::BadRowLength),
        job(4, false, 0x100_0000, 64, 4, E::BadRowLength),
        job(4, false, 64, 63, 4, E::BadTileLength),
        job(4, false, 64, tile_max + 1, 4, E::BadTileLength),
        job(4, false, 64, 0xFFFF_FFFF, 4, E::BadTileLength),
        job(4, false, 64, 64, 0, E::BadRowCount),
        job(4, false, 64, 64, max_rows + 1, E::BadRowCount),
        job(4, false, 64, 64, 0x4001, E::BadRowCount),
        job(0, true, 0, 0, 0, E::BadActivationBits),
        job(4, true, max_in + 1, 1, 0, E::BadRowLength),
    ]
}

/// Byte offsets inside the register map's span that decode to nothing in
/// any core (neither a job register nor a window of register map v2): they
/// must be acknowledged, read 0 and ignore writes.
pub const UNMAPPED_PROBES: [u32; 9] = [
    0x64, 0xFC, 0x100, 0x3FC, 0x500, 0x2000, 0xFFFC, 0x3_0000, 0x3_FFFC,
];

/// Timing of the SPI master in [`run_spi_icarus`] (system clock period 10 ns).
#[derive(Clone, Copy, Debug)]
pub struct SpiTiming {
    /// SCK half period in ns (the testbench's clock period is 10 ns: at least
    /// 5 for `f_sck <= f_clk`; need not be a multiple of the clock period: SCK
    /// is asynchronous to `clk`).
    pub half_ns: f64,
    /// `cs_n` low to the first SCK edge, and last SCK edge to `cs_n` high, in ns.
    pub setup_ns: f64,
    /// `cs_n` high time between frames in ns.
    pub gap_ns: f64,
}

impl Default for SpiTiming {
    fn default() -> Self {
        SpiTiming {
            half_ns: 20.0,
            setup_ns: 20.0,
            gap_ns: 20.0,
        }
    }
}

/// One step of an SPI script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpiStep {
    /// A frame: the MOSI bytes; the MISO bytes from index `report_from` on are reported.
    Frame {
        /// Bytes sent on MOSI.
        mosi: Vec<u8>,
        /// First byte index whose MISO value is reported.
        report_from: usize,
    },
    /// Poll STATUS with read frames until BUSY is 0; the number of polls is reported.
    WaitIdle,
    /// Let `n` clock cycles pass.
    Idle(u32),
    /// Report the irq output.
    Irq,
}

/// The SPI testbench top (`tbn_spi_tb`) instantiating `tbn_spi_top`.
pub fn spi_testbench_verilog(nrec: usize, t: &SpiTiming) -> String {
    format!(
        r#"`timescale 1ns/1ps
module tbn_spi_tb;
  reg clk = 0;
  always #5 clk = ~clk;
  reg sck = 0, cs_n = 1, mosi = 0;
  wire miso, irq;
  tbn_spi_top dut(.clk(clk), .sck(sck), .cs_n(cs_n), .mosi(mosi), .qd_in(3'b000), .miso(miso), .miso_oe(), .irq(irq));
  reg [71:0] ops [0:{last}];
  integer i, k, polls;
  reg [7:0] rx;
  reg [31:0] word;
  task spi_byte(input [7:0] tx);
    begin
      for (k = 7; k >= 0; k = k - 1) begin
        mosi = tx[k];
        #({half});
        rx[k] = miso;
        sck = 1;
        #({half});
        sck = 0;
      end
    end
  endtask
  task cs_low; begin cs_n = 0; #({setup}); end endtask
  task cs_high; begin #({setup}); cs_n = 1; mosi = 0; #({gap}); end endtask
  initial begin
    $readmemh("spi_ops.hex", ops);
    repeat (32) @(posedge clk);
    for (i = 0; i <= {last}; i = i + 1) begin
      case (ops[i][71:64])
        8'd1: cs_low;
        8'd2: begin spi_byte(ops[i][7:0]); if (ops[i][32]) $display("B %h", rx); end
        8'd3: cs_high;
        8'd4: repeat (ops[i][31:0]) @(posedge clk);
        8'd5: $display("I %0d", irq);
        8'd6: begin
          polls = 0; word = 32'd1;
          while (word[0]) begin
            cs_low;
            spi_byte(8'h03); spi_byte(8'h00); spi_byte(8'h00); spi_byte(8'h{status:02x}); spi_byte(8'h00);
            spi_byte(8'h00); word[31:24] = rx; spi_byte(8'h00); word[23:16] = rx;
            spi_byte(8'h00); word[15:8] = rx; spi_byte(8'h00); word[7:0] = rx;
            cs_high;
            polls = polls + 1;
          end
          $display("P %0d", polls);
        end
        default: begin $display("END"); $finish; end
      endcase
    end
    $display("END");
    $finish;
  end
endmodule
"#,
        last = nrec,
        half = t.half_ns,
        setup = t.setup_ns,
        gap = t.gap_ns,
        status = regmap::STATUS
    )
}

/// Run an SPI script on the standalone top under Icarus. Returns, in order,
/// the reported MISO bytes of each frame (as one `u32` per byte) and the
/// values of `WaitIdle` (polls) and `Irq` steps.
pub fn run_spi_steps(
    core_verilog: &str,
    top_verilog: &str,
    steps: &[SpiStep],
    timing: &SpiTiming,
    dir: &Path,
) -> Result<Vec<u32>, TbError> {
    std::fs::create_dir_all(dir)?;
    let mut hex = String::new();
    let mut n = 0usize;
    let mut rec = |k: u8, a: u32, d: u32, hex: &mut String| {
        *hex += &format!("{k:02x}{a:08x}{d:08x}\n");
        n += 1;
    };
    for st in steps {
        match st {
            SpiStep::Frame { mosi, report_from } => {
                rec(1, 0, 0, &mut hex);
                for (i, &b) in mosi.iter().enumerate() {
                    rec(2, (i >= *report_from) as u32, b as u32, &mut hex);
                }
                rec(3, 0, 0, &mut hex);
            }
            SpiStep::WaitIdle => rec(6, 0, 0, &mut hex),
            SpiStep::Idle(c) => rec(4, 0, *c, &mut hex),
            SpiStep::Irq => rec(5, 0, 0, &mut hex),
        }
    }
    hex += &format!("{:018x}\n", 0);
    std::fs::write(dir.join("spi_ops.hex"), hex)?;
    std::fs::write(dir.join("tbn_core.v"), core_verilog)?;
    std::fs::write(dir.join("tbn_spi_top.v"), top_verilog)?;
    std::fs::write(dir.join("tbn_spi_tb.v"), spi_testbench_verilog(n, timing))?;
    let text = icarus(
        dir,
        "tbn_spi_tb",
        &["tbn_spi_tb.v", "tbn_spi_top.v", "tbn_core.v"],
    )?;
    tb_values(&text, "B ", "bad MISO byte")
}

/// Largest burst (words) that [`spi_steps`] puts into one frame.
pub const SPI_MAX_BURST: usize = 64;

/// Translate a bus script into SPI frames: runs of writes (or reads) to
/// consecutive word addresses become burst frames of up to
/// [`SPI_MAX_BURST`] words. Returns the steps and, per reported value of the
/// bus script, how many MISO bytes make it (4 for a read word, 0 for a
/// polls/irq value, which is reported directly).
pub fn spi_steps(ops: &[BusOp]) -> Result<Vec<SpiStep>, TbError> {
    use crate::spi::{read_frame, write_frame, READ_DUMMY_BYTES};
    let mut steps = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        match ops[i] {
            BusOp::Write(a, d) => {
                let mut words = vec![d];
                while words.len() < SPI_MAX_BURST {
                    match ops.get(i + words.len()) {
                        Some(BusOp::Write(a2, d2)) if *a2 == a + 4 * words.len() as u32 => {
                            words.push(*d2)
                        }
                        _ => break,
                    }
                }
                i += words.len();
                steps.push(SpiStep::Frame {
                    report_from: usize::MAX,
                    mosi: write_frame(a, &words),
                });
            }
            BusOp::Read(a) => {
                let mut n = 1;
                while n < SPI_MAX_BURST {
                    match ops.get(i + n) {
                        Some(BusOp::Read(a2)) if *a2 == a + 4 * n as u32 => n += 1,
                        _ => break,
                    }
                }
                i += n;
                steps.push(SpiStep::Frame {
                    report_from: 4 + READ_DUMMY_BYTES,
                    mosi: read_frame(a, n),
                });
            }
            BusOp::WriteSel(..) => {
                return Err(TbError::Tool {
                    tool: "spi",
                    detail: "the SPI bridge writes whole words (no byte selects)".into(),
                })
            }
            BusOp::WaitIdle => {
                steps.push(SpiStep::WaitIdle);
                i += 1;
            }
            BusOp::Idle(c) => {
                steps.push(SpiStep::Idle(c));
                i += 1;
            }
            BusOp::Irq => {
                steps.push(SpiStep::Irq);
                i += 1;
            }
        }
    }
    Ok(steps)
}

/// Run a bus script through the standalone top's SPI bridge under Icarus;
/// the result has the same layout as [`run_icarus`] (one value per `Read`,
/// `WaitIdle` and `Irq`).
pub fn run_spi_icarus(
    core_verilog: &str,
    top_verilog: &str,
    ops: &[BusOp],
    timing: &SpiTiming,
    dir: &Path,
) -> Result<Vec<u32>, TbError> {
    let steps = spi_steps(ops)?;
    let raw = run_spi_steps(core_verilog, top_verilog, &steps, timing, dir)?;
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize, n: usize| -> Result<&[u32], TbError> {
        let s = raw.get(*at..*at + n).ok_or_else(|| TbError::Tool {
            tool: "vvp",
            detail: format!("SPI run reported {} values, expected more", raw.len()),
        })?;
        *at += n;
        Ok(s)
    };
    for st in &steps {
        match st {
            SpiStep::Frame {
                mosi, report_from, ..
            } if *report_from < mosi.len() => {
                let bytes = take(&mut at, mosi.len() - report_from)?;
                for c in bytes.chunks_exact(4) {
                    out.push(u32::from_be_bytes([
                        c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8,
                    ]));
                }
            }
            SpiStep::Frame { .. } | SpiStep::Idle(_) => {}
            SpiStep::WaitIdle | SpiStep::Irq => out.push(take(&mut at, 1)?[0]),
        }
    }
    Ok(out)
}
