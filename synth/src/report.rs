//! Reading nextpnr's `--report` JSON, yosys's `stat -json` and nextpnr's log;
//! the synthesis report (JSON, markdown, terminal table).

use crate::device::{Device, Family};
use crate::error::{Overflow, Result, SynthError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Use of one kind of resource.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResourceUse {
    /// Short key: `lut`, `ff`, `carry`, `bram`, `spram`, `dsp`, `io`, `gb`, `pll`, `lc`.
    pub key: String,
    /// Human-readable name.
    pub name: String,
    /// Where the count comes from: a nextpnr cell type or a yosys cell type.
    pub source: String,
    /// Used.
    pub used: u64,
    /// Available on the device.
    pub available: u64,
    /// used / available (0 when nothing is available).
    pub utilization: f64,
}

impl ResourceUse {
    fn new(key: &str, name: &str, source: &str, used: u64, available: u64) -> Self {
        ResourceUse {
            key: key.into(),
            name: name.into(),
            source: source.into(),
            used,
            available,
            utilization: if available == 0 {
                0.0
            } else {
                used as f64 / available as f64
            },
        }
    }
}

/// Achieved frequency of one clock.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClockTiming {
    /// Clock net as named in the design (nextpnr's suffixes removed).
    pub clock: String,
    /// nextpnr's name of the clock net.
    pub net: String,
    /// Achieved fmax in MHz.
    pub achieved_mhz: f64,
    /// Target in MHz.
    pub target_mhz: f64,
    /// `achieved >= target`.
    pub met: bool,
}

/// The critical path of the worst clock.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CriticalPath {
    /// Launching clock edge (e.g. `posedge clk`).
    pub from: String,
    /// Capturing clock edge.
    pub to: String,
    /// Total delay in ns.
    pub delay_ns: f64,
    /// Of which in logic (cells, clock-to-q, setup).
    pub logic_ns: f64,
    /// Of which in routing.
    pub routing_ns: f64,
    /// Number of logic cells passed (LUT levels, carry steps).
    pub logic_levels: usize,
    /// Start cell.
    pub start: String,
    /// End cell and port.
    pub end: String,
    /// Nets along the path, in order (named after RTL signals).
    pub nets: Vec<String>,
}

impl CriticalPath {
    /// One-line summary for error messages.
    pub fn summary(&self) -> String {
        let nets: Vec<&str> = self
            .nets
            .iter()
            .map(String::as_str)
            .filter(|n| !n.contains("$glb_"))
            .collect();
        let shown = if nets.len() > 8 {
            format!(
                "{} -> ... ({} more) -> {}",
                nets[..4].join(" -> "),
                nets.len() - 6,
                nets[nets.len() - 2..].join(" -> ")
            )
        } else {
            nets.join(" -> ")
        };
        format!(
            "{:.2} ns ({:.2} ns logic, {:.2} ns routing, {} logic levels) from {} to {}; nets: {}",
            self.delay_ns,
            self.logic_ns,
            self.routing_ns,
            self.logic_levels,
            self.start,
            self.end,
            shown
        )
    }
}

/// The result of one synthesis run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SynthReport {
    /// The device.
    pub device: Device,
    /// Part number.
    pub part: String,
    /// Reference board.
    pub board: String,
    /// Top module.
    pub top: String,
    /// The accelerator configuration, when the design came from `tbn-hdl`.
    pub config: Option<Value>,
    /// Target clock in MHz.
    pub target_mhz: f64,
    /// Summary resources (logic, flip-flops, carry, BRAM, DSP, I/O, ...).
    pub resources: Vec<ResourceUse>,
    /// Every cell type of nextpnr's utilization report: (used, available).
    pub nextpnr_cells: BTreeMap<String, (u64, u64)>,
    /// Cell counts after yosys synthesis.
    pub yosys_cells: BTreeMap<String, u64>,
    /// fmax per clock.
    pub clocks: Vec<ClockTiming>,
    /// The critical path of the worst clock.
    pub critical_path: Option<CriticalPath>,
    /// fmax of the worst clock in MHz (None when no clock was analysed).
    pub fmax_mhz: Option<f64>,
    /// Every clock met its target.
    pub timing_met: bool,
    /// The bitstream, if packed.
    pub bitstream: Option<PathBuf>,
    /// Tool versions.
    pub tools: BTreeMap<String, String>,
    /// Wall-clock seconds per stage.
    pub seconds: BTreeMap<String, f64>,
}

impl SynthReport {
    /// The resource with short key `key` (`lut`, `ff`, `carry`, `bram`, `dsp`, `io`, ...).
    pub fn resource(&self, key: &str) -> Option<&ResourceUse> {
        self.resources.iter().find(|r| r.key == key)
    }

    /// The slowest clock relative to its target.
    pub fn worst_clock(&self) -> Option<&ClockTiming> {
        self.clocks.iter().min_by(|a, b| {
            (a.achieved_mhz / a.target_mhz)
                .partial_cmp(&(b.achieved_mhz / b.target_mhz))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    }

    /// fmax of the worst clock (MHz), if any clock was analysed.
    pub fn fmax_mhz(&self) -> Option<f64> {
        self.worst_clock().map(|c| c.achieved_mhz)
    }

    /// Markdown rendering.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s += &format!("# Synthesis report: {} on {}\n\n", self.top, self.device);
        if let Some(c) = &self.config {
            s += &format!("Configuration: `{c}`\n\n");
        }
        s += "| resource | used | available | utilization | counted from |\n| --- | ---: | ---: | ---: | --- |\n";
        for r in &self.resources {
            s += &format!(
                "| {} | {} | {} | {:.1}% | {} |\n",
                r.name,
                r.used,
                r.available,
                100.0 * r.utilization,
                r.source
            );
        }
        s += "\n| clock | fmax (MHz) | target (MHz) | met |\n| --- | ---: | ---: | --- |\n";
        for c in &self.clocks {
            s += &format!(
                "| {} | {:.2} | {:.2} | {} |\n",
                c.clock,
                c.achieved_mhz,
                c.target_mhz,
                if c.met { "yes" } else { "**no**" }
            );
        }
        if let Some(p) = &self.critical_path {
            s += &format!(
                "\nCritical path ({} -> {}): {}\n",
                p.from,
                p.to,
                p.summary()
            );
        }
        if let Some(b) = &self.bitstream {
            s += &format!("\nBitstream: `{}`\n", b.display());
        }
        s += "\nTools:\n\n";
        for (k, v) in &self.tools {
            s += &format!("- {k}: {v}\n");
        }
        s += "\nStage times:";
        for (k, v) in &self.seconds {
            s += &format!(" {k} {v:.1} s;");
        }
        s.push('\n');
        s
    }

    /// Plain-text table for the terminal.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} on {} (target {:.1} MHz)\n",
            self.top, self.device, self.target_mhz
        );
        s += &format!(
            "  {:<26} {:>8} {:>10} {:>7}\n",
            "resource", "used", "available", "util"
        );
        for r in &self.resources {
            s += &format!(
                "  {:<26} {:>8} {:>10} {:>6.1}%\n",
                r.name,
                r.used,
                r.available,
                100.0 * r.utilization
            );
        }
        for c in &self.clocks {
            s += &format!(
                "  clock {:<20} fmax {:>8.2} MHz  target {:>7.2} MHz  {}\n",
                c.clock,
                c.achieved_mhz,
                c.target_mhz,
                if c.met { "MET" } else { "FAILED" }
            );
        }
        if let Some(p) = &self.critical_path {
            s += &format!("  critical path: {}\n", p.summary());
        }
        if let Some(b) = &self.bitstream {
            s += &format!("  bitstream: {}\n", b.display());
        }
        s
    }
}

fn read_json(path: &Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| SynthError::Parse {
        what: what.into(),
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Cell counts of the design's top module from yosys `stat -json` output.
pub fn parse_yosys_stat(path: &Path) -> Result<BTreeMap<String, u64>> {
    let v = read_json(path, "yosys stat -json output")?;
    let cells = v
        .get("design")
        .and_then(|d| d.get("num_cells_by_type"))
        .or_else(|| {
            v.get("modules")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
                .and_then(|m| m.get("num_cells_by_type"))
        })
        .and_then(Value::as_object)
        .ok_or_else(|| SynthError::Parse {
            what: "yosys stat -json output".into(),
            path: path.to_path_buf(),
            message: "no num_cells_by_type".into(),
        })?;
    Ok(cells
        .iter()
        .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
        .collect())
}

/// Strip nextpnr's buffer suffixes from a clock net name (`clk$SB_IO_IN_$glb_clk` -> `clk`).
pub fn clean_clock_name(net: &str) -> String {
    net.split('$')
        .find(|p| !p.is_empty() && *p != "glbnet")
        .unwrap_or(net)
        .to_string()
}

/// What nextpnr's `--report` JSON says.
#[derive(Clone, Debug, Default)]
pub struct NextpnrReport {
    /// Cell type -> (used, available).
    pub utilization: BTreeMap<String, (u64, u64)>,
    /// Clock net -> (achieved, constraint) MHz.
    pub fmax: BTreeMap<String, (f64, f64)>,
    /// Critical paths as (from, to, path segments).
    pub critical_paths: Vec<(String, String, Vec<Value>)>,
}

/// Parse nextpnr's `--report` JSON.
pub fn parse_nextpnr_report(path: &Path) -> Result<NextpnrReport> {
    let v = read_json(path, "nextpnr --report JSON")?;
    let mut r = NextpnrReport::default();
    if let Some(u) = v.get("utilization").and_then(Value::as_object) {
        for (k, e) in u {
            let used = e.get("used").and_then(Value::as_u64).unwrap_or(0);
            let avail = e.get("available").and_then(Value::as_u64).unwrap_or(0);
            r.utilization.insert(k.clone(), (used, avail));
        }
    } else {
        return Err(SynthError::Parse {
            what: "nextpnr --report JSON".into(),
            path: path.to_path_buf(),
            message: "no 'utilization' object".into(),
        });
    }
    if let Some(f) = v.get("fmax").and_then(Value::as_object) {
        for (k, e) in f {
            let a = e.get("achieved").and_then(Value::as_f64).unwrap_or(0.0);
            let c = e.get("constraint").and_then(Value::as_f64).unwrap_or(0.0);
            r.fmax.insert(k.clone(), (a, c));
        }
    }
    if let Some(ps) = v.get("critical_paths").and_then(Value::as_array) {
        for p in ps {
            let from = p
                .get("from")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let to = p
                .get("to")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let segs = p
                .get("path")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            r.critical_paths.push((from, to, segs));
        }
    }
    Ok(r)
}

/// Summarise a critical path's segments.
pub fn summarize_path(from: &str, to: &str, segs: &[Value]) -> CriticalPath {
    let mut p = CriticalPath {
        from: from.into(),
        to: to.into(),
        delay_ns: 0.0,
        logic_ns: 0.0,
        routing_ns: 0.0,
        logic_levels: 0,
        start: String::new(),
        end: String::new(),
        nets: Vec::new(),
    };
    let endpoint = |s: &Value, key: &str| -> String {
        let e = s.get(key);
        let cell = e
            .and_then(|e| e.get("cell"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let port = e
            .and_then(|e| e.get("port"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        format!("{cell}.{port}")
    };
    for (i, s) in segs.iter().enumerate() {
        let d = s.get("delay").and_then(Value::as_f64).unwrap_or(0.0);
        p.delay_ns += d;
        match s.get("type").and_then(Value::as_str).unwrap_or("") {
            "routing" => {
                p.routing_ns += d;
                if let Some(n) = s.get("net").and_then(Value::as_str) {
                    p.nets.push(n.to_string());
                }
            }
            "logic" => {
                p.logic_ns += d;
                p.logic_levels += 1;
            }
            _ => p.logic_ns += d,
        }
        if i == 0 {
            p.start = endpoint(s, "from");
        }
        if i + 1 == segs.len() {
            p.end = endpoint(s, "to");
        }
    }
    p
}

/// Resource counts of nextpnr's "Device utilisation" table in its log
/// (printed before placement, so it is there also when placement fails).
pub fn parse_utilisation_log(log: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    let mut in_table = false;
    for line in log.lines() {
        let l = line.trim_start_matches("Info:").trim();
        if l.starts_with("Device utilisation") {
            in_table = true;
            out.clear();
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((name, rest)) = l.split_once(':') else {
            in_table = false;
            continue;
        };
        let Some((used, rest)) = rest.split_once('/') else {
            in_table = false;
            continue;
        };
        let avail = rest.split_whitespace().next().unwrap_or("");
        match (used.trim().parse::<u64>(), avail.parse::<u64>()) {
            (Ok(u), Ok(a)) => {
                out.insert(name.trim().to_string(), (u, a));
            }
            _ => in_table = false,
        }
    }
    out
}

/// Resources above the device's limit in a utilisation table.
pub fn overflows(util: &BTreeMap<String, (u64, u64)>) -> Vec<Overflow> {
    util.iter()
        .filter(|(_, (u, a))| u > a)
        .map(|(k, (u, a))| Overflow {
            resource: k.clone(),
            used: *u,
            available: *a,
        })
        .collect()
}

/// The summary resource rows for a family from nextpnr's and yosys's counts.
pub fn summary_resources(
    family: Family,
    np: &BTreeMap<String, (u64, u64)>,
    ys: &BTreeMap<String, u64>,
) -> Vec<ResourceUse> {
    let get = |k: &str| np.get(k).copied();
    let ycount = |pred: &dyn Fn(&str) -> bool| -> u64 {
        ys.iter().filter(|(k, _)| pred(k)).map(|(_, n)| *n).sum()
    };
    let mut v = Vec::new();
    let push_np = |v: &mut Vec<ResourceUse>, key: &str, name: &str, cell: &str, always: bool| {
        if let Some((u, a)) = get(cell) {
            if always || a > 0 {
                v.push(ResourceUse::new(key, name, cell, u, a));
            }
        }
    };
    match family {
        Family::Ice40 => {
            let lc_avail = get("ICESTORM_LC").map(|x| x.1).unwrap_or(0);
            push_np(
                &mut v,
                "lc",
                "logic cells (LUT4+FF+carry)",
                "ICESTORM_LC",
                true,
            );
            v.push(ResourceUse::new(
                "lut",
                "LUT4",
                "yosys SB_LUT4",
                ycount(&|k| k == "SB_LUT4"),
                lc_avail,
            ));
            v.push(ResourceUse::new(
                "ff",
                "flip-flops",
                "yosys SB_DFF*",
                ycount(&|k| k.starts_with("SB_DFF")),
                lc_avail,
            ));
            v.push(ResourceUse::new(
                "carry",
                "carry cells",
                "yosys SB_CARRY",
                ycount(&|k| k == "SB_CARRY"),
                lc_avail,
            ));
            push_np(&mut v, "bram", "block RAM (4 kbit)", "ICESTORM_RAM", true);
            push_np(&mut v, "spram", "SPRAM (256 kbit)", "ICESTORM_SPRAM", false);
            push_np(&mut v, "dsp", "DSP (16x16 MAC)", "ICESTORM_DSP", false);
            push_np(&mut v, "io", "I/O", "SB_IO", true);
            push_np(&mut v, "gb", "global buffers", "SB_GB", true);
            push_np(&mut v, "pll", "PLL", "ICESTORM_PLL", false);
        }
        Family::Ecp5 => {
            let comb_avail = get("TRELLIS_COMB").map(|x| x.1).unwrap_or(0);
            push_np(&mut v, "lut", "LUT4 (TRELLIS_COMB)", "TRELLIS_COMB", true);
            if get("TRELLIS_FF").is_some() {
                push_np(&mut v, "ff", "flip-flops", "TRELLIS_FF", true);
            } else {
                v.push(ResourceUse::new(
                    "ff",
                    "flip-flops",
                    "yosys TRELLIS_FF",
                    ycount(&|k| k.starts_with("TRELLIS_FF")),
                    comb_avail,
                ));
            }
            v.push(ResourceUse::new(
                "carry",
                "carry cells (CCU2C, 2 bits)",
                "yosys CCU2C",
                ycount(&|k| k == "CCU2C"),
                comb_avail / 2,
            ));
            push_np(
                &mut v,
                "bram",
                "block RAM (DP16KD, 18 kbit)",
                "DP16KD",
                true,
            );
            push_np(
                &mut v,
                "dram",
                "distributed RAM (TRELLIS_RAMW)",
                "TRELLIS_RAMW",
                false,
            );
            push_np(&mut v, "dsp", "DSP (MULT18X18D)", "MULT18X18D", true);
            push_np(&mut v, "io", "I/O", "TRELLIS_IO", true);
            push_np(&mut v, "gb", "global clocks (DCC)", "DCCA", false);
            push_np(&mut v, "pll", "PLL", "EHXPLLL", false);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilisation_table_is_parsed_and_overflow_found() {
        let log = "Info: Packing ...\nInfo: Device utilisation:\nInfo: \t         ICESTORM_LC:  6123/ 5280   115%\nInfo: \t        ICESTORM_RAM:    12/   30    40%\nInfo: \t               SB_IO:     6/   96     6%\n\nInfo: Placed 0 cells\n";
        let u = parse_utilisation_log(log);
        assert_eq!(u.get("ICESTORM_LC"), Some(&(6123, 5280)));
        assert_eq!(u.get("SB_IO"), Some(&(6, 96)));
        assert_eq!(u.len(), 3);
        let o = overflows(&u);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].resource, "ICESTORM_LC");
        assert!(o[0].to_string().contains("6123 of 5280"), "{}", o[0]);
    }

    #[test]
    fn clock_names_are_cleaned() {
        assert_eq!(clean_clock_name("clk$SB_IO_IN_$glb_clk"), "clk");
        assert_eq!(clean_clock_name("clk"), "clk");
        assert_eq!(clean_clock_name("$glbnet$clk$TRELLIS_IO_IN"), "clk");
    }

    #[test]
    fn path_summary_counts_levels() {
        let segs: Vec<Value> = serde_json::from_str(
            r#"[{"type":"clk-to-q","delay":1.0,"from":{"cell":"a","port":"CLK"},"to":{"cell":"a","port":"O"}},
                {"type":"routing","delay":2.0,"net":"x","from":{"cell":"a","port":"O"},"to":{"cell":"b","port":"I0"}},
                {"type":"logic","delay":1.5,"from":{"cell":"b","port":"I0"},"to":{"cell":"b","port":"O"}},
                {"type":"routing","delay":0.5,"net":"y","from":{"cell":"b","port":"O"},"to":{"cell":"c","port":"D"}},
                {"type":"setup","delay":0.25,"from":{"cell":"c","port":"D"},"to":{"cell":"c","port":"D"}}]"#,
        )
        .unwrap();
        let p = summarize_path("posedge clk", "posedge clk", &segs);
        assert!((p.delay_ns - 5.25).abs() < 1e-9);
        assert!((p.routing_ns - 2.5).abs() < 1e-9);
        assert_eq!(p.logic_levels, 1);
        assert_eq!(p.nets, vec!["x", "y"]);
        assert_eq!(p.start, "a.CLK");
        assert_eq!(p.end, "c.D");
    }
}
