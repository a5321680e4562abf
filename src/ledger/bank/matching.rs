//! Which supplier invoice a statement line pays: `decide` is pure and answers one of three
//! things, in this order:
//!
//! 1. **Already booked.** A payment the ledger has but no statement line has claimed yet (a
//!    payment run books its transfers when it writes the order; `facteur pay` books at once), of
//!    the same amount, whose reference (the run id) or invoice number the line carries. The line
//!    is linked to it; nothing is posted.
//! 2. **Pay.** The open invoices whose number the line's references contain: one of them, owed at
//!    least the line's amount (a partial payment leaves the rest open), is paid; several are
//!    narrowed to those owed exactly the amount. With no number found, an open invoice owed
//!    exactly the amount whose supplier's IBAN is the line's counterparty's, when it is the only
//!    one.
//! 3. **Wait** for a person, with the reason: money in, another currency, no candidate, several.
//!
//! Money in is matched to the customer invoices the company issued by `decide_receipt`, with the
//! same rules of step 2 (`pick`): the invoice number in the reference, else the only open invoice
//! of the payer owed exactly the amount.
//!
//! An invoice number is found in a reference when its letters and digits appear there in a row,
//! not glued to more digits (`FA-2026-0042` is in `Facture FA 2026 0042`, not in `FA2026-00421`);
//! numbers shorter than 3 such characters are too common to count.

use rust_decimal::Decimal;

use super::StatementLine;
use crate::domain::{Currency, DocumentId};

/// An invoice something is still owed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvoice {
    pub document: DocumentId,
    /// The invoice number (the entry's PieceRef).
    pub number: String,
    pub open: Decimal,
    /// The supplier's IBAN as the invoice shows it.
    pub iban: Option<String>,
}

/// A payment in the ledger no statement line is linked to yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedPayment {
    pub entry: i64,
    pub document: DocumentId,
    /// The payment's PieceRef (a payment run's id, the bank reference given to `pay`).
    pub piece_ref: String,
    /// The paid invoice's number.
    pub number: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Link the line to this payment, already in the ledger.
    Booked { entry: i64, document: DocumentId },
    /// Pay this invoice with the line; `rule` says why.
    Pay {
        document: DocumentId,
        rule: &'static str,
    },
    /// A person decides.
    Wait(String),
}

/// Letters and digits, upper case, each with whether a separator came just before it.
fn squeeze(s: &str) -> Vec<(char, bool)> {
    let mut out = Vec::new();
    let mut gap = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push((c.to_ascii_uppercase(), gap));
            gap = false;
        } else {
            gap = true;
        }
    }
    out
}

/// Whether `number` appears in `text` (see the module's doc).
pub fn mentions(text: &str, number: &str) -> bool {
    let t = squeeze(text);
    let n: Vec<char> = squeeze(number).into_iter().map(|(c, _)| c).collect();
    if n.len() < 3 || n.len() > t.len() {
        return false;
    }
    let digit = |c: char| c.is_ascii_digit();
    (0..=t.len() - n.len()).any(|i| {
        t[i..i + n.len()]
            .iter()
            .map(|(c, _)| *c)
            .eq(n.iter().copied())
            && !(digit(n[0]) && i > 0 && digit(t[i - 1].0) && !t[i].1)
            && !(digit(n[n.len() - 1])
                && t.get(i + n.len()).is_some_and(|&(c, gap)| digit(c) && !gap))
    })
}

/// What to do with `line` (see the module's doc).
pub fn decide(
    line: &StatementLine,
    ledger_currency: Currency,
    invoices: &[OpenInvoice],
    booked: &[BookedPayment],
) -> Decision {
    if line.amount >= Decimal::ZERO {
        return Decision::Wait(
            "money in: only payments out are matched to supplier invoices".into(),
        );
    }
    if line.currency != ledger_currency {
        return Decision::Wait(format!(
            "in {}, the ledger is in {ledger_currency}",
            line.currency
        ));
    }
    if line.reversal {
        return Decision::Wait("the bank reverses an earlier entry".into());
    }
    let paid = -line.amount;
    let refs = line.all_references();
    let known: Vec<&BookedPayment> = booked
        .iter()
        .filter(|b| {
            b.amount == paid && (mentions(&refs, &b.piece_ref) || mentions(&refs, &b.number))
        })
        .collect();
    if let [b] = known[..] {
        return Decision::Booked {
            entry: b.entry,
            document: b.document,
        };
    }
    let candidates: Vec<Candidate<'_>> = invoices
        .iter()
        .map(|i| Candidate {
            number: &i.number,
            open: i.open,
            party: i.iban.is_some() && i.iban == line.counterparty_iban,
        })
        .collect();
    match pick(&refs, paid, &candidates, &SUPPLIER_IBAN) {
        Ok((k, rule)) => Decision::Pay {
            document: invoices[k].document,
            rule,
        },
        Err(why) => Decision::Wait(why),
    }
}

/// An open item as `pick` sees it, whoever owes it.
struct Candidate<'a> {
    number: &'a str,
    open: Decimal,
    /// The line's counterparty is this item's party (the supplier's IBAN, the customer's name).
    party: bool,
}

/// How the party of a line is recognised, in words.
struct PartyRule {
    /// The rule's name when the amount and the party decide.
    rule: &'static str,
    /// What was missing when several items are owed the amount.
    missing: &'static str,
}

const SUPPLIER_IBAN: PartyRule = PartyRule {
    rule: "the amount and the supplier's IBAN",
    missing: "with the counterparty's IBAN",
};

const CUSTOMER_NAME: PartyRule = PartyRule {
    rule: "the amount and the customer's name",
    missing: "from the counterparty",
};

/// The rules of step 2 (see the module's doc), the same for suppliers and customers: the item
/// the references name (partial payments leave the rest open; several named are narrowed to the
/// one owed exactly the amount), else the only item of the line's party owed exactly the amount.
/// The index of the item and the rule, or why the line waits.
fn pick(
    refs: &str,
    paid: Decimal,
    items: &[Candidate<'_>],
    party: &PartyRule,
) -> Result<(usize, &'static str), String> {
    let named: Vec<usize> = (0..items.len())
        .filter(|&k| mentions(refs, items[k].number))
        .collect();
    match named[..] {
        [k] if paid <= items[k].open => return Ok((k, "invoice number in the reference")),
        [k] => {
            return Err(format!(
                "pays {paid} on invoice {}, which has {} open",
                items[k].number, items[k].open
            ))
        }
        [] => {}
        _ => {
            let exact: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&k| items[k].open == paid)
                .collect();
            if let [k] = exact[..] {
                return Ok((k, "invoice number in the reference and the amount"));
            }
            let list: Vec<&str> = named.iter().map(|&k| items[k].number).collect();
            return Err(format!(
                "the reference names several open invoices: {}",
                list.join(", ")
            ));
        }
    }
    let by_amount: Vec<usize> = (0..items.len())
        .filter(|&k| items[k].open == paid)
        .collect();
    let by_party: Vec<usize> = by_amount
        .iter()
        .copied()
        .filter(|&k| items[k].party)
        .collect();
    match (by_amount.len(), &by_party[..]) {
        (_, [k]) => Ok((*k, party.rule)),
        (0, _) => Err(format!(
            "no open invoice is named in the reference or owed {paid}"
        )),
        (n, _) => Err(format!(
            "{n} open invoice(s) owed {paid}, none named in the reference {}",
            party.missing
        )),
    }
}

/// An issued customer invoice something is still owed on (from the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSale {
    pub sale: i64,
    pub number: String,
    pub open: Decimal,
    /// The customer's legal name, to recognise the payer of a line that names no invoice.
    pub customer: String,
}

/// What to do with a line of money in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// The line pays (part of) this customer invoice; `rule` says why.
    Pay { sale: i64, rule: &'static str },
    /// A person decides; the reason starts with "money in".
    Wait(String),
}

/// Which issued invoice a line of money in pays: the same rules as supplier payments (`pick`),
/// the customer being recognised by its name (folded as duplicate detection folds legal names:
/// `Boulangerie Martin S.A.R.L.` = `BOULANGERIE MARTIN SARL`) since a customer's IBAN is not
/// known beforehand.
pub fn decide_receipt(
    line: &StatementLine,
    ledger_currency: Currency,
    sales: &[OpenSale],
) -> Receipt {
    let wait = |why: String| Receipt::Wait(format!("money in: {why}"));
    if line.amount <= Decimal::ZERO {
        return wait("this line is not money in".into());
    }
    if line.currency != ledger_currency {
        return wait(format!(
            "in {}, the ledger is in {ledger_currency}",
            line.currency
        ));
    }
    if line.reversal {
        return wait("the bank reverses an earlier entry".into());
    }
    let payer = line
        .counterparty
        .as_deref()
        .map(crate::dedupe::keys::name_key)
        .filter(|k| !k.is_empty());
    let candidates: Vec<Candidate<'_>> = sales
        .iter()
        .map(|s| Candidate {
            number: &s.number,
            open: s.open,
            party: payer.is_some()
                && payer.as_deref() == Some(crate::dedupe::keys::name_key(&s.customer).as_str()),
        })
        .collect();
    match pick(
        &line.all_references(),
        line.amount,
        &candidates,
        &CUSTOMER_NAME,
    ) {
        Ok((k, rule)) => Receipt::Pay {
            sale: sales[k].sale,
            rule,
        },
        Err(why) => wait(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn line(amount: Decimal, reference: &str, iban: Option<&str>) -> StatementLine {
        StatementLine {
            counterparty_iban: iban.map(str::to_string),
            ..super::super::sample(amount, reference)
        }
    }

    fn inv(doc: i64, number: &str, open: Decimal, iban: Option<&str>) -> OpenInvoice {
        OpenInvoice {
            document: DocumentId(doc),
            number: number.into(),
            open,
            iban: iban.map(str::to_string),
        }
    }

    #[test]
    fn numbers_are_found_whole() {
        assert!(mentions("Facture FA 2026 0042", "FA-2026-0042"));
        assert!(mentions("VIR SEPA /INV 2026-17/", "2026-17"));
        assert!(!mentions("FA2026-00421", "FA-2026-0042"));
        assert!(!mentions("12026-17", "2026-17"));
        assert!(!mentions("facture 42", "42"), "too short to count");
        assert!(
            mentions("RUN-20261104-7", "RUN-20261104"),
            "a run's end-to-end id"
        );
    }

    #[test]
    fn a_line_pays_the_invoice_it_names_or_the_only_one_owed_its_amount_to_its_iban() {
        let open = [
            inv(1, "FA-2026-0042", dec!(1481.40), Some("FR76A")),
            inv(2, "F-17", dec!(120.00), Some("FR76B")),
            inv(3, "F-18", dec!(120.00), Some("FR76C")),
        ];
        let pay = |l: &StatementLine| decide(l, Currency::EUR, &open, &[]);
        assert_eq!(
            pay(&line(dec!(-1000), "Facture FA-2026-0042", None)),
            Decision::Pay {
                document: DocumentId(1),
                rule: "invoice number in the reference"
            },
            "a partial payment"
        );
        assert!(matches!(
            pay(&line(dec!(-1500), "FA-2026-0042", None)),
            Decision::Wait(w) if w.contains("1481.40 open")
        ));
        assert_eq!(
            pay(&line(dec!(-120), "virement", Some("FR76C"))),
            Decision::Pay {
                document: DocumentId(3),
                rule: "the amount and the supplier's IBAN"
            }
        );
        assert!(matches!(
            pay(&line(dec!(-120), "virement", None)),
            Decision::Wait(w) if w.starts_with("2 open invoice(s) owed 120")
        ));
        assert!(matches!(
            pay(&line(dec!(-120), "F-17 F-18", None)),
            Decision::Wait(w) if w.contains("several")
        ));
        assert!(
            matches!(pay(&line(dec!(120), "F-17", None)), Decision::Wait(w) if w.starts_with("money in"))
        );
        assert!(
            matches!(pay(&line(dec!(-5), "x", None)), Decision::Wait(w) if w.starts_with("no open invoice"))
        );
    }

    #[test]
    fn a_payment_the_ledger_has_is_linked_not_paid_again() {
        let booked = [BookedPayment {
            entry: 9,
            document: DocumentId(4),
            piece_ref: "RUN-20261104".into(),
            number: "FA-2026-0412".into(),
            amount: dec!(259.56),
        }];
        let mut l = line(dec!(-259.56), "FA-2026-0412", None);
        assert_eq!(
            decide(&l, Currency::EUR, &[], &booked),
            Decision::Booked {
                entry: 9,
                document: DocumentId(4)
            }
        );
        l.amount = dec!(-259.57);
        assert!(matches!(
            decide(&l, Currency::EUR, &[], &booked),
            Decision::Wait(_)
        ));
    }

    #[test]
    fn money_in_pays_the_customer_invoice_it_names_or_the_payers_only_one_of_its_amount() {
        let sale = |id: i64, number: &str, open: Decimal, customer: &str| OpenSale {
            sale: id,
            number: number.into(),
            open,
            customer: customer.into(),
        };
        let open = [
            sale(1, "FA-2026-00001", dec!(1701.24), "Boulangerie Martin SARL"),
            sale(2, "FA-2026-00002", dec!(240.00), "Boulangerie Martin SARL"),
            sale(3, "FA-2026-00003", dec!(240.00), "Café du Port"),
        ];
        let from = |amount: Decimal, reference: &str, payer: Option<&str>| StatementLine {
            counterparty: payer.map(str::to_string),
            ..super::super::sample(amount, reference)
        };
        let receipt = |l: &StatementLine| decide_receipt(l, Currency::EUR, &open);
        assert_eq!(
            receipt(&from(dec!(1000), "VIR FACTURE FA 2026 00001", None)),
            Receipt::Pay {
                sale: 1,
                rule: "invoice number in the reference"
            },
            "a partial payment"
        );
        assert_eq!(
            receipt(&from(dec!(240), "virement", Some("CAFE DU PORT"))),
            Receipt::Pay {
                sale: 3,
                rule: "the amount and the customer's name"
            }
        );
        assert!(matches!(
            receipt(&from(dec!(240), "virement", Some("Someone Else"))),
            Receipt::Wait(w) if w == "money in: 2 open invoice(s) owed 240, none named in the reference from the counterparty"
        ));
        assert!(matches!(
            receipt(&from(dec!(2000), "FA-2026-00001", None)),
            Receipt::Wait(w) if w.contains("1701.24 open")
        ));
        assert!(matches!(
            receipt(&from(dec!(-240), "FA-2026-00002", None)),
            Receipt::Wait(w) if w.starts_with("money in")
        ));
    }
}
