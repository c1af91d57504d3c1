//! Acceptance checks on the emitted Verilog (core and standalone SPI top):
//! Verilator lint (documented waivers only) for L = 8, 32, 128, the
//! whole-network engine's two tops included; rust-hdl's
//! yosys_validate and an Icarus compile; yosys synth_ice40 of the recommended
//! UP5K configuration: no latches, memories in SB_RAM40_4K, and it fits the
//! UP5K (<= 30 BRAM, <= 5280 LUT4).

use std::process::Command;
use tbn_hdl::testbench::have_tool;
use tbn_hdl::{core_verilog, spi_top_verilog, Config};

/// Verilator `-Wall` warnings waived for the emitted Verilog (see docs/hdl.md,
/// "Lint"; off by default). WIDTH and UNUSEDSIGNAL are checked: the emitted
/// files waive WIDTH in rust-hdl's generated modules only and UNUSEDSIGNAL
/// in the four hand-written ones only (`tbn_hdl::waive_generated_width`).
const WAIVERS: &[&str] = &["-Wno-DECLFILENAME"];

fn cfg(lanes: usize) -> Config {
    Config {
        lanes,
        ..Default::default()
    }
}

fn lint(lanes: usize) {
    if !have_tool("verilator") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("verilator not found on PATH"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(lanes);
    std::fs::write(dir.path().join("tbn_core.v"), core_verilog(&c).unwrap()).unwrap();
    std::fs::write(
        dir.path().join("tbn_spi_top.v"),
        spi_top_verilog(&c).unwrap(),
    )
    .unwrap();
    for (top, files) in [
        ("tbn_core", vec!["tbn_core.v"]),
        ("tbn_spi_top", vec!["tbn_core.v", "tbn_spi_top.v"]),
    ] {
        let out = Command::new("verilator")
            .current_dir(dir.path())
            .args(["--lint-only", "-Wall", "--top-module", top])
            .args(WAIVERS)
            .args(&files)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("%Warning"),
            "L={lanes} {top}: {err}"
        );
        // Verilator's default flags (what cocotb's Verilator flow uses):
        // no warning at all, so nothing stops the build (issue 17 (e))
        let out = Command::new("verilator")
            .current_dir(dir.path())
            .args(["--lint-only", "--top-module", top])
            .args(&files)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("%Warning"),
            "L={lanes} {top} with default flags: {err}"
        );
    }
}

#[test]
fn lint_l8() {
    lint(8);
}
#[test]
fn lint_l32() {
    lint(32);
}
#[test]
fn lint_l128() {
    lint(128);
}

/// The whole-network engine's tops (`tbn_net_core`, `tbn_net_spi_top`)
/// lint clean under `-Wall` with the same waivers, and under the default
/// flags, at L = 8, 32 and 128 (block RAM) and in the UP5K configuration
/// (single-port tile memory, V = 52).
#[test]
fn engine_tops_lint_clean() {
    use tbn_hdl::netcore::NetMem;
    if !have_tool("verilator") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("verilator not found on PATH"));
        return;
    }
    let up5k = Config::up5k();
    let mut cases: Vec<(Config, NetMem)> = [8, 32, 128]
        .into_iter()
        .map(|l| {
            let c = cfg(l);
            (c, NetMem::new(&c, c.tile_max))
        })
        .collect();
    cases.push((up5k, NetMem::up5k(&up5k)));
    for (c, mem) in cases {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                "tbn_net_core",
                tbn_hdl::net_core_verilog_mem(&c, &mem).unwrap(),
            ),
            (
                "tbn_net_spi_top",
                tbn_hdl::net_spi_top_verilog_mem(&c, &mem).unwrap(),
            ),
        ];
        for (top, text) in files {
            let file = format!("{top}.v");
            std::fs::write(dir.path().join(&file), text).unwrap();
            for wall in [true, false] {
                let mut cmd = Command::new("verilator");
                cmd.current_dir(dir.path())
                    .args(["--lint-only", "--top-module", top]);
                if wall {
                    cmd.arg("-Wall").args(WAIVERS);
                }
                let out = cmd.arg(&file).output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    out.status.success() && !err.contains("%Warning"),
                    "L={} {top} (-Wall {wall}, single-port tile {}): {err}",
                    c.lanes,
                    mem.tile_single_port
                );
            }
        }
    }
}

#[test]
fn validate_and_icarus_compile() {
    for l in [8, 128] {
        let c = cfg(l);
        let core = core_verilog(&c).unwrap();
        let top = spi_top_verilog(&c).unwrap();
        if have_tool("yosys") {
            // rust-hdl's own check reads `top`
            let as_top = core.replace("module tbn_core(", "module top(");
            rust_hdl::prelude::yosys_validate(&format!("tbn_hdl_validate_{l}"), &as_top)
                .unwrap_or_else(|e| panic!("yosys_validate L={l}: {e:?}"));
        } else {
            tbn_hdl::testbench::skip_missing_tool(format_args!("yosys not found on PATH"));
        }
        if have_tool("iverilog") {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("tbn_core.v"), &core).unwrap();
            std::fs::write(dir.path().join("tbn_spi_top.v"), &top).unwrap();
            let out = Command::new("iverilog")
                .current_dir(dir.path())
                .args([
                    "-o",
                    "a.vvp",
                    "-s",
                    "tbn_spi_top",
                    "tbn_core.v",
                    "tbn_spi_top.v",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        }
    }
}

/// The standalone Verilog must contain the SPI top and bridge only, and the
/// core it instantiates must be exactly the one in tbn_core.v.
#[test]
fn spi_top_uses_the_core_module() {
    let c = Config {
        lanes: 8,
        tile_max: 1024,
        max_in: 256,
        max_rows: 32,
    };
    let top = spi_top_verilog(&c).unwrap();
    let names: Vec<String> = tbn_hdl::split_modules(&top)
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(names[0], "tbn_spi_top");
    assert!(names.contains(&"tbn_spi_top$bridge".to_string()));
    assert!(
        names.iter().all(|n| n.starts_with("tbn_spi_top")),
        "{names:?}"
    );
    assert!(top.contains("tbn_core core("), "instantiates tbn_core");
    assert!(!top.lines().any(|l| l.starts_with("module tbn_core")));
}

/// Synthesize for iCE40; returns (LUT4 count, SB_RAM40_4K count).
fn synth(config: Config) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tbn_core.v"),
        core_verilog(&config).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tbn_spi_top.v"),
        spi_top_verilog(&config).unwrap(),
    )
    .unwrap();
    let out = Command::new("yosys")
        .current_dir(dir.path())
        .args([
            "-q",
            "-p",
            "read_verilog tbn_core.v tbn_spi_top.v; synth_ice40 -top tbn_spi_top; select -assert-none t:$_DLATCH_* t:$dlatch t:SB_DFFL*; tee -o stat.txt stat",
        ])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "synth {config:?} failed: {log}");
    assert!(
        !log.to_lowercase().contains("latch inferred"),
        "latch: {log}"
    );
    let stat = std::fs::read_to_string(dir.path().join("stat.txt")).unwrap();
    let count = |cell: &str| -> usize {
        stat.lines()
            .filter(|l| l.split_whitespace().next() == Some(cell))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
            .sum()
    };
    (count("SB_LUT4"), count("SB_RAM40_4K"))
}

#[test]
fn synth_ice40_up5k_recommended_config_fits() {
    if !have_tool("yosys") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("yosys not found on PATH"));
        return;
    }
    let c = Config::up5k();
    let (luts, brams) = synth(c);
    println!("UP5K config {c:?}: SB_LUT4 {luts}, SB_RAM40_4K {brams}");
    // tile (32768 + 32 bits), activations (8 x 1024 bits), outputs (256 x 64 bits) in BRAM
    assert!(brams >= 8, "only {brams} BRAMs: memories not mapped");
    assert!(brams <= 30, "{brams} BRAMs do not fit the UP5K (30)");
    assert!(
        luts <= 5280 * 9 / 10,
        "{luts} LUT4 leave too little room on the UP5K (5280)"
    );
}
