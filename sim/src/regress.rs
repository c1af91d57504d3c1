//! Randomized regression of the accelerator RTL against the golden model.
//!
//! Layer `i` of a run with base seed `s` is generated from seed `s + i` alone
//! ([`random_layer`]), so any failure is reproduced by its seed. Seeds cycle
//! through forced edge cases ([`Case`]): rows shorter than the lane count, row
//! lengths that are not a multiple of it, rows straddling the tile end, `p = 1`,
//! a single row, the core's capacity limits, sign and 8-bit signed activations,
//! and a second job on the same tile with new activations. Jobs run back to back
//! on one accelerator instance, never reset in between.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tbn_golden::integer::{Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;

use crate::accel::{Accelerator, HwInfo, LayerJob};
use crate::error::{Result, SimError};

/// The forced property of a generated layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// Anything valid.
    Random,
    /// `m < L`.
    ShortRow,
    /// `m` not a multiple of `L` (and above it).
    RaggedRow,
    /// `q` not a multiple of `m`: some rows straddle two tile copies.
    Straddle,
    /// `p = 1` (plain binary layer).
    SingleCopy,
    /// One row.
    OneRow,
    /// At a capacity limit (`m = MAX_IN`, `q` near `TILE_MAX` or `D = MAX_ROWS`).
    Capacity,
    /// `A = 1` sign activations.
    Sign,
    /// `A = 8` two's complement activations.
    Signed8,
    /// Same tile and registers as the previous job, new activations only.
    Reuse,
}

const CASES: [Case; 10] = [
    Case::Random,
    Case::ShortRow,
    Case::RaggedRow,
    Case::Straddle,
    Case::SingleCopy,
    Case::OneRow,
    Case::Capacity,
    Case::Sign,
    Case::Signed8,
    Case::Reuse,
];

impl Case {
    /// The case seed `seed` exercises.
    pub fn of_seed(seed: u64) -> Case {
        CASES[(seed % CASES.len() as u64) as usize]
    }
}

/// A generated layer with its input.
#[derive(Debug, Clone)]
pub struct RandomLayer {
    /// The seed it was generated from.
    pub seed: u64,
    /// The forced case.
    pub case: Case,
    /// The golden stage (tile, geometry, random alpha codes).
    pub stage: DenseStage,
    /// The input vector (`m` values of `A` bits).
    pub x: Vec<i32>,
}

impl RandomLayer {
    /// The accelerator job of this layer.
    pub fn job(&self) -> LayerJob {
        LayerJob::from_stage(&self.stage)
    }

    /// One-line description for failure messages.
    pub fn describe(&self) -> String {
        let g = &self.stage.geom;
        format!(
            "seed {} case {:?}: m = {}, rows = {}, p = {}, q = {}, D = {}, A = {}{}, straddles = {}",
            self.seed,
            self.case,
            g.m,
            g.rows,
            g.p,
            g.q,
            g.distinct_rows(),
            self.stage.in_bits,
            if self.stage.in_signed { " signed" } else { "" },
            g.has_straddles()
        )
    }
}

fn divisors_up_to(n: usize, max: usize) -> Vec<usize> {
    (1..=max.min(n)).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Generates the layer of `seed` within the capacities of `hw`. `prev` is the
/// previous layer (for [`Case::Reuse`]; without one a random layer is made).
pub fn random_layer(seed: u64, hw: &HwInfo, prev: Option<&RandomLayer>) -> Result<RandomLayer> {
    let case = Case::of_seed(seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7462_6e2d_7369_6d00);
    if case == Case::Reuse {
        if let Some(p) = prev {
            let mut l = p.clone();
            l.seed = seed;
            l.case = case;
            l.x = random_input(&mut rng, l.stage.geom.m, l.stage.in_bits, l.stage.in_signed);
            return Ok(l);
        }
    }
    let lanes = hw.lanes as usize;
    // Keep jobs small enough for a fast regression, but larger than a few chunks.
    let m_cap = (hw.max_in as usize).min(8 * lanes + 37).max(1);
    for _attempt in 0..10_000 {
        let m = match case {
            Case::ShortRow => rng.gen_range(1..lanes.max(2)).min(hw.max_in as usize),
            Case::RaggedRow => {
                let k = rng.gen_range(1..=4usize);
                let r = rng.gen_range(1..lanes.max(2));
                (k * lanes + r).min(hw.max_in as usize)
            }
            Case::Capacity if rng.gen_bool(0.4) => hw.max_in as usize,
            _ => rng.gen_range(1..=m_cap),
        };
        let rows_cap = (hw.max_rows as usize).clamp(1, 48);
        let rows = match case {
            Case::OneRow => 1,
            Case::Capacity if rng.gen_bool(0.5) => {
                rng.gen_range(1..=(hw.max_rows as usize).min(512))
            }
            _ => rng.gen_range(1..=rows_cap),
        };
        let n = rows * m;
        let mut ps = divisors_up_to(n, rows);
        ps.retain(|&p| n / p <= hw.tile_max as usize);
        match case {
            Case::Straddle => ps.retain(|&p| (n / p) % m != 0),
            Case::SingleCopy => ps.retain(|&p| p == 1),
            _ => {}
        }
        if ps.is_empty() {
            continue;
        }
        let p = if case == Case::Capacity {
            // Smallest p = largest tile that fits.
            ps[0]
        } else {
            ps[rng.gen_range(0..ps.len())]
        };
        let q = n / p;
        let geom = RowGeometry { rows, m, q, p };
        if geom.distinct_rows() > hw.max_rows as usize {
            continue;
        }
        let (bits, signed) = match case {
            Case::Sign => (1u8, false),
            Case::Signed8 => (8u8, true),
            _ => {
                let a = rng.gen_range(1..=hw.max_abits.clamp(1, 8) as u8);
                (a, a > 1 && rng.gen_bool(0.5))
            }
        };
        let bits_vec: Vec<bool> = (0..q).map(|_| rng.gen_bool(0.5)).collect();
        let tile = Tile::from_bools(&bits_vec);
        let alpha_q = (0..p).map(|_| rng.gen_range(0..=32767u16)).collect();
        let stage = DenseStage {
            name: format!("random-{seed}"),
            geom,
            conv: None,
            tile,
            alpha_q,
            mult: vec![1],
            bias: Vec::new(),
            shift: 0,
            in_bits: bits,
            in_signed: signed,
            act: Activation::Logits,
            out_bits: 32,
            out_scale: 1.0,
        };
        let x = random_input(&mut rng, m, bits, signed);
        return Ok(RandomLayer {
            seed,
            case,
            stage,
            x,
        });
    }
    Err(SimError::Invalid(format!(
        "no layer of case {case:?} fits the core {hw:?}"
    )))
}

fn random_input(rng: &mut ChaCha8Rng, m: usize, bits: u8, signed: bool) -> Vec<i32> {
    let (lo, hi) = if bits == 1 {
        (0, 1)
    } else if signed {
        (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1)
    } else {
        (0, (1i32 << bits) - 1)
    };
    // Mix uniform values with the extremes, which stress the sign plane.
    (0..m)
        .map(|_| match rng.gen_range(0..8) {
            0 => lo,
            1 => hi,
            _ => rng.gen_range(lo..=hi),
        })
        .collect()
}

/// One differing distinct row: index, golden pair, RTL pair.
pub type RowDiff = (usize, (i32, i32), (i32, i32));

/// A layer whose RTL result differs from the golden model.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// Seed of the layer.
    pub seed: u64,
    /// Description of the layer.
    pub layer: String,
    /// Distinct rows that differ (at most 8 listed), with expected and RTL pairs.
    pub rows: Vec<RowDiff>,
    /// Number of differing rows.
    pub differing: usize,
    /// The waveform of the run, when tracing was on.
    pub waveform: Option<String>,
}

/// Result of one layer of the regression.
#[derive(Debug, Clone, Serialize)]
pub struct LayerOutcome {
    /// Seed.
    pub seed: u64,
    /// Forced case.
    pub case: Case,
    /// Job cycles (the core's CYCLES register).
    pub cycles: u32,
    /// Ideal issue cycles `D * ceil(m/L) * A`.
    pub ideal: u64,
    /// The RTL matched the golden model bit-exactly.
    pub ok: bool,
}

/// Summary of a regression run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Lanes of the core.
    pub lanes: u32,
    /// First seed.
    pub first_seed: u64,
    /// Layers run.
    pub layers: usize,
    /// Layers that matched.
    pub passed: usize,
    /// Mismatches (empty when all passed).
    pub mismatches: Vec<Mismatch>,
    /// Layers per case.
    pub per_case: Vec<(Case, usize)>,
    /// Simulated clock cycles (including bus traffic).
    pub sim_cycles: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds of the simulating thread.
    pub cpu_seconds: f64,
    /// Sum of job cycles over sum of ideal cycles.
    pub efficiency: f64,
}

/// Runs and checks one layer on the accelerator; `Ok(None)` when it matched.
pub fn check_layer(
    acc: &mut Accelerator,
    layer: &RandomLayer,
    reuse: bool,
) -> Result<(LayerOutcome, Option<Mismatch>)> {
    let job = layer.job();
    let expected = layer.stage.accumulators(&layer.x);
    let reference = layer.stage.accumulators_reference(&layer.x, None);
    if expected != reference {
        return Err(SimError::Golden(format!(
            "golden fast kernel and definition disagree for {}",
            layer.describe()
        )));
    }
    if !reuse {
        acc.load_layer(&job)?;
    }
    acc.load_activations(&layer.x, job.abits, job.signed)?;
    let res = acc.run(&job).map_err(|e| match e {
        SimError::Accelerator(msg) => {
            SimError::Accelerator(format!("{msg} ({})", layer.describe()))
        }
        other => other,
    })?;
    let ideal = job.ideal_cycles(acc.info().lanes);
    let diffs: Vec<RowDiff> = expected
        .iter()
        .zip(&res.acc)
        .enumerate()
        .filter(|(_, (e, g))| e != g)
        .map(|(j, (e, g))| (j, *e, *g))
        .collect();
    let outcome = LayerOutcome {
        seed: layer.seed,
        case: layer.case,
        cycles: res.cycles,
        ideal,
        ok: diffs.is_empty() && expected.len() == res.acc.len(),
    };
    if outcome.ok {
        return Ok((outcome, None));
    }
    let waveform = acc.dut().trace_path().map(|p| p.display().to_string());
    acc.dut().trace_flush();
    Ok((
        outcome,
        Some(Mismatch {
            seed: layer.seed,
            layer: layer.describe(),
            differing: diffs.len(),
            rows: diffs.into_iter().take(8).collect(),
            waveform,
        }),
    ))
}

/// Runs `count` layers with seeds `first_seed..first_seed + count` back to back on
/// `acc`; `progress` is called after each layer with the number done.
pub fn run(
    acc: &mut Accelerator,
    first_seed: u64,
    count: usize,
    mut progress: impl FnMut(usize, &LayerOutcome),
) -> Result<Report> {
    let t0 = std::time::Instant::now();
    let cpu0 = crate::dut::thread_cpu_seconds();
    let c0 = acc.dut().cycles();
    let hw = acc.info();
    let mut prev: Option<RandomLayer> = None;
    let mut mismatches = Vec::new();
    let mut per_case: Vec<(Case, usize)> = CASES.iter().map(|c| (*c, 0)).collect();
    let (mut job_cycles, mut ideal) = (0u64, 0u64);
    let mut passed = 0;
    for i in 0..count {
        let seed = first_seed + i as u64;
        let layer = random_layer(seed, &hw, prev.as_ref())?;
        let reuse = layer.case == Case::Reuse && prev.is_some();
        let (outcome, mismatch) = check_layer(acc, &layer, reuse)?;
        if let Some(slot) = per_case.iter_mut().find(|(c, _)| *c == layer.case) {
            slot.1 += 1;
        }
        job_cycles += outcome.cycles as u64;
        ideal += outcome.ideal;
        if let Some(m) = mismatch {
            mismatches.push(m);
        } else {
            passed += 1;
        }
        progress(i + 1, &outcome);
        prev = Some(layer);
    }
    Ok(Report {
        lanes: hw.lanes,
        first_seed,
        layers: count,
        passed,
        mismatches,
        per_case,
        sim_cycles: acc.dut().cycles() - c0,
        seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: crate::dut::thread_cpu_seconds() - cpu0,
        efficiency: if job_cycles == 0 {
            0.0
        } else {
            ideal as f64 / job_cycles as f64
        },
    })
}
