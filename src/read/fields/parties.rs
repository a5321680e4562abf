//! Who sold and who bought: names, VAT ids, SIREN/SIRET, IBAN/BIC, told apart by page context.
//!
//! A line's context is the nearest seller or buyer label above it in the same column ("Bill to",
//! "Käufer", "Vos identifiants", …): identifiers and names under a buyer label belong to the
//! buyer, everything else to the seller, whose identifiers usually sit in the header or footer.
//! Names come from seller labels, then from short lines carrying a legal form (GmbH, SAS, B.V.,
//! Inc., …), strengthened when the same name is printed twice (header and footer) or in the
//! letterhead's large type. What a name may look like is `names.rs`.

use std::collections::HashMap;

use super::candidates::{windows, Place};
use super::envelope::{self, Envelope};
use super::ids::{find_bics, find_ibans, find_siren_siret, find_vat_ids};
use super::labels::Hit;
use super::names::{clean_name, has_legal_form, LEGAL_FORMS};
use super::text::{normalize, TLine};
use super::totals::Scored;
use crate::domain::Party;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Seller,
    Buyer,
    Unknown,
}

/// The side of the document a character span of a line belongs to.
pub fn side_of(lines: &[TLine], hits: &[Hit], line: usize, at: usize) -> Side {
    let Some(l) = lines.get(line) else {
        return Side::Unknown;
    };
    let x = l.span_box(at, at + 1).map(|b| b.x0).unwrap_or(l.bbox.x0);
    let mut best: Option<(usize, Side)> = None;
    for h in hits
        .iter()
        .filter(|h| h.field == "seller" || h.field == "buyer")
    {
        let Some(hl) = lines.get(h.line) else {
            continue;
        };
        if hl.page != l.page || h.line > line || line - h.line > 12 {
            continue;
        }
        if h.line == line && h.start > at {
            continue;
        }
        if block_ends_between(lines, h.line, line) {
            continue;
        }
        let Some(hb) = hl.span_box(h.start, h.end) else {
            continue;
        };
        // Same column: the label starts left of the value and not too far from it.
        let same_column = h.line == line || (hb.x0 <= x + 30.0 && x - hb.x0 < 250.0);
        if !same_column {
            continue;
        }
        let side = if h.field == "seller" {
            Side::Seller
        } else {
            Side::Buyer
        };
        let dist = line - h.line;
        if best.is_none_or(|b| dist < b.0) {
            best = Some((dist, side));
        }
    }
    best.map(|b| b.1).unwrap_or(Side::Unknown)
}

/// A party block is the label and the lines set close under it: a vertical gap of more than two
/// line heights (the space before an items table, a totals block, a footer) ends it, so a label's
/// side never reaches the bank details printed further down the same column.
fn block_ends_between(lines: &[TLine], from: usize, to: usize) -> bool {
    (from..to).any(|k| match (lines.get(k), lines.get(k + 1)) {
        (Some(a), Some(b)) if a.page == b.page => {
            let h = a.bbox.height().max(b.bbox.height()).max(1.0);
            b.bbox.y0 - a.bbox.y1 > 2.0 * h
        }
        _ => true,
    })
}

/// Names of one side with scores.
fn name_candidates(lines: &[TLine], hits: &[Hit], side: Side) -> HashMap<String, f32> {
    let label = if side == Side::Seller {
        "seller"
    } else {
        "buyer"
    };
    let mut c: HashMap<String, f32> = HashMap::new();
    let mut add = |name: String, s: f32| {
        let e = c.entry(name).or_insert(0.0);
        *e = e.max(s);
    };
    for h in hits
        .iter()
        .filter(|h| h.field == label && heads_its_segment(lines, h))
    {
        for w in windows(h, lines, hits) {
            // A window below a label is as wide as the label; the name under it runs on to the
            // next column gap ("Bill to:" over "Atelier Martin SAS").
            let raw = match w.place {
                Place::Right => w.raw(lines),
                Place::Below(_) => lines
                    .get(w.line)
                    .map(|l| l.raw_slice(w.start, usize::MAX))
                    .unwrap_or_default(),
            };
            if let Some(name) = clean_name(&raw).filter(|n| !is_party_heading(n)) {
                let f = match w.place {
                    Place::Right => 1.0,
                    Place::Below(n) => 0.95 - 0.1 * n as f32,
                };
                add(name, h.weight * f);
                if w.place != Place::Right {
                    break;
                }
            }
        }
    }
    if side == Side::Seller {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for l in lines {
            for seg in l.raw.split("  ") {
                if let Some(n) = clean_name(seg) {
                    *seen.entry(normalize(&n)).or_default() += 1;
                }
            }
        }
        let domains = domains(lines);
        // Lines that carry the seller's legal identifiers (footer or header block).
        let id_lines: Vec<usize> = lines
            .iter()
            .filter(|l| {
                [
                    "siret",
                    "siren",
                    "rcs",
                    "capital",
                    "ust",
                    "tva",
                    "vat",
                    "iban",
                    "btw",
                    "kvk",
                    "handelsregister",
                ]
                .iter()
                .any(|k| l.norm.contains(k))
            })
            .map(|l| l.index)
            .collect();
        let first_line = lines.iter().position(|x| x.page == 1).unwrap_or(0);
        // The seller's name is often the largest text of the letterhead.
        let mut heights: Vec<f32> = lines
            .iter()
            .filter(|l| l.page == 1)
            .flat_map(|l| l.words.iter().map(|w| w.bbox.height()))
            .collect();
        heights.sort_by(f32::total_cmp);
        let median = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
        for l in lines {
            for seg in l.raw.split("  ") {
                let Some(name) = clean_name(seg) else {
                    continue;
                };
                if is_label_like(&name, hits, l) {
                    continue;
                }
                let at = l.raw[..l.raw.find(seg).unwrap_or(0)].chars().count();
                let ctx = side_of(lines, hits, l.index, at);
                let key = normalize(&name);
                // Printed twice (header and footer); more often is a table word, not a name.
                let repeated = (2..=3).contains(&seen.get(&key).copied().unwrap_or(0));
                let mut s: f32 = if has_legal_form(&name) { 0.6 } else { 0.0 };
                if l.page == 1 && l.index <= first_line + 2 {
                    s = s.max(0.35 - 0.05 * (l.index - first_line) as f32);
                }
                if repeated {
                    s = s.max(0.3);
                }
                let core: String = key
                    .split_whitespace()
                    .filter(|w| !LEGAL_FORMS.contains(w))
                    .collect::<String>()
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect();
                let in_domain = core.len() >= 4 && domains.iter().any(|d| d.contains(&core));
                let seg_chars = seg.chars().count();
                let large = median > 0.0
                    && l.page == 1
                    && l.bbox.y0 < 0.33 * l.page_height
                    && l.span_box(at, at + seg_chars)
                        .is_some_and(|b| b.height() >= 1.3 * median);
                if large {
                    s = s.max(0.35) + 0.1;
                }
                if in_domain {
                    s = s.max(0.3) + 0.3;
                }
                if s == 0.0 {
                    continue;
                }
                if l.page == 1 && l.bbox.y0 < 0.25 * l.page_height {
                    s += 0.1;
                }
                if repeated {
                    s += 0.15;
                }
                if id_lines.iter().any(|&i| {
                    i.abs_diff(l.index) <= 4 && lines.get(i).is_some_and(|x| x.page == l.page)
                }) {
                    s += 0.15;
                }
                match ctx {
                    Side::Buyer => s *= 0.3,
                    Side::Seller => s += 0.2,
                    Side::Unknown => {}
                }
                add(name, s);
            }
        }
    }
    c
}

/// A party label heads its text segment ("Client : X", "Bill to"); one preceded by other words
/// in the same segment is part of a value ("NOM : LE FOURNISSEUR"), not a label.
fn heads_its_segment(lines: &[TLine], h: &Hit) -> bool {
    let Some(l) = lines.get(h.line) else {
        return false;
    };
    let before = l.raw_slice(0, h.start);
    let seg = before.rsplit("  ").next().unwrap_or("");
    seg.chars().all(|c| !c.is_alphanumeric())
}

/// Host names and e-mail domains printed on the page, letters and digits only.
fn domains(lines: &[TLine]) -> Vec<String> {
    let mut out = Vec::new();
    for l in lines {
        for w in l.norm.split_whitespace() {
            let host = if let Some((_, d)) = w.split_once('@') {
                d
            } else if w.contains("www.") || w.starts_with("http") {
                w.trim_start_matches("https://")
                    .trim_start_matches("http://")
            } else {
                continue;
            };
            out.push(host.chars().filter(|c| c.is_alphanumeric()).collect());
        }
    }
    out
}

/// A party heading of the lexicon ("Leistungsempfänger" after "Käufer/", "Warenempfänger"):
/// the second word of a paired heading or the next column's heading, never a name.
fn is_party_heading(name: &str) -> bool {
    let n: Vec<char> = normalize(name)
        .trim_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .collect();
    super::labels::Lexicon::embedded()
        .labels
        .iter()
        .any(|l| matches!(l.field.as_str(), "seller" | "buyer" | "other") && l.phrase == n)
}

/// A heading or label printed alone ("INVOICE", "Facture", "Bill To") is not a name.
fn is_label_like(name: &str, hits: &[Hit], line: &TLine) -> bool {
    let n = normalize(name);
    let lex = super::labels::Lexicon::embedded();
    lex.doc_type
        .invoice
        .iter()
        .chain(&lex.doc_type.credit_note)
        .any(|w| n.trim() == w)
        || hits.iter().any(|h| {
            h.line == line.index && {
                let label: String = line
                    .norm
                    .chars()
                    .skip(h.start)
                    .take(h.end - h.start)
                    .collect();
                n.starts_with(&label)
            }
        })
}

fn best(c: HashMap<String, f32>) -> Option<Scored<String>> {
    c.into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.len().cmp(&a.0.len())))
        .map(|(value, s)| Scored {
            value,
            confidence: (0.3 + 0.5 * s).min(0.9),
        })
}

/// Without any buyer label, the addressee of a window envelope is the other company named on the
/// page: the best name with a legal form that is not the seller's. Weak evidence, low confidence.
fn unlabelled_buyer(
    hits: &[Hit],
    mut cands: HashMap<String, f32>,
    seller: Option<&Scored<String>>,
) -> Option<Scored<String>> {
    if hits.iter().any(|h| h.field == "buyer") {
        return None;
    }
    let seller = normalize(&seller?.value);
    cands.retain(|n, s| normalize(n) != seller && has_legal_form(n) && *s >= 0.6);
    best(cands).map(|b| Scored {
        value: b.value,
        confidence: b.confidence.min(0.6),
    })
}

/// Score given to the sender of a return-address line and to its addressee: above a name found
/// by layout alone, since the envelope says who writes to whom.
const ENVELOPE: f32 = 1.05;

/// A window envelope's return address names the seller: its sender, or the fuller name the page
/// prints starting with it ("Alphabet" → "Alphabet Fuhrparkmanagement GmbH"); the addressee under
/// it is the buyer, and never the seller.
fn by_envelope(e: &Envelope, seller: &mut HashMap<String, f32>, buyer: &mut HashMap<String, f32>) {
    let sender = normalize(&e.sender);
    let addressee = normalize(&e.addressee);
    for (name, s) in seller.iter_mut() {
        let n = normalize(name);
        if n == addressee {
            *s *= 0.3;
        } else if n
            .strip_prefix(&sender)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        {
            *s = s.max(ENVELOPE) + 0.05;
        }
    }
    let s = seller.entry(e.sender.clone()).or_insert(0.0);
    *s = s.max(ENVELOPE);
    buyer.insert(e.addressee.clone(), ENVELOPE);
}

/// The seller and buyer as far as the page tells, with confidences for the name and VAT id.
pub struct Parties {
    pub seller: Party,
    pub buyer: Party,
    pub seller_name: Option<Scored<String>>,
    pub buyer_name: Option<Scored<String>>,
    pub seller_vat_conf: f32,
    /// Raw score of the seller's IBAN: lower when the page prints other valid IBANs the context
    /// does not give to the buyer (a debited account, a factor's), since only position chose.
    pub seller_iban_conf: f32,
}

/// IBAN raw scores: the only valid one off the buyer's side, or one of several.
const ONLY_IBAN: f32 = 0.9;
const ONE_OF_SEVERAL_IBANS: f32 = 0.6;

pub fn pick(lines: &[TLine], hits: &[Hit]) -> Parties {
    let mut seller = Party::default();
    let mut buyer = Party::default();
    let mut seller_vat_conf = 0.0;
    let mut other_ibans = 0;
    for l in lines {
        let vats = find_vat_ids(&l.raw);
        for v in vats {
            match side_of(lines, hits, l.index, v.start) {
                Side::Buyer => {
                    buyer.vat_id.get_or_insert(v.value);
                }
                side => {
                    if seller.vat_id.is_none() {
                        seller_vat_conf = if side == Side::Seller { 0.95 } else { 0.8 };
                        seller.vat_id = Some(v.value);
                    }
                }
            }
        }
        for i in find_ibans(&l.raw) {
            if side_of(lines, hits, l.index, i.start) != Side::Buyer {
                if seller.iban.as_ref().is_some_and(|s| *s != i.value) {
                    other_ibans += 1;
                }
                seller.iban.get_or_insert(i.value);
            }
        }
        if l.norm.contains("bic") || l.norm.contains("swift") {
            for b in find_bics(&l.raw) {
                if side_of(lines, hits, l.index, b.start) != Side::Buyer {
                    seller.bic.get_or_insert(b.value);
                }
            }
        }
        let (sirets, sirens) = find_siren_siret(&l.raw);
        let french = ["siret", "siren", "rcs", "rsc", "r.c.s"]
            .iter()
            .any(|k| l.norm.contains(k));
        if french {
            for s in sirets {
                let target = match side_of(lines, hits, l.index, s.start) {
                    Side::Buyer => &mut buyer,
                    _ => &mut seller,
                };
                target.siret.get_or_insert(s.value);
            }
            for s in sirens {
                let target = match side_of(lines, hits, l.index, s.start) {
                    Side::Buyer => &mut buyer,
                    _ => &mut seller,
                };
                target.siren.get_or_insert(s.value);
            }
        }
    }
    for p in [&mut seller, &mut buyer] {
        if p.siren.is_none() {
            p.siren = p.siret.as_ref().map(|s| s.siren());
        }
        if let (None, Some(v)) = (&p.siren, &p.vat_id) {
            if v.country() == "FR" {
                p.siren = crate::domain::Siren::parse(&v.as_str()[4..]).ok();
            }
        }
    }
    let mut seller_cands = name_candidates(lines, hits, Side::Seller);
    let mut buyer_cands = name_candidates(lines, hits, Side::Buyer);
    if let Some(e) = envelope::find(lines) {
        by_envelope(&e, &mut seller_cands, &mut buyer_cands);
    }
    let seller_name = best(seller_cands.clone());
    let buyer_name =
        best(buyer_cands).or_else(|| unlabelled_buyer(hits, seller_cands, seller_name.as_ref()));
    seller.name = seller_name.as_ref().map(|s| s.value.clone());
    buyer.name = buyer_name.as_ref().map(|s| s.value.clone());
    Parties {
        seller,
        buyer,
        seller_name,
        buyer_name,
        seller_vat_conf,
        seller_iban_conf: if other_ibans > 0 {
            ONE_OF_SEVERAL_IBANS
        } else {
            ONLY_IBAN
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(
            clean_name(" : WS Retail Services Pvt. Ltd.,").as_deref(),
            Some("WS Retail Services Pvt. Ltd.")
        );
        assert_eq!(clean_name("123 456"), None);
        assert_eq!(
            clean_name("NOM : LE FOURNISSEUR").as_deref(),
            Some("LE FOURNISSEUR")
        );
        assert_eq!(clean_name("seller@seller.com"), None);
        assert_eq!(clean_name("12 rue de la Paix"), None);
        assert_eq!(clean_name("Sarl au capital de 10 000€"), None);
        assert_eq!(clean_name("Montant"), None);
        assert_eq!(
            clean_name("Name:        Kunden AG Mitte").as_deref(),
            Some("Kunden AG Mitte")
        );
        assert!(has_legal_form("Lieferant GmbH"));
        assert!(has_legal_form("Coolblue B.V."));
        assert!(!has_legal_form("Total facture"));
    }
}
