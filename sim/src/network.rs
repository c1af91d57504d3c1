//! Whole integer programs (e.g. the reference MNIST MLP) through the RTL.
//!
//! Per input, every dense stage runs as one accelerator job: its tile and job
//! registers are loaded, the activations written, the job run, and the
//! accumulator pairs read back; the golden model's `DenseStage::requantize`
//! turns them into the next stage's activations (docs/numerics.md section 4).
//! The final logits are compared bit-exactly with `Program::run`.

use serde::Serialize;
use tbn_golden::integer::{Program, Stage};

use crate::accel::{Accelerator, LayerJob};
use crate::error::{Result, SimError};

/// Cycle statistics of one dense stage over all inputs run.
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    /// Stage (layer) name.
    pub name: String,
    /// Row length.
    pub m: u32,
    /// Tile length (bits).
    pub q: u32,
    /// Rows.
    pub rows: u32,
    /// Distinct rows computed.
    pub distinct_rows: u32,
    /// Activation bits.
    pub abits: u8,
    /// Ideal issue cycles `D * ceil(m / L) * A`.
    pub ideal_cycles: u64,
    /// Job cycles (CYCLES register) of the last input.
    pub job_cycles: u64,
    /// Sum of job cycles over all inputs.
    pub total_job_cycles: u64,
    /// Simulated cycles spent on this stage including bus transfers (tile, activations, results).
    pub total_sim_cycles: u64,
    /// Inputs run.
    pub runs: u64,
}

impl StageStats {
    /// Ideal over measured job cycles.
    pub fn efficiency(&self) -> f64 {
        if self.job_cycles == 0 {
            0.0
        } else {
            self.ideal_cycles as f64 / self.job_cycles as f64
        }
    }
}

/// Runs integer programs on the accelerator, one input at a time.
#[derive(Debug)]
pub struct NetworkRunner<'p> {
    program: &'p Program,
    jobs: Vec<Option<LayerJob>>,
    /// Per dense stage statistics (in stage order).
    pub stats: Vec<StageStats>,
}

impl<'p> NetworkRunner<'p> {
    /// Prepares the jobs of a program and checks them against the core's capacities.
    /// Supported stages: linear dense stages and `Flatten`.
    pub fn new(program: &'p Program, acc: &Accelerator) -> Result<NetworkRunner<'p>> {
        let hw = acc.info();
        let mut jobs = Vec::new();
        let mut stats = Vec::new();
        for (i, st) in program.stages.iter().enumerate() {
            match st {
                Stage::Dense(d) => {
                    if d.conv.is_some() {
                        return Err(SimError::Invalid(format!(
                            "stage {i} ({}) is a convolution; the RTL harness runs linear stages only",
                            d.name
                        )));
                    }
                    let job = LayerJob::from_stage(d);
                    job.check(&hw)
                        .map_err(|e| SimError::Invalid(format!("stage {i} ({}): {e}", d.name)))?;
                    stats.push(StageStats {
                        name: d.name.clone(),
                        m: job.m,
                        q: job.q,
                        rows: job.rows,
                        distinct_rows: job.distinct_rows(),
                        abits: job.abits,
                        ideal_cycles: job.ideal_cycles(hw.lanes),
                        job_cycles: 0,
                        total_job_cycles: 0,
                        total_sim_cycles: 0,
                        runs: 0,
                    });
                    jobs.push(Some(job));
                }
                Stage::Flatten => jobs.push(None),
                Stage::MaxPool { .. } => {
                    return Err(SimError::Invalid(format!(
                        "stage {i} is a max-pool; the RTL harness runs linear stages only"
                    )))
                }
            }
        }
        Ok(NetworkRunner {
            program,
            jobs,
            stats,
        })
    }

    /// Runs one input (the program's integer input) and returns the final outputs
    /// (logits `v_r`).
    pub fn run(&mut self, acc: &mut Accelerator, x: &[i32]) -> Result<Vec<i64>> {
        let mut cur: Vec<i32> = x.to_vec();
        let mut out: Vec<i64> = x.iter().map(|v| *v as i64).collect();
        let mut k = 0;
        for (st, job) in self.program.stages.iter().zip(&self.jobs) {
            let (Stage::Dense(d), Some(job)) = (st, job) else {
                continue;
            };
            let c0 = acc.dut().cycles();
            let res = acc.run_layer(job, &cur)?;
            out = d.requantize(&res.acc);
            let s = &mut self.stats[k];
            s.job_cycles = res.cycles as u64;
            s.total_job_cycles += res.cycles as u64;
            s.total_sim_cycles += acc.dut().cycles() - c0;
            s.runs += 1;
            k += 1;
            cur = out
                .iter()
                .map(|v| i32::try_from(*v))
                .collect::<std::result::Result<_, _>>()
                .unwrap_or_default();
        }
        Ok(out)
    }
}
