//! What a party name may look like: cleaned from a line segment, never a page counter, a
//! country, a currency or a lone unit code, and recognised by its legal form (GmbH, SAS, Ltd, …).
//!
//! Kept apart from `parties.rs` (which decides whose name it is) so the rules are testable alone.

use super::candidates::strip_lead;
use super::text::normalize;

pub const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "ag",
    "sas",
    "sasu",
    "sarl",
    "eurl",
    "sa",
    "b.v.",
    "bv",
    "n.v.",
    "nv",
    "inc",
    "inc.",
    "ltd",
    "ltd.",
    "limited",
    "llc",
    "plc",
    "pvt",
    "s.p.a.",
    "spa",
    "srl",
    "s.l.",
    "kg",
    "ohg",
    "e.k.",
    "ug",
    "se",
    "oy",
    "ab",
    "gmbh & co. kg",
    "s.a.",
    "sprl",
    "bvba",
    "corp",
    "corp.",
];

/// Separators between the pieces of a one-line letterhead or footer.
const SEPARATORS: &[&str] = &[" - ", " – ", " — ", " · ", " | ", " • "];

fn name_label_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"^(?i:nom|name|raison sociale|soci[eé]t[eé]|firma|firmenname|company(?: name)?)\s*:\s*",
        )
        .expect("name label regex is valid")
    })
}

/// A plausible company or person name from a piece of line text, cleaned.
pub fn clean_name(raw: &str) -> Option<String> {
    let mut segs = raw.split("  ").map(str::trim).filter(|s| !s.is_empty());
    let seg = segs.next()?;
    // A form's "Name:" label with its value across a column gap ("Name:      Kunden AG").
    if name_label_re()
        .find(seg)
        .is_some_and(|m| m.end() == seg.len())
    {
        return clean_name(segs.next()?);
    }
    // A letterhead set as one line ("X SARL - 12 rue … - 84000 Avignon") or a footer ("X SAS ·
    // capital … · RCS …"): the name is the first piece.
    let seg = SEPARATORS
        .iter()
        .filter_map(|sep| seg.find(sep))
        .min()
        .map_or(seg, |i| seg[..i].trim());
    let (_, seg) = strip_lead(seg);
    let seg = seg
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .trim_end_matches([',', ';', ':', '-', ' '])
        .trim();
    // A logo placeholder's alt text printed before the name ("LOGO LE FOURNISSEUR").
    if let Some(rest) = seg
        .strip_prefix("LOGO ")
        .or_else(|| seg.strip_prefix("Logo "))
    {
        return clean_name(rest);
    }
    // The label word of a "Name: X" field is not the name.
    if let Some(m) = name_label_re().find(seg) {
        return clean_name(&seg[m.end()..]);
    }
    // A title set letter-spaced ("W A R E N R E C H N U N G") is a heading, not a name.
    let single_letters = seg
        .split(' ')
        .filter(|w| w.chars().count() == 1 && w.chars().all(char::is_alphabetic))
        .count();
    if single_letters >= 4 {
        return None;
    }
    let letters = seg.chars().filter(|c| c.is_alphabetic()).count();
    let digits = seg.chars().filter(|c| c.is_ascii_digit()).count();
    let lower = seg.to_lowercase();
    let bad = letters < 2
        || digits * 2 > letters
        || seg.chars().count() > 60
        || seg.contains('@')
        || lower.contains("www.")
        || lower.contains("http")
        || seg.starts_with(|c: char| c.is_ascii_digit())
        || seg.contains(" : ")
        || seg.ends_with(':');
    (!bad && !is_noise_name(seg)).then(|| seg.to_string())
}

pub fn has_legal_form(name: &str) -> bool {
    let n = normalize(name);
    let words: Vec<&str> = n.split_whitespace().collect();
    words.len() <= 7
        && words
            .iter()
            .any(|w| LEGAL_FORMS.contains(&w.trim_end_matches(',')))
}

/// Text that is never a party name: page counters, countries, amounts' companions.
fn is_noise_name(name: &str) -> bool {
    let n = normalize(name);
    let words: Vec<&str> = n
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect();
    const FILLER: &[&str] = &[
        "eur",
        "euro",
        "euros",
        "usd",
        "gbp",
        "chf",
        "ttc",
        "ht",
        "net",
        "total",
        "tva",
        "vat",
        "page",
        "of",
        "sur",
        "von",
        "seite",
        "compte",
        "account",
        "bank",
        "banque",
        // Label words of amounts and dates: a column heading read as the name ("Montant").
        "montant",
        "amount",
        "betrag",
        "date",
        "datum",
        "facture",
        "invoice",
        "rechnung",
        "description",
        "designation",
        "quantite",
        "quantity",
        "menge",
        "prix",
        "price",
        "preis",
    ];
    // A share-capital statement ("Sarl au capital de 10 000€", "Stammkapital") is a legal
    // mention printed beside the name, never the name.
    if words
        .iter()
        .any(|w| *w == "capital" || w.ends_with("kapital"))
    {
        return true;
    }
    const COUNTRIES: &[&str] = &[
        "france",
        "united states",
        "usa",
        "united kingdom",
        "uk",
        "germany",
        "deutschland",
        "belgique",
        "belgium",
        "nederland",
        "netherlands",
        "espana",
        "spain",
        "italia",
        "italy",
        "suisse",
        "schweiz",
        "switzerland",
        "osterreich",
        "austria",
        "luxembourg",
        "india",
        "canada",
        "ireland",
        "portugal",
        "poland",
        "polska",
    ];
    // A lone short token is a unit or a code (PCE, FC, C62), not a company.
    let lone_short = words.len() == 1 && words.iter().all(|w| w.chars().count() <= 3);
    words.is_empty()
        || lone_short
        || words
            .iter()
            .all(|w| FILLER.contains(w) || w.chars().all(|c| c.is_ascii_digit() || c == '/'))
        || COUNTRIES.contains(&words.join(" ").as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_not_a_name() {
        for s in [
            "Page 1 / 1",
            "EUR TTC",
            "(EUR)",
            "United States",
            "PCE",
            "FC",
            "COMPTE",
        ] {
            assert_eq!(clean_name(s), None, "{s}");
        }
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(
            clean_name("LOGO LE FOURNISSEUR").as_deref(),
            Some("LE FOURNISSEUR")
        );
        assert_eq!(
            clean_name("Atelier Martin SAS  12 rue").as_deref(),
            Some("Atelier Martin SAS")
        );
        assert_eq!(clean_name("NOM : ACME").as_deref(), Some("ACME"));
        assert_eq!(
            clean_name("Nom: Imprimerie Bonnet SA").as_deref(),
            Some("Imprimerie Bonnet SA")
        );
        assert_eq!(
            clean_name("Maison Blanc SARL - 12 rue du Moulin - 84000 Avignon").as_deref(),
            Some("Maison Blanc SARL")
        );
        assert_eq!(
            clean_name("Hawthorn Design LLC · 6 King Street").as_deref(),
            Some("Hawthorn Design LLC")
        );
        assert!(has_legal_form("Papeterie Dupont SARL"));
        assert!(!has_legal_form("Boulangerie Martin"));
    }
}
