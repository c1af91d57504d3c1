//! Quick manual check: build the 32-lane core and run a few random layers.
fn main() {
    let lanes: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(32);
    let n: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20);
    let t = std::time::Instant::now();
    let mut acc = tbn_sim::hw::open_core(
        &tbn_sim::hw::config_for_lanes(lanes),
        &tbn_sim::BuildOptions::default(),
    )
    .unwrap();
    println!("built+opened in {:?}: {:?}", t.elapsed(), acc.info());
    let rep = tbn_sim::regress::run(&mut acc, 0, n, |_, o| {
        if !o.ok {
            println!("FAIL {o:?}")
        }
    })
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&rep).unwrap());
}
