//! SVG plots of a lane sweep (plotters' SVG backend: no fonts needed).

use crate::error::{Result, SynthError};
use crate::sweep::{SweepResult, SweepRow};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

struct Series<'a> {
    file: &'a str,
    title: String,
    y_desc: &'a str,
    value: &'a dyn Fn(&SweepRow) -> Option<f64>,
    hline: Option<(f64, &'a str)>,
}

fn draw(
    path: &Path,
    points: &[(f64, f64)],
    s: &Series,
    lanes: &[usize],
) -> std::result::Result<(), String> {
    let root = SVGBackend::new(path, (720, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xs: Vec<f64> = lanes.iter().map(|&l| (l as f64).log2()).collect();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::INFINITY, f64::min) - 0.3,
        xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) + 0.3,
    );
    let mut ymax = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    if let Some((h, _)) = s.hline {
        ymax = ymax.max(h);
    }
    let ymax = if ymax <= 0.0 { 1.0 } else { ymax * 1.15 };
    let mut chart = ChartBuilder::on(&root)
        .caption(&s.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..ymax)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("lanes L")
        .y_desc(s.y_desc)
        .x_labels(xs.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let r = x.round();
            if (x - r).abs() < 1e-6 && r >= 0.0 {
                format!("{}", 2f64.powf(r) as u64)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    if let Some((h, label)) = s.hline {
        chart
            .draw_series(LineSeries::new(vec![(x0, h), (x1, h)], RED.stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label(s.y_desc)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
        .map_err(|e| e.to_string())?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Draw `luts.svg`, `fmax.svg`, `macs.svg` and `latency.svg` into `dir`
/// (points that did not fit or failed are left out).
pub fn sweep_plots(res: &SweepResult, dir: &Path) -> Result<Vec<PathBuf>> {
    let lanes: Vec<usize> = res.rows.iter().map(|r| r.lanes).collect();
    let dev = res.device.name();
    let ideal = res
        .rows
        .iter()
        .any(|r| r.cycles_source == Some(crate::latency::CyclesSource::LaneBoundIdeal));
    let logic = |r: &SweepRow| r.logic.map(|v| v as f64);
    let fmax = |r: &SweepRow| r.fmax_mhz;
    let macs = |r: &SweepRow| r.peak_gmacs;
    let lat = |r: &SweepRow| r.latency_us;
    let series = [
        Series {
            file: "luts.svg",
            title: format!("{dev}: logic cells vs lanes"),
            y_desc: "logic cells / LUT4",
            value: &logic,
            hline: None,
        },
        Series {
            file: "fmax.svg",
            title: format!("{dev}: fmax vs lanes"),
            y_desc: "fmax (MHz)",
            value: &fmax,
            hline: Some((res.freq_mhz, "target")),
        },
        Series {
            file: "macs.svg",
            title: format!("{dev}: peak binary MAC/s (L x fmax)"),
            y_desc: "GMAC/s",
            value: &macs,
            hline: None,
        },
        Series {
            file: "latency.svg",
            title: format!(
                "{dev}: MNIST MLP latency per inference{}",
                if ideal {
                    " (lane-bound ideal cycles)"
                } else {
                    ""
                }
            ),
            y_desc: "latency (us)",
            value: &lat,
            hline: None,
        },
    ];
    let mut files = Vec::new();
    for s in &series {
        let pts: Vec<(f64, f64)> = res
            .rows
            .iter()
            .filter_map(|r| (s.value)(r).map(|v| ((r.lanes as f64).log2(), v)))
            .collect();
        let path = dir.join(s.file);
        draw(&path, &pts, s, &lanes).map_err(|message| SynthError::Plot {
            path: path.clone(),
            message,
        })?;
        files.push(path);
    }
    Ok(files)
}
