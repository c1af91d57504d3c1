"""FuseSoC generator `tbn_hdl` (tbn_core.core): emits the accelerator's Verilog
with `tbn hdl emit` and writes the core file that lists it.

FuseSoC runs it as `python3 tbn_gen.py INPUT.yml` in the generator's output
folder; INPUT.yml names the generated core (`vlnv`) and the `parameters`
(lanes, tile_bits, max_in, max_rows; `tbn hdl emit`'s defaults otherwise;
`board: NAME` adds the pin constraints boards/NAME.pcf of this checkout).
The `tbn` binary is $TBN_BIN, else `tbn` on PATH, else target/release/tbn of
this checkout (`cargo build --release --bin tbn`).
"""

import os
import pathlib
import shutil
import subprocess
import sys

import yaml

DEFAULTS = {"lanes": 32, "tile_bits": 32768, "max_in": 4096, "max_rows": 1024}


def tbn_binary(files_root):
    candidates = [os.environ.get("TBN_BIN"), shutil.which("tbn"),
                  str(pathlib.Path(files_root).parent / "target" / "release" / "tbn")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("tbn_gen.py: no `tbn` binary: set TBN_BIN, put tbn on PATH or run "
             "`cargo build --release --bin tbn` in the checkout")


def main():
    with open(sys.argv[1]) as f:
        spec = yaml.safe_load(f)
    params = dict(DEFAULTS)
    given = dict(spec.get("parameters") or {})
    board = given.pop("board", None)
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        sys.exit(f"tbn_gen.py: unknown parameters {sorted(unknown)} "
                 f"(known: {sorted(DEFAULTS)} and board)")
    params.update(given)
    tbn = tbn_binary(spec["files_root"])
    cmd = [tbn, "hdl", "emit", "--out", "rtl"]
    for k, v in params.items():
        cmd += ["--" + k.replace("_", "-"), str(int(v))]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    core = {
        "name": spec["vlnv"],
        "description": "TBN accelerator emitted by `{}` ({})".format(
            " ".join(["tbn"] + cmd[1:]), ", ".join(f"{k} = {v}" for k, v in params.items())),
        "filesets": {
            "rtl": {"files": ["rtl/tbn_core.v", "rtl/tbn_spi_top.v"], "file_type": "verilogSource"},
            "docs": {"files": ["rtl/register-map.md", "rtl/tbn.svd", "rtl/register-map.json",
                               "rtl/manifest.json"], "file_type": "user"},
        },
        "targets": {"default": {"filesets": ["rtl", "docs"]}},
    }
    if board is not None:
        pcf = pathlib.Path(spec["files_root"]).parent / "boards" / f"{board}.pcf"
        if not pcf.is_file():
            sys.exit(f"tbn_gen.py: board {board!r}: no {pcf}")
        shutil.copyfile(pcf, f"{board}.pcf")
        core["filesets"]["pins"] = {"files": [f"{board}.pcf"], "file_type": "PCF"}
        core["targets"]["default"]["filesets"].append("pins")
    name = spec["vlnv"].split(":")[2]
    with open(f"{name}.core", "w") as f:
        f.write("CAPI=2:\n")
        yaml.safe_dump(core, f, sort_keys=False)


if __name__ == "__main__":
    main()
