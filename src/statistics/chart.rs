//! Charts drawn on the server as SVG with `plotters` (its SVG backend only): bars for counts,
//! lines with markers for shares. Colours from the Okabe–Ito palette, which readers with the
//! common kinds of colour blindness tell apart; each series also has its own marker shape (lines)
//! or position (bars), and the fills are dark and light enough to differ in black-and-white
//! print. A figure that is not shown ("<5", or no cases) is not drawn. The page gives every chart
//! a title, a text summary and a table of the same numbers; the SVG is named by them
//! (`aria-labelledby`).

use plotters::prelude::*;

/// Okabe–Ito: blue, orange, bluish green.
pub const PALETTE: [RGBColor; 3] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
];
/// What the page's legend calls each series' look, in the order of [`PALETTE`].
pub const LOOKS: [&str; 3] = ["blå, cirkel", "orange, triangel", "grön, fyrkant"];

const SIZE: (u32, u32) = (760, 320);

/// One series of a chart: its name and a value per month (none where not shown).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<Option<f64>>,
}

/// The largest value, rounded up to a round number for the axis.
fn axis_max(series: &[Series], at_least: f64) -> f64 {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(at_least, |a, b| a.max(*b));
    let step = 10f64.powf(max.log10().floor()).max(1.0);
    (max / step).ceil() * step
}

fn month_formatter(labels: &[String]) -> impl Fn(&f64) -> String + '_ {
    move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// The SVG element with its accessible name and description taken from the page's title and
/// summary (`id`-title, `id`-summary), scaled to the width it is given.
fn finish(svg: String, id: &str) -> String {
    svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-labelledby=\"{id}-title {id}-summary\" class=\"chart\" \
             preserveAspectRatio=\"xMinYMin meet\" "
        ),
        1,
    )
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Grouped bars: one group per month, one bar per series.
pub fn bars(id: &str, labels: &[String], series: &[Series], y_desc: &str) -> String {
    let mut svg = String::new();
    let drawn = draw_bars(&mut svg, labels, series, y_desc);
    match drawn {
        Ok(()) => finish(svg, id),
        Err(e) => {
            tracing::warn!(error = %e, "a statistics chart could not be drawn");
            String::new()
        }
    }
}

fn draw_bars(
    svg: &mut String,
    labels: &[String],
    series: &[Series],
    y_desc: &str,
) -> DrawResult<()> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    #[allow(clippy::cast_precision_loss)]
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..(n - 0.5), 0.0..axis_max(series, 5.0))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&month_formatter(labels))
        .y_desc(y_desc)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .label_style(("sans-serif", 13))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let width = 0.8 / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        #[allow(clippy::cast_precision_loss)]
        let bars = s.values.iter().enumerate().filter_map(|(i, v)| {
            let left = i as f64 - 0.4 + k as f64 * width;
            v.map(|v| Rectangle::new([(left, 0.0), (left + width * 0.92, v)], colour.filled()))
        });
        chart.draw_series(bars)?;
    }
    root.present()?;
    Ok(())
}

/// Lines with markers for shares in percent (0–100); a gap where a month is not shown.
pub fn percent_lines(id: &str, labels: &[String], series: &[Series]) -> String {
    let mut svg = String::new();
    match draw_lines(&mut svg, labels, series) {
        Ok(()) => finish(svg, id),
        Err(e) => {
            tracing::warn!(error = %e, "a statistics chart could not be drawn");
            String::new()
        }
    }
}

fn draw_lines(svg: &mut String, labels: &[String], series: &[Series]) -> DrawResult<()> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    #[allow(clippy::cast_precision_loss)]
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..(n - 0.5), 0.0..100.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&month_formatter(labels))
        .y_desc("Procent")
        .y_labels(6)
        .y_label_formatter(&|y| format!("{y:.0} %"))
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        #[allow(clippy::cast_precision_loss)]
        let points: Vec<Option<(f64, f64)>> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        // A line through each run of shown months.
        for run in points.split(Option::is_none) {
            let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
            if run.len() > 1 {
                chart.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
            }
        }
        let shown = points.into_iter().flatten();
        match k % 3 {
            0 => chart.draw_series(shown.map(|p| Circle::new(p, 5, colour.filled())))?,
            1 => chart.draw_series(shown.map(|p| TriangleMarker::new(p, 6, colour.filled())))?,
            _ => chart.draw_series(shown.map(|p| {
                Rectangle::new(
                    [(p.0 - 0.08, p.1 - 2.0), (p.0 + 0.08, p.1 + 2.0)],
                    colour.filled(),
                )
            }))?,
        };
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_named_by_its_title_and_summary() {
        let labels: Vec<String> = ["jan 2026", "feb 2026", "mar 2026"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let svg = bars(
            "mottagna",
            &labels,
            &[Series {
                name: "Inkomna",
                values: vec![Some(12.0), None, Some(30.0)],
            }],
            "Anmälningar",
        );
        assert!(
            svg.starts_with(
                "<svg role=\"img\" aria-labelledby=\"mottagna-title mottagna-summary\""
            ),
            "{svg}"
        );
        assert!(svg.contains("feb 2026"), "the months are the x axis: {svg}");
        // Two bars drawn (the month not shown has none), in the palette's blue.
        assert_eq!(svg.matches("fill=\"#0072B2\"").count(), 2, "{svg}");
        let lines = percent_lines(
            "tid",
            &labels,
            &[
                Series {
                    name: "A",
                    values: vec![Some(90.0), Some(80.0), None],
                },
                Series {
                    name: "B",
                    values: vec![Some(50.0), Some(60.0), Some(70.0)],
                },
            ],
        );
        assert!(
            lines.contains("<polyline") || lines.contains("<path"),
            "{lines}"
        );
        assert!(
            !lines.contains("style="),
            "no inline style (the CSP forbids it): {lines}"
        );
    }
}
