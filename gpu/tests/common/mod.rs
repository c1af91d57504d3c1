//! Opening the GPU in tests: without an adapter a test prints SKIP, except
//! in CI (`CI=true`), where it fails (CI installs lavapipe).

use tbn_gpu::{Gpu, GpuError};

pub fn gpu_or_skip() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => {
            eprintln!("GPU adapter: {}", g.describe());
            Some(g)
        }
        Err(e @ GpuError::NoAdapter(_)) => {
            tbn_golden::test_policy::skip_missing_tool(format!(
                "{e} (apt-get install mesa-vulkan-drivers)"
            ));
            None
        }
        Err(e) => panic!("opening the GPU: {e}"),
    }
}

/// Repository data folder.
#[allow(dead_code)]
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
