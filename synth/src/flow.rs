//! The synthesis flow: yosys -> nextpnr -> icepack / ecppack.

use crate::device::{Device, Family};
use crate::error::{Result, Stage, SynthError};
use crate::report::{self, ClockTiming, SynthReport};
use crate::tools::{self, Toolchain};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What to synthesise and how.
#[derive(Clone, Debug)]
pub struct FlowSpec {
    /// Target device.
    pub device: Device,
    /// Verilog sources.
    pub sources: Vec<PathBuf>,
    /// Top module.
    pub top: String,
    /// Parameters of the top module (`chparam`).
    pub params: Vec<(String, i64)>,
    /// Clock target in MHz.
    pub freq_mhz: f64,
    /// Output folder (logs, netlist, report, bitstream).
    pub out_dir: PathBuf,
    /// Accept a missed clock target (the report says so).
    pub allow_timing_fail: bool,
    /// Pin constraints; `None` uses the device's board file from `boards/`.
    pub constraints: Option<PathBuf>,
    /// nextpnr placer seed.
    pub seed: Option<u64>,
    /// Pack a bitstream.
    pub pack: bool,
    /// Configuration to record in the report.
    pub config: Option<Value>,
}

impl FlowSpec {
    /// A spec with defaults: the device's default clock target, board
    /// constraints, seed 1, packing on.
    pub fn new(device: Device, sources: Vec<PathBuf>, top: &str, out_dir: &Path) -> Self {
        FlowSpec {
            device,
            sources,
            top: top.to_string(),
            params: Vec::new(),
            freq_mhz: device.default_freq_mhz(),
            out_dir: out_dir.to_path_buf(),
            allow_timing_fail: false,
            constraints: None,
            seed: Some(1),
            pack: true,
            config: None,
        }
    }
}

/// Names of the files the flow writes into the output folder.
pub mod files {
    /// yosys script.
    pub const YOSYS_SCRIPT: &str = "synth.ys";
    /// yosys log.
    pub const YOSYS_LOG: &str = "yosys.log";
    /// Netlist for nextpnr.
    pub const NETLIST_JSON: &str = "netlist.json";
    /// yosys cell statistics.
    pub const YOSYS_STAT: &str = "yosys-stat.json";
    /// nextpnr log.
    pub const NEXTPNR_LOG: &str = "nextpnr.log";
    /// nextpnr's own report.
    pub const NEXTPNR_REPORT: &str = "nextpnr-report.json";
    /// Packer log.
    pub const PACK_LOG: &str = "pack.log";
    /// The flow's report (JSON).
    pub const REPORT_JSON: &str = "report.json";
    /// The flow's report (markdown).
    pub const REPORT_MD: &str = "report.md";
}

fn run_logged(stage: Stage, prog: &Path, args: &[String], cwd: &Path, log: &Path) -> Result<bool> {
    let out = std::fs::File::create(log).map_err(|e| SynthError::io(log, e))?;
    let err = out.try_clone().map_err(|e| SynthError::io(log, e))?;
    let status = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|source| SynthError::Spawn {
            stage,
            tool: prog.to_path_buf(),
            source,
        })?;
    Ok(status.success())
}

/// The first error lines of a log (lines with ERROR / error, and what follows).
pub fn error_excerpt(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let mut picked: Vec<String> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let lt = l.trim();
        if lt.starts_with("ERROR")
            || lt.contains("ERROR:")
            || lt.starts_with("error")
            || lt.contains(": error:")
        {
            picked.push(lt.to_string());
            if let Some(next) = lines.get(i + 1) {
                let n = next.trim();
                if !n.is_empty() && !n.starts_with("Info:") && !picked.contains(&n.to_string()) {
                    picked.push(n.to_string());
                }
            }
        }
        if picked.len() >= 4 {
            break;
        }
    }
    if picked.is_empty() {
        let tail: Vec<&str> = lines
            .iter()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .copied()
            .collect();
        return tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
    }
    picked.join(" | ")
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A path to `file` relative to `out` for the tools, which run in `out`:
/// files elsewhere are copied into `out/inputs/` first. (The YoWASP builds run
/// under WASI and see only their working folder.)
fn staged(out: &Path, file: &Path) -> Result<String> {
    let a = abs(file);
    if let Ok(rel) = a.strip_prefix(out) {
        return Ok(rel.to_string_lossy().to_string());
    }
    let dir = out.join("inputs");
    std::fs::create_dir_all(&dir).map_err(|e| SynthError::io(&dir, e))?;
    let name = a
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "input".into());
    std::fs::copy(&a, dir.join(&name)).map_err(|e| SynthError::io(&a, e))?;
    Ok(format!("inputs/{name}"))
}

fn yosys_script_for(spec: &FlowSpec, sources: &[String]) -> String {
    let mut s = String::new();
    for f in sources {
        s += &format!("read_verilog -sv \"{f}\"\n");
    }
    for (k, v) in &spec.params {
        s += &format!("chparam -set {k} {v} {}\n", spec.top);
    }
    s += &format!("hierarchy -check -top {}\n", spec.top);
    match spec.device.family() {
        Family::Ice40 => {
            // the UP5K's DSPs and SPRAM (single-port memories of 16K x 16:
            // the engine's tile memory; nothing else maps there)
            let dsp = if spec.device == Device::Up5k {
                " -dsp -spram"
            } else {
                ""
            };
            s += &format!(
                "synth_ice40 -top {}{dsp} -json {}\n",
                spec.top,
                files::NETLIST_JSON
            );
        }
        Family::Ecp5 => {
            s += &format!(
                "synth_ecp5 -top {} -json {}\n",
                spec.top,
                files::NETLIST_JSON
            );
        }
    }
    s += &format!("tee -q -o {} stat -json\n", files::YOSYS_STAT);
    s
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| SynthError::io(path, e))
}

/// Run the flow. On success (or a missed clock target with
/// `allow_timing_fail`) the report is returned and written to
/// `report.json` / `report.md` in the output folder.
pub fn run(spec: &FlowSpec) -> Result<SynthReport> {
    if !(spec.freq_mhz.is_finite() && spec.freq_mhz > 0.0 && spec.freq_mhz <= 1000.0) {
        return Err(SynthError::Invalid(format!(
            "clock target {} MHz (must be in (0, 1000])",
            spec.freq_mhz
        )));
    }
    if spec.sources.is_empty() {
        return Err(SynthError::Invalid("no Verilog sources".into()));
    }
    for f in &spec.sources {
        if !f.is_file() {
            return Err(SynthError::Invalid(format!(
                "Verilog source {} does not exist",
                f.display()
            )));
        }
    }
    let tc = tools::toolchain(spec.device.family())?;
    run_with(spec, &tc)
}

/// [`run`] with an explicit toolchain.
pub fn run_with(spec: &FlowSpec, tc: &Toolchain) -> Result<SynthReport> {
    let out = abs(&spec.out_dir);
    std::fs::create_dir_all(&out).map_err(|e| SynthError::io(&out, e))?;
    let mut seconds = BTreeMap::new();
    let mut tools_used = BTreeMap::new();
    tools_used.insert("yosys".to_string(), tools::version(&tc.yosys));
    tools_used.insert(
        tc.nextpnr
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        tools::version(&tc.nextpnr),
    );

    // --- yosys
    let script = out.join(files::YOSYS_SCRIPT);
    let staged_sources = spec
        .sources
        .iter()
        .map(|f| staged(&out, f))
        .collect::<Result<Vec<_>>>()?;
    write(&script, &yosys_script_for(spec, &staged_sources))?;
    let ylog = out.join(files::YOSYS_LOG);
    let t = Instant::now();
    let ok = run_logged(
        Stage::Yosys,
        &tc.yosys,
        &[
            "-q".into(),
            "-l".into(),
            files::YOSYS_LOG.into(),
            "-s".into(),
            files::YOSYS_SCRIPT.into(),
        ],
        &out,
        &out.join("yosys.stdout"),
    )?;
    seconds.insert("yosys".to_string(), t.elapsed().as_secs_f64());
    if !ok {
        let text = read(&ylog).or_else(|_| read(&out.join("yosys.stdout")))?;
        return Err(SynthError::StageFailed {
            stage: Stage::Yosys,
            message: error_excerpt(&text),
            log: ylog,
        });
    }
    let ycells = report::parse_yosys_stat(&out.join(files::YOSYS_STAT))?;

    // --- nextpnr
    let cons = match &spec.constraints {
        Some(p) => staged(&out, p)?,
        None => {
            let p = out.join(spec.device.constraints_file());
            write(&p, spec.device.constraints_text())?;
            spec.device.constraints_file().to_string()
        }
    };
    let mut args: Vec<String> = spec
        .device
        .nextpnr_device_args()
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([
        "--json".into(),
        files::NETLIST_JSON.into(),
        spec.device.constraints_flag().into(),
        cons,
        "--freq".into(),
        format!("{}", spec.freq_mhz),
        "--report".into(),
        files::NEXTPNR_REPORT.into(),
        "--timing-allow-fail".into(),
        "-q".into(),
        "-l".into(),
        files::NEXTPNR_LOG.into(),
    ]);
    if let Some(seed) = spec.seed {
        args.extend(["--seed".into(), seed.to_string()]);
    }
    let placed = match spec.device.family() {
        Family::Ice40 => "design.asc",
        Family::Ecp5 => "design.config",
    };
    args.extend([
        match spec.device.family() {
            Family::Ice40 => "--asc".to_string(),
            Family::Ecp5 => "--textcfg".to_string(),
        },
        placed.to_string(),
    ]);
    let nlog = out.join(files::NEXTPNR_LOG);
    let _ = std::fs::remove_file(out.join(files::NEXTPNR_REPORT));
    let t = Instant::now();
    let ok = run_logged(
        Stage::Nextpnr,
        &tc.nextpnr,
        &args,
        &out,
        &out.join("nextpnr.stdout"),
    )?;
    seconds.insert("nextpnr".to_string(), t.elapsed().as_secs_f64());
    let ntext = read(&nlog)
        .or_else(|_| read(&out.join("nextpnr.stdout")))
        .unwrap_or_default();
    if !ok {
        let util = report::parse_utilisation_log(&ntext);
        let over = report::overflows(&util);
        let msg = error_excerpt(&ntext);
        if !over.is_empty() || msg.contains("no BELs remaining") || msg.contains("Unable to place")
        {
            return Err(SynthError::DoesNotFit {
                stage: Stage::Nextpnr,
                device: spec.device,
                overflows: over,
                log: nlog,
            });
        }
        return Err(SynthError::StageFailed {
            stage: Stage::Nextpnr,
            message: msg,
            log: nlog,
        });
    }
    let np = report::parse_nextpnr_report(&out.join(files::NEXTPNR_REPORT))?;
    let mut clocks: Vec<ClockTiming> = np
        .fmax
        .iter()
        .map(|(net, (a, c))| {
            let target = if *c > 0.0 { *c } else { spec.freq_mhz };
            ClockTiming {
                clock: report::clean_clock_name(net),
                net: net.clone(),
                achieved_mhz: *a,
                target_mhz: target,
                met: *a >= target,
            }
        })
        .collect();
    clocks.sort_by(|a, b| a.clock.cmp(&b.clock));
    let mut rep = SynthReport {
        device: spec.device,
        part: spec.device.part().into(),
        board: spec.device.board().into(),
        top: spec.top.clone(),
        config: spec.config.clone(),
        target_mhz: spec.freq_mhz,
        resources: report::summary_resources(spec.device.family(), &np.utilization, &ycells),
        nextpnr_cells: np.utilization.clone(),
        yosys_cells: ycells,
        timing_met: clocks.iter().all(|c| c.met),
        fmax_mhz: None,
        clocks,
        critical_path: None,
        bitstream: None,
        tools: tools_used,
        seconds,
    };
    rep.fmax_mhz = rep.fmax_mhz();
    if let Some(w) = rep.worst_clock().cloned() {
        let edge = format!("posedge {}", w.net);
        let pick = np
            .critical_paths
            .iter()
            .find(|(f, t, _)| *f == edge && *t == edge)
            .or_else(|| {
                np.critical_paths
                    .iter()
                    .find(|(f, _, _)| f.contains(&w.net))
            })
            .or_else(|| np.critical_paths.first());
        rep.critical_path = pick.map(|(f, t, s)| report::summarize_path(f, t, s));
    }

    // --- timing verdict
    let report_json = out.join(files::REPORT_JSON);
    if !rep.timing_met && !spec.allow_timing_fail {
        write_report(&rep, &out)?;
        let w = rep.worst_clock().cloned().expect("a failing clock exists");
        return Err(SynthError::TimingFailed {
            clock: w.clock,
            achieved_mhz: w.achieved_mhz,
            target_mhz: w.target_mhz,
            critical_path: rep
                .critical_path
                .as_ref()
                .map(|p| p.summary())
                .unwrap_or_else(|| "not reported".into()),
            report: Box::new(rep),
            report_path: report_json,
        });
    }

    // --- bitstream
    if spec.pack {
        let (bit, args): (&str, Vec<String>) = match spec.device.family() {
            Family::Ice40 => ("design.bin", vec![placed.into(), "design.bin".into()]),
            Family::Ecp5 => ("design.bit", vec![placed.into(), "design.bit".into()]),
        };
        let plog = out.join(files::PACK_LOG);
        let t = Instant::now();
        let ok = run_logged(Stage::Pack, &tc.pack, &args, &out, &plog)?;
        rep.seconds
            .insert("pack".to_string(), t.elapsed().as_secs_f64());
        if !ok || !out.join(bit).is_file() {
            return Err(SynthError::StageFailed {
                stage: Stage::Pack,
                message: format!(
                    "{}: {}",
                    tc.pack.display(),
                    error_excerpt(&read(&plog).unwrap_or_default())
                ),
                log: plog,
            });
        }
        rep.bitstream = Some(out.join(bit));
    }
    write_report(&rep, &out)?;
    Ok(rep)
}

/// Write `report.json` and `report.md` into `out`.
pub fn write_report(rep: &SynthReport, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(rep).expect("report serializes");
    write(&out.join(files::REPORT_JSON), &json)?;
    write(&out.join(files::REPORT_MD), &rep.markdown())
}
