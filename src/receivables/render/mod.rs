//! The issued invoice as a person reads it, in the customer's language: seller and buyer with
//! their identifiers, number and dates, the lines (wrapped, continued on further pages with
//! the header repeated), the VAT per rate, the totals, and the payment terms with the French
//! legal mentions; made a Factur-X PDF/A-3 with the CII XML inside (`pdfa.rs`). A quote (devis)
//! is drawn by the same code (`Paper::Quote`): its validity date instead of the due date, the
//! terms it promises and the customer's "bon pour accord" block, and no XML inside.

pub mod canvas;
pub mod font;
pub mod pdfa;

use canvas::{wrap, Canvas, ACCENT, GREY, INK, PALE, RULE, WHITE, WIDTH};
use font::{bold, regular};

use super::legal::{self, Wording};
use super::{Issuing, SaleKind, Seller};
use crate::ledger::account::Lang;

const LEFT: f64 = 50.0;
const RIGHT: f64 = WIDTH - 50.0;
/// Below this, a new page starts (room for the footer).
const BOTTOM: f64 = 70.0;
/// Right edges of the table's number columns, and the description's width.
const COL_QTY: f64 = 345.0;
const COL_PRICE: f64 = 425.0;
const COL_VAT: f64 = 470.0;
const DESC_WIDTH: f64 = 235.0;

/// What is drawn: an issued sale, or a quote (its `due_date` is then the validity date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    Sale,
    Quote,
}

struct Page<'a> {
    c: Canvas,
    y: f64,
    w: &'a Wording,
    lang: Lang,
    paper: Paper,
}

impl Page<'_> {
    fn table_header(&mut self) {
        let (w, y) = (self.w, self.y);
        self.c.fill(ACCENT, LEFT, y - 6.0, RIGHT - LEFT, 20.0);
        let b = bold();
        self.c.text(b, 8.5, WHITE, LEFT + 6.0, y, w.description);
        self.c.text_right(b, 8.5, WHITE, COL_QTY, y, w.quantity);
        self.c.text_right(b, 8.5, WHITE, COL_PRICE, y, w.unit_price);
        self.c.text_right(b, 8.5, WHITE, COL_VAT, y, w.vat);
        self.c.text_right(b, 8.5, WHITE, RIGHT - 6.0, y, w.amount);
        self.y -= 24.0;
    }

    /// Starts a new page when `need` points do not fit.
    fn room(&mut self, need: f64, header: bool) {
        if self.y - need < BOTTOM {
            self.c.new_page();
            self.y = 790.0;
            if header {
                self.table_header();
            }
        }
    }
}

/// The pages of `issuing`'s invoice or quote (content streams).
pub fn pages(seller: Seller<'_>, issuing: &Issuing, paper: Paper) -> Vec<Vec<u8>> {
    let lang = issuing.customer.details.lang;
    let w = legal::wording(lang);
    let mut p = Page {
        c: Canvas::default(),
        y: 790.0,
        w,
        lang,
        paper,
    };
    p.c.new_page();
    header(&mut p, seller, issuing);
    lines(&mut p, issuing);
    totals(&mut p, issuing);
    payment(&mut p, seller, issuing);
    let count = p.c.pages.len();
    let footer = footer_text(seller);
    for i in 0..count {
        let page_no = format!("{} {}/{count}", w.page, i + 1);
        let footer = footer.clone();
        p.c.on_page(i, |c| {
            c.rule(RULE, 0.5, LEFT, 48.0, RIGHT);
            c.text_center(regular(), 7.0, GREY, 36.0, &footer);
            c.text_right(regular(), 7.0, GREY, RIGHT, 24.0, &page_no);
        });
    }
    p.c.pages
}

fn footer_text(seller: Seller<'_>) -> String {
    let c = seller.company;
    let s = seller.sales;
    let mut parts = vec![c.name.clone()];
    parts.extend(s.legal_form.clone());
    match (&s.registry, &c.siren) {
        (Some(r), Some(siren)) => parts.push(format!("{r} {siren}")),
        (None, Some(siren)) => parts.push(format!("SIREN {siren}")),
        _ => {}
    }
    parts.extend(c.vat_id.as_ref().map(|v| format!("TVA {v}")));
    parts.extend(s.email.clone());
    parts.join(" · ")
}

fn header(p: &mut Page<'_>, seller: Seller<'_>, issuing: &Issuing) {
    let (w, lang) = (p.w, p.lang);
    let c = seller.company;
    let s = seller.sales;
    let inv = &issuing.invoice;
    p.c.text(bold(), 16.0, ACCENT, LEFT, 790.0, &c.name);
    let mut y = 774.0;
    let mut small = |p: &mut Page<'_>, text: &str| {
        p.c.text(regular(), 8.5, GREY, LEFT, y, text);
        y -= 11.0;
    };
    small(p, &s.address);
    small(p, &format!("{} {}", s.postcode, s.city));
    if let Some(siren) = &c.siren {
        small(p, &format!("{} {siren}", w.siren));
    }
    if let Some(v) = &c.vat_id {
        small(p, &format!("{} {v}", w.vat_id));
    }
    if let Some(e) = &s.email {
        small(p, e);
    }
    let title = title(p.paper, inv.kind, w);
    p.c.text_right(bold(), 22.0, INK, RIGHT, 786.0, title);
    let number = inv.number.clone().unwrap_or_default();
    p.c.text_right(
        bold(),
        11.0,
        INK,
        RIGHT,
        766.0,
        &format!("{} {number}", w.number),
    );
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| legal::date(d, lang)).unwrap_or_default();
    p.c.text_right(
        regular(),
        9.0,
        INK,
        RIGHT,
        752.0,
        &format!("{} : {}", w.date, day(inv.issue_date)),
    );
    if inv.kind == SaleKind::Invoice {
        let label = match p.paper {
            Paper::Sale => w.due,
            Paper::Quote => w.valid_until,
        };
        p.c.text_right(
            regular(),
            9.0,
            INK,
            RIGHT,
            740.0,
            &format!("{label} : {}", day(inv.due_date)),
        );
    }
    // The buyer.
    let b = &issuing.customer.details;
    let mut rows: Vec<(bool, String)> = vec![(true, b.name.clone())];
    rows.push((false, b.address.line.clone()));
    rows.push((
        false,
        format!(
            "{} {} {}",
            b.address.postcode, b.address.city, b.address.country
        ),
    ));
    if let Some(siren) = &b.siren {
        rows.push((false, format!("{} {siren}", w.siren)));
    }
    if let Some(v) = &b.vat_id {
        rows.push((false, format!("{} {v}", w.vat_id)));
    }
    rows.push((
        false,
        format!("{} {}", w.customer_account, issuing.customer.account),
    ));
    let top = 712.0;
    let height = 22.0 + 11.5 * rows.len() as f64;
    p.c.fill(PALE, 320.0, top - height, RIGHT - 320.0, height + 8.0);
    let to = match p.paper {
        Paper::Sale => w.bill_to,
        Paper::Quote => w.quote_for,
    };
    p.c.text(regular(), 7.5, GREY, 330.0, top - 4.0, to);
    let mut by = top - 18.0;
    for (strong, text) in rows {
        let f = if strong { bold() } else { regular() };
        p.c.text(f, if strong { 10.0 } else { 8.5 }, INK, 330.0, by, &text);
        by -= 11.5;
    }
    p.y = (top - height - 30.0).min(y - 20.0);
    if let Some(orig) = &issuing.credited {
        let text = format!(
            "{} {} ({})",
            w.credits_invoice,
            orig.number.as_deref().unwrap_or_default(),
            day(orig.issue_date)
        );
        p.c.text(bold(), 9.5, INK, LEFT, p.y, &text);
        p.y -= 20.0;
    }
}

fn lines(p: &mut Page<'_>, issuing: &Issuing) {
    let inv = &issuing.invoice;
    let cur = inv.currency.as_str();
    let lang = p.lang;
    p.table_header();
    let totals = inv.totals();
    for (l, net) in inv.lines.iter().zip(&totals.lines) {
        let text = wrap(regular(), 9.0, DESC_WIDTH, &l.description);
        let need = 12.0 * text.len() as f64 + 8.0;
        p.room(need, true);
        let y = p.y;
        for (i, t) in text.iter().enumerate() {
            p.c.text(regular(), 9.0, INK, LEFT + 6.0, y - 12.0 * i as f64, t);
        }
        p.c.text_right(
            regular(),
            9.0,
            INK,
            COL_QTY,
            y,
            &legal::number(l.quantity, lang),
        );
        p.c.text_right(
            regular(),
            9.0,
            INK,
            COL_PRICE,
            y,
            &legal::money(l.unit_price, cur, lang),
        );
        p.c.text_right(
            regular(),
            9.0,
            INK,
            COL_VAT,
            y,
            &format!("{} %", legal::number(l.vat_rate, lang)),
        );
        p.c.text_right(
            regular(),
            9.0,
            INK,
            RIGHT - 6.0,
            y,
            &legal::money(*net, cur, lang),
        );
        p.y -= need;
        p.c.rule(RULE, 0.5, LEFT, p.y + 10.0, RIGHT);
    }
    if let Some(note) = &inv.note {
        let text = wrap(regular(), 8.5, RIGHT - LEFT, note);
        p.room(12.0 * text.len() as f64 + 6.0, false);
        for t in text {
            p.c.text(regular(), 8.5, GREY, LEFT, p.y, &t);
            p.y -= 12.0;
        }
    }
}

fn totals(p: &mut Page<'_>, issuing: &Issuing) {
    let (w, lang) = (p.w, p.lang);
    let inv = &issuing.invoice;
    let cur = inv.currency.as_str();
    let t = inv.totals();
    let need = 30.0 + 14.0 * (t.by_rate.len().max(3) as f64 + 2.0);
    p.room(need, false);
    p.y -= 8.0;
    let top = p.y;
    // VAT per rate, at the left.
    p.c.text(bold(), 8.5, INK, LEFT, top, w.vat_summary);
    let mut y = top - 14.0;
    p.c.text(regular(), 7.5, GREY, LEFT, y, w.vat);
    p.c.text_right(regular(), 7.5, GREY, LEFT + 140.0, y, w.base);
    p.c.text_right(regular(), 7.5, GREY, LEFT + 220.0, y, w.vat);
    for r in &t.by_rate {
        y -= 13.0;
        p.c.text(
            regular(),
            8.5,
            INK,
            LEFT,
            y,
            &format!("{} %", legal::number(r.rate, lang)),
        );
        p.c.text_right(
            regular(),
            8.5,
            INK,
            LEFT + 140.0,
            y,
            &legal::money(r.base, cur, lang),
        );
        p.c.text_right(
            regular(),
            8.5,
            INK,
            LEFT + 220.0,
            y,
            &legal::money(r.tax, cur, lang),
        );
    }
    if let Some(m) = &inv.vat_exemption {
        for line in wrap(regular(), 8.0, 230.0, m) {
            y -= 13.0;
            p.c.text(regular(), 8.0, INK, LEFT, y, &line);
        }
    }
    // Totals, at the right.
    let mut ty = top;
    for (label, amount) in [(w.total_net, t.net), (w.total_vat, t.tax)] {
        p.c.text(regular(), 9.0, INK, 350.0, ty, label);
        p.c.text_right(
            regular(),
            9.0,
            INK,
            RIGHT - 6.0,
            ty,
            &legal::money(amount, cur, lang),
        );
        ty -= 15.0;
    }
    p.c.text(bold(), 9.5, INK, 350.0, ty, w.total_gross);
    p.c.text_right(
        bold(),
        9.5,
        INK,
        RIGHT - 6.0,
        ty,
        &legal::money(t.gross, cur, lang),
    );
    ty -= 24.0;
    p.c.fill(ACCENT, 340.0, ty - 7.0, RIGHT - 340.0, 22.0);
    let due = match (p.paper, inv.kind) {
        (Paper::Quote, _) => w.quote_total,
        (Paper::Sale, SaleKind::Invoice) => w.to_pay,
        (Paper::Sale, SaleKind::CreditNote) => w.to_refund,
    };
    p.c.text(bold(), 10.5, WHITE, 350.0, ty, due);
    p.c.text_right(
        bold(),
        10.5,
        WHITE,
        RIGHT - 6.0,
        ty,
        &legal::money(t.gross, cur, lang),
    );
    p.y = y.min(ty) - 30.0;
}

fn payment(p: &mut Page<'_>, seller: Seller<'_>, issuing: &Issuing) {
    let (w, lang) = (p.w, p.lang);
    let inv = &issuing.invoice;
    let mut text = Vec::new();
    if p.paper == Paper::Quote {
        text.push(format!(
            "{} : {} {}.",
            w.payment, issuing.customer.details.payment_terms_days, w.quote_terms
        ));
    } else if inv.kind == SaleKind::Invoice {
        let due = inv
            .due_date
            .map(|d| legal::date(d, lang))
            .unwrap_or_default();
        text.push(format!(
            "{} : {} {} ({} {due}).",
            w.payment,
            issuing.customer.details.payment_terms_days,
            w.terms_days,
            w.due.to_lowercase()
        ));
        if let Some(iban) = &seller.company.iban {
            let bic = seller
                .company
                .bic
                .as_ref()
                .map(|b| format!(" · BIC {b}"))
                .unwrap_or_default();
            text.push(format!("{} {}{bic}", w.iban, spaced(iban.as_str())));
        }
    }
    text.push(match seller.sales.late_penalty_percent {
        Some(r) => format!("{} {} %.", w.penalty_rate, legal::number(r, lang)),
        None => w.penalty_default.to_string(),
    });
    text.push(w.indemnity.to_string());
    text.push(w.no_discount.to_string());
    let lines: Vec<String> = text
        .iter()
        .flat_map(|t| wrap(regular(), 8.0, RIGHT - LEFT, t))
        .collect();
    p.room(16.0 + 11.0 * lines.len() as f64, false);
    p.c.rule(RULE, 0.5, LEFT, p.y + 12.0, RIGHT);
    for l in lines {
        p.c.text(regular(), 8.0, INK, LEFT, p.y, &l);
        p.y -= 11.0;
    }
    if p.paper == Paper::Quote {
        // Room for the customer's signature under the acceptance words.
        let words = wrap(bold(), 8.5, RIGHT - 320.0, w.acceptance);
        p.room(24.0 + 12.0 * words.len() as f64 + 60.0, false);
        p.y -= 14.0;
        for l in words {
            p.c.text(bold(), 8.5, INK, 320.0, p.y, &l);
            p.y -= 12.0;
        }
        p.c.fill(PALE, 320.0, p.y - 60.0, RIGHT - 320.0, 56.0);
        p.y -= 64.0;
    }
}

fn title(paper: Paper, kind: SaleKind, w: &Wording) -> &'static str {
    match (paper, kind) {
        (Paper::Quote, _) => w.quote,
        (Paper::Sale, SaleKind::Invoice) => w.invoice,
        (Paper::Sale, SaleKind::CreditNote) => w.credit_note,
    }
}

/// An IBAN in groups of four.
fn spaced(iban: &str) -> String {
    iban.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Factur-X PDF of `issuing`, with `xml` (its CII in `profile`) inside.
pub fn facturx_pdf(
    seller: Seller<'_>,
    issuing: &Issuing,
    xml: &str,
    profile: super::FacturxProfile,
) -> Result<Vec<u8>, lopdf::Error> {
    let w = legal::wording(issuing.customer.details.lang);
    let title = title(Paper::Sale, issuing.invoice.kind, w);
    let number = issuing.invoice.number.clone().unwrap_or_default();
    let meta = pdfa::Meta {
        title: &format!("{} {number}", title),
        author: &seller.company.name,
        level: profile.conformance_level(),
        created: issuing
            .invoice
            .issue_date
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_else(crate::domain::now_micros),
    };
    pdfa::assemble(pages(seller, issuing, Paper::Sale), Some(xml), &meta)
}

/// The PDF/A-3 of a quote laid out as `issuing` (number, date, validity as due date): the same
/// page as an invoice, titled DEVIS / QUOTE, with no XML inside (a quote is not an invoice).
pub fn quote_pdf(seller: Seller<'_>, issuing: &Issuing) -> Result<Vec<u8>, lopdf::Error> {
    let w = legal::wording(issuing.customer.details.lang);
    let number = issuing.invoice.number.clone().unwrap_or_default();
    let meta = pdfa::Meta {
        title: &format!("{} {number}", w.quote),
        author: &seller.company.name,
        level: "",
        created: issuing
            .invoice
            .issue_date
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_else(crate::domain::now_micros),
    };
    pdfa::assemble(pages(seller, issuing, Paper::Quote), None, &meta)
}
