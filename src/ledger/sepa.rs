//! SEPA credit transfer orders (ISO 20022 pain.001.001.03): one payment run, one file, one
//! payment information block debiting the company's account, one transaction per invoice with
//! the supplier's IBAN, the amount and the invoice number as remittance information. Written with
//! quick-xml; amounts in EUR with two decimals, identifiers within the lengths the schema allows
//! and in the SEPA character set.

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;

use crate::domain::{Bic, DocumentId, Iban};

/// Who pays: the company and its account.
#[derive(Debug, Clone)]
pub struct Debtor {
    pub name: String,
    pub iban: Iban,
    pub bic: Option<Bic>,
}

/// One transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub document: DocumentId,
    pub creditor: String,
    pub iban: Iban,
    pub amount: Decimal,
    /// The invoice number (unstructured remittance information).
    pub reference: String,
}

/// The SEPA character set (Latin letters, digits, `/ - ? : ( ) . , ' +` and space); anything else
/// becomes a space, accents are dropped, and the text is cut to `max` characters.
pub fn sepa_text(s: &str, max: usize) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = s
        .nfkd()
        .filter(|c| c.is_ascii())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = folded.split_whitespace().collect();
    words.join(" ").chars().take(max).collect()
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// The pain.001.001.03 document of a run named `run_id`, executed on `execution`.
pub fn write(
    run_id: &str,
    created: DateTime<Utc>,
    execution: NaiveDate,
    debtor: &Debtor,
    transfers: &[Transfer],
) -> Result<Vec<u8>, std::io::Error> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let total: Decimal = transfers.iter().map(|t| t.amount).sum();
    let count = transfers.len().to_string();
    let msg_id = sepa_text(run_id, 35);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("Document");
    root.push_attribute(("xmlns", "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"));
    root.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    w.write_event(Event::Start(root))?;
    open(&mut w, "CstmrCdtTrfInitn")?;
    open(&mut w, "GrpHdr")?;
    leaf(&mut w, "MsgId", &msg_id)?;
    leaf(
        &mut w,
        "CreDtTm",
        &created.format("%Y-%m-%dT%H:%M:%S").to_string(),
    )?;
    leaf(&mut w, "NbOfTxs", &count)?;
    leaf(&mut w, "CtrlSum", &money(total))?;
    open(&mut w, "InitgPty")?;
    leaf(&mut w, "Nm", &sepa_text(&debtor.name, 70))?;
    close(&mut w, "InitgPty")?;
    close(&mut w, "GrpHdr")?;
    open(&mut w, "PmtInf")?;
    leaf(&mut w, "PmtInfId", &msg_id)?;
    leaf(&mut w, "PmtMtd", "TRF")?;
    leaf(&mut w, "BtchBookg", "true")?;
    leaf(&mut w, "NbOfTxs", &count)?;
    leaf(&mut w, "CtrlSum", &money(total))?;
    open(&mut w, "PmtTpInf")?;
    open(&mut w, "SvcLvl")?;
    leaf(&mut w, "Cd", "SEPA")?;
    close(&mut w, "SvcLvl")?;
    close(&mut w, "PmtTpInf")?;
    leaf(&mut w, "ReqdExctnDt", &execution.to_string())?;
    open(&mut w, "Dbtr")?;
    leaf(&mut w, "Nm", &sepa_text(&debtor.name, 70))?;
    close(&mut w, "Dbtr")?;
    account(&mut w, "DbtrAcct", &debtor.iban)?;
    open(&mut w, "DbtrAgt")?;
    open(&mut w, "FinInstnId")?;
    match &debtor.bic {
        Some(bic) => leaf(&mut w, "BIC", bic.as_str())?,
        // Without a BIC, SEPA's "not provided" form.
        None => {
            open(&mut w, "Othr")?;
            leaf(&mut w, "Id", "NOTPROVIDED")?;
            close(&mut w, "Othr")?;
        }
    }
    close(&mut w, "FinInstnId")?;
    close(&mut w, "DbtrAgt")?;
    leaf(&mut w, "ChrgBr", "SLEV")?;
    for t in transfers {
        open(&mut w, "CdtTrfTxInf")?;
        open(&mut w, "PmtId")?;
        leaf(
            &mut w,
            "EndToEndId",
            &sepa_text(&format!("{msg_id}-{}", t.document.0), 35),
        )?;
        close(&mut w, "PmtId")?;
        open(&mut w, "Amt")?;
        let mut amt = BytesStart::new("InstdAmt");
        amt.push_attribute(("Ccy", "EUR"));
        w.write_event(Event::Start(amt))?;
        w.write_event(Event::Text(BytesText::new(&money(t.amount))))?;
        w.write_event(Event::End(BytesEnd::new("InstdAmt")))?;
        close(&mut w, "Amt")?;
        open(&mut w, "Cdtr")?;
        leaf(&mut w, "Nm", &sepa_text(&t.creditor, 70))?;
        close(&mut w, "Cdtr")?;
        account(&mut w, "CdtrAcct", &t.iban)?;
        open(&mut w, "RmtInf")?;
        leaf(&mut w, "Ustrd", &sepa_text(&t.reference, 140))?;
        close(&mut w, "RmtInf")?;
        close(&mut w, "CdtTrfTxInf")?;
    }
    close(&mut w, "PmtInf")?;
    close(&mut w, "CstmrCdtTrfInitn")?;
    w.write_event(Event::End(BytesEnd::new("Document")))?;
    Ok(w.into_inner())
}

fn open(w: &mut Writer<Vec<u8>>, tag: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(tag)))
}

fn close(w: &mut Writer<Vec<u8>>, tag: &str) -> std::io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(tag)))
}

fn leaf(w: &mut Writer<Vec<u8>>, tag: &str, text: &str) -> std::io::Result<()> {
    open(w, tag)?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    close(w, tag)
}

fn account(w: &mut Writer<Vec<u8>>, tag: &str, iban: &Iban) -> std::io::Result<()> {
    open(w, tag)?;
    open(w, "Id")?;
    leaf(w, "IBAN", iban.as_str())?;
    close(w, "Id")?;
    close(w, tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_run_lists_each_transfer_with_its_total() {
        let debtor = Debtor {
            name: "Boulangerie Martin & Fils".into(),
            iban: Iban::parse("FR7630006000011234567890189").unwrap(),
            bic: None,
        };
        let t = |doc: i64, amount: Decimal| Transfer {
            document: DocumentId(doc),
            creditor: "Papeterie Dupont SARL".into(),
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            amount,
            reference: format!("Facture FA-2026-{doc:04} — été"),
        };
        let xml = String::from_utf8(
            write(
                "RUN-20261201-1",
                DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                &debtor,
                &[t(3, dec!(259.56)), t(8, dec!(1000))],
            )
            .unwrap(),
        )
        .unwrap();
        assert!(xml.contains("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\""));
        assert_eq!(xml.matches("<NbOfTxs>2</NbOfTxs>").count(), 2);
        assert_eq!(xml.matches("<CtrlSum>1259.56</CtrlSum>").count(), 2);
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">1000.00</InstdAmt>"));
        assert!(
            xml.contains("<Nm>Boulangerie Martin Fils</Nm>"),
            "SEPA characters only"
        );
        assert!(xml.contains("<Ustrd>Facture FA-2026-0003 ete</Ustrd>"));
        assert!(xml.contains("<EndToEndId>RUN-20261201-1-8</EndToEndId>"));
        assert!(xml.contains("<Id>NOTPROVIDED</Id>"));
        assert!(xml.contains("<IBAN>DE89370400440532013000</IBAN>"));
    }
}
