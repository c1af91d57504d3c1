//! Gate-level check: the core's iCE40 netlist (yosys synth_ice40 +
//! write_verilog -noattr) under Icarus Verilog with yosys's cell models, loaded
//! and run over Wishbone, must give exactly the golden model's accumulators.

use rand::{Rng, SeedableRng};
use tbn_golden::integer::{Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_synth::{gate, tools, Family};

fn stage(
    name: &str,
    rows: usize,
    m: usize,
    q: usize,
    in_bits: u8,
    in_signed: bool,
    rng: &mut impl Rng,
) -> DenseStage {
    let p = rows * m / q;
    assert_eq!(p * q, rows * m, "q must divide rows * m");
    let bits: Vec<bool> = (0..q).map(|_| rng.gen()).collect();
    DenseStage {
        name: name.into(),
        geom: RowGeometry { rows, m, q, p },
        conv: None,
        tile: Tile::from_bools(&bits),
        alpha_q: vec![1; p],
        mult: vec![1],
        bias: vec![],
        shift: 0,
        in_bits,
        in_signed,
        act: Activation::Logits,
        out_bits: 16,
        out_scale: 1.0,
    }
}

fn inputs(s: &DenseStage, rng: &mut impl Rng) -> Vec<i32> {
    let a = u32::from(s.in_bits);
    (0..s.geom.m)
        .map(|_| {
            if s.in_bits == 1 {
                rng.gen_range(0..2)
            } else if s.in_signed {
                rng.gen_range(-(1i32 << (a - 1))..(1i32 << (a - 1)))
            } else {
                rng.gen_range(0..(1i32 << a))
            }
        })
        .collect()
}

#[test]
fn core_netlist_matches_golden_accumulators() {
    if let Err(e) = tools::toolchain(Family::Ice40).and_then(|_| tools::icarus()) {
        tbn_hdl::testbench::skip_missing_tool(format_args!(
            "gate-level check needs yosys and Icarus Verilog: {e}"
        ));
        return;
    }
    let seed: u64 = std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    eprintln!("gate-level check seed = {seed} (rerun with TBN_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // The smallest core: 8 lanes, 256-bit tile, rows up to 64 inputs.
    let cfg = tbn_hdl::Config {
        lanes: 8,
        tile_max: 256,
        max_in: 64,
        max_rows: 8,
    };
    let dir = tempfile::tempdir().unwrap();
    let net = gate::core_netlist(&cfg, &dir.path().join("netlist")).expect("netlist");
    assert!(
        net.cells.get("SB_RAM40_4K").copied().unwrap_or(0) > 0,
        "memories map to BRAM: {:?}",
        net.cells
    );
    let layers = [
        // Straddling rows (q not a multiple of m), signed 3-bit inputs, partial last chunk.
        stage("straddle_s3", 5, 40, 100, 3, true, &mut rng),
        // Sign activations (XNOR-popcount), row reuse D = 2.
        stage("sign", 4, 64, 128, 1, false, &mut rng),
        // Unsigned 8-bit inputs like MNIST pixels.
        stage("u8", 6, 48, 96, 8, false, &mut rng),
    ];
    for (i, s) in layers.iter().enumerate() {
        let x = inputs(s, &mut rng);
        let run = gate::check_layer(&cfg, &net, s, &x, &dir.path().join(format!("job{i}")))
            .unwrap_or_else(|e| panic!("layer {} (seed {seed}): {e}", s.name));
        assert_eq!(run.got, run.expected);
        assert_eq!(run.got.len(), s.geom.distinct_rows());
        assert!(run.cycles > 0, "CYCLES counts the job");
        eprintln!(
            "{}: {} distinct rows match golden, {} cycles",
            s.name,
            run.got.len(),
            run.cycles
        );
    }
}
