//! Driving the emitted Verilog of the whole core from Rust through Icarus
//! Verilog: a bus script (Wishbone reads/writes, polls) is written as a hex
//! file that a small Verilog testbench replays; read values come back on stdout.

use std::path::Path;
use std::process::Command;
use tbn_driver::regmap;

/// One bus operation of a script (byte addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusOp {
    /// Wishbone write.
    Write(u32, u32),
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

/// Whether a program is on PATH.
pub fn have_tool(name: &str) -> bool {
    Command::new(name)
        .arg(if name == "iverilog" { "-V" } else { "--version" })
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
    .wb_sel(4'hf), .wb_stb(stb), .wb_cyc(cyc), .wb_ack(ack), .irq(irq));
  reg [71:0] ops [0:{last}];
  integer i;
  integer polls;
  reg [31:0] r;
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

/// Values reported by a run: one per `Read`, `WaitIdle` and `Irq`, in order.
pub fn run_icarus(core_verilog: &str, ops: &[BusOp], dir: &Path) -> Result<Vec<u32>, TbError> {
    std::fs::create_dir_all(dir)?;
    let mut hex = String::new();
    for op in ops {
        let (k, a, d) = match *op {
            BusOp::Write(a, d) => (1, a, d),
            BusOp::Read(a) => (2, a, 0),
            BusOp::WaitIdle => (3, 0, 0),
            BusOp::Idle(n) => (4, 0, n),
            BusOp::Irq => (5, 0, 0),
        };
        hex += &format!("{k:02x}{a:08x}{d:08x}\n");
    }
    hex += &format!("{:018x}\n", 0);
    std::fs::write(dir.join("ops.hex"), hex)?;
    std::fs::write(dir.join("tbn_core.v"), core_verilog)?;
    std::fs::write(dir.join("tbn_tb.v"), testbench_verilog(ops.len()))?;
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args(["-o", "tb.vvp", "-s", "tbn_tb", "tbn_tb.v", "tbn_core.v"])
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
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("END") {
        return Err(TbError::Tool {
            tool: "vvp",
            detail: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
        });
    }
    let mut vals = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("R ") {
            vals.push(u32::from_str_radix(v.trim(), 16).map_err(|_| TbError::Tool {
                tool: "vvp",
                detail: format!("bad read value (X or Z?): {line}"),
            })?);
        } else if let Some(v) = line
            .strip_prefix("P ")
            .or_else(|| line.strip_prefix("I "))
        {
            vals.push(v.trim().parse().map_err(|_| TbError::Tool {
                tool: "vvp",
                detail: format!("bad value: {line}"),
            })?);
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

/// Reference accumulator pairs of `job` (docs/numerics.md sections 2 and 3),
/// element by element, for rows `j < job.rows` (row `j` at offset `j*m mod q`).
pub fn reference_accumulators(job: &Job) -> Vec<(i32, i32)> {
    let (m, q) = (job.m, job.q);
    (0..job.rows)
        .map(|j| {
            let o = (j * m) % q;
            let len_a = m.min(q - o);
            let term = |k: usize, i: usize| -> i64 {
                let t = if job.tile[k] { 1 } else { -1 };
                let xv = if job.abits == 1 {
                    2 * i64::from(job.x[i] & 1) - 1
                } else {
                    i64::from(job.x[i])
                };
                t * xv
            };
            let a: i64 = (0..len_a).map(|i| term(o + i, i)).sum();
            let b: i64 = (len_a..m).map(|i| term(i - len_a, i)).sum();
            (a as i32, b as i32)
        })
        .collect()
}
