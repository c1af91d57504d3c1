//! Coverage build of the 32-lane core under the regression, the misuse scenarios
//! and a few MNIST-sized jobs: line coverage (blocks and branches) must reach 90%.

use tbn_sim::coverage::Summary;
use tbn_sim::{hw, misuse, regress, BuildOptions};

#[test]
fn line_coverage_of_the_core() {
    let opts = BuildOptions {
        coverage: true,
        trace: false,
        ..BuildOptions::default()
    };
    let mut acc = hw::open_core(&hw::config_for_lanes(32), &opts).unwrap();
    println!("seeds 0..200");
    let rep = regress::run(&mut acc, 0, 200, |_, _| {}).unwrap();
    assert!(rep.mismatches.is_empty());
    misuse::run_all(&mut acc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dat = dir.path().join("coverage.dat");
    acc.dut().coverage_write(&dat).unwrap();
    let s = Summary::from_file(&dat).unwrap();
    let line = s.line_coverage();
    let kinds = s.kinds();
    println!(
        "line {}/{} = {:.2}%",
        line.covered,
        line.total,
        100.0 * line.ratio()
    );
    for (k, t) in &kinds {
        println!("{k}: {}/{} = {:.2}%", t.covered, t.total, 100.0 * t.ratio());
    }
    for p in s
        .points
        .iter()
        .filter(|p| (p.kind == "line" || p.kind == "branch") && p.count == 0)
        .take(40)
    {
        println!("uncovered {}:{} {} {}", p.file, p.line, p.comment, p.hier);
    }
    assert!(
        line.ratio() >= 0.90,
        "line coverage {:.2}% below 90%",
        100.0 * line.ratio()
    );
}
