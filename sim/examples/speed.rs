//! Simulated cycles per second of a long job on the core (bulk run inside C++).
use tbn_sim::{regress, LayerJob};
fn main() {
    let lanes: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(32);
    let mut acc = tbn_sim::hw::open_core(&tbn_sim::hw::config_for_lanes(lanes), &tbn_sim::BuildOptions { trace: false, ..Default::default() }).unwrap();
    let hw = acc.info();
    let m = hw.max_in;
    let rows = 256u32;
    let q = m * rows; // p = 1 ... must be <= tile_max
    let q = q.min(hw.tile_max / m * m);
    let tile: Vec<u32> = (0..q.div_ceil(32)).map(|i| (i as u32).wrapping_mul(0x9E37_79B9)).collect();
    let job = LayerJob { m, q, rows, tile, abits: 8, signed: true };
    let x: Vec<i32> = (0..m as i32).map(|i| (i * 37 % 256) - 128).collect();
    acc.load_layer(&job).unwrap();
    acc.load_activations(&x, 8, true).unwrap();
    let c0 = acc.dut().cycles();
    let t = std::time::Instant::now();
    let cpu0 = tbn_sim::dut::thread_cpu_seconds();
    let mut r = acc.run(&job).unwrap();
    for _ in 0..50 { r = acc.run(&job).unwrap(); }
    let dt = t.elapsed().as_secs_f64();
    let cpu = tbn_sim::dut::thread_cpu_seconds() - cpu0;
    println!("cpu {cpu:.3} s: {:.0} cycles per CPU second", (acc.dut().cycles() - c0) as f64 / cpu);
    let c = acc.dut().cycles() - c0;
    println!("L = {lanes}: job {} cycles (D = {}), {c} simulated in {dt:.3} s = {:.0} cycles/s", r.cycles, job.distinct_rows(), c as f64 / dt);
    let _ = regress::Case::Random;
}
