//! Totals (net, tax, gross) and the VAT breakdown, settled by arithmetic.
//!
//! Labels give each total a few candidate amounts (right of the label, below it in a column);
//! the chosen triple is the one with the best label scores plus a large bonus when
//! net + tax = gross, and a smaller one when the VAT breakdown found on the page sums to it. The
//! arithmetic is what makes a generic reader reliable: a wrong column rarely adds up.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::domain::money::round_half_up;
use crate::domain::VatBreakdown;

use super::amounts::find_amounts;
use super::candidates::windows;
use super::labels::Hit;
use super::text::TLine;

/// A picked value with its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<T> {
    pub value: T,
    pub confidence: f32,
}

#[derive(Debug, Default)]
pub struct Totals {
    pub net: Option<Scored<Decimal>>,
    pub tax: Option<Scored<Decimal>>,
    pub gross: Option<Scored<Decimal>>,
    pub breakdown: Vec<VatBreakdown>,
    /// (rate, tax) of the lines that print one rate's tax without its base (`per_rate_taxes`).
    pub rated: Vec<(Decimal, Decimal)>,
    pub warnings: Vec<String>,
    /// Some total was printed negative (a credit note's way of writing it).
    pub printed_negative: bool,
}

type Cands = Vec<(Decimal, f32)>;
/// A chosen (net, tax, gross) with its score and whether it adds up.
type Choice = (f32, [Option<(Decimal, f32)>; 3], bool);

const TOP: usize = 6;

fn candidates(field: &str, lines: &[TLine], hits: &[Hit]) -> Cands {
    let mut best: BTreeMap<Decimal, f32> = BTreeMap::new();
    for hit in hits.iter().filter(|h| h.field == field) {
        for w in windows(hit, lines, hits) {
            let Some(line) = lines.get(w.line) else {
                continue;
            };
            let text = w.raw(lines);
            for (i, a) in find_amounts(&text).iter().enumerate() {
                if share_capital_before(&text, a.start) {
                    continue;
                }
                let conf = line.confidence(w.start + a.start, w.start + a.end);
                let score = w.weight
                    * if i == 0 { 1.0 } else { 0.8 }
                    * if a.has_decimals { 1.0 } else { 0.7 }
                    * conf;
                let e = best.entry(a.value).or_insert(0.0);
                *e = e.max(score);
            }
        }
    }
    let mut v: Cands = best.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(TOP);
    v
}

/// A company's share capital ("SARL au capital de 120 000,00 €", "Stammkapital 25.000 EUR",
/// "share capital"), printed in letterheads and footers after a "TVA :" that labels the VAT id,
/// is never a total.
fn share_capital_before(text: &str, amount_start: usize) -> bool {
    let head: String = text
        .chars()
        .take(amount_start)
        .collect::<String>()
        .to_lowercase();
    // Only the words just before the amount: the capital phrase is written next to its value.
    let near: String = head
        .chars()
        .rev()
        .take(24)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    near.contains("capital")
}

/// The largest amount printed with decimals: a weak guess at the gross total.
fn largest_amount(lines: &[TLine]) -> Option<Decimal> {
    lines
        .iter()
        .flat_map(|l| {
            find_amounts(&l.raw)
                .into_iter()
                .filter(|a| !share_capital_before(&l.raw, a.start))
        })
        .filter(|a| a.has_decimals)
        .map(|a| a.value.abs())
        .max()
}

const COMMON_RATES: &[&str] = &[
    "0", "2.1", "5.5", "7", "8.1", "10", "19", "20", "21", "6", "9", "12", "13", "16", "22", "23",
    "25", "2.6", "3.8", "8.5", "15", "17", "24",
];

/// VAT rate lines: a rate and two amounts with base × rate = tax (to the cent).
pub fn vat_breakdown(lines: &[TLine]) -> Vec<VatBreakdown> {
    let mut out: Vec<VatBreakdown> = Vec::new();
    for l in lines {
        let amounts = find_amounts(&l.raw);
        if amounts.len() < 2 {
            continue;
        }
        let mut rates: Vec<Decimal> = Vec::new();
        for (i, _) in l.raw.match_indices('%') {
            if let Some(r) = number_at_end(&l.raw[..i]) {
                rates.push(r);
            }
        }
        for a in &amounts {
            if COMMON_RATES
                .iter()
                .any(|r| r.parse::<Decimal>().ok() == Some(a.value))
            {
                rates.push(a.value);
            }
        }
        'line: for rate in rates {
            if rate <= Decimal::ZERO || rate >= Decimal::from(30) {
                continue;
            }
            for (i, base) in amounts.iter().enumerate() {
                for tax in amounts.iter().skip(i + 1) {
                    if base.value == rate || tax.value == rate || !tax.has_decimals {
                        continue;
                    }
                    let expected = round_half_up(base.value * rate / Decimal::from(100), 2);
                    if base.value > Decimal::ZERO
                        && (expected - tax.value).abs() <= Decimal::new(1, 2)
                    {
                        let entry = VatBreakdown {
                            category: None,
                            rate: Some(rate.normalize()),
                            taxable_amount: base.value,
                            tax_amount: tax.value,
                            exemption_reason: None,
                        };
                        if !out.contains(&entry) {
                            out.push(entry);
                        }
                        break 'line;
                    }
                }
            }
        }
    }
    out
}

/// The rate printed on a line before character `end` ("TVA 5,5 %", "VAT 20%").
fn rate_before(raw: &str, end: usize) -> Option<Decimal> {
    let head: String = raw.chars().take(end).collect();
    let i = head.rfind('%')?;
    number_at_end(&head[..i]).filter(|r| *r > Decimal::ZERO && *r < Decimal::from(30))
}

/// The number a text ends with, spaces aside ("TVA 5,5 " → 5.5): a rate before its `%`.
fn number_at_end(text: &str) -> Option<Decimal> {
    let num: String = text
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    super::amounts::parse_number(&num)
}

/// Tax printed once per rate, without its base ("TVA 5,5 %  52,73", "TVA 20 %  7 467,94"): the
/// lines labelled as tax that carry a rate and one amount. Their sum is the tax total when no
/// line prints one.
pub fn per_rate_taxes(lines: &[TLine], hits: &[Hit]) -> Vec<(Decimal, Decimal)> {
    let mut out: Vec<(usize, Decimal, Decimal)> = Vec::new();
    for h in hits.iter().filter(|h| h.field == "total_tax") {
        let Some(l) = lines.get(h.line) else { continue };
        if out.iter().any(|o| o.0 == h.line) {
            continue;
        }
        let amounts = find_amounts(&l.raw);
        let [a] = amounts.as_slice() else { continue };
        if a.start < h.end || !a.has_decimals {
            continue;
        }
        if let Some(rate) = rate_before(&l.raw, a.start) {
            out.push((h.line, rate.normalize(), a.value.abs()));
        }
    }
    out.into_iter().map(|(_, r, t)| (r, t)).collect()
}

/// The VAT breakdown (BG-23) of a page that prints each rate's tax on its own line without its
/// base ("TVA 5,5 % 52,73 / TVA 20 % 1 184,06"). Filled only when it is sure:
/// - the rate lines' taxes sum to the tax total read;
/// - one rate: its base is the net total;
/// - several: each rate's base is the sum of the line items printed with that rate, and the
///   bases sum to the net total;
/// - and every base × rate gives its printed tax to within a cent per line item (lines are
///   rounded one by one).
pub fn breakdown_from_rate_lines(
    rated: &[(Decimal, Decimal)],
    net: Option<Decimal>,
    tax: Option<Decimal>,
    items: &[crate::domain::LineItem],
) -> Vec<VatBreakdown> {
    let (Some(net), Some(tax)) = (net, tax) else {
        return Vec::new();
    };
    let mut rates: Vec<Decimal> = rated.iter().map(|r| r.0).collect();
    rates.sort();
    rates.dedup();
    if rated.is_empty()
        || rates.len() != rated.len()
        || rated.iter().map(|r| r.1).sum::<Decimal>() != tax
    {
        return Vec::new();
    }
    let bases: Option<Vec<(Decimal, usize)>> = if let [_] = rated {
        Some(vec![(net, items.len().max(1))])
    } else {
        rated
            .iter()
            .map(|(rate, _)| {
                let of_rate: Vec<Decimal> = items
                    .iter()
                    .filter(|l| l.vat_rate.map(|r| r.normalize()) == Some(*rate))
                    .filter_map(|l| l.net_amount)
                    .collect();
                (!of_rate.is_empty()).then(|| (of_rate.iter().sum(), of_rate.len()))
            })
            .collect()
    };
    let Some(bases) = bases else {
        return Vec::new();
    };
    if bases.iter().map(|b| b.0).sum::<Decimal>() != net {
        return Vec::new();
    }
    let mut out = Vec::new();
    for ((rate, t), (base, n)) in rated.iter().zip(bases) {
        let expected = round_half_up(base * rate / Decimal::from(100), 2);
        if (expected - t).abs() > Decimal::new(n as i64, 2) {
            return Vec::new();
        }
        out.push(VatBreakdown {
            category: None,
            rate: Some(*rate),
            taxable_amount: base,
            tax_amount: *t,
            exemption_reason: None,
        });
    }
    out
}

/// Share of the total's confidence given to net and tax read as untaxed from the absence of any
/// tax word: low enough to send the document to review.
const UNTAXED: f32 = 0.3;

pub fn pick(lines: &[TLine], hits: &[Hit]) -> Totals {
    let mut net = candidates("total_net", lines, hits);
    let mut tax = candidates("total_tax", lines, hits);
    let mut gross = candidates("total_gross", lines, hits);
    let breakdown = vat_breakdown(lines);
    let (bd_net, bd_tax): (Decimal, Decimal) = breakdown
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(n, t), b| {
            (n + b.taxable_amount, t + b.tax_amount)
        });
    let add = |c: &mut Cands, v: Decimal, s: f32| {
        if !c.iter().any(|(x, _)| x.abs() == v) {
            c.push((v, s));
        }
    };
    if !breakdown.is_empty() {
        add(&mut net, bd_net, 0.3);
        add(&mut tax, bd_tax, 0.3);
    }
    let rated = per_rate_taxes(lines, hits);
    if rated.len() > 1 {
        add(&mut tax, rated.iter().map(|r| r.1).sum(), 0.6);
    }
    if let Some(l) = largest_amount(lines) {
        if !gross.iter().any(|(v, _)| v.abs() == l) {
            gross.push((l, 0.2));
        }
    }
    let opt = |v: &Cands| {
        let mut o: Vec<Option<(Decimal, f32)>> = v.iter().copied().map(Some).collect();
        o.push(None);
        o
    };
    let mut best: Option<Choice> = None;
    for n in opt(&net) {
        for t in opt(&tax) {
            for g in opt(&gross) {
                let mut score: f32 = [n, t, g].iter().flatten().map(|x| x.1).sum();
                let mut consistent = false;
                match (n, t, g) {
                    (Some(n), Some(t), Some(g)) => {
                        if n.0.abs() + t.0.abs() == g.0.abs() {
                            score += 1.5;
                            consistent = true;
                        } else {
                            score -= 0.5;
                        }
                    }
                    (Some(n), None, Some(g)) if n.0.abs() > g.0.abs() => score -= 1.0,
                    (Some(n), None, Some(g)) if n.0.abs() == g.0.abs() => score -= 0.2,
                    _ => {}
                }
                if let (Some(n), Some(t)) = (n, t) {
                    if !breakdown.is_empty() && n.0.abs() == bd_net && t.0.abs() == bd_tax {
                        score += 0.5;
                    }
                }
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, [n, t, g], consistent));
                }
            }
        }
    }
    let mut out = Totals {
        breakdown,
        rated,
        ..Totals::default()
    };
    let Some((_, [n, t, g], consistent)) = best else {
        return out;
    };
    out.printed_negative = [n, t, g].iter().flatten().any(|x| x.0 < Decimal::ZERO);
    // Three amounts that add up are rarely a coincidence: each is then nearly as sure as the
    // arithmetic, however weak its own label ("Total" alone, a base summed from a rate table),
    // and surer still when the VAT breakdown sums to the same net and tax.
    let agrees_with_breakdown = matches!((n, t), (Some(n), Some(t))
        if !out.breakdown.is_empty() && n.0.abs() == bd_net && t.0.abs() == bd_tax);
    let conf = |x: (Decimal, f32)| {
        let base = (0.35 + 0.5 * x.1).min(0.85);
        let confidence = match (consistent, agrees_with_breakdown) {
            (true, true) => (base.max(0.75) + 0.2).min(0.99),
            (true, false) => (base.max(0.7) + 0.15).min(0.99),
            (false, _) => base,
        };
        Scored {
            value: x.0.abs(),
            confidence,
        }
    };
    out.net = n.map(conf);
    out.tax = t.map(conf);
    out.gross = g.map(conf);
    // Derive the missing third from the other two; lower confidence.
    match (&out.net, &out.tax, &out.gross) {
        (None, Some(t), Some(g)) if g.value >= t.value => {
            out.net = Some(Scored {
                value: g.value - t.value,
                confidence: 0.5 * t.confidence.min(g.confidence),
            })
        }
        (Some(n), None, Some(g)) if g.value >= n.value => {
            out.tax = Some(Scored {
                value: g.value - n.value,
                confidence: 0.5 * n.confidence.min(g.confidence),
            })
        }
        (Some(n), Some(t), None) => {
            out.gross = Some(Scored {
                value: n.value + t.value,
                confidence: 0.5 * n.confidence.min(t.confidence),
            })
        }
        // A total and no tax word anywhere (after "ohne MwSt." and the like are set aside): an
        // untaxed invoice, net = total and no tax. Only the absence says so, so a person checks.
        (None, None, Some(g)) if !hits.iter().any(|h| h.field == "total_tax") => {
            let confidence = UNTAXED * g.confidence;
            out.net = Some(Scored {
                value: g.value,
                confidence,
            });
            out.tax = Some(Scored {
                value: Decimal::ZERO,
                confidence,
            });
        }
        _ => {}
    }
    if let (Some(n), Some(t), Some(g)) = (&out.net, &out.tax, &out.gross) {
        if n.value + t.value != g.value {
            out.warnings.push(format!(
                "totals do not add up: net {} + tax {} ≠ gross {}",
                n.value, t.value, g.value
            ));
        }
        if !out.breakdown.is_empty() && (bd_net != n.value || bd_tax != t.value) {
            out.warnings.push(format!(
                "VAT breakdown sums to {bd_net} + {bd_tax}, totals say {} + {}",
                n.value, t.value
            ));
        }
    }
    out
}
