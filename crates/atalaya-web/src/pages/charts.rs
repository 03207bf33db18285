//! What the charts draw: the JSON that `static/js/charts.js` reads from
//! `data-chart`, and sparklines as inline SVG (drawn on the server: they need
//! no script and print). Periods and per-day counts come from
//! [`crate::listening::periods`].

use serde::Serialize;

/// A chart as `charts.js` reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// `line` or `stacked` (bars).
    pub kind: &'static str,
    pub days: Vec<String>,
    pub series: Vec<ChartSeries>,
    /// The legend's name for the x value ("Día" / "Day").
    pub date_label: String,
    pub legend: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChartSeries {
    pub label: String,
    pub values: Vec<i64>,
    /// A design token: `primary`, `previous`, `negative`, `neutral`, `positive`.
    pub tone: &'static str,
    /// A topic's own colour (`#rrggbb`), which wins over the tone.
    pub color: Option<String>,
}

impl Chart {
    /// The JSON for `data-chart` (escaped by the template like any attribute).
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    pub fn is_empty(&self) -> bool {
        self.series
            .iter()
            .all(|series| series.values.iter().all(|value| *value == 0))
    }
}

/// A small trend line as SVG coordinates in a 100 × 28 box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sparkline {
    /// `points` of a `<polyline>`.
    pub line: String,
    /// `d` of the filled area under it.
    pub area: String,
}

impl Sparkline {
    pub fn new(values: &[i64]) -> Sparkline {
        let max = values.iter().copied().max().unwrap_or(0).max(1);
        let steps = values.len().saturating_sub(1).max(1);
        #[allow(clippy::cast_precision_loss)] // Small counts and indexes.
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let x = index as f64 * 100.0 / steps as f64;
                let y = 26.0 - (*value as f64 / max as f64) * 24.0;
                (x, y)
            })
            .collect();
        let line = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let area = match (points.first(), points.last()) {
            (Some(first), Some(last)) => format!("M{:.1},28 L{line} L{:.1},28 Z", first.0, last.0),
            _ => String::new(),
        };
        Sparkline { line, area }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_box() {
        let spark = Sparkline::new(&[0, 5, 10]);
        assert_eq!(spark.line, "0.0,26.0 50.0,14.0 100.0,2.0");
        assert!(spark.area.starts_with("M0.0,28 L0.0,26.0"));
        assert_eq!(Sparkline::new(&[0, 0]).line, "0.0,26.0 100.0,26.0");
    }
}
