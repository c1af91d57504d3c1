//! Emit the core Verilog for a quick timing run: `timing_emit LANES TILE MAX_IN MAX_ROWS OUT_DIR`.
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize| a[i].parse::<usize>().expect("number");
    let cfg = tbn_hdl::Config {
        lanes: n(0),
        tile_max: n(1),
        max_in: n(2),
        max_rows: n(3),
    };
    let r = tbn_hdl::emit(&cfg, std::path::Path::new(&a[4])).expect("emit");
    println!("{:?}", r.files);
}
