//! Run one formal property group on the UP5K core:
//! `formal_check GROUP(wb|status|windows|seq|net-wb|net-cmds) MODE(bmc|ind) DEPTH DIR`.
use tbn_hdl::formal::{check, Group, Mode};
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let group = match a[0].as_str() {
        "wb" => Group::Wishbone,
        "status" => Group::Status,
        "seq" => Group::Sequencer,
        "net-wb" => Group::NetWishbone,
        "net-cmds" => Group::NetCommands,
        _ => Group::Windows,
    };
    let mode = if a[1] == "ind" {
        Mode::Induction
    } else {
        Mode::Bounded
    };
    let depth: usize = a[2].parse().expect("depth");
    let out = check(
        &tbn_hdl::Config::up5k(),
        group,
        mode,
        depth,
        std::path::Path::new(&a[3]),
    )
    .expect("formal run");
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}
