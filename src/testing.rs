//! Small document builders the tests share. In the library (not under `#[cfg(test)]`) so unit
//! tests and the `tests/it` binary use one copy instead of two drifting ones.

/// A one-page A4 PDF whose only font is Helvetica (WinAnsi) as `/F1`, and whose content stream
/// is `content` (raw bytes: Latin-1 text in strings shows as WinAnsi).
pub fn one_page_pdf(content: &[u8]) -> Vec<u8> {
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(), content.to_vec(), b"\nendstream".to_vec()].concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A Luhn check digit for `payload` (French SIREN and SIRET numbers end with one).
fn luhn_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// The `i`-th generated supplier: name, VAT id and SIRET, all valid (Luhn, French VAT key).
pub fn nth_supplier(i: usize) -> (String, String, String) {
    let base = format!("{:08}", 73_282_900 + i % 100);
    let siren = format!("{base}{}", luhn_digit(&base));
    let n: u64 = siren.parse().unwrap_or(0);
    let vat = format!("FR{:02}{siren}", (12 + 3 * (n % 97)) % 97);
    let body = format!("{siren}0001");
    let siret = format!("{body}{}", luhn_digit(&body));
    (format!("Fournisseur {i:02} SARL"), vat, siret)
}

/// The `n`-th invoice of a generated stream: a one-page French invoice PDF with a text layer, from
/// supplier `n % suppliers` (see `nth_supplier`), with its own number and amounts, so duplicate
/// detection lets every one through. Used by `facteur bench pipeline` and the torture test.
pub fn stream_invoice(n: usize, suppliers: usize) -> Vec<u8> {
    use rust_decimal::Decimal;
    let (name, vat, siret) = nth_supplier(n % suppliers.max(1));
    let net = Decimal::new(10_000 + n as i64 * 137, 2);
    let tax = (net * Decimal::new(20, 2)).round_dp(2);
    let lines = [
        name,
        "12 rue des Lilas, 75011 Paris".to_string(),
        format!("TVA intracommunautaire : {vat}"),
        format!("SIRET : {siret}"),
        String::new(),
        format!("FACTURE N\u{b0} S-2026-{n:06}"),
        "Date de facture : 12/03/2026".to_string(),
        "Date d'echeance : 11/04/2026".to_string(),
        "Client : Boulangerie Martin".to_string(),
        String::new(),
        "Designation                 Qte   Prix unitaire HT   Total HT".to_string(),
        format!("Ramettes papier A4          10    {net}"),
        String::new(),
        format!("Total HT : {net} EUR"),
        format!("TVA 20 % : {tax} EUR"),
        format!("Total TTC : {} EUR", net + tax),
    ];
    let mut content = String::from("BT /F1 11 Tf 14 TL 56 780 Td\n");
    for l in &lines {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("T* ({esc}) Tj\n"));
    }
    content.push_str("ET\n");
    let content: Vec<u8> = content
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    one_page_pdf(&content)
}
