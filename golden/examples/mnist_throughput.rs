//! Throughput of the integer path on the reference MNIST model, one thread:
//! images per second by wall-clock time and by the CPU time this process
//! used (the latter is meaningful on a machine busy with other work).
//!
//! `cargo run --release -p tbn-golden --example mnist_throughput [rounds]`

use std::time::Instant;

use tbn_golden::integer::{mnist_input, quantize, QuantConfig};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_utime.tv_sec as f64
        + u.ru_utime.tv_usec as f64 * 1e-6
        + u.ru_stime.tv_sec as f64
        + u.ru_stime.tv_usec as f64 * 1e-6
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let model =
        tbn_golden::load_model(format!("{root}/reference/tbn_mnist_mlp_p4.json")).expect("model");
    let train = tbn_golden::idx::read_images(format!("{root}/mnist/train10k-images-idx3-ubyte.gz"))
        .expect("train");
    let calib: Vec<Vec<f32>> = (0..500).map(|i| train.image_f32(i)).collect();
    let program = quantize(&model, &calib, &QuantConfig::default()).expect("quantize");
    let images = tbn_golden::idx::read_images(format!("{root}/mnist/t10k-images-idx3-ubyte.gz"))
        .expect("images");
    let inputs: Vec<Vec<i32>> = (0..images.count)
        .map(|i| mnist_input(images.image(i)))
        .collect();
    let runner = program.runner();
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    let mut checksum = 0i64;
    for _ in 0..rounds {
        for x in &inputs {
            checksum = checksum.wrapping_add(runner.run(x).expect("run")[0]);
        }
    }
    let n = (rounds * inputs.len()) as f64;
    let (wall, cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    println!(
        "{{\"images\": {n}, \"wall_s\": {wall:.3}, \"cpu_s\": {cpu:.3}, \"images_per_s_wall\": {:.0}, \"images_per_s_cpu\": {:.0}, \"checksum\": {checksum}}}",
        n / wall,
        n / cpu
    );
}
