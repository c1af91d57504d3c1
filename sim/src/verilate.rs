//! Building a Verilated model at run time, into a content-addressed cache.
//!
//! [`build_model`] runs `verilator --cc` on a set of Verilog files, compiles the
//! generated C++ together with Verilator's run-time library and a generated
//! `extern "C"` shim (see `shim.cpp.in`) into a shared object, and returns a
//! [`Model`] that can be instantiated as many times as needed ([`Model::instantiate`]).
//!
//! The cache key is a SHA-256 over the Verilog sources, the Verilator and compiler
//! versions, the shim and the build options, so a second build of the same design
//! does nothing but a few file checks. Builds of the same key in parallel (threads or
//! processes) are serialized with a file lock; Verilator's run-time objects are
//! compiled once per (Verilator, compiler, options) and shared by all models.

use std::collections::VecDeque;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::dut::ModelLib;
use crate::error::{Result, SimError};

/// The shim's C++ source template (ports are filled in per model).
const SHIM_TEMPLATE: &str = include_str!("shim.cpp.in");
/// Bumped whenever the build recipe changes in a way the hash would not see.
const RECIPE: &str = "tbn-sim build recipe 3";
/// Prefix of the generated C++ classes.
const PREFIX: &str = "Vtbn";

/// Options of one model build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Name of the top module (`--top-module`).
    pub top: String,
    /// Build with waveform (VCD) support. Costs some speed even when no file is open.
    pub trace: bool,
    /// Build with `--coverage` (line, toggle and user coverage points).
    pub coverage: bool,
    /// Extra arguments passed to Verilator.
    pub verilator_args: Vec<String>,
    /// Cache folder; `None` = [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Parallel compiler jobs (at most 2 are used: the machine is shared).
    pub jobs: usize,
}

impl Default for BuildOptions {
    /// Top module `top`, tracing on when the environment variable `TBN_TRACE` is set.
    fn default() -> Self {
        BuildOptions {
            top: "top".into(),
            trace: trace_env().is_some(),
            coverage: false,
            verilator_args: Vec::new(),
            cache_dir: None,
            jobs: 2,
        }
    }
}

/// The waveform path requested through the environment variable `TBN_TRACE`, if any.
pub fn trace_env() -> Option<PathBuf> {
    std::env::var_os("TBN_TRACE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The cache folder: `$TBN_SIM_CACHE`, else `$XDG_CACHE_HOME/tbn-sim`, else
/// `$HOME/.cache/tbn-sim`, else the system temporary folder's `tbn-sim`.
pub fn default_cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = env("TBN_SIM_CACHE") {
        return p;
    }
    if let Some(p) = env("XDG_CACHE_HOME") {
        return p.join("tbn-sim");
    }
    if let Some(p) = env("HOME") {
        return p.join(".cache").join("tbn-sim");
    }
    std::env::temp_dir().join("tbn-sim")
}

/// Installed tool versions and paths.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The `verilator` program.
    pub verilator: String,
    /// `verilator --version`.
    pub verilator_version: String,
    /// `VERILATOR_ROOT` (its `include/` holds the run-time library).
    pub verilator_root: PathBuf,
    /// The C++ compiler program.
    pub cxx: String,
    /// First line of `g++ --version`.
    pub cxx_version: String,
}

fn spawn_output(tool: &str, hint: &str, cmd: &mut Command) -> Result<std::process::Output> {
    cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SimError::ToolMissing {
                tool: tool.into(),
                hint: hint.into(),
                source: e,
            }
        } else {
            SimError::ToolFailed {
                tool: tool.into(),
                what: "starting".into(),
                status: "could not start".into(),
                output: e.to_string(),
            }
        }
    })
}

const VERILATOR_HINT: &str =
    "`apt-get install verilator` (Debian/Ubuntu; version 5.006 or newer), or set TBN_VERILATOR to its path";
const CXX_HINT: &str = "`apt-get install g++`, or set TBN_CXX to a C++17 compiler";

fn tool_failure(tool: &str, what: String, out: &std::process::Output) -> SimError {
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        text.push_str(&stdout);
    }
    SimError::ToolFailed {
        tool: tool.into(),
        what,
        status: out.status.to_string(),
        output: trim_output(&text),
    }
}

fn trim_output(text: &str) -> String {
    const MAX_LINES: usize = 60;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return text.trim_end().to_string();
    }
    let mut s = lines[..MAX_LINES].join("\n");
    s.push_str(&format!("\n... ({} more lines)", lines.len() - MAX_LINES));
    s
}

impl Toolchain {
    /// Finds Verilator (`$TBN_VERILATOR` or `verilator`) and the C++ compiler
    /// (`$TBN_CXX` or `g++`) and asks them for their versions.
    pub fn detect() -> Result<Toolchain> {
        let verilator = std::env::var("TBN_VERILATOR").unwrap_or_else(|_| "verilator".into());
        let cxx = std::env::var("TBN_CXX").unwrap_or_else(|_| "g++".into());
        let out = spawn_output(
            "verilator",
            VERILATOR_HINT,
            Command::new(&verilator).arg("--version"),
        )?;
        if !out.status.success() {
            return Err(tool_failure(
                "verilator",
                "reporting its version".into(),
                &out,
            ));
        }
        let verilator_version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = spawn_output(
            "verilator",
            VERILATOR_HINT,
            Command::new(&verilator).args(["--getenv", "VERILATOR_ROOT"]),
        )?;
        if !out.status.success() {
            return Err(tool_failure(
                "verilator",
                "reporting VERILATOR_ROOT".into(),
                &out,
            ));
        }
        let verilator_root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !verilator_root
            .join("include")
            .join("verilated.cpp")
            .is_file()
        {
            return Err(SimError::Generated(format!(
                "Verilator's run-time library was not found under {}/include (broken installation?)",
                verilator_root.display()
            )));
        }
        let out = spawn_output("g++", CXX_HINT, Command::new(&cxx).arg("--version"))?;
        if !out.status.success() {
            return Err(tool_failure(&cxx, "reporting its version".into(), &out));
        }
        let cxx_version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        Ok(Toolchain {
            verilator,
            verilator_version,
            verilator_root,
            cxx,
            cxx_version,
        })
    }
}

/// Direction of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Driven by the harness.
    Input,
    /// Driven by the design.
    Output,
    /// Bidirectional (treated as readable and writable).
    Inout,
}

/// C++ storage type Verilator chose for a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `CData` (u8), widths 1..=8.
    U8,
    /// `SData` (u16), widths 9..=16.
    U16,
    /// `IData` (u32), widths 17..=32.
    U32,
    /// `QData` (u64), widths 33..=64.
    U64,
    /// `VlWide<N>`: N u32 words, widths above 64.
    Wide(u32),
}

/// A port of the top module as Verilator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Name in the Verilog source (`$` and other escaped characters restored).
    pub name: String,
    /// Name of the C++ member (Verilator's escaping, e.g. `a__024b` for `a$b`).
    pub cpp_name: String,
    /// Width in bits.
    pub width: u32,
    /// Direction.
    pub dir: Direction,
    /// Storage.
    pub storage: Storage,
}

impl PortInfo {
    /// Number of u32 words the value occupies.
    pub fn words(&self) -> usize {
        self.width.div_ceil(32) as usize
    }
}

/// Restores characters Verilator escapes in identifiers (`__0HH` = byte 0xHH).
pub fn demangle(cpp: &str) -> String {
    let b = cpp.as_bytes();
    let mut out = String::with_capacity(cpp.len());
    let mut i = 0;
    while i < b.len() {
        if i + 5 <= b.len() && &b[i..i + 3] == b"__0" {
            if let Ok(v) = u8::from_str_radix(&cpp[i + 3..i + 5], 16) {
                out.push(v as char);
                i += 5;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Parses the port declarations (`VL_IN8(&name,msb,lsb);` ...) of a Verilated
/// model's header.
pub fn parse_ports(header: &str) -> Result<Vec<PortInfo>> {
    let mut ports = Vec::new();
    for line in header.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("VL_") else {
            continue;
        };
        let Some(open) = rest.find('(') else { continue };
        let mac = &rest[..open];
        let (dir, size) = if let Some(s) = mac.strip_prefix("INOUT") {
            (Direction::Inout, s)
        } else if let Some(s) = mac.strip_prefix("IN") {
            (Direction::Input, s)
        } else if let Some(s) = mac.strip_prefix("OUT") {
            (Direction::Output, s)
        } else {
            continue;
        };
        if !matches!(size, "" | "8" | "16" | "64" | "W") {
            continue;
        }
        let Some(close) = rest.rfind(')') else {
            continue;
        };
        let args: Vec<&str> = rest[open + 1..close].split(',').map(str::trim).collect();
        let bad = || SimError::Generated(format!("cannot parse port declaration `{l}`"));
        let name = args
            .first()
            .and_then(|a| a.strip_prefix('&'))
            .ok_or_else(bad)?;
        let msb: u32 = args.get(1).and_then(|a| a.parse().ok()).ok_or_else(bad)?;
        let lsb: u32 = args.get(2).and_then(|a| a.parse().ok()).ok_or_else(bad)?;
        if lsb > msb {
            return Err(bad());
        }
        let width = msb - lsb + 1;
        let storage = match size {
            "8" => Storage::U8,
            "16" => Storage::U16,
            "" => Storage::U32,
            "64" => Storage::U64,
            _ => {
                let words: u32 = args.get(3).and_then(|a| a.parse().ok()).ok_or_else(bad)?;
                Storage::Wide(words)
            }
        };
        ports.push(PortInfo {
            name: demangle(name),
            cpp_name: name.to_string(),
            width,
            dir,
            storage,
        });
    }
    if ports.is_empty() {
        return Err(SimError::Generated(
            "no ports found in the Verilated header (is the top module empty?)".into(),
        ));
    }
    Ok(ports)
}

/// Generates the shim's C++ source for these ports.
pub fn shim_source(ports: &[PortInfo]) -> String {
    let mut table = String::new();
    let mut init = String::new();
    for (i, p) in ports.iter().enumerate() {
        let dir = match p.dir {
            Direction::Input => 0,
            Direction::Output => 1,
            Direction::Inout => 2,
        };
        let kind = match p.storage {
            Storage::U8 => 0,
            Storage::U16 => 1,
            Storage::U32 => 2,
            Storage::U64 => 3,
            Storage::Wide(_) => 4,
        };
        table.push_str(&format!(
            "    {{\"{}\", {}, {}, {}}},\n",
            p.name.escape_default(),
            p.width,
            dir,
            kind
        ));
        init.push_str(&format!(
            "        s->ptrs[{i}] = static_cast<void*>(&s->top->{});\n",
            p.cpp_name
        ));
    }
    SHIM_TEMPLATE
        .replace("@PORT_TABLE@", table.trim_end_matches('\n'))
        .replace("@PORT_COUNT@", &ports.len().to_string())
        .replace("@PTR_INIT@", init.trim_end_matches('\n'))
}

/// What `Vtbn_classes.mk` says about the generated model.
#[derive(Debug, Default)]
struct Classes {
    fast: Vec<String>,
    slow: Vec<String>,
    global: Vec<String>,
    defines: Vec<(String, String)>,
}

fn parse_classes(mk: &str) -> Classes {
    let mut c = Classes::default();
    let mut current: Option<&str> = None;
    for line in mk.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            current = None;
            continue;
        }
        if let Some((k, v)) = t.split_once(" += ") {
            let _ = v;
            current = match k.trim() {
                "VM_CLASSES_FAST" | "VM_SUPPORT_FAST" => Some("fast"),
                "VM_CLASSES_SLOW" | "VM_SUPPORT_SLOW" => Some("slow"),
                "VM_GLOBAL_FAST" | "VM_GLOBAL_SLOW" => Some("global"),
                _ => None,
            };
            continue;
        }
        if t.ends_with("+=") {
            current = match t.trim_end_matches("+=").trim() {
                "VM_CLASSES_FAST" | "VM_SUPPORT_FAST" => Some("fast"),
                "VM_CLASSES_SLOW" | "VM_SUPPORT_SLOW" => Some("slow"),
                "VM_GLOBAL_FAST" | "VM_GLOBAL_SLOW" => Some("global"),
                _ => None,
            };
            continue;
        }
        if let Some((k, v)) = t.split_once(" = ") {
            let k = k.trim();
            if matches!(
                k,
                "VM_COVERAGE" | "VM_TRACE" | "VM_TRACE_VCD" | "VM_TRACE_FST" | "VM_SC"
            ) {
                c.defines.push((k.to_string(), v.trim().to_string()));
            }
            current = None;
            continue;
        }
        if let Some(cur) = current {
            let name = t.trim_end_matches('\\').trim();
            if name.is_empty() {
                continue;
            }
            match cur {
                "fast" => c.fast.push(name.to_string()),
                "slow" => c.slow.push(name.to_string()),
                _ => c.global.push(name.to_string()),
            }
        }
    }
    if !c.defines.iter().any(|(k, _)| k == "VM_SC") {
        c.defines.push(("VM_SC".into(), "0".into()));
    }
    c
}

/// An exclusive lock on a file (`flock`), released on drop.
struct FileLock {
    file: fs::File,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock> {
        use std::os::unix::io::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| SimError::io("cannot create lock file", path, e))?;
        loop {
            // SAFETY: flock on a valid, owned file descriptor.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(FileLock { file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(SimError::io("cannot lock", path, err));
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// One compiler invocation.
struct Job {
    src: PathBuf,
    obj: PathBuf,
    opt: &'static str,
}

/// A built (and cached) Verilated model: a shared object plus its port list.
#[derive(Debug, Clone)]
pub struct Model {
    /// The shared object.
    pub so_path: PathBuf,
    /// The cache entry folder (Verilator output under `obj/`).
    pub dir: PathBuf,
    /// The cache key (hex SHA-256 prefix).
    pub key: String,
    /// Whether this call ran Verilator and the compiler (false = cache hit).
    pub built: bool,
    /// The options used.
    pub options: BuildOptions,
    lib: Arc<ModelLib>,
}

impl Model {
    /// Ports of the top module in Verilator's order.
    pub fn ports(&self) -> &[PortInfo] {
        &self.lib.ports
    }

    /// Creates a fresh instance of the design (all registers at their initial values).
    /// Opens a waveform at `$TBN_TRACE` when set and the model has tracing.
    pub fn instantiate(&self) -> Result<crate::dut::Dut> {
        crate::dut::Dut::new(self.lib.clone())
    }

    /// Whether the model was built with waveform support.
    pub fn has_trace(&self) -> bool {
        self.lib.has_trace
    }

    /// Whether the model was built with coverage support.
    pub fn has_coverage(&self) -> bool {
        self.lib.has_coverage
    }
}

/// Builds (or fetches from the cache) the Verilated model of `sources`.
pub fn build_model(sources: &[PathBuf], opts: &BuildOptions) -> Result<Model> {
    let named: Vec<(String, Vec<u8>)> = sources
        .iter()
        .map(|p| {
            let text = fs::read(p).map_err(|e| SimError::io("cannot read Verilog source", p, e))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "source.v".into());
            Ok((name, text))
        })
        .collect::<Result<_>>()?;
    build_model_from_text(&named, opts)
}

/// Builds (or fetches from the cache) the model of Verilog given as
/// `(file name, contents)` pairs.
pub fn build_model_from_text(sources: &[(String, Vec<u8>)], opts: &BuildOptions) -> Result<Model> {
    if sources.is_empty() {
        return Err(SimError::Invalid("no Verilog sources given".into()));
    }
    if opts.top.is_empty()
        || !opts
            .top
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(SimError::Invalid(format!(
            "top module name `{}` is not a plain Verilog identifier",
            opts.top
        )));
    }
    let tc = Toolchain::detect()?;
    let mut h = Sha256::new();
    for part in [
        RECIPE,
        SHIM_TEMPLATE,
        &tc.verilator_version,
        &tc.cxx_version,
        &opts.top,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update([opts.trace as u8, opts.coverage as u8]);
    for a in &opts.verilator_args {
        h.update((a.len() as u64).to_le_bytes());
        h.update(a.as_bytes());
    }
    for (name, text) in sources {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text);
    }
    let key = hex(&h.finalize())[..24].to_string();
    let cache = opts.cache_dir.clone().unwrap_or_else(default_cache_dir);
    fs::create_dir_all(&cache)
        .map_err(|e| SimError::io("cannot create cache folder", &cache, e))?;
    let tag = format!(
        "{}{}{}-{key}",
        opts.top,
        if opts.trace { "-trace" } else { "" },
        if opts.coverage { "-cov" } else { "" }
    );
    let dir = cache.join(&tag);
    let so_path = dir.join("model.so");
    let done = dir.join("complete");
    let finish = |built: bool| -> Result<Model> {
        let lib = Arc::new(ModelLib::load(&so_path)?);
        Ok(Model {
            so_path: so_path.clone(),
            dir: dir.clone(),
            key: key.clone(),
            built,
            options: opts.clone(),
            lib,
        })
    };
    if done.is_file() && so_path.is_file() {
        return finish(false);
    }
    let _lock = FileLock::acquire(&cache.join(format!("{tag}.lock")))?;
    if done.is_file() && so_path.is_file() {
        return finish(false);
    }
    let tmp = cache.join(format!("{tag}.tmp"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| SimError::io("cannot clear", &tmp, e))?;
    }
    let src_dir = tmp.join("src");
    let obj_dir = tmp.join("obj");
    fs::create_dir_all(&src_dir).map_err(|e| SimError::io("cannot create", &src_dir, e))?;
    let mut paths = Vec::new();
    for (i, (name, text)) in sources.iter().enumerate() {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let p = src_dir.join(format!("{i:02}_{safe}"));
        fs::write(&p, text).map_err(|e| SimError::io("cannot write", &p, e))?;
        paths.push(p);
    }
    // 1. Verilate.
    let mut cmd = Command::new(&tc.verilator);
    cmd.arg("--cc")
        .arg("--Mdir")
        .arg(&obj_dir)
        .args(["--prefix", PREFIX, "--top-module", &opts.top])
        .args([
            "-Wno-fatal",
            "-Wno-WIDTH",
            "-Wno-DECLFILENAME",
            "-Wno-UNUSED",
        ])
        .args(["--x-assign", "fast", "--x-initial", "fast"]);
    if opts.trace {
        cmd.arg("--trace");
    }
    if opts.coverage {
        cmd.arg("--coverage");
    }
    cmd.args(&opts.verilator_args).args(&paths);
    let out = spawn_output("verilator", VERILATOR_HINT, &mut cmd)?;
    if !out.status.success() {
        return Err(tool_failure(
            "verilator",
            format!("verilating top module `{}`", opts.top),
            &out,
        ));
    }
    let header_path = obj_dir.join(format!("{PREFIX}.h"));
    let header = fs::read_to_string(&header_path)
        .map_err(|e| SimError::io("cannot read Verilator output", &header_path, e))?;
    let ports = parse_ports(&header)?;
    let mk_path = obj_dir.join(format!("{PREFIX}_classes.mk"));
    let mk = fs::read_to_string(&mk_path)
        .map_err(|e| SimError::io("cannot read Verilator output", &mk_path, e))?;
    let classes = parse_classes(&mk);
    let shim_path = obj_dir.join("tbn_shim.cpp");
    fs::write(&shim_path, shim_source(&ports))
        .map_err(|e| SimError::io("cannot write", &shim_path, e))?;

    // 2. Verilator's run-time library, shared between models with the same defines.
    let defines: Vec<String> = classes
        .defines
        .iter()
        .map(|(k, v)| format!("-D{k}={v}"))
        .collect();
    let include = tc.verilator_root.join("include");
    let mut rt_hash = Sha256::new();
    for part in [RECIPE, &tc.verilator_version, &tc.cxx_version] {
        rt_hash.update(part.as_bytes());
    }
    for d in &defines {
        rt_hash.update(d.as_bytes());
    }
    let rt_dir = cache.join(format!("runtime-{}", &hex(&rt_hash.finalize())[..16]));
    fs::create_dir_all(&rt_dir).map_err(|e| SimError::io("cannot create", &rt_dir, e))?;
    let mut objects = Vec::new();
    let mut jobs = Vec::new();
    let mut rt_jobs = Vec::new();
    for g in &classes.global {
        let obj = rt_dir.join(format!("{g}.o"));
        if !obj.is_file() {
            rt_jobs.push(Job {
                src: include.join(format!("{g}.cpp")),
                obj: obj.clone(),
                opt: "-O2",
            });
        }
        objects.push(obj);
    }
    for f in &classes.fast {
        let obj = obj_dir.join(format!("{f}.o"));
        jobs.push(Job {
            src: obj_dir.join(format!("{f}.cpp")),
            obj: obj.clone(),
            opt: "-O2",
        });
        objects.push(obj);
    }
    for f in &classes.slow {
        let obj = obj_dir.join(format!("{f}.o"));
        jobs.push(Job {
            src: obj_dir.join(format!("{f}.cpp")),
            obj: obj.clone(),
            opt: "-O1",
        });
        objects.push(obj);
    }
    let shim_obj = obj_dir.join("tbn_shim.o");
    jobs.push(Job {
        src: shim_path,
        obj: shim_obj.clone(),
        opt: "-O2",
    });
    objects.push(shim_obj);
    let mut flags: Vec<String> = vec![
        "-std=gnu++17".into(),
        "-fPIC".into(),
        "-faligned-new".into(),
        "-fcf-protection=none".into(),
        "-w".into(),
        format!("-I{}", include.display()),
        format!("-I{}", include.join("vltstd").display()),
        format!("-I{}", obj_dir.display()),
    ];
    flags.extend(defines);
    let jobs_n = opts.jobs.clamp(1, 2);
    if !rt_jobs.is_empty() {
        let _rt_lock = FileLock::acquire(&rt_dir.join("lock"))?;
        let missing: Vec<Job> = rt_jobs.into_iter().filter(|j| !j.obj.is_file()).collect();
        // Compile to a temporary name, then rename, so a crash leaves no half object.
        let tmp_jobs: Vec<(Job, PathBuf)> = missing
            .into_iter()
            .map(|j| {
                let final_obj = j.obj.clone();
                let tmp_obj = j.obj.with_extension(format!("o.tmp{}", std::process::id()));
                (
                    Job {
                        src: j.src,
                        obj: tmp_obj,
                        opt: j.opt,
                    },
                    final_obj,
                )
            })
            .collect();
        let finals: Vec<(PathBuf, PathBuf)> = tmp_jobs
            .iter()
            .map(|(j, f)| (j.obj.clone(), f.clone()))
            .collect();
        run_jobs(
            &tc,
            &flags,
            tmp_jobs.into_iter().map(|(j, _)| j).collect(),
            jobs_n,
        )?;
        for (t, f) in finals {
            fs::rename(&t, &f).map_err(|e| SimError::io("cannot rename", &t, e))?;
        }
    }
    // 3. The model and the shim.
    run_jobs(&tc, &flags, jobs, jobs_n)?;
    // 4. Link.
    let tmp_so = tmp.join("model.so");
    let out = spawn_output(
        &tc.cxx,
        CXX_HINT,
        Command::new(&tc.cxx)
            .arg("-shared")
            .arg("-o")
            .arg(&tmp_so)
            .args(&objects)
            .args(["-pthread", "-latomic"]),
    )?;
    if !out.status.success() {
        return Err(tool_failure(
            &tc.cxx,
            format!("linking {}", tmp_so.display()),
            &out,
        ));
    }
    let mut f = fs::File::create(tmp.join("complete"))
        .map_err(|e| SimError::io("cannot write", tmp.join("complete"), e))?;
    let _ = writeln!(
        f,
        "{}\n{}\n{}",
        tc.verilator_version,
        tc.cxx_version,
        sources
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| SimError::io("cannot clear", &dir, e))?;
    }
    fs::rename(&tmp, &dir)
        .map_err(|e| SimError::io("cannot move build into the cache", &tmp, e))?;
    finish(true)
}

/// Runs compiler jobs with at most `n` in parallel; the first failure is returned.
fn run_jobs(tc: &Toolchain, flags: &[String], jobs: Vec<Job>, n: usize) -> Result<()> {
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<Job>>());
    let first_error: Mutex<Option<SimError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| loop {
                if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                    return;
                }
                let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    return;
                };
                let res = spawn_output(
                    &tc.cxx,
                    CXX_HINT,
                    Command::new(&tc.cxx)
                        .args(flags)
                        .arg(job.opt)
                        .arg("-c")
                        .arg("-o")
                        .arg(&job.obj)
                        .arg(&job.src),
                )
                .and_then(|out| {
                    if out.status.success() {
                        Ok(())
                    } else {
                        Err(tool_failure(
                            &tc.cxx,
                            format!("compiling {}", job.src.display()),
                            &out,
                        ))
                    }
                });
                if let Err(e) = res {
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    match first_error.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_escapes() {
        assert_eq!(demangle("wb__024cyc"), "wb$cyc");
        assert_eq!(demangle("plain_name"), "plain_name");
        assert_eq!(demangle("a___05Fb"), "a__b");
    }

    #[test]
    fn parses_port_macros() {
        let h = "    VL_IN8(&clock,0,0);\n    VL_OUT(&count,31,0);\n    VL_INW(&wide,99,0,4);\n    VL_OUT64(&q,39,0);\n    VL_UNCOPYABLE(Vtbn);\n";
        let p = parse_ports(h).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].storage, Storage::U8);
        assert_eq!(p[1].dir, Direction::Output);
        assert_eq!(p[2].storage, Storage::Wide(4));
        assert_eq!(p[2].width, 100);
        assert_eq!(p[3].width, 40);
    }
}
