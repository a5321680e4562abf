//! CAMT.053 (ISO 20022 Bank-to-Customer Statement, camt.053.001.02 and later versions read the
//! same way): `Document/BkToCstmrStmt/Stmt/Ntry`. Read with the same safe XML tree as
//! e-invoices (read/einvoice/xml: no DTD, size and depth capped, only the predefined entities).
//!
//! Only booked entries (`Sts` BOOK) become lines; pending and information-only ones are listed
//! as skipped. An entry that batches several transactions (`NtryDtls/TxDtls` with their own
//! amounts, as a payment run's batch booking does) becomes one line per transaction; else the
//! entry is one line. Debits (`CdtDbtInd` DBIT) are negative. The counterparty is the creditor
//! of a debit and the debtor of a credit.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{clean, hash_keys, parse_amount, BankError, Statement, StatementLine, MAX_LINES};
use crate::domain::Currency;
use crate::read::einvoice::xml::{self, Element};

/// Reads a camt.053 document.
pub fn parse(bytes: &[u8]) -> Result<Statement, BankError> {
    let bad = |s: String| BankError::Camt(s);
    let tree = xml::parse(bytes).map_err(|e| bad(e.to_string()))?;
    let root = tree.root();
    if root.name() != "Document" {
        return Err(bad(format!("the root element is <{}>", root.name())));
    }
    if let Some(ns) = tree.namespace() {
        if !ns.contains("camt.053") {
            return Err(bad(format!("the namespace is {ns}")));
        }
    }
    let Some(report) = root.child("BkToCstmrStmt") else {
        return Err(bad("no <BkToCstmrStmt> under <Document>".into()));
    };
    let msg_id = report.text_at(&["GrpHdr", "MsgId"]);
    let mut out = Statement {
        format: "camt.053",
        iban: None,
        lines: Vec::new(),
        skipped: Vec::new(),
    };
    for stmt in report.all("Stmt") {
        let stmt_id = stmt.text_at(&["Id"]).or_else(|| msg_id.clone());
        let iban = stmt.text_at(&["Acct", "Id", "IBAN"]).map(|i| compact(&i));
        if out.iban.is_none() {
            out.iban = iban.clone();
        } else if iban.is_some() && iban != out.iban {
            return Err(bad(format!(
                "statements of two accounts in one file ({} and {}): import one account at a time",
                out.iban.as_deref().unwrap_or_default(),
                iban.unwrap_or_default()
            )));
        }
        let scope = iban.clone().unwrap_or_else(|| "-".into());
        for (n, ntry) in stmt.all("Ntry").enumerate() {
            let at = || {
                format!(
                    "statement {} entry {}",
                    stmt_id.as_deref().unwrap_or("?"),
                    n + 1
                )
            };
            let status = ntry
                .text_at(&["Sts", "Cd"])
                .or_else(|| ntry.text_at(&["Sts"]))
                .unwrap_or_default();
            if status != "BOOK" {
                out.skipped
                    .push(format!("{}: status {status}, not booked", at()));
                continue;
            }
            entry_lines(ntry, &scope, &mut out.lines).map_err(|e| bad(format!("{}: {e}", at())))?;
            if out.lines.len() > MAX_LINES {
                return Err(BankError::TooManyLines);
            }
        }
    }
    hash_keys(&mut out.lines);
    Ok(out)
}

/// An IBAN without spaces, upper case.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn date_of(e: Option<Element<'_>>) -> Option<NaiveDate> {
    let e = e?;
    let text = e.text_at(&["Dt"]).or_else(|| e.text_at(&["DtTm"]))?;
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// Amount and currency of an `Amt`-like element.
fn amount_of(e: Element<'_>) -> Result<(Decimal, Currency), String> {
    let amount = e
        .trimmed()
        .and_then(parse_amount)
        .filter(|a| !a.is_sign_negative())
        .ok_or_else(|| format!("amount '{}' is not a positive decimal", e.text().trim()))?;
    let currency = e
        .attr("Ccy")
        .ok_or("an amount without its Ccy")?
        .parse::<Currency>()
        .map_err(|e| e.to_string())?;
    Ok((amount, currency))
}

/// Appends the lines of one booked entry.
fn entry_lines(ntry: Element<'_>, scope: &str, out: &mut Vec<StatementLine>) -> Result<(), String> {
    let (total, currency) = amount_of(ntry.child("Amt").ok_or("no <Amt>")?)?;
    let debit = match ntry.text_at(&["CdtDbtInd"]).as_deref() {
        Some("DBIT") => true,
        Some("CRDT") => false,
        other => return Err(format!("CdtDbtInd {other:?} is neither DBIT nor CRDT")),
    };
    let reversal = ntry.text_at(&["RvslInd"]).as_deref() == Some("true");
    let booking = date_of(ntry.child("BookgDt")).ok_or("no booking date <BookgDt>")?;
    let value = date_of(ntry.child("ValDt"));
    let entry_ref = ntry
        .text_at(&["AcctSvcrRef"])
        .or_else(|| ntry.text_at(&["NtryRef"]));
    let details: Vec<Element<'_>> = ntry.all("NtryDtls").flat_map(|d| d.all("TxDtls")).collect();
    let split = details.len() > 1;
    let parts: Vec<Option<Element<'_>>> = if details.is_empty() {
        vec![None]
    } else if split {
        details.into_iter().map(Some).collect()
    } else {
        vec![details.first().copied()]
    };
    let count = parts.len();
    let mut sum = Decimal::ZERO;
    for (i, tx) in parts.into_iter().enumerate() {
        let (amount, ccy) = match tx.and_then(|t| {
            t.path(&["AmtDtls", "TxAmt", "Amt"])
                .or_else(|| t.child("Amt"))
        }) {
            Some(a) if split => amount_of(a)?,
            _ => (total, currency),
        };
        if ccy != currency {
            return Err(format!(
                "a transaction in {ccy} inside an entry in {currency}: not supported"
            ));
        }
        sum += amount;
        let tx_ref = tx.and_then(|t| t.text_at(&["Refs", "AcctSvcrRef"]));
        let key = match (tx_ref, &entry_ref) {
            (Some(r), _) => format!("{scope}/{r}"),
            (None, Some(r)) if count > 1 => format!("{scope}/{r}#{}", i + 1),
            (None, Some(r)) => format!("{scope}/{r}"),
            (None, None) => String::new(),
        };
        let t = tx.unwrap_or(xml::EMPTY);
        let remittance: Vec<String> = t
            .path(&["RmtInf"])
            .map(|r| {
                r.all("Ustrd")
                    .filter_map(|u| u.value())
                    .chain(r.all("Strd").filter_map(|s| {
                        s.text_at(&["CdtrRefInf", "Ref"])
                            .or_else(|| s.text_at(&["AddtlRmtInf"]))
                    }))
                    .collect()
            })
            .unwrap_or_default();
        let reference = if remittance.is_empty() {
            t.text_at(&["AddtlTxInf"])
                .or_else(|| ntry.text_at(&["AddtlNtryInf"]))
                .unwrap_or_default()
        } else {
            remittance.join(" ")
        };
        let (party, account) = if debit {
            ("Cdtr", "CdtrAcct")
        } else {
            ("Dbtr", "DbtrAcct")
        };
        let parties = t.child("RltdPties").unwrap_or(xml::EMPTY);
        let not_provided = |s: String| (s != "NOTPROVIDED").then_some(s);
        out.push(StatementLine {
            booking_date: booking,
            value_date: value,
            amount: if debit { -amount } else { amount },
            currency,
            reference: clean(&reference),
            counterparty: parties.text_at(&[party, "Nm"]).map(|s| clean(&s)),
            counterparty_iban: parties
                .text_at(&[account, "Id", "IBAN"])
                .map(|s| compact(&s)),
            bank_ref: t
                .text_at(&["Refs", "AcctSvcrRef"])
                .or_else(|| entry_ref.clone())
                .map(|s| clean(&s)),
            end_to_end: t
                .text_at(&["Refs", "EndToEndId"])
                .and_then(not_provided)
                .map(|s| clean(&s)),
            batch_ref: t
                .text_at(&["Refs", "PmtInfId"])
                .or_else(|| t.text_at(&["Refs", "MsgId"]))
                .or_else(|| ntry.text_at(&["NtryDtls", "Btch", "PmtInfId"]))
                .and_then(not_provided)
                .map(|s| clean(&s)),
            reversal,
            key,
        });
    }
    if split && sum != total {
        return Err(format!(
            "its transactions add up to {sum}, the entry says {total}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const ONE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-04-16T08:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id><CreDtTm>2026-04-16T08:00:00</CreDtTm>
   <Acct><Id><IBAN>FR14 2004 1010 0505 0001 3M02 606</IBAN></Id></Acct>
   <Ntry><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-04-01</Dt></BookgDt><ValDt><Dt>2026-04-01</Dt></ValDt>
    <AcctSvcrRef>B1</AcctSvcrRef>
    <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Cdtr><Nm>ACME  Fournitures</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></CdtrAcct></RltdPties>
     <RmtInf><Ustrd>Facture FA-2026-0042</Ustrd></RmtInf></TxDtls></NtryDtls>
   </Ntry>
   <Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-04-02</Dt></BookgDt><AcctSvcrRef>B2</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><Refs><AcctSvcrRef>B2-1</AcctSvcrRef><PmtInfId>RUN-1</PmtInfId><EndToEndId>RUN-1-7</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls></TxDtls>
     <TxDtls><Refs><EndToEndId>RUN-1-8</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">20.00</Amt></TxAmt></AmtDtls></TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
    <BookgDt><Dt>2026-04-03</Dt></BookgDt></Ntry>
   <Ntry><Amt Ccy="EUR">7.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-04-03</Dt></BookgDt><AddtlNtryInf>Interets</AddtlNtryInf></Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"#;

    #[test]
    fn booked_entries_become_signed_lines_and_a_batch_its_transactions() {
        let s = parse(ONE.as_bytes()).unwrap();
        assert_eq!(s.iban.as_deref(), Some("FR1420041010050500013M02606"));
        assert_eq!(s.lines.len(), 4);
        assert_eq!(s.skipped.len(), 1);
        let l = &s.lines[0];
        assert_eq!(l.amount, dec!(-1000.00));
        assert_eq!(l.reference, "Facture FA-2026-0042");
        assert_eq!(l.counterparty.as_deref(), Some("ACME Fournitures"));
        assert_eq!(
            l.counterparty_iban.as_deref(),
            Some("FR7630006000011234567890189")
        );
        assert_eq!(l.end_to_end, None, "NOTPROVIDED is no reference");
        assert_eq!(l.key, "FR1420041010050500013M02606/B1");
        let (a, b) = (&s.lines[1], &s.lines[2]);
        assert_eq!((a.amount, b.amount), (dec!(-10.00), dec!(-20.00)));
        assert_eq!(a.key, "FR1420041010050500013M02606/B2-1");
        assert_eq!(b.key, "FR1420041010050500013M02606/B2#2");
        assert_eq!(a.batch_ref.as_deref(), Some("RUN-1"));
        assert_eq!(b.end_to_end.as_deref(), Some("RUN-1-8"));
        let c = &s.lines[3];
        assert_eq!((c.amount, c.reference.as_str()), (dec!(7.50), "Interets"));
        assert!(c.key.starts_with("h:"), "no bank reference: a hash");
    }

    #[test]
    fn hostile_or_wrong_documents_are_refused_with_the_reason() {
        let dtd = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"y\">]><Document/>";
        assert!(matches!(parse(dtd.as_bytes()), Err(BankError::Camt(m)) if m.contains("DTD")));
        let pain = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>";
        assert!(
            matches!(parse(pain.as_bytes()), Err(BankError::Camt(m)) if m.contains("namespace"))
        );
        let unbalanced = ONE.replace(">30.00<", ">31.00<");
        assert!(
            matches!(parse(unbalanced.as_bytes()), Err(BankError::Camt(m)) if m.contains("add up to 30.00"))
        );
        let sign = ONE.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>X</CdtDbtInd>");
        assert!(parse(sign.as_bytes()).is_err());
    }
}
