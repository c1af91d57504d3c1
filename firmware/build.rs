//! Puts memory.x on the linker path, links with cortex-m-rt's link.x, and
//! checks that the generated inputs (written by `tbn mcu run`) exist.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    fs::copy(dir.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
    // The co-simulation binary (feature `cosim`, built alone by `tbn cosim`)
    // embeds gen-cosim/; the MCU binary gen/.
    let cosim = env::var_os("CARGO_FEATURE_COSIM").is_some();
    let (folder, files, cmd): (&str, &[&str], &str) = if cosim {
        (
            "gen-cosim",
            &["image.bin", "program.bin", "images.bin", "expected.bin"],
            "tbn cosim",
        )
    } else {
        (
            "gen",
            &["program.bin", "images.bin", "expected.bin"],
            "tbn mcu run",
        )
    };
    for f in files {
        let p = dir.join(folder).join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        if !p.exists() {
            panic!(
                "{} is missing: the firmware embeds a model, images and expected outputs generated on the host; \
                 run `{cmd}` (which writes firmware/{folder}/ and then builds and runs this firmware)",
                p.display()
            );
        }
    }
}
