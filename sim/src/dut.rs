//! A running instance of a Verilated model: ports, clock, waveform, coverage.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Result, SimError};
use crate::verilate::{Direction, PortInfo, Storage};

type FnNew = unsafe extern "C" fn() -> *mut c_void;
type FnHandle = unsafe extern "C" fn(*mut c_void);
type FnHandleU32 = unsafe extern "C" fn(*mut c_void) -> u32;
type FnHandleU64 = unsafe extern "C" fn(*mut c_void) -> u64;
type FnPortPtr = unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void;
type FnTick = unsafe extern "C" fn(*mut c_void, u64, u32, u32, u64) -> u64;
type FnPath = unsafe extern "C" fn(*mut c_void, *const c_char) -> u32;
type FnU32 = unsafe extern "C" fn() -> u32;
type FnIdxU32 = unsafe extern "C" fn(u32) -> u32;
type FnIdxStr = unsafe extern "C" fn(u32) -> *const c_char;
type FnStr = unsafe extern "C" fn() -> *const c_char;

/// The entry points of one loaded shim.
#[derive(Clone, Copy)]
struct Fns {
    new: FnNew,
    delete: FnHandle,
    port_ptr: FnPortPtr,
    eval: FnHandle,
    tick: FnTick,
    time: FnHandleU64,
    got_finish: FnHandleU32,
    trace_open: FnPath,
    trace_flush: FnHandle,
    trace_close: FnHandle,
    coverage_write: FnPath,
    last_error: FnStr,
}

/// A loaded model library (the shared object stays loaded while any instance lives).
pub(crate) struct ModelLib {
    _lib: libloading::Library,
    fns: Fns,
    pub(crate) ports: Vec<PortInfo>,
    by_name: HashMap<String, usize>,
    pub(crate) has_trace: bool,
    pub(crate) has_coverage: bool,
    pub(crate) path: PathBuf,
}

impl std::fmt::Debug for ModelLib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelLib")
            .field("path", &self.path)
            .field("ports", &self.ports.len())
            .finish()
    }
}

impl ModelLib {
    pub(crate) fn load(path: &Path) -> Result<ModelLib> {
        let err = |source| SimError::Load {
            path: path.to_path_buf(),
            source,
        };
        // SAFETY: the library is a tbn-sim shim we built; its initialisers are
        // Verilator's static constructors.
        let lib = unsafe { libloading::Library::new(path) }.map_err(err)?;
        macro_rules! sym {
            ($name:literal, $t:ty) => {
                // SAFETY: the symbol has this signature in shim.cpp.in.
                *unsafe { lib.get::<$t>(concat!($name, "\0").as_bytes()) }.map_err(err)?
            };
        }
        let version: FnU32 = sym!("tbn_shim_version", FnU32);
        // SAFETY: plain function without arguments.
        if unsafe { version() } != 1 {
            return Err(SimError::Generated(format!(
                "{} has an unknown shim version",
                path.display()
            )));
        }
        let count: FnU32 = sym!("tbn_port_count", FnU32);
        let pname: FnIdxStr = sym!("tbn_port_name", FnIdxStr);
        let pwidth: FnIdxU32 = sym!("tbn_port_width", FnIdxU32);
        let pdir: FnIdxU32 = sym!("tbn_port_dir", FnIdxU32);
        let has_trace: FnU32 = sym!("tbn_has_trace", FnU32);
        let has_cov: FnU32 = sym!("tbn_has_coverage", FnU32);
        let mut ports = Vec::new();
        // SAFETY: the table accessors only read static data, bounds-checked in C++.
        unsafe {
            for i in 0..count() {
                let name = CStr::from_ptr(pname(i)).to_string_lossy().into_owned();
                let width = pwidth(i);
                let dir = match pdir(i) {
                    0 => Direction::Input,
                    1 => Direction::Output,
                    _ => Direction::Inout,
                };
                let storage = match width {
                    0..=8 => Storage::U8,
                    9..=16 => Storage::U16,
                    17..=32 => Storage::U32,
                    33..=64 => Storage::U64,
                    w => Storage::Wide(w.div_ceil(32)),
                };
                ports.push(PortInfo {
                    cpp_name: name.clone(),
                    name,
                    width,
                    dir,
                    storage,
                });
            }
        }
        let fns = Fns {
            new: sym!("tbn_new", FnNew),
            delete: sym!("tbn_delete", FnHandle),
            port_ptr: sym!("tbn_port_ptr", FnPortPtr),
            eval: sym!("tbn_eval", FnHandle),
            tick: sym!("tbn_tick", FnTick),
            time: sym!("tbn_time", FnHandleU64),
            got_finish: sym!("tbn_got_finish", FnHandleU32),
            trace_open: sym!("tbn_trace_open", FnPath),
            trace_flush: sym!("tbn_trace_flush", FnHandle),
            trace_close: sym!("tbn_trace_close", FnHandle),
            coverage_write: sym!("tbn_coverage_write", FnPath),
            last_error: sym!("tbn_last_error", FnStr),
        };
        let by_name = ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        // SAFETY: plain functions without arguments.
        let (has_trace, has_coverage) = unsafe { (has_trace() != 0, has_cov() != 0) };
        Ok(ModelLib {
            _lib: lib,
            fns,
            ports,
            by_name,
            has_trace,
            has_coverage,
            path: path.to_path_buf(),
        })
    }

    fn last_error(&self) -> String {
        // SAFETY: returns a pointer to a thread-local std::string's buffer.
        unsafe { CStr::from_ptr((self.fns.last_error)()) }
            .to_string_lossy()
            .into_owned()
    }
}

/// A resolved port handle: look a port up once with [`Dut::port`], then use the
/// handle in the hot path (no string lookups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    index: u32,
    width: u32,
    storage: Storage,
}

impl Port {
    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The mask of the port's low 64 bits.
    fn mask64(&self) -> u64 {
        if self.width >= 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }
}

static TRACE_SEQ: AtomicUsize = AtomicUsize::new(0);

/// One instance of a Verilated design.
///
/// A `Dut` is neither `Send` nor `Sync`: a Verilated model must stay on the thread
/// that created it. Every instance has its own `VerilatedContext`.
pub struct Dut {
    lib: Arc<ModelLib>,
    handle: *mut c_void,
    ptrs: Vec<*mut u8>,
    clock: Option<u32>,
    cycles: u64,
    trace: Option<PathBuf>,
}

impl std::fmt::Debug for Dut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dut")
            .field("model", &self.lib.path)
            .field("cycles", &self.cycles)
            .field("trace", &self.trace)
            .finish()
    }
}

impl Dut {
    pub(crate) fn new(lib: Arc<ModelLib>) -> Result<Dut> {
        // SAFETY: creates a new model; null on failure.
        let handle = unsafe { (lib.fns.new)() };
        if handle.is_null() {
            return Err(SimError::Model(format!(
                "cannot create the model: {}",
                lib.last_error()
            )));
        }
        let ptrs = (0..lib.ports.len() as u32)
            // SAFETY: index is in range; the pointer is valid while `handle` lives.
            .map(|i| unsafe { (lib.fns.port_ptr)(handle, i) } as *mut u8)
            .collect();
        let mut dut = Dut {
            lib,
            handle,
            ptrs,
            clock: None,
            cycles: 0,
            trace: None,
        };
        for name in ["clock", "clk", "clk_i"] {
            if dut.set_clock(name).is_ok() {
                break;
            }
        }
        if let Some(path) = crate::verilate::trace_env() {
            if dut.lib.has_trace {
                let n = TRACE_SEQ.fetch_add(1, Ordering::Relaxed);
                let path = numbered_trace_path(&path, n);
                dut.trace_open(&path)?;
            }
        }
        dut.eval();
        Ok(dut)
    }

    /// All ports of the top module.
    pub fn ports(&self) -> &[PortInfo] {
        &self.lib.ports
    }

    /// Whether a port of this name exists.
    pub fn has_port(&self, name: &str) -> bool {
        self.lib.by_name.contains_key(name)
    }

    /// Resolves a port by its Verilog name.
    pub fn port(&self, name: &str) -> Result<Port> {
        let i = *self
            .lib
            .by_name
            .get(name)
            .ok_or_else(|| SimError::NoSuchPort {
                name: name.into(),
                available: self
                    .lib
                    .ports
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let p = &self.lib.ports[i];
        Ok(Port {
            index: i as u32,
            width: p.width,
            storage: p.storage,
        })
    }

    /// Resolves an input (or inout) port by name.
    pub fn input(&self, name: &str) -> Result<Port> {
        let p = self.port(name)?;
        if self.lib.ports[p.index as usize].dir == Direction::Output {
            return Err(SimError::PortUsage {
                name: name.into(),
                problem: "is an output and cannot be driven".into(),
            });
        }
        Ok(p)
    }

    /// Drives a port with the low `width` bits of `value` (wide ports: the upper
    /// words are set to zero).
    #[inline]
    pub fn set(&mut self, port: Port, value: u64) {
        let ptr = self.ptrs[port.index as usize];
        let v = value & port.mask64();
        // SAFETY: `ptr` points at the port's storage of the given type inside the
        // live model; the model is only touched from this thread.
        unsafe {
            match port.storage {
                Storage::U8 => *ptr = v as u8,
                Storage::U16 => *(ptr as *mut u16) = v as u16,
                Storage::U32 => *(ptr as *mut u32) = v as u32,
                Storage::U64 => *(ptr as *mut u64) = v,
                Storage::Wide(n) => {
                    let w = ptr as *mut u32;
                    for i in 0..n as usize {
                        *w.add(i) = match i {
                            0 => v as u32,
                            1 => (v >> 32) as u32,
                            _ => 0,
                        };
                    }
                }
            }
        }
    }

    /// Reads the low 64 bits of a port.
    #[inline]
    pub fn get(&self, port: Port) -> u64 {
        let ptr = self.ptrs[port.index as usize];
        // SAFETY: as in `set`.
        unsafe {
            match port.storage {
                Storage::U8 => *ptr as u64,
                Storage::U16 => *(ptr as *const u16) as u64,
                Storage::U32 => *(ptr as *const u32) as u64,
                Storage::U64 => *(ptr as *const u64),
                Storage::Wide(_) => {
                    let w = ptr as *const u32;
                    (*w as u64) | ((*w.add(1) as u64) << 32)
                }
            }
        }
    }

    /// Drives a port of any width from u32 words, least significant first.
    /// Missing words are zero, extra words and bits above the width are ignored.
    pub fn set_words(&mut self, port: Port, words: &[u32]) {
        let n = port.width.div_ceil(32) as usize;
        let mut v = vec![0u32; n];
        for (d, s) in v.iter_mut().zip(words) {
            *d = *s;
        }
        if !port.width.is_multiple_of(32) {
            v[n - 1] &= (1u32 << (port.width % 32)) - 1;
        }
        match port.storage {
            Storage::Wide(_) => {
                let w = self.ptrs[port.index as usize] as *mut u32;
                for (i, x) in v.iter().enumerate() {
                    // SAFETY: n words of storage.
                    unsafe { *w.add(i) = *x };
                }
            }
            _ => {
                let lo = v[0] as u64 | (v.get(1).copied().unwrap_or(0) as u64) << 32;
                self.set(port, lo);
            }
        }
    }

    /// Reads a port of any width as u32 words, least significant first.
    pub fn get_words(&self, port: Port) -> Vec<u32> {
        let n = port.width.div_ceil(32) as usize;
        match port.storage {
            Storage::Wide(_) => {
                let w = self.ptrs[port.index as usize] as *const u32;
                // SAFETY: n words of storage.
                (0..n).map(|i| unsafe { *w.add(i) }).collect()
            }
            _ => {
                let v = self.get(port);
                (0..n).map(|i| (v >> (32 * i)) as u32).collect()
            }
        }
    }

    /// Drives a port by name (convenience; resolve a [`Port`] for hot paths).
    pub fn set_by_name(&mut self, name: &str, value: u64) -> Result<()> {
        let p = self.input(name)?;
        self.set(p, value);
        Ok(())
    }

    /// Reads a port by name (convenience).
    pub fn get_by_name(&self, name: &str) -> Result<u64> {
        Ok(self.get(self.port(name)?))
    }

    /// Evaluates the model (settles combinational logic after inputs changed).
    #[inline]
    pub fn eval(&mut self) {
        // SAFETY: live handle.
        unsafe { (self.lib.fns.eval)(self.handle) }
    }

    /// Chooses the clock port (a 1-bit input). `clock`, `clk` or `clk_i` is chosen
    /// automatically when present.
    pub fn set_clock(&mut self, name: &str) -> Result<()> {
        let p = self.input(name)?;
        if p.width != 1 {
            return Err(SimError::PortUsage {
                name: name.into(),
                problem: format!("a clock must be 1 bit wide, not {}", p.width),
            });
        }
        self.clock = Some(p.index);
        Ok(())
    }

    fn clock_index(&self) -> Result<u32> {
        self.clock.ok_or_else(|| SimError::PortUsage {
            name: "clock".into(),
            problem: "no clock port chosen (Dut::set_clock)".into(),
        })
    }

    /// One clock cycle: rising edge, evaluate, falling edge, evaluate.
    #[inline]
    pub fn tick(&mut self) -> Result<()> {
        self.tick_n(1)
    }

    /// `n` clock cycles, run inside the C++ shim.
    pub fn tick_n(&mut self, n: u64) -> Result<()> {
        let clk = self.clock_index()?;
        // SAFETY: live handle; clk indexes a 1-bit input.
        let ran = unsafe { (self.lib.fns.tick)(self.handle, n, clk, u32::MAX, 0) };
        self.cycles += ran;
        Ok(())
    }

    /// Runs clock cycles until `(port & mask) != 0` at the end of a cycle, or
    /// `max` cycles have run; returns the number of cycles run. The check happens
    /// after each cycle only (call [`Dut::get`] first to test the current state).
    pub fn run_until(&mut self, port: Port, mask: u64, max: u64) -> Result<u64> {
        let clk = self.clock_index()?;
        // SAFETY: live handle; indices from resolved ports.
        let ran = unsafe { (self.lib.fns.tick)(self.handle, max, clk, port.index, mask) };
        self.cycles += ran;
        Ok(ran)
    }

    /// Drives the clock port to `level` and evaluates (for testbenches that
    /// interleave the clock with other asynchronous clocks, such as SCK); a
    /// falling edge counts one cycle, as in [`Dut::tick`]. Not traced.
    pub fn clock_edge(&mut self, level: bool) -> Result<()> {
        let clk = self.clock_index()?;
        let p = &self.lib.ports[clk as usize];
        let port = Port {
            index: clk,
            width: p.width,
            storage: p.storage,
        };
        self.set(port, level as u64);
        self.eval();
        if !level {
            self.cycles += 1;
        }
        Ok(())
    }

    /// Clock cycles run so far through this handle.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Simulation time in half cycles.
    pub fn time(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.lib.fns.time)(self.handle) }
    }

    /// Whether the design executed `$finish`.
    pub fn finished(&self) -> bool {
        // SAFETY: live handle.
        unsafe { (self.lib.fns.got_finish)(self.handle) != 0 }
    }

    /// Starts writing a VCD waveform to `path` (the model must be built with tracing).
    pub fn trace_open(&mut self, path: &Path) -> Result<()> {
        if !self.lib.has_trace {
            return Err(SimError::TracingNotBuilt);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| SimError::io("cannot create waveform folder", dir, e))?;
        }
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| SimError::Invalid("waveform path contains a NUL byte".into()))?;
        // SAFETY: live handle, NUL-terminated path.
        match unsafe { (self.lib.fns.trace_open)(self.handle, c.as_ptr()) } {
            0 => {
                self.trace = Some(path.to_path_buf());
                Ok(())
            }
            1 => Err(SimError::TracingNotBuilt),
            _ => Err(SimError::Model(self.lib.last_error())),
        }
    }

    /// The waveform being written, if any.
    pub fn trace_path(&self) -> Option<&Path> {
        self.trace.as_deref()
    }

    /// Flushes the waveform file.
    pub fn trace_flush(&mut self) {
        // SAFETY: live handle.
        unsafe { (self.lib.fns.trace_flush)(self.handle) }
    }

    /// Stops and closes the waveform.
    pub fn trace_close(&mut self) {
        // SAFETY: live handle.
        unsafe { (self.lib.fns.trace_close)(self.handle) }
        self.trace = None;
    }

    /// Writes the coverage database (`verilator_coverage` format) to `path`.
    pub fn coverage_write(&mut self, path: &Path) -> Result<()> {
        if !self.lib.has_coverage {
            return Err(SimError::CoverageNotBuilt);
        }
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| SimError::Invalid("coverage path contains a NUL byte".into()))?;
        // SAFETY: live handle, NUL-terminated path.
        match unsafe { (self.lib.fns.coverage_write)(self.handle, c.as_ptr()) } {
            0 => Ok(()),
            1 => Err(SimError::CoverageNotBuilt),
            _ => Err(SimError::Model(self.lib.last_error())),
        }
    }
}

impl Drop for Dut {
    fn drop(&mut self) {
        // SAFETY: the handle is live and deleted exactly once.
        unsafe { (self.lib.fns.delete)(self.handle) }
    }
}

/// `path` for the first traced instance of a process, `stem.N.ext` for later ones;
/// a folder (existing, or ending in `/`) gets `tbn-<pid>-N.vcd` inside it.
fn numbered_trace_path(path: &Path, n: usize) -> PathBuf {
    let s = path.to_string_lossy();
    if path.is_dir() || s.ends_with('/') {
        return path.join(format!("tbn-{}-{n}.vcd", std::process::id()));
    }
    if n == 0 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vcd".into());
    path.with_file_name(format!("{stem}.{n}.{ext}"))
}

/// CPU time consumed by the calling thread, in seconds (`CLOCK_THREAD_CPUTIME_ID`).
/// Simulation speed is reported per CPU second as well as per wall-clock second,
/// because the wall clock of a shared machine says little about the simulator.
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into a valid timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
