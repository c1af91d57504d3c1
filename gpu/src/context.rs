//! The adapter, device and compiled kernels.

use crate::error::{GpuError, Result};
use crate::kernels::Kernels;

/// An open GPU: device, queue and the compiled TBN kernels.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) kernels: Kernels,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
}

impl Gpu {
    /// Opens the default adapter (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME` and
    /// `WGPU_POWER_PREF` select another) and compiles the kernels.
    pub fn new() -> Result<Gpu> {
        pollster::block_on(Self::open())
    }

    async fn open() -> Result<Gpu> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = wgpu::util::initialize_adapter_from_env_or_default(&instance, None)
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let a = adapter.limits();
        // Large layers (a dense 4096 x 4096 f32 baseline is 64 MiB) need the
        // adapter's own buffer limits rather than the portable defaults.
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: a.max_storage_buffer_binding_size,
            max_buffer_size: a.max_buffer_size,
            ..wgpu::Limits::default()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("tbn-gpu"),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let kernels = Kernels::new(&device);
        Ok(Gpu {
            device,
            queue,
            kernels,
            info,
            limits,
        })
    }

    /// "name (backend, device type)" of the adapter.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// Adapter details.
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Largest storage buffer binding, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
