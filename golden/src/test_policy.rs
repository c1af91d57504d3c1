//! What a test does when a tool it needs (a simulator, yosys, QEMU, a GPU
//! adapter) is missing: one policy for every crate's tests.

/// Whether missing tools are failures: `TBN_REQUIRE_TOOLS=1` (set by
/// scripts/test.sh, which CI runs) or `CI=true`.
pub fn tools_required() -> bool {
    std::env::var("TBN_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports that a test cannot run because a tool is missing. Where tools are
/// required ([`tools_required`]) that is a test failure: this panics.
/// Elsewhere it prints `SKIP: <what>` and, when `TBN_SKIP_LOG` names a file,
/// appends a line there, so the suite's summary counts skipped tests instead
/// of calling them passed.
pub fn skip_missing_tool(what: impl std::fmt::Display) {
    if tools_required() {
        panic!("a required tool is missing (TBN_REQUIRE_TOOLS=1 or CI=true): {what}");
    }
    eprintln!("SKIP: {what}");
    if let Ok(log) = std::env::var("TBN_SKIP_LOG") {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_string();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "SKIP {test}: {what}");
        }
    }
}
