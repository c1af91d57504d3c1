"""Runs python/cocotb/test_tbn_core.py under real cocotb (Makefile flow) against the
Verilog emitted for the core: cocotb 1.8.1 (this virtualenv) with Icarus Verilog and
with Verilator 5.006, and cocotb 2.x (.venv-cocotb2, python/requirements-cocotb2.txt)
with Icarus (cocotb 2 needs Verilator >= 5.036, newer than Debian 12's)."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import tbnsim
from conftest import ROOT

COCOTB_DIR = ROOT / "python" / "cocotb"
TOOLS = {"icarus": "iverilog", "verilator": "verilator"}


def cache_dir() -> pathlib.Path:
    """The tbn-sim model cache ($TBN_SIM_CACHE, else ~/.cache/tbn-sim)."""
    env = os.environ.get("TBN_SIM_CACHE")
    if env:
        return pathlib.Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache"
    return base / "tbn-sim"


@pytest.fixture(scope="module")
def verilog(tmp_path_factory):
    out = tmp_path_factory.mktemp("emit")
    files = tbnsim.emit_core(out, lanes=32)
    v = [f for f in files if str(f).endswith("tbn_core.v")]
    assert v, files
    return pathlib.Path(v[0])


COCOTB2_VENV = ROOT / ".venv-cocotb2"


def missing(what):
    # scripts/test.sh (CI) sets TBN_REQUIRE_TOOLS=1: a missing tool fails there.
    if os.environ.get("TBN_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} (TBN_REQUIRE_TOOLS=1)")
    pytest.skip(what)


def cocotb_of(python):
    """(cocotb's package file, version) as seen by `python`."""
    out = subprocess.run(
        [str(python), "-c", "import cocotb; print(cocotb.__file__); print(cocotb.__version__)"],
        capture_output=True, text=True, check=True)
    path, version = out.stdout.split()
    return pathlib.Path(path), version


@pytest.mark.parametrize("sim,cocotb_line", [("icarus", "1"), ("verilator", "1"), ("icarus", "2")],
                         ids=["cocotb1-icarus", "cocotb1-verilator", "cocotb2-icarus"])
def test_real_cocotb(sim, cocotb_line, verilog, tmp_path):
    tool = TOOLS[sim]
    if shutil.which(tool) is None or shutil.which("make") is None:
        missing(f"{tool} or make is not installed")
    python = pathlib.Path(sys.executable)
    if cocotb_line == "2":
        python = COCOTB2_VENV / "bin" / "python"
        if not python.is_file():
            missing(f"no cocotb 2 virtualenv at {COCOTB2_VENV}: run scripts/setup.sh")
    cocotb_file, cocotb_version = cocotb_of(python)
    assert cocotb_version.split(".")[0] == cocotb_line, (python, cocotb_version)
    bindir = str(python.parent)
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("TBN_TRACE", None)
    results = tmp_path / "results.xml"
    # The simulator build is kept per (simulator, Verilog, cocotb installation) in
    # the model cache, so a second run does not re-verilate (make rebuilds it when
    # the sources change). The executable links cocotb's VPI library by its path,
    # so a build made with another (since deleted) venv must not be reused.
    key = verilog.read_bytes() + str(cocotb_file.resolve()).encode() + cocotb_version.encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    sim_build = cache_dir() / "cocotb" / f"{sim}-{digest}"
    sim_build.mkdir(parents=True, exist_ok=True)
    source = sim_build / "tbn_core.v"
    if not source.is_file() or source.read_bytes() != verilog.read_bytes():
        shutil.copyfile(verilog, source)
    cmd = ["make", "-C", str(COCOTB_DIR), f"SIM={sim}", f"TBN_VERILOG={source}",
           f"SIM_BUILD={sim_build}", f"COCOTB_RESULTS_FILE={results}",
           f"PYTHON_BIN={python}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    log = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert results.is_file(), f"cocotb wrote no results ({proc.returncode}):\n{log}"
    cases = ET.parse(results).getroot().iter("testcase")
    outcome = {}
    for c in cases:
        failed = c.find("failure") is not None or c.find("error") is not None
        outcome[c.get("name")] = "FAIL" if failed else ("SKIP" if c.find("skipped") is not None else "PASS")
    print(sim, f"cocotb {cocotb_version}", outcome)
    assert outcome and set(outcome.values()) == {"PASS"}, f"{sim}: {outcome}\n{log}"
    assert set(outcome) >= {"test_id_registers", "test_random_layers", "test_bad_job_reports_error_code",
                            "test_irq_and_soft_reset"}
