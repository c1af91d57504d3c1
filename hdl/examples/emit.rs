fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let cfg = tbn_hdl::Config {
        lanes: a[0],
        tile_max: a[1],
        max_in: a[2],
        max_rows: a[3],
    };
    let dir = format!("/tmp/hdl2dbg/emit_{}_{}_{}_{}", a[0], a[1], a[2], a[3]);
    let r = tbn_hdl::emit(&cfg, std::path::Path::new(&dir)).unwrap();
    println!("{:?}", r.files);
}
