#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (as root).
# Idempotent: anything already present is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------
# z3: the SMT solver of the formal proofs (yosys-smtbmc ships with yosys; hdl/tests/formal.rs)
APT_PACKAGES=(verilator iverilog yosys z3 nextpnr-ice40 fpga-icestorm qemu-system-arm
              gcc-arm-none-eabi g++ make python3-venv pkg-config
              mesa-vulkan-drivers libvulkan1)  # lavapipe: the GPU tests run on the CPU
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust -------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
for t in thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi; do
    rustup target list --installed | grep -qx "$t" || { log "rustup target add $t"; rustup target add "$t"; }
done
for c in clippy rustfmt; do
    rustup component list --installed | grep -q "^$c" || { log "rustup component add $c"; rustup component add "$c"; }
done
# Coverage-guided fuzzing (scripts/fuzz.sh): libFuzzer needs a nightly
# toolchain; the project itself builds on stable.
rustup toolchain list | grep -q '^nightly' || { log "rustup toolchain install nightly"; rustup toolchain install nightly --profile minimal; }
command -v cargo-fuzz >/dev/null || { log "cargo install cargo-fuzz"; cargo install --locked cargo-fuzz; }

# --- Python virtualenv ------------------------------------------------------
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
# cocotb 1.8.1, numpy, pytest, maturin; YoWASP yosys/nextpnr for the ECP5 flow.
log "pip install -r python/requirements.txt -r python/requirements-synth.txt (into $VENV)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r python/requirements.txt -r python/requirements-synth.txt
# The tbnsim extension (pyo3, built by maturin; incremental after the first time).
log "building the tbnsim Python extension (python/install.sh)"
bash python/install.sh >/dev/null
# cocotb 2.x in its own virtualenv (python/tests/test_cocotb_real.py runs the
# cocotb testbench under it with Icarus); tbnsim's pure-Python compat layer and
# the extension built above come from python/src through a .pth file.
VENV2=.venv-cocotb2
if [ ! -x "$VENV2/bin/python" ]; then
    log "creating virtualenv $VENV2"
    python3 -m venv "$VENV2"
fi
log "pip install -r python/requirements-cocotb2.txt (into $VENV2)"
"$VENV2/bin/python" -m pip install -q --disable-pip-version-check -r python/requirements-cocotb2.txt
"$VENV2/bin/python" - <<'PY'
import pathlib, sysconfig
pth = pathlib.Path(sysconfig.get_paths()["purelib"]) / "tbnsim.pth"
src = str(pathlib.Path("python/src").resolve())
if not pth.is_file() or pth.read_text().strip() != src:
    pth.write_text(src + "\n")
PY
log "ready"
