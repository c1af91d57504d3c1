fn main() {
    let lanes: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(32);
    let cfg = tbn_hdl::Config { lanes, ..Default::default() };
    let r = tbn_hdl::emit(&cfg, std::path::Path::new(&format!("/tmp/tbn_emit_{lanes}"))).unwrap();
    println!("{:?}", r.files);
}
