//! The reference MNIST model end to end through the 32-lane RTL: 500 test images,
//! accumulators from the RTL, requantization by the golden model between layers;
//! logits and predictions must equal the golden integer path exactly.

use std::path::PathBuf;

use tbn_golden::float::argmax;
use tbn_golden::idx::{read_dataset, read_images};
use tbn_golden::integer::{quantize, QuantConfig};
use tbn_sim::network::NetworkRunner;
use tbn_sim::{hw, BuildOptions};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

#[test]
fn reference_mnist_model_through_the_rtl() {
    let model =
        tbn_golden::format::load_model(data("data/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let calib_images = read_images(data("data/mnist/train10k-images-idx3-ubyte.gz")).unwrap();
    let calib: Vec<Vec<f32>> = (0..200).map(|i| calib_images.image_f32(i)).collect();
    let program = quantize(&model, &calib, &QuantConfig::default()).unwrap();
    let (images, labels) = read_dataset(
        data("data/mnist/t10k-images-idx3-ubyte.gz"),
        data("data/mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let mut acc = hw::open_core(&hw::config_for_lanes(32), &BuildOptions::default()).unwrap();
    let mut runner = NetworkRunner::new(&program, &acc).unwrap();
    let n = 500;
    let (mut correct, mut golden_correct) = (0, 0);
    let c0 = acc.dut().cycles();
    let cpu0 = tbn_sim::dut::thread_cpu_seconds();
    for (i, &label) in labels.iter().enumerate().take(n) {
        let x = program.input.quantize(&images.image_f32(i));
        let golden = program.run(&x).unwrap();
        let rtl = runner.run(&mut acc, &x).unwrap();
        assert_eq!(
            rtl, golden,
            "image {i}: RTL logits differ from the golden integer path"
        );
        correct += usize::from(argmax(&rtl) == label as usize);
        golden_correct += usize::from(argmax(&golden) == label as usize);
    }
    let cpu = tbn_sim::dut::thread_cpu_seconds() - cpu0;
    let sim = acc.dut().cycles() - c0;
    assert_eq!(correct, golden_correct);
    println!(
        "accuracy on {n} images: {:.2}%",
        100.0 * correct as f64 / n as f64
    );
    for s in &runner.stats {
        println!(
            "{}: m = {} q = {} D = {} A = {}: {} cycles, ideal {}, efficiency {:.3}",
            s.name,
            s.m,
            s.q,
            s.distinct_rows,
            s.abits,
            s.job_cycles,
            s.ideal_cycles,
            s.efficiency()
        );
    }
    let per_inf: u64 = runner.stats.iter().map(|s| s.job_cycles).sum();
    println!(
        "per inference: {per_inf} job cycles, {:.0} simulated cycles with bus transfers; {:.0} simulated cycles per CPU second",
        sim as f64 / n as f64,
        sim as f64 / cpu.max(1e-9)
    );
    assert!(correct as f64 / n as f64 > 0.9, "accuracy {correct}/{n}");
    let fc1 = &runner.stats[0];
    assert!(
        fc1.efficiency() >= 0.90,
        "fc1 efficiency {:.3} below 0.90",
        fc1.efficiency()
    );
}
