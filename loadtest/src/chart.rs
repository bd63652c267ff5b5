//! SVG charts (plotters, SVG backend only): latency percentiles and race failures per mode of
//! the callers scenario, and requests per second and p99 of the throughput targets.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::callers::ModeReport;
use crate::throughput::ThroughputReport;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the chart: {e:?}")
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
const PERCENTILES: [&str; 4] = ["p50", "p95", "p99", "max"];

/// Left: p50/p95/p99/max of check_availability and start_booking per mode (log scale).
/// Right: "taken after told free" and expiration per mode, in percent of confirmations.
pub fn callers(path: &Path, reports: &[ModeReport]) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(720);
    let lines: Vec<(usize, &str, [f64; 4])> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            ["check_availability", "start_booking"].into_iter().filter_map(move |f| {
                let s = r.latencies.get(f)?;
                Some((i, f, [s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms]))
            })
        })
        .collect();
    let values = || lines.iter().flat_map(|(_, _, v)| v.iter().copied());
    let top = values().fold(1.0f64, f64::max) * 2.0;
    let bottom = (values().fold(f64::MAX, f64::min) / 2.0).clamp(0.01, 1.0);
    let mut chart = ChartBuilder::on(&left)
        .caption("callers: latency percentiles (ms, log)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.2f64..3.2f64, (bottom..top).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(4)
        .x_label_formatter(&|x| PERCENTILES.get(x.round() as usize).map_or(String::new(), |s| (*s).to_owned()))
        .y_desc("milliseconds")
        .draw()
        .map_err(err)?;
    for (mode, function, values) in &lines {
        let color = COLORS[mode % COLORS.len()];
        let thick = *function == "check_availability";
        let points: Vec<(f64, f64)> = values.iter().enumerate().map(|(x, y)| (x as f64, y.max(bottom))).collect();
        let style = color.stroke_width(if thick { 3 } else { 1 });
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(err)?
            .label(format!("{} {function}", reports[*mode].mode.label()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        let marker = if thick { color.filled() } else { color.stroke_width(1) };
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, marker))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let top = reports.iter().map(|r| r.taken_after_free_pct.max(r.expiration_pct)).fold(5.0f64, f64::max) * 1.2;
    let n = reports.len().max(1) as f64;
    let mut bars = ChartBuilder::on(&right)
        .caption("taken after told free / expired (%)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)
        .map_err(err)?;
    bars.configure_mesh()
        .x_labels(reports.len().max(1))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            reports.get(i as usize).map_or(String::new(), |r| r.mode.label().replace("reservations_", "res. "))
        })
        .y_desc("% of confirmations")
        .disable_x_mesh()
        .draw()
        .map_err(err)?;
    for (i, r) in reports.iter().enumerate() {
        let x = i as f64;
        bars.draw_series([Rectangle::new([(x - 0.35, 0.0), (x - 0.02, r.taken_after_free_pct)], COLORS[1].filled())])
            .map_err(err)?;
        bars.draw_series([Rectangle::new([(x + 0.02, 0.0), (x + 0.35, r.expiration_pct)], COLORS[0].filled())])
            .map_err(err)?;
        let label = format!("{:.1}%", r.taken_after_free_pct);
        bars.draw_series([Text::new(label, (x - 0.33, r.taken_after_free_pct + top * 0.02), ("sans-serif", 14))])
            .map_err(err)?;
    }
    bars.draw_series([Rectangle::new([(-0.45, top * 0.93), (-0.38, top * 0.97)], COLORS[1].filled())]).map_err(err)?;
    bars.draw_series([Text::new("taken after told free", (-0.36, top * 0.97), ("sans-serif", 13))]).map_err(err)?;
    bars.draw_series([Rectangle::new([(-0.45, top * 0.86), (-0.38, top * 0.90)], COLORS[0].filled())]).map_err(err)?;
    bars.draw_series([Text::new("expired", (-0.36, top * 0.90), ("sans-serif", 13))]).map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Requests per second (bars) and p99 (labels) of every throughput measurement.
pub fn throughput(path: &Path, report: &ThroughputReport) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let ms = &report.measurements;
    let n = ms.len().max(1) as f64;
    let top = ms.iter().map(|m| m.result.rps).fold(100.0f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption("throughput: requests/s (bars), p99 ms (labels)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(70)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(ms.len().max(1))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            ms.get(i as usize).map_or(String::new(), |m| {
                let backend = if m.backend == "none" { "" } else { m.backend.as_str() };
                let transcript =
                    if m.transcript_minutes > 0.0 { format!(" {}min", m.transcript_minutes) } else { String::new() };
                format!("{} {backend} c{}{transcript}", m.target.replace("check_day", "day"), m.result.connections)
            })
        })
        .y_desc("requests per second")
        .disable_x_mesh()
        .draw()
        .map_err(err)?;
    for (i, m) in ms.iter().enumerate() {
        let x = i as f64;
        let color = match m.target.as_str() {
            "floor" => COLORS[2],
            "check_day" => COLORS[0],
            _ => COLORS[3],
        };
        chart
            .draw_series([Rectangle::new([(x - 0.35, 0.0), (x + 0.35, m.result.rps)], color.filled())])
            .map_err(err)?;
        let label = format!("p99 {:.1}", m.result.latency.p99_ms);
        chart
            .draw_series([Text::new(label, (x - 0.33, m.result.rps + top * 0.02), ("sans-serif", 13))])
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
