//! Errors of the GPU path: every one names the problem.

/// What went wrong on the GPU path.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No WebGPU adapter (install Mesa's lavapipe: `mesa-vulkan-drivers`).
    #[error("no GPU adapter found ({0}); on Debian install mesa-vulkan-drivers for the lavapipe CPU Vulkan driver")]
    NoAdapter(String),
    /// The adapter refused a device, or a GPU operation failed.
    #[error("GPU device: {0}")]
    Device(String),
    /// A model or program the kernels cannot run (the message says why).
    #[error("unsupported on the GPU path: {0}")]
    Unsupported(String),
    /// Input of the wrong length or range.
    #[error("input: {0}")]
    Input(String),
    /// The golden model rejected the model or program.
    #[error(transparent)]
    Golden(#[from] tbn_golden::Error),
}

/// Result of the GPU path.
pub type Result<T> = std::result::Result<T, GpuError>;
