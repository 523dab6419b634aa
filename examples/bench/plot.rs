//! The report's picture: successful creates in each second of scenario 1's runs, one line per
//! cell, against the plans' limits.

use std::path::Path;

use plotters::prelude::*;

use crate::Figures;
use crate::pace::plan_name;
use crate::process::median_index;

/// Draws the median run of every scenario 1 cell as an SVG at `path`.
pub fn pace_over_time(figures: &Figures, path: &Path) {
    let series: Vec<(String, Vec<u32>, bool)> = figures
        .pace
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
        .map(|(setting, runs)| {
            let efficiencies: Vec<f64> = runs.iter().map(|run| run.efficiency).collect();
            let run = &runs[median_index(&efficiencies)];
            let label = format!(
                "{}, {} ± {} ms",
                plan_name(setting.plan),
                setting.latency_ms,
                setting.latency_ms / 2
            );
            let is_pro = setting.plan == zoom_onboard::sandbox::Plan::Pro;
            (label, run.per_second.clone(), is_pro)
        })
        .collect();
    let seconds = series
        .iter()
        .map(|(_, counts, _)| counts.len())
        .max()
        .unwrap_or(1);

    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).expect("the plot draws");
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Successful creates per second (scenario 1, median run of each cell)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0_u32..(seconds as u32 + 1), 0_u32..100_u32)
        .expect("the plot draws");
    chart
        .configure_mesh()
        .x_desc("seconds since the first create")
        .y_desc("creates in that second")
        .draw()
        .expect("the plot draws");

    for (limit, label) in [(30, "pro limit, 30/s"), (80, "business limit, 80/s")] {
        chart
            .draw_series(LineSeries::new(
                [(0, limit), (seconds as u32 + 1, limit)],
                BLACK.mix(0.35).stroke_width(1),
            ))
            .expect("the plot draws")
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.35)));
    }
    let blues = [
        RGBColor(0x9e, 0xca, 0xe1),
        RGBColor(0x42, 0x92, 0xc6),
        RGBColor(0x08, 0x45, 0x94),
    ];
    let reds = [
        RGBColor(0xfc, 0xae, 0x91),
        RGBColor(0xfb, 0x6a, 0x4a),
        RGBColor(0xa5, 0x0f, 0x15),
    ];
    let (mut pro_index, mut business_index) = (0, 0);
    for (label, counts, is_pro) in &series {
        let color = if *is_pro {
            pro_index += 1;
            blues[(pro_index - 1) % blues.len()]
        } else {
            business_index += 1;
            reds[(business_index - 1) % reds.len()]
        };
        chart
            .draw_series(LineSeries::new(
                counts
                    .iter()
                    .enumerate()
                    .map(|(second, count)| (second as u32, *count)),
                color.stroke_width(2),
            ))
            .expect("the plot draws")
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .expect("the plot draws");
    root.present().expect("the plot is written");
}
