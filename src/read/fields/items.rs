//! Line items (BG-25) from a readable table: heading row, columns, rows until the totals block.
//!
//! Layouts differ per supplier, so nothing is positional beyond the heading row the page itself
//! prints: a line holding headings of at least three columns (models/labels.toml `[table]`, one of
//! them the amount) starts a table, the headings' x-ranges name the columns, and every following
//! line of that page up to the first totals label is a row when it ends with an amount. The line's
//! net amount is the rightmost amount that is not a percentage; quantity and unit price are the
//! pair left of it whose product is the net (checked), else the amounts under those headings. The
//! sum of the lines is checked against the total net: agreement raises the confidence, a mismatch
//! is a warning.

use rust_decimal::Decimal;

use crate::domain::LineItem;

use super::amounts::{find_amounts, FoundAmount};
use super::labels::{Hit, TableWords};
use super::text::TLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Description,
    Quantity,
    UnitPrice,
    Amount,
    VatRate,
}

/// A heading found on the heading row: its column and x-range.
#[derive(Debug, Clone, Copy)]
struct Heading {
    col: Col,
    x0: f32,
    x1: f32,
}

/// The items read, how sure the reader is, and why not more.
#[derive(Debug, Default)]
pub struct Items {
    pub lines: Vec<LineItem>,
    pub confidence: f32,
    pub warnings: Vec<String>,
}

/// Headings on one line, longest phrase first where two overlap.
fn headings(line: &TLine, words: &TableWords) -> Vec<Heading> {
    let chars: Vec<char> = line.norm.chars().collect();
    let mut found: Vec<(usize, usize, Col)> = Vec::new();
    let starts = (0..chars.len())
        .filter(|&i| i == 0 || chars.get(i - 1).is_some_and(|c| !c.is_alphanumeric()));
    for i in starts {
        for (col, list) in [
            (Col::Description, &words.description),
            (Col::Quantity, &words.quantity),
            (Col::UnitPrice, &words.unit_price),
            (Col::Amount, &words.amount),
            (Col::VatRate, &words.vat_rate),
        ] {
            for phrase in list {
                let n = phrase.chars().count();
                let mut it = chars.iter().skip(i);
                let same = phrase.chars().all(|c| it.next() == Some(&c));
                let end_ok = chars.get(i + n).is_none_or(|c| !c.is_alphanumeric());
                if same && end_ok {
                    found.push((i, i + n, col));
                }
            }
        }
    }
    found.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
    let mut out: Vec<Heading> = Vec::new();
    let mut taken_to = 0usize;
    for (s, e, col) in found {
        if s < taken_to {
            continue;
        }
        taken_to = e;
        if out.iter().any(|h| h.col == col) {
            continue;
        }
        if let Some(b) = line.span_box(s, e) {
            out.push(Heading {
                col,
                x0: b.x0,
                x1: b.x1,
            });
        }
    }
    out
}

fn is_heading_row(h: &[Heading]) -> bool {
    let has = |c| h.iter().any(|x| x.col == c);
    h.len() >= 3 && has(Col::Amount) && (has(Col::Description) || has(Col::Quantity))
}

/// An amount on a row with its horizontal extent and whether a `%` follows it.
struct Cell {
    value: Decimal,
    x0: f32,
    x1: f32,
    percent: bool,
}

fn cells(line: &TLine) -> Vec<Cell> {
    let chars: Vec<char> = line.raw.chars().collect();
    find_amounts(&line.raw)
        .into_iter()
        .filter_map(|a: FoundAmount| {
            let b = line.span_box(a.start, a.end)?;
            let rest: String = chars.iter().skip(a.end).take(3).collect();
            Some(Cell {
                value: a.value,
                x0: b.x0,
                x1: b.x1,
                percent: rest.trim_start().starts_with('%'),
            })
        })
        .collect()
}

fn distance(c: &Cell, h: &Heading) -> f32 {
    if c.x1 >= h.x0 && c.x0 <= h.x1 {
        0.0
    } else {
        (c.x0 - h.x1).max(h.x0 - c.x1).max(0.0)
    }
}

/// Two amounts left of the net whose product is the net (quantity x unit price, in some order).
fn product_pair(rest: &[&Cell], net: Decimal) -> Option<(Decimal, Decimal)> {
    let mut pair = None;
    for (a, ca) in rest.iter().enumerate() {
        for cb in rest.iter().skip(a + 1) {
            if close(ca.value * cb.value, net) {
                pair = Some((ca.value, cb.value));
            }
        }
    }
    pair
}

/// A rate printed glued to its sign (`15.00%`), which amount parsing leaves out on purpose.
fn percent(raw: &str) -> Option<Decimal> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?:^|[\s(])(\d{1,2}(?:[.,]\d{1,2})?)\s?%").expect("valid regex")
    });
    let c = re.captures(raw)?;
    super::amounts::parse_number(c.get(1)?.as_str())
}

fn close(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() <= Decimal::new(1, 2).max(b.abs() * Decimal::new(5, 3))
}

/// Reads the first table of each page; `total_net` is the document's, for the cross-check.
pub fn pick(
    lines: &[TLine],
    hits: &[Hit],
    words: &TableWords,
    total_net: Option<Decimal>,
) -> Items {
    let mut items = Items::default();
    let mut checked = (0usize, 0usize);
    let mut i = 0usize;
    while i < lines.len() {
        let Some(head) = lines.get(i) else { break };
        let hs = headings(head, words);
        if !is_heading_row(&hs) {
            i += 1;
            continue;
        }
        let first_numeric = hs
            .iter()
            .filter(|h| h.col != Col::Description)
            .map(|h| h.x0)
            .fold(f32::MAX, f32::min);
        let desc_x0 = hs
            .iter()
            .find(|h| h.col == Col::Description)
            .map(|h| h.x0 - 0.5 * (h.x0 - head.bbox.x0))
            .unwrap_or(f32::MIN);
        let mut last_row: Option<(usize, f32)> = None;
        let mut j = i + 1;
        while let Some(l) = lines.get(j) {
            let at = j;
            let label = |fields: &[&str]| {
                hits.iter()
                    .any(|h| h.line == at && fields.contains(&h.field.as_str()))
            };
            if is_heading_row(&headings(l, words)) {
                break;
            }
            // On a following page (a table that runs on), only plain rows are taken.
            let next_page = l.page != head.page;
            j += 1;
            // The description is what stands left of the numbers, from a little left of its
            // heading (descriptions are often set left of it), without a leading position number.
            let mut desc: Vec<String> = l
                .words
                .iter()
                .filter(|w| w.bbox.x0 >= desc_x0 && w.bbox.x1 <= first_numeric - 2.0)
                .map(|w| l.raw_slice(w.start, w.end))
                .collect();
            while desc
                .first()
                .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
            {
                desc.remove(0);
            }
            let cs = cells(l);
            let plain: Vec<&Cell> = cs
                .iter()
                .filter(|c| !c.percent && c.x1 > first_numeric - 2.0)
                .collect();
            let row = plain.split_last().map(|(net, rest)| {
                let pair = product_pair(rest, net.value);
                (net.value, rest, pair)
            });
            // A totals label ends the table, unless the line is plainly a row that happens to
            // hold such a word (a "VAT (S)" column): a description and quantity x price = net.
            let plainly_row = row.as_ref().is_some_and(|r| r.2.is_some());
            if next_page && !plainly_row {
                continue;
            }
            if !plainly_row && label(&["total_gross", "total_tax", "amount_due"]) {
                break;
            }
            if !plainly_row && label(&["total_net"]) {
                // A section subtotal while the rows so far fall short of the total net: the
                // table goes on below it. Otherwise this is the totals block.
                let so_far: Decimal = items.lines.iter().filter_map(|l| l.net_amount).sum();
                match total_net {
                    Some(t) if so_far.abs() < t.abs() && !close(so_far.abs(), t.abs()) => {
                        last_row = None;
                        continue;
                    }
                    _ => break,
                }
            }
            let Some((net, rest, pair)) = row else {
                // A wrapped description continues the row just above it.
                if let Some((k, y1)) = last_row {
                    if !desc.is_empty() && l.bbox.y0 - y1 < 1.5 * l.bbox.height().max(1.0) {
                        if let Some(it) = items.lines.get_mut(k) {
                            it.description.push(' ');
                            it.description.push_str(&desc.join(" "));
                        }
                        last_row = Some((k, l.bbox.y1));
                    }
                }
                continue;
            };
            let near = |col: Col| -> Option<Decimal> {
                let h = hs.iter().find(|h| h.col == col)?;
                rest.iter()
                    .filter(|c| distance(c, h) < 40.0)
                    .min_by(|a, b| distance(a, h).total_cmp(&distance(b, h)))
                    .map(|c| c.value)
            };
            let (quantity, unit_price) = match pair {
                Some((a, b)) => {
                    // The quantity is the one under the quantity heading, else the left one.
                    let q = near(Col::Quantity);
                    if q == Some(b) {
                        (Some(b), Some(a))
                    } else {
                        (Some(a), Some(b))
                    }
                }
                None => (near(Col::Quantity), near(Col::UnitPrice)),
            };
            if desc.is_empty() && quantity.is_none() {
                continue;
            }
            if let (Some(q), Some(p)) = (quantity, unit_price) {
                checked.1 += 1;
                if close(q * p, net) {
                    checked.0 += 1;
                }
            }
            let vat_rate = cs
                .iter()
                .find(|c| c.percent)
                .map(|c| c.value)
                .or_else(|| percent(&l.raw));
            items.lines.push(LineItem {
                id: None,
                description: desc.join(" "),
                quantity,
                unit: None,
                unit_price,
                net_amount: Some(net),
                vat_category: None,
                vat_rate,
            });
            last_row = Some((items.lines.len() - 1, l.bbox.y1));
        }
        i = j.max(i + 1);
    }
    if items.lines.is_empty() {
        return items;
    }
    let sum: Decimal = items.lines.iter().filter_map(|l| l.net_amount).sum();
    let mut c: f32 = 0.6;
    match total_net {
        Some(t) if close(sum, t.abs()) || close(sum.abs(), t.abs()) => c = 0.9,
        Some(t) => {
            c = 0.4;
            items.warnings.push(format!(
                "line items sum to {sum}, the total net printed is {t}: lines may be missing or misread"
            ));
        }
        None => {}
    }
    if checked.1 > 0 && checked.0 < checked.1 {
        c -= 0.15;
        items.warnings.push(format!(
            "quantity x unit price differs from the line amount on {} of {} lines",
            checked.1 - checked.0,
            checked.1
        ));
    } else if checked.1 > 0 {
        c += 0.05;
    }
    items.confidence = c.clamp(0.1, 0.95);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(v: &str, x: f32) -> Cell {
        Cell {
            value: v.parse().unwrap(),
            x0: x,
            x1: x + 20.0,
            percent: false,
        }
    }

    #[test]
    fn the_product_pair_names_quantity_and_price() {
        let (q, p, other) = (cell("20", 330.0), cell("4.35", 390.0), cell("7", 200.0));
        let rest = [&other, &q, &p];
        assert_eq!(
            product_pair(&rest, "87.00".parse().unwrap()),
            Some(("20".parse().unwrap(), "4.35".parse().unwrap()))
        );
        assert_eq!(product_pair(&rest, "90.00".parse().unwrap()), None);
    }

    #[test]
    fn glued_percentages_are_rates() {
        assert_eq!(
            percent("Beeswax 1.00 15.00%"),
            Some("15.00".parse().unwrap())
        );
        assert_eq!(percent("TVA (20 %)"), Some("20".parse().unwrap()));
        assert_eq!(percent("Ref A20%"), None);
    }
}
