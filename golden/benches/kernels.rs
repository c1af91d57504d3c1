//! Single-threaded kernel benchmarks: a 4096x4096 linear layer with p = 4 at
//! A = 1 and A = 8 against an f32 matrix-vector product (matrixmultiply), and
//! the reference MNIST model's integer path in images per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use tbn_golden::kernels::{accumulators, PackedRows, Planes};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;

const N: usize = 4096;
const P: usize = 4;

fn layer_bench(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let q = N * N / P;
    let bits: Vec<bool> = (0..q).map(|_| rng.gen()).collect();
    let tile = Tile::from_bools(&bits);
    let geom = RowGeometry {
        rows: N,
        m: N,
        q,
        p: P,
    };
    let rows = PackedRows::new(&tile, &geom);
    let w: Vec<f32> = (0..N * N).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let xf: Vec<f32> = (0..N).map(|_| rng.gen_range(-1.0..1.0)).collect();
    // A batch of B input vectors for both sides, so the f32 library runs
    // its tuned matrix-matrix kernel (sgemv through it is far slower).
    const B: usize = 16;
    let xb: Vec<f32> = (0..N * B).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut group = c.benchmark_group("linear_4096x4096_p4_batch16");
    group.throughput(Throughput::Elements((N * N * B) as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("f32_matrixmultiply", "sgemm"), |b| {
        let mut y = vec![0f32; N * B];
        b.iter(|| unsafe {
            // y (N x B) = W (N x N) * X (N x B), row-major.
            matrixmultiply::sgemm(
                N,
                N,
                B,
                1.0,
                w.as_ptr(),
                N as isize,
                1,
                xb.as_ptr(),
                B as isize,
                1,
                0.0,
                y.as_mut_ptr(),
                B as isize,
                1,
            );
            criterion::black_box(&y);
        })
    });
    let _ = &xf;
    for a in [1u8, 8] {
        let xs: Vec<Vec<i32>> = (0..B)
            .map(|_| (0..N).map(|_| rng.gen_range(0..(1 << a))).collect())
            .collect();
        group.bench_function(BenchmarkId::new("tbn_int", format!("A{a}")), |b| {
            b.iter(|| {
                for x in &xs {
                    let planes = Planes::pack(x, a, false, None);
                    criterion::black_box(accumulators(&rows, &planes));
                }
            })
        });
    }
    group.finish();
}

fn mnist_bench(c: &mut Criterion) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let model =
        tbn_golden::load_model(format!("{root}/reference/tbn_mnist_mlp_p4.json")).expect("model");
    let images = tbn_golden::idx::read_images(format!("{root}/mnist/t10k-images-idx3-ubyte.gz"))
        .expect("images");
    let calib: Vec<Vec<f32>> = (0..200).map(|i| images.image_f32(i)).collect();
    let program =
        tbn_golden::integer::quantize(&model, &calib, &Default::default()).expect("quantize");
    let runner = program.runner();
    let inputs: Vec<Vec<i32>> = (0..1000)
        .map(|i| tbn_golden::integer::mnist_input(images.image(i)))
        .collect();
    let mut group = c.benchmark_group("mnist_reference");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.sample_size(10);
    group.bench_function("integer_1000_images", |b| {
        b.iter(|| {
            for x in &inputs {
                criterion::black_box(runner.run(x).expect("run"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, layer_bench, mnist_bench);
criterion_main!(benches);
