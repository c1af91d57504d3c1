//! The WGSL kernels: their shared parameter block, bind group layout and
//! compute pipelines (compiled once per [`crate::Gpu`]).

use bytemuck::{Pod, Zeroable};

const COMMON: &str = include_str!("shaders/common.wgsl");
const INTEGER: &str = include_str!("shaders/integer.wgsl");
const FLOAT: &str = include_str!("shaders/float.wgsl");

/// Threads per workgroup of every kernel (`@workgroup_size(64)`).
pub const WORKGROUP: u32 = 64;
/// Largest workgroup count per dispatch dimension (WebGPU's default limit).
const MAX_GROUPS: u32 = 65_535;

/// One stage's parameters: the mirror of `struct Params` in common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Params {
    pub batch: u32,
    pub positions: u32,
    pub in_len: u32,
    pub out_len: u32,
    pub in_c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub conv: u32,
    pub kh: u32,
    pub kw: u32,
    pub stride: u32,
    pub pad: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub rows: u32,
    pub m: u32,
    pub q: u32,
    pub p: u32,
    pub d: u32,
    pub period: u32,
    pub wpr: u32,
    pub bits: u32,
    pub signed_in: u32,
    pub act: u32,
    pub out_lo: i32,
    pub out_hi: i32,
    pub shift: u32,
    pub per_row_mult: u32,
    pub has_bias: u32,
    pub tile_words: u32,
    pub pool_k: u32,
    pub pool_s: u32,
    pub has_bn: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// `act` codes of [`Params`].
pub mod act {
    /// No activation (float) / signed requantization (integer).
    pub const NONE: u32 = 0;
    /// ReLU.
    pub const RELU: u32 = 1;
    /// Sign.
    pub const SIGN: u32 = 2;
    /// Integer logits (i64 pairs).
    pub const LOGITS: u32 = 3;
}

/// A kernel entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Integer: bit-planes of the row inputs.
    IntPack,
    /// Integer: accumulator pairs of the distinct rows.
    IntDot,
    /// Integer: requantization of every row.
    IntRequant,
    /// Integer: max pooling.
    IntMaxPool,
    /// Float: segment sums of the distinct rows.
    FloatDot,
    /// Float baseline: dense f32 rows.
    FloatDenseDot,
    /// Float: alphas, bias, batch-norm, activation of every row.
    FloatExpand,
    /// Float: max pooling.
    FloatMaxPool,
}

const ENTRIES: [(Entry, bool, &str); 8] = [
    (Entry::IntPack, true, "pack_planes"),
    (Entry::IntDot, true, "dot_rows"),
    (Entry::IntRequant, true, "requantize"),
    (Entry::IntMaxPool, true, "max_pool"),
    (Entry::FloatDot, false, "dot_rows"),
    (Entry::FloatDenseDot, false, "dense_rows"),
    (Entry::FloatExpand, false, "expand_rows"),
    (Entry::FloatMaxPool, false, "max_pool"),
];

/// The bind group layout shared by every kernel and the compiled pipelines.
pub struct Kernels {
    pub(crate) layout: wgpu::BindGroupLayout,
    pipelines: Vec<(Entry, wgpu::ComputePipeline)>,
}

/// Bindings: 0 uniform params; 1, 2, 3, 7, 8 read-only storage (tile,
/// alphas, input activations, two per-row parameter arrays); 4, 5, 6
/// read-write storage (bit-planes, accumulator pairs, output activations).
fn layout_entries() -> Vec<wgpu::BindGroupLayoutEntry> {
    (0..9u32)
        .map(|binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match binding {
                    0 => wgpu::BufferBindingType::Uniform,
                    4..=6 => wgpu::BufferBindingType::Storage { read_only: false },
                    _ => wgpu::BufferBindingType::Storage { read_only: true },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect()
}

impl Kernels {
    /// Compiles both shader modules and every entry point.
    pub fn new(device: &wgpu::Device) -> Kernels {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("tbn"),
            entries: &layout_entries(),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("tbn"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = |label: &str, body: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{body}").into()),
            })
        };
        let integer = module("tbn-integer", INTEGER);
        let float = module("tbn-float", FLOAT);
        let pipelines = ENTRIES
            .iter()
            .map(|&(entry, is_int, name)| {
                let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(name),
                    layout: Some(&pipeline_layout),
                    module: if is_int { &integer } else { &float },
                    entry_point: Some(name),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (entry, p)
            })
            .collect();
        Kernels { layout, pipelines }
    }

    /// The pipeline of `entry`.
    pub fn pipeline(&self, entry: Entry) -> &wgpu::ComputePipeline {
        &self
            .pipelines
            .iter()
            .find(|(e, _)| *e == entry)
            .expect("every entry is compiled")
            .1
    }
}

/// Workgroup counts (x, y) covering `threads` threads; the kernels rebuild
/// the flat index from `num_workgroups`.
pub fn dispatch_size(threads: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WORKGROUP).max(1);
    let x = groups.min(MAX_GROUPS);
    (x, groups.div_ceil(x))
}
