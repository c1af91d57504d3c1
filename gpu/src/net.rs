//! A network laid out on the GPU: per-stage parameters and resident weight
//! buffers, ping-pong activation buffers, scratch for bit-planes and
//! accumulator pairs, and one command buffer per batch.

use wgpu::util::DeviceExt;

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::kernels::{dispatch_size, Entry, Params};
use crate::memory::LayerMemory;

/// The read-only per-stage buffers: bindings 1 (tile), 2 (alphas), 7 and 8
/// (per-row parameters).
pub(crate) struct StageWeights {
    pub tile: wgpu::Buffer,
    pub alphas: wgpu::Buffer,
    pub extra7: wgpu::Buffer,
    pub extra8: wgpu::Buffer,
}

/// A stage before the activation buffers exist.
struct StageSpec {
    params: Params,
    weights: Option<StageWeights>,
    dispatches: Vec<(Entry, u32)>,
}

/// Collects stages, then lays the network out.
pub(crate) struct NetBuilder<'g> {
    gpu: &'g Gpu,
    pub batch: u32,
    stages: Vec<StageSpec>,
    in_words: u64,
    act_words: u64,
    planes_words: u64,
    acc_words: u64,
    pub memory: Vec<LayerMemory>,
}

/// Words of a u32 buffer, at least one (empty bindings are invalid).
pub(crate) fn words_buffer(gpu: &Gpu, label: &str, words: &[u32]) -> wgpu::Buffer {
    let data: &[u32] = if words.is_empty() { &[0] } else { words };
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        })
}

impl<'g> NetBuilder<'g> {
    pub fn new(gpu: &'g Gpu, batch: usize, in_words: usize) -> Result<Self> {
        if batch == 0 {
            return Err(GpuError::Input("batch size must be at least 1".into()));
        }
        let batch = u32::try_from(batch)
            .map_err(|_| GpuError::Input(format!("batch size {batch} is too large")))?;
        Ok(NetBuilder {
            gpu,
            batch,
            stages: Vec::new(),
            in_words: in_words as u64,
            act_words: in_words as u64,
            planes_words: 1,
            acc_words: 1,
            memory: Vec::new(),
        })
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Adds a stage; `planes` and `acc` are its scratch needs in words per image.
    pub fn push(
        &mut self,
        params: Params,
        weights: Option<StageWeights>,
        dispatches: Vec<(Entry, u64)>,
        planes: u64,
        acc: u64,
    ) -> Result<()> {
        let b = u64::from(self.batch);
        self.act_words = self.act_words.max(u64::from(params.out_len));
        self.planes_words = self.planes_words.max(planes * b);
        self.acc_words = self.acc_words.max(acc * b);
        let dispatches = dispatches
            .into_iter()
            .map(|(e, n)| {
                u32::try_from(n).map(|n| (e, n)).map_err(|_| {
                    GpuError::Unsupported(format!(
                        "{n} threads in one dispatch: use a smaller batch"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        self.stages.push(StageSpec {
            params: Params {
                batch: self.batch,
                ..params
            },
            weights,
            dispatches,
        });
        Ok(())
    }

    /// Allocates the activation and scratch buffers and binds every stage.
    pub fn finish(self, out_words: u64) -> Result<Net> {
        let gpu = self.gpu;
        let b = u64::from(self.batch);
        let act_bytes = 4 * self.act_words * b;
        for (what, bytes) in [
            ("activations", act_bytes),
            ("bit-planes", 4 * self.planes_words),
            ("accumulator pairs", 4 * self.acc_words),
        ] {
            if bytes > gpu.max_binding() {
                return Err(GpuError::Unsupported(format!(
                    "{what} need {bytes} bytes for a batch of {b}, above the adapter's {} byte limit: use a smaller batch",
                    gpu.max_binding()
                )));
            }
        }
        let storage = |label: &str, bytes: u64, extra: wgpu::BufferUsages| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.max(4),
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let act = [
            storage("act0", act_bytes, copy),
            storage("act1", act_bytes, copy),
        ];
        let planes = storage("planes", 4 * self.planes_words, wgpu::BufferUsages::empty());
        let acc = storage("acc", 4 * self.acc_words, wgpu::BufferUsages::empty());
        let dummy = words_buffer(gpu, "unused", &[]);
        let mut stages = Vec::with_capacity(self.stages.len());
        for (i, s) in self.stages.into_iter().enumerate() {
            let (src, dst) = (i % 2, (i + 1) % 2);
            let params = gpu
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("params"),
                    contents: bytemuck::bytes_of(&s.params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let w = s.weights.as_ref();
            let bufs: [&wgpu::Buffer; 9] = [
                &params,
                w.map_or(&dummy, |w| &w.tile),
                w.map_or(&dummy, |w| &w.alphas),
                &act[src],
                &planes,
                &acc,
                &act[dst],
                w.map_or(&dummy, |w| &w.extra7),
                w.map_or(&dummy, |w| &w.extra8),
            ];
            let entries: Vec<wgpu::BindGroupEntry> = bufs
                .iter()
                .enumerate()
                .map(|(k, buf)| wgpu::BindGroupEntry {
                    binding: k as u32,
                    resource: buf.as_entire_binding(),
                })
                .collect();
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("stage"),
                layout: &gpu.kernels.layout,
                entries: &entries,
            });
            stages.push(BoundStage {
                bind_group,
                dispatches: s.dispatches,
                _params: params,
                _weights: s.weights,
            });
        }
        let out_index = stages.len() % 2;
        let out_bytes = 4 * out_words * b;
        let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Net {
            batch: self.batch as usize,
            in_words: self.in_words as usize,
            out_words: out_words as usize,
            stages,
            act,
            out_index,
            readback,
            memory: self.memory,
        })
    }
}

struct BoundStage {
    bind_group: wgpu::BindGroup,
    dispatches: Vec<(Entry, u32)>,
    _params: wgpu::Buffer,
    _weights: Option<StageWeights>,
}

/// A network on the GPU, run one batch at a time.
pub(crate) struct Net {
    pub batch: usize,
    pub in_words: usize,
    pub out_words: usize,
    stages: Vec<BoundStage>,
    act: [wgpu::Buffer; 2],
    out_index: usize,
    readback: wgpu::Buffer,
    pub memory: Vec<LayerMemory>,
}

impl Net {
    /// Runs one batch: `input` holds `batch * in_words` words (pad a short
    /// batch); returns `batch * out_words` words.
    pub fn run(&self, gpu: &Gpu, input: &[u32]) -> Result<Vec<u32>> {
        assert_eq!(input.len(), self.batch * self.in_words, "padded batch");
        gpu.queue
            .write_buffer(&self.act[0], 0, bytemuck::cast_slice(input));
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("batch"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("stages"),
                timestamp_writes: None,
            });
            for s in &self.stages {
                pass.set_bind_group(0, &s.bind_group, &[]);
                for &(entry, threads) in &s.dispatches {
                    if threads == 0 {
                        continue;
                    }
                    let (x, y) = dispatch_size(threads);
                    pass.set_pipeline(gpu.kernels.pipeline(entry));
                    pass.dispatch_workgroups(x, y, 1);
                }
            }
        }
        let bytes = (4 * self.out_words * self.batch) as u64;
        enc.copy_buffer_to_buffer(&self.act[self.out_index], 0, &self.readback, 0, bytes);
        gpu.queue.submit([enc.finish()]);
        let slice = self.readback.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Device(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Device(e.to_string()))?
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Device(e.to_string()))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        self.readback.unmap();
        Ok(out)
    }
}

/// Splits `n` items into batches of `batch`, padding the last one: calls
/// `run` on each padded batch's first index and item count.
pub(crate) fn for_batches(
    n: usize,
    batch: usize,
    mut run: impl FnMut(usize, usize) -> Result<()>,
) -> Result<()> {
    let mut start = 0;
    while start < n {
        let k = batch.min(n - start);
        run(start, k)?;
        start += k;
    }
    Ok(())
}
