//! Enables the Cortex-M4/M7 DSP-instruction path of the MCU kernel
//! (`cfg(tbn_dsp)`: MSR APSR_g, SEL, USADA8) on targets that have the DSP
//! extension (ARMv7E-M, the `thumbv7em-*` targets). Every other target uses
//! the bit-identical portable code.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(tbn_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=tbn_dsp");
    }
}
