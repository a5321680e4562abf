//! The reports page's charts, drawn on the server as inline SVG (maud): no script, nothing
//! fetched, readable without colour (every chart has its table beside it, and every bar and point
//! its own `<title>`). Three shapes cover the reports: horizontal stacked bars (aged balance by
//! bucket), lines (DSO / DPO by month), and bars with a rate line (intake and straight-through
//! by week). Geometry is computed in `Decimal` like the figures it draws, rounded to a tenth of a
//! pixel; every label is escaped by maud.

use maud::{html, Markup};
use rust_decimal::Decimal;

/// Width and height of every chart's drawing (the SVG scales to its box).
const WIDTH: i64 = 640;
/// Left margin for category labels of horizontal bars.
const LABEL_W: i64 = 90;
/// One bar's segments (series, left edge, width, value) and where its total is written.
type Bar<'s, 'a> = (Vec<(&'s Series<'a>, Decimal, Decimal, Decimal)>, Decimal);

/// Bucket colours, calm to alarming, readable by people with the common colour blindnesses.
pub const PALETTE: [&str; 6] = [
    "#4477aa", "#66ccee", "#ccbb44", "#ee6677", "#aa3377", "#228833",
];

/// One series of a chart: its name (legend, titles) and colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
}

fn px(d: Decimal) -> String {
    let mut r = d.round_dp(1);
    r.normalize_assign();
    r.to_string()
}

/// `value` scaled to `span` pixels against `max` (zero when there is nothing to scale).
fn scale(value: Decimal, max: Decimal, span: i64) -> Decimal {
    if max <= Decimal::ZERO || value <= Decimal::ZERO {
        Decimal::ZERO
    } else {
        value * Decimal::from(span) / max
    }
}

fn legend(series: &[Series<'_>], y: i64) -> Markup {
    html! {
        @for (i, s) in series.iter().enumerate() {
            @let x = LABEL_W + (i as i64) * 105;
            rect x=(x) y=(y) width="10" height="10" fill=(s.colour) {}
            text x=(x + 14) y=(y + 9) font-size="11" { (s.name) }
        }
    }
}

/// Horizontal bars, one per category, each stacked from its series' values (negative values
/// are not drawn: a credit balance shows in the table). `id` names the chart for tests and
/// links.
pub fn stacked_bars(
    id: &str,
    title: &str,
    categories: &[String],
    series: &[Series<'_>],
    values: &[Vec<Decimal>],
) -> Markup {
    let row = 34;
    let top = 10;
    let height = top + row * categories.len().max(1) as i64 + 40;
    // Room on the right for the total written after the longest bar.
    let span = WIDTH - LABEL_W - 70;
    let totals: Vec<Decimal> = values
        .iter()
        .map(|v| v.iter().filter(|x| **x > Decimal::ZERO).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or_default();
    let bars: Vec<Bar<'_, '_>> = categories
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let mut x = Decimal::from(LABEL_W);
            let mut segments = Vec::new();
            for (j, s) in series.iter().enumerate() {
                let v = values
                    .get(i)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or_default();
                let w = scale(v, max, span);
                if w > Decimal::ZERO {
                    segments.push((s, x, w, v));
                    x += w;
                }
            }
            (segments, x)
        })
        .collect();
    html! {
        svg id=(id) class="chart" xmlns="http://www.w3.org/2000/svg" role="img"
            width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } aria-label=(title) {
            title { (title) }
            @for (i, (cat, (segments, end))) in categories.iter().zip(&bars).enumerate() {
                @let y = top + row * i as i64;
                text x=(LABEL_W - 6) y=(y + 17) text-anchor="end" font-size="12" { (cat) }
                @for (s, x, w, v) in segments {
                    rect class="bar" data-series=(s.name) x=(px(*x)) y=(y) width=(px(*w))
                        height="24" fill=(s.colour) {
                        title { (cat) " — " (s.name) ": " (v) }
                    }
                }
                text x=(px(*end + Decimal::from(4))) y=(y + 17) font-size="11" { (totals.get(i).copied().unwrap_or_default()) }
            }
            (legend(series, height - 22))
        }
    }
}

/// Lines over ordered categories (months): a point per known value, gaps where a value is
/// missing.
pub fn lines(
    id: &str,
    title: &str,
    categories: &[String],
    series: &[(Series<'_>, Vec<Option<Decimal>>)],
) -> Markup {
    let height: i64 = 240;
    let plot_h: i64 = 170;
    let top: i64 = 12;
    let span = WIDTH - LABEL_W - 20;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .max()
        .unwrap_or_default();
    let n = categories.len().max(1) as i64;
    let step = Decimal::from(span) / Decimal::from(n.max(2) - 1);
    let x_of = |i: usize| Decimal::from(LABEL_W) + step * Decimal::from(i as i64);
    let y_of = |v: Decimal| Decimal::from(top + plot_h) - scale(v, max, plot_h);
    html! {
        svg id=(id) class="chart" xmlns="http://www.w3.org/2000/svg" role="img"
            width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } aria-label=(title) {
            title { (title) }
            line x1=(LABEL_W) y1=(top + plot_h) x2=(WIDTH - 20) y2=(top + plot_h) stroke="#999" {}
            text x=(LABEL_W - 6) y=(top + 8) text-anchor="end" font-size="11" { (max) }
            text x=(LABEL_W - 6) y=(top + plot_h) text-anchor="end" font-size="11" { "0" }
            @for (i, c) in categories.iter().enumerate() {
                text x=(px(x_of(i))) y=(top + plot_h + 16) text-anchor="middle" font-size="10" { (c) }
            }
            @for (s, values) in series {
                @let points: Vec<String> = values.iter().enumerate()
                    .filter_map(|(i, v)| v.map(|v| format!("{},{}", px(x_of(i)), px(y_of(v)))))
                    .collect();
                @if points.len() > 1 {
                    polyline class="line" data-series=(s.name) fill="none" stroke=(s.colour)
                        stroke-width="2" points=(points.join(" ")) {}
                }
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        circle class="point" cx=(px(x_of(i))) cy=(px(y_of(*v))) r="3" fill=(s.colour) {
                            title { (categories.get(i).map(String::as_str).unwrap_or("")) " — " (s.name) ": " (v) }
                        }
                    }
                }
            }
            (legend(&series.iter().map(|(s, _)| Series { name: s.name, colour: s.colour }).collect::<Vec<_>>(), height - 22))
        }
    }
}

/// Vertical bars of counts per category, with a rate (0–100 %) drawn as a line over them on a
/// scale of its own.
pub fn bars_with_rate(
    id: &str,
    title: &str,
    categories: &[String],
    bars: (Series<'_>, &[i64]),
    rate: (Series<'_>, &[Option<Decimal>]),
) -> Markup {
    let height: i64 = 240;
    let plot_h: i64 = 170;
    let top: i64 = 12;
    let span = WIDTH - LABEL_W - 40;
    let n = categories.len().max(1) as i64;
    let slot = Decimal::from(span) / Decimal::from(n);
    let max = Decimal::from(bars.1.iter().copied().max().unwrap_or(0));
    let hundred = Decimal::from(100);
    let mid =
        |i: usize| Decimal::from(LABEL_W) + slot * Decimal::from(i as i64) + slot / Decimal::TWO;
    let rate_y = |r: Decimal| Decimal::from(top + plot_h) - scale(r, hundred, plot_h);
    let points: Vec<String> = rate
        .1
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| format!("{},{}", px(mid(i)), px(rate_y(r)))))
        .collect();
    html! {
        svg id=(id) class="chart" xmlns="http://www.w3.org/2000/svg" role="img"
            width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } aria-label=(title) {
            title { (title) }
            line x1=(LABEL_W) y1=(top + plot_h) x2=(WIDTH - 40) y2=(top + plot_h) stroke="#999" {}
            text x=(LABEL_W - 6) y=(top + 8) text-anchor="end" font-size="11" { (max) }
            text x=(WIDTH - 36) y=(top + 8) font-size="11" { "100 %" }
            @for (i, c) in categories.iter().enumerate() {
                @let v = bars.1.get(i).copied().unwrap_or(0);
                @let h = scale(Decimal::from(v), max, plot_h);
                @if h > Decimal::ZERO {
                    rect class="bar" data-series=(bars.0.name)
                        x=(px(mid(i) - slot * Decimal::new(35, 2))) y=(px(Decimal::from(top + plot_h) - h))
                        width=(px(slot * Decimal::new(7, 1))) height=(px(h)) fill=(bars.0.colour) {
                        title { (c) " — " (bars.0.name) ": " (v) }
                    }
                }
                text x=(px(mid(i))) y=(top + plot_h + 16) text-anchor="middle" font-size="10" { (c) }
            }
            @if points.len() > 1 {
                polyline class="line" data-series=(rate.0.name) fill="none" stroke=(rate.0.colour)
                    stroke-width="2" points=(points.join(" ")) {}
            }
            @for (i, r) in rate.1.iter().enumerate() {
                @if let Some(r) = r {
                    circle class="point" cx=(px(mid(i))) cy=(px(rate_y(*r))) r="3" fill=(rate.0.colour) {
                        title { (categories.get(i).map(String::as_str).unwrap_or("")) " — " (rate.0.name) ": " (r) " %" }
                    }
                }
            }
            (legend(&[Series { name: bars.0.name, colour: bars.0.colour }, Series { name: rate.0.name, colour: rate.0.colour }], height - 22))
        }
    }
}

/// Money in and out per category as paired vertical bars (in above, out below the zero line)
/// with a running balance drawn as a line on the same scale; the scale reaches below zero when
/// the balance does, so a week of negative cash shows as such.
pub fn flows(
    id: &str,
    title: &str,
    categories: &[String],
    flows: [(Series<'_>, &[Decimal]); 2],
    balance: (Series<'_>, &[Decimal]),
) -> Markup {
    let height: i64 = 260;
    let plot_h: i64 = 190;
    let top: i64 = 12;
    let span = WIDTH - LABEL_W - 20;
    let n = categories.len().max(1) as i64;
    let slot = Decimal::from(span) / Decimal::from(n);
    let [(ins, in_values), (outs, out_values)] = flows;
    let high = in_values
        .iter()
        .chain(balance.1)
        .copied()
        .max()
        .unwrap_or_default()
        .max(Decimal::ZERO);
    let low = out_values
        .iter()
        .map(|v| -*v)
        .chain(balance.1.iter().copied())
        .min()
        .unwrap_or_default()
        .min(Decimal::ZERO);
    let range = high - low;
    let y_of = |v: Decimal| -> Decimal {
        if range <= Decimal::ZERO {
            Decimal::from(top + plot_h)
        } else {
            Decimal::from(top) + (high - v) * Decimal::from(plot_h) / range
        }
    };
    let zero = y_of(Decimal::ZERO);
    let mid =
        |i: usize| Decimal::from(LABEL_W) + slot * Decimal::from(i as i64) + slot / Decimal::TWO;
    let bar_w = slot * Decimal::new(35, 2);
    let points: Vec<String> = balance
        .1
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{},{}", px(mid(i)), px(y_of(*v))))
        .collect();
    html! {
        svg id=(id) class="chart" xmlns="http://www.w3.org/2000/svg" role="img"
            width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } aria-label=(title) {
            title { (title) }
            line x1=(LABEL_W) y1=(px(zero)) x2=(WIDTH - 20) y2=(px(zero)) stroke="#999" {}
            @if high > Decimal::ZERO {
                text x=(LABEL_W - 6) y=(top + 8) text-anchor="end" font-size="11" { (high.round_dp(0)) }
            }
            text x=(LABEL_W - 6) y=(px(zero + Decimal::from(4))) text-anchor="end" font-size="11" { "0" }
            @if low < Decimal::ZERO {
                text x=(LABEL_W - 6) y=(top + plot_h) text-anchor="end" font-size="11" { (low.round_dp(0)) }
            }
            @for (i, c) in categories.iter().enumerate() {
                @let v_in = in_values.get(i).copied().unwrap_or_default();
                @let v_out = out_values.get(i).copied().unwrap_or_default();
                @if v_in > Decimal::ZERO {
                    rect class="bar" data-series=(ins.name)
                        x=(px(mid(i) - bar_w)) y=(px(y_of(v_in))) width=(px(bar_w)) height=(px(zero - y_of(v_in)))
                        fill=(ins.colour) {
                        title { (c) " — " (ins.name) ": " (v_in) }
                    }
                }
                @if v_out > Decimal::ZERO {
                    rect class="bar" data-series=(outs.name)
                        x=(px(mid(i))) y=(px(zero)) width=(px(bar_w)) height=(px(y_of(-v_out) - zero))
                        fill=(outs.colour) {
                        title { (c) " — " (outs.name) ": " (v_out) }
                    }
                }
                text x=(px(mid(i))) y=(top + plot_h + 16) text-anchor="middle" font-size="10" { (c) }
            }
            @if points.len() > 1 {
                polyline class="line" data-series=(balance.0.name) fill="none" stroke=(balance.0.colour)
                    stroke-width="2" points=(points.join(" ")) {}
            }
            @for (i, v) in balance.1.iter().enumerate() {
                circle class="point" cx=(px(mid(i))) cy=(px(y_of(*v))) r="3" fill=(balance.0.colour) {
                    title { (categories.get(i).map(String::as_str).unwrap_or("")) " — " (balance.0.name) ": " (v) }
                }
            }
            (legend(&[
                Series { name: ins.name, colour: ins.colour },
                Series { name: outs.name, colour: outs.colour },
                Series { name: balance.0.name, colour: balance.0.colour },
            ], height - 22))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn stacked_bars_are_as_wide_as_their_share_and_skip_empty_buckets() {
        let s = [
            Series {
                name: "a",
                colour: PALETTE[0],
            },
            Series {
                name: "b",
                colour: PALETTE[1],
            },
        ];
        let svg = stacked_bars(
            "t",
            "T",
            &["AR".into(), "AP <x>".into()],
            &s,
            &[vec![dec!(100), dec!(0)], vec![dec!(25), dec!(25)]],
        )
        .into_string();
        // The largest total spans the plot (640 − 90 − 70 = 480 px); 25 is a quarter of it.
        assert!(svg.contains("x=\"90\" y=\"10\" width=\"480\""), "{svg}");
        assert!(svg.contains("x=\"90\" y=\"44\" width=\"120\""), "{svg}");
        assert!(svg.contains("x=\"210\" y=\"44\" width=\"120\""), "{svg}");
        assert_eq!(
            svg.matches("class=\"bar\"").count(),
            3,
            "an empty bucket draws nothing"
        );
        assert!(svg.contains("AP &lt;x&gt;") && !svg.contains("<x>"));
    }

    #[test]
    fn lines_leave_gaps_and_rates_scale_to_a_hundred() {
        let svg = lines(
            "d",
            "D",
            &["01".into(), "02".into(), "03".into()],
            &[(
                Series {
                    name: "DSO",
                    colour: PALETTE[0],
                },
                vec![Some(dec!(10)), None, Some(dec!(20))],
            )],
        )
        .into_string();
        assert_eq!(svg.matches("class=\"point\"").count(), 2);
        // 20 is the top (y 12), 10 half way down the 170 px plot.
        assert!(svg.contains("points=\"90,97 620,12\""), "{svg}");
        let svg = bars_with_rate(
            "i",
            "I",
            &["W1".into(), "W2".into()],
            (
                Series {
                    name: "n",
                    colour: PALETTE[0],
                },
                &[4, 0],
            ),
            (
                Series {
                    name: "r",
                    colour: PALETTE[3],
                },
                &[Some(dec!(50)), None],
            ),
        )
        .into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 1);
        assert!(svg.contains("cy=\"97\""), "50 % is half the plot: {svg}");
    }

    #[test]
    fn flows_reach_below_zero_when_the_balance_does() {
        let cats = ["w1".to_string(), "w2".to_string()];
        let svg = flows(
            "f",
            "t",
            &cats,
            [
                (
                    Series {
                        name: "in",
                        colour: PALETTE[5],
                    },
                    &[dec!(100), dec!(0)],
                ),
                (
                    Series {
                        name: "out",
                        colour: PALETTE[3],
                    },
                    &[dec!(0), dec!(300)],
                ),
            ],
            (
                Series {
                    name: "cash",
                    colour: PALETTE[0],
                },
                &[dec!(100), dec!(-200)],
            ),
        )
        .into_string();
        // high 100, low -300 (the outflow): zero sits a quarter down the 190 px plot.
        assert!(svg.contains("y1=\"59.5\""), "{svg}");
        assert!(svg.contains(">-300<"), "{svg}");
        assert_eq!(svg.matches("class=\"bar\"").count(), 2, "{svg}");
        assert!(svg.contains("w2 — cash: -200"), "{svg}");
    }
}
