//! Simulated cycles per second of the core's bulk clock loop (jobs running inside
//! C++ until `irq`), per CPU second of the simulating thread and per wall second.
//!
//! `cargo run -p tbn-sim --example speed -- [LANES]`
use tbn_driver::regmap as rm;
use tbn_sim::{hw, BuildOptions, LayerJob, RegisterBus};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lanes: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(32);
    let opts = BuildOptions {
        trace: false,
        ..BuildOptions::default()
    };
    let mut acc = hw::open_core(&hw::config_for_lanes(lanes), &opts)?;
    let info = acc.info();
    let (m, q) = (info.max_in, info.tile_max);
    let tile: Vec<u32> = (0..q.div_ceil(32))
        .map(|i| i.wrapping_mul(0x9E37_79B9))
        .collect();
    let job = LayerJob {
        m,
        q,
        rows: q / m,
        tile,
        abits: 8,
        signed: true,
    };
    let x: Vec<i32> = (0..m as i32).map(|i| (i * 37 % 256) - 128).collect();
    acc.load_layer(&job)?;
    acc.load_activations(&x, 8, true)?;
    let irq = acc.dut().port("irq")?;
    let (mut cycles, mut cpu, mut wall) = (0u64, 0f64, 0f64);
    for _ in 0..40 {
        acc.start()?;
        let t = std::time::Instant::now();
        let c = tbn_sim::dut::thread_cpu_seconds();
        cycles += acc.dut().run_until(irq, 1, 10_000_000)?;
        cpu += tbn_sim::dut::thread_cpu_seconds() - c;
        wall += t.elapsed().as_secs_f64();
        acc.write32(rm::STATUS, rm::STATUS_DONE)?;
    }
    println!(
        "L = {lanes}: {cycles} cycles of jobs (m = {m}, q = {q}, D = {}, A = 8): {:.0} cycles per CPU second, {:.0} per wall second",
        job.distinct_rows(),
        cycles as f64 / cpu,
        cycles as f64 / wall
    );
    Ok(())
}
