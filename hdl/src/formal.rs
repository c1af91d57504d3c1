//! Formal checks of the Wishbone slaves and the control block with open tools
//! (yosys `read_verilog -formal` + `write_smt2`, then `yosys-smtbmc` with z3;
//! no SymbiYosys needed).
//!
//! Job-mode core: the harness `hdl/formal/ctrl_props.v` wires the emitted control
//! (`tbn_core$ctrl`) and sequencer (`tbn_core$seq`) modules of a core as
//! `tbn_core` does, leaves the bus master (B4 classic rules only, abandoned
//! cycles allowed), the reset, the output memory data and the engine's
//! `active` flag free, and states the properties in four groups
//! ([`Group`]). [`check`] runs one group as a bounded proof of `depth`
//! cycles from reset, or as a `depth`-step induction (which proves the
//! properties for every reachable state when it closes).
//!
//! Whole-network engine: `hdl/formal/nettop_props.vh` is included inside the
//! emitted top `tbn_net_core` ([`net_design_verilog`]), whose engine instance
//! is replaced by a stub with free outputs; groups [`Group::NetWishbone`] and
//! [`Group::NetCommands`]. Both harnesses share the bus environment and rules
//! of `hdl/formal/wb_props.vh`.

use std::path::Path;
use std::process::Command;

use tbn_driver::regmap;

use crate::{core_verilog, net_core_verilog, split_modules, Config, CORE_TOP, NET_CORE_TOP};

/// The property harness of the job-mode control (Verilog with
/// `assert`/`assume`, read with `-formal`).
pub const HARNESS: &str = include_str!("../formal/ctrl_props.v");
/// Top module of the harness.
pub const HARNESS_TOP: &str = "tbn_formal";
/// The properties of the engine's top, included inside `tbn_net_core`.
pub const NET_PROPS: &str = include_str!("../formal/nettop_props.vh");
/// The Wishbone environment and bus rules both harnesses include.
pub const WB_PROPS: &str = include_str!("../formal/wb_props.vh");
/// Weight memory of the engine top under proof (its size does not matter:
/// the engine is a stub).
const NET_WEIGHT_BITS: usize = 32768;

/// A group of properties checked in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Group {
    /// Wishbone B4 classic: an ack only for a live cycle, one per request,
    /// never stale after an abandoned cycle, within the documented wait states.
    Wishbone,
    /// The documented STATUS invariants (BUSY or DONE from START until DONE
    /// is cleared, never both, ERROR iff ERROR_CODE, field ranges), irq
    /// causes, START only while idle, no memory write while busy; the
    /// sequencer's handshake is assumed ([`Group::Sequencer`] proves it).
    Status,
    /// No memory or register write outside its decoded window or index;
    /// START and abort only from their CTRL writes; no memory write while
    /// the sequencer reads.
    Windows,
    /// The sequencer's start/busy/done/abort handshake (alone, inputs free,
    /// assuming START only while idle, which [`Group::Status`] proves).
    Sequencer,
    /// The engine top's Wishbone slave: the rules of [`Group::Wishbone`]
    /// (whatever the engine answers).
    NetWishbone,
    /// The engine top's decode: each engine command (LOAD_BEGIN, LOAD_END,
    /// INFER, SOFT_RESET, the W1C clears) and each IMAGE / INPUT word write
    /// comes exactly from its bus write of the previous cycle.
    NetCommands,
}

impl Group {
    /// All groups.
    pub const ALL: [Group; 6] = [
        Group::Wishbone,
        Group::Status,
        Group::Windows,
        Group::Sequencer,
        Group::NetWishbone,
        Group::NetCommands,
    ];

    /// The group is proved on the engine's top (else on the job-mode control).
    pub fn on_engine(self) -> bool {
        matches!(self, Group::NetWishbone | Group::NetCommands)
    }

    fn define(self) -> &'static str {
        match self {
            Group::Wishbone => "FORMAL_WB",
            Group::Status => "FORMAL_STATUS",
            Group::Windows => "FORMAL_WINDOWS",
            Group::Sequencer => "FORMAL_SEQ",
            Group::NetWishbone => "FORMAL_NET_WB",
            Group::NetCommands => "FORMAL_NET_CMDS",
        }
    }
}

/// Proof mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Mode {
    /// Bounded model check: no property fails within `depth` cycles of reset.
    Bounded,
    /// k-induction with `k = depth` (unbounded when it passes).
    Induction,
}

/// Result of one run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// Property group.
    pub group: Group,
    /// Mode.
    pub mode: Mode,
    /// Depth (cycles for a bounded proof, k for induction).
    pub depth: usize,
    /// The solver proved the properties.
    pub passed: bool,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The tail of yosys-smtbmc's log (the failing assertion and step when it failed).
    pub log_tail: String,
}

/// Errors of a formal run (not a failed proof: that is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum FormalError {
    /// A tool is missing or failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// Tool.
        tool: &'static str,
        /// Output.
        detail: String,
    },
    /// Generating the Verilog failed.
    #[error(transparent)]
    Hdl(#[from] crate::HdlError),
    /// File system.
    #[error("formal I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The control and sequencer modules of the core for `cfg` (the design under proof).
pub fn design_verilog(cfg: &Config) -> Result<String, FormalError> {
    let core = core_verilog(cfg)?;
    let wanted = [format!("{CORE_TOP}$ctrl"), format!("{CORE_TOP}$seq")];
    // the blocks and their children (flip-flops are modules of their own)
    let ours = |name: &str| {
        wanted
            .iter()
            .any(|w| name == w || name.starts_with(&format!("{w}$")))
    };
    let mods: Vec<(String, String)> = split_modules(&core)
        .into_iter()
        .filter(|(name, _)| ours(name))
        .collect();
    if !wanted.iter().all(|w| mods.iter().any(|(n, _)| n == w)) {
        return Err(FormalError::Tool {
            tool: "tbn-hdl",
            detail: format!("the core Verilog lacks one of {wanted:?}"),
        });
    }
    Ok(mods
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The engine top `tbn_net_core` for `cfg` with the properties included in
/// it and its engine instance replaced by a stub whose outputs are free
/// (`$anyseq`): the design under proof for the `Net*` groups.
pub fn net_design_verilog(cfg: &Config) -> Result<String, FormalError> {
    let top = net_core_verilog(cfg, NET_WEIGHT_BITS)?;
    let engine = format!("{NET_CORE_TOP}$net");
    let mut out = String::new();
    let mut found = false;
    for (name, text) in split_modules(&top) {
        if name == engine {
            out += &free_outputs_stub(&text);
            found = true;
        } else if name == NET_CORE_TOP {
            let at = text.rfind("endmodule").ok_or_else(|| FormalError::Tool {
                tool: "tbn-hdl",
                detail: "no endmodule in the engine top".into(),
            })?;
            out += &text[..at];
            out += "`include \"nettop_props.vh\"\n";
            out += &text[at..];
        } else if !name.starts_with(&format!("{engine}$")) {
            out += &text;
        }
        out.push('\n');
    }
    if !found {
        return Err(FormalError::Tool {
            tool: "tbn-hdl",
            detail: format!("the engine top lacks the module {engine}"),
        });
    }
    Ok(out)
}

/// A module with the ports of `module` (rust-hdl's one-declaration-per-line
/// port list), its outputs free in every cycle and its inputs unused.
fn free_outputs_stub(module: &str) -> String {
    let mut s = String::new();
    for line in module.lines() {
        let t = line.trim();
        if t.starts_with("module ") {
            s += line;
            s.push('\n');
        } else if t.starts_with("input ") {
            s += &format!("    {t}\n");
        } else if let Some(decl) = t.strip_prefix("output reg ") {
            let name = decl
                .trim_end_matches(';')
                .split_whitespace()
                .last()
                .unwrap_or("");
            s += &format!("    output wire {decl}\n    assign {name} = $anyseq;\n");
        }
    }
    s + "endmodule\n"
}

/// `tbn_regmap.vh`: the register word indices the harness uses, from
/// `tbn_driver::regmap` (the single source of the map).
pub fn regmap_header() -> String {
    let idx = |name: &str, off: u32| format!("`define TBN_IDX_{name} 17'd{}\n", off >> 2);
    let mut s = String::from("// generated from tbn_driver::regmap by tbn_hdl::formal\n");
    s += &idx("CTRL", regmap::CTRL);
    s += &idx("STATUS", regmap::STATUS);
    s += &idx("JOB_M", regmap::JOB_M);
    s += &idx("JOB_Q", regmap::JOB_Q);
    s += &idx("JOB_ROWS", regmap::JOB_ROWS);
    s += &idx("JOB_ABITS", regmap::JOB_ABITS);
    // the engine's INPUT window is word address bits 17:13 equal to this
    const _: () = assert!(
        regmap::INPUT_SIZE >> 2 == 1 << 13 && (regmap::INPUT_BASE >> 2).is_multiple_of(1 << 13)
    );
    s += &format!(
        "`define TBN_IDX_INPUT_HI 5'd{}\n",
        (regmap::INPUT_BASE >> 2) >> 13
    );
    let max_code = regmap::ERROR_CODES
        .iter()
        .map(|(c, _)| *c as u32)
        .max()
        .unwrap_or(0);
    s += &format!("`define TBN_MAX_ERROR_CODE 4'd{max_code}\n");
    s
}

fn run_tool(dir: &Path, tool: &'static str, args: &[&str]) -> Result<(bool, String), FormalError> {
    let out = Command::new(tool)
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| FormalError::Tool {
            tool,
            detail: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Check `group` on the core for `cfg` in `dir` (files are left there:
/// `design.v`, `tbn_regmap.vh`, `ctrl_props.v`, `model_<group>.smt2`, and
/// `trace_<group>.vcd` with a counterexample when a proof fails).
pub fn check(
    cfg: &Config,
    group: Group,
    mode: Mode,
    depth: usize,
    dir: &Path,
) -> Result<Outcome, FormalError> {
    let design = if group.on_engine() {
        net_design_verilog(cfg)?
    } else {
        design_verilog(cfg)?
    };
    check_design(&design, group, mode, depth, dir)
}

/// [`check`] on the given design (control and sequencer Verilog, or the
/// engine top for the `Net*` groups; e.g. a mutant of [`design_verilog`] or
/// [`net_design_verilog`], to show that a property catches a bug).
pub fn check_design(
    design: &str,
    group: Group,
    mode: Mode,
    depth: usize,
    dir: &Path,
) -> Result<Outcome, FormalError> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("design.v"), design)?;
    std::fs::write(dir.join("tbn_regmap.vh"), regmap_header())?;
    std::fs::write(dir.join("ctrl_props.v"), HARNESS)?;
    std::fs::write(dir.join("nettop_props.vh"), NET_PROPS)?;
    std::fs::write(dir.join("wb_props.vh"), WB_PROPS)?;
    let (sources, top) = if group.on_engine() {
        ("design.v", NET_CORE_TOP)
    } else {
        ("design.v ctrl_props.v", HARNESS_TOP)
    };
    let tag = group.define().to_lowercase();
    let model = format!("model_{tag}.smt2");
    let t0 = std::time::Instant::now();
    {
        let script = format!(
            "read_verilog -formal -D{def} {sources}; prep -top {top}; flatten; opt -fast; \
             async2sync; dffunmap; write_smt2 {model}",
            def = group.define()
        );
        let (ok, log) = run_tool(dir, "yosys", &["-q", "-p", &script])?;
        if !ok {
            return Err(FormalError::Tool {
                tool: "yosys",
                detail: log,
            });
        }
    }
    let depth_s = depth.to_string();
    let vcd = format!("trace_{tag}.vcd");
    // --unroll: without it z3 can stall on the uninterpreted functions of the
    // model (seen: minutes at step 0 where --unroll takes a second)
    let mut args = vec!["-s", "z3", "--unroll", "-t", &depth_s, "--dump-vcd", &vcd];
    if mode == Mode::Induction {
        args.push("-i");
    }
    args.push(&model);
    let (_, log) = run_tool(dir, "yosys-smtbmc", &args)?;
    let passed = log.contains("Status: PASSED");
    if !passed && !log.contains("Status: FAILED") {
        return Err(FormalError::Tool {
            tool: "yosys-smtbmc",
            detail: log,
        });
    }
    // (z3's progress spinner writes backspaces: keep the log lines only)
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("##") && !l.contains('\u{8}'))
        .collect();
    let log_tail = lines[lines.len().saturating_sub(12)..].join("\n");
    Ok(Outcome {
        group,
        mode,
        depth,
        passed,
        seconds: t0.elapsed().as_secs_f64(),
        log_tail,
    })
}
