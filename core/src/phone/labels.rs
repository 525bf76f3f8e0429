//! The words right before a digit run: a phone label ("Phone:", "Tel", "Fax", "☎") makes
//! bare digits a phone; an identifier label ("Order #", "Invoice", "Policy No.") makes
//! even valid-looking digits something else.

/// What the text just before a candidate says about it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Label {
    /// No label we know.
    None,
    /// A phone label: accept bare digits too.
    Phone,
    /// An identifier label: not a phone, whatever the digits.
    Identifier,
}

/// Words that announce a phone number (compared ignoring ASCII case).
const PHONE_WORDS: &[&str; 64] = &[
    "c",
    "call",
    "callback",
    "caller",
    "calls",
    "cel",
    "cell",
    "cellphone",
    "cellular",
    "celular",
    "contact",
    "d",
    "dial",
    "dir",
    "direct",
    "e164",
    "f",
    "fax",
    "free",
    "h",
    "handy",
    "helpline",
    "home",
    "hotline",
    "landline",
    "m",
    "main",
    "mob",
    "mobil",
    "mobile",
    "movil",
    "móvil",
    "numéro",
    "o",
    "office",
    "p",
    "ph",
    "phone",
    "phones",
    "portable",
    "reception",
    "sms",
    "support",
    "switchboard",
    "t",
    "tel",
    "tele",
    "telefax",
    "telefon",
    "telefone",
    "telefono",
    "telephone",
    "telephones",
    "telf",
    "teléfono",
    "text",
    "tfn",
    "tollfree",
    "tél",
    "téléphone",
    "voice",
    "w",
    "whatsapp",
    "work",
];

/// Longest word of the lists, in bytes: every word fits one [`Key`].
const KEY_BYTES: usize = 16;

/// A word of at most 16 bytes, ASCII letters lower-cased, packed big-endian into one integer
/// (zero-padded): keys order like the words, so a sorted list stays sorted and is searched
/// with integer compares instead of string compares (these lookups run for every number found).
type Key = u128;

/// The key of `w` with its ASCII letters lower-cased; None when it is longer than any listed word.
const fn key(w: &[u8]) -> Option<Key> {
    if w.len() > KEY_BYTES {
        return None;
    }
    // Bytes first, one conversion at the end: u128 shifts are several instructions each on wasm32.
    let mut a = [0u8; KEY_BYTES];
    let mut i = 0;
    while i < w.len() {
        a[i] = w[i].to_ascii_lowercase();
        i += 1;
    }
    Some(Key::from_be_bytes(a))
}

/// The keys of a word list, in its (sorted) order.
const fn keys<const N: usize>(words: &[&str; N]) -> [Key; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = match key(words[i].as_bytes()) {
            Some(k) => k,
            None => panic!("label word longer than KEY_BYTES"),
        };
        i += 1;
    }
    out
}

const PHONE_KEYS: [Key; PHONE_WORDS.len()] = keys(PHONE_WORDS);

fn is_phone_word(k: Key) -> bool {
    PHONE_KEYS.binary_search(&k).is_ok()
}

/// CJK / Hangul labels, matched at the end of the preceding run of letters.
const PHONE_SUFFIX: &[&str] = &["電話", "电话", "手机", "携帯", "전화", "연락처", "番号", "号码"];

/// Words that announce an identifier, not a phone number.
const IDENTIFIER_COUNT: usize = 156;
const IDENTIFIER_WORDS: &[&str; IDENTIFIER_COUNT] = &[
    "aba",
    "acc",
    "account",
    "acct",
    "amex",
    "application",
    "asin",
    "auftrag",
    "auftragsnummer",
    "awb",
    "badge",
    "batch",
    "bestellnummer",
    "bestellung",
    "bic",
    "bill",
    "booking",
    "build",
    "card",
    "case",
    "cert",
    "certificate",
    "check",
    "cheque",
    "claim",
    "client",
    "code",
    "commande",
    "compte",
    "conf",
    "confirmation",
    "consignment",
    "conta",
    "conto",
    "contract",
    "contrat",
    "coupon",
    "cuenta",
    "customer",
    "deal",
    "dhl",
    "docket",
    "dossier",
    "ean",
    "ein",
    "emp",
    "employee",
    "factura",
    "facture",
    "fattura",
    "fedex",
    "gtin",
    "guid",
    "iban",
    "imei",
    "incident",
    "inv",
    "invoice",
    "invoices",
    "isbn",
    "issn",
    "item",
    "job",
    "konto",
    "kontonummer",
    "kundennummer",
    "lic",
    "licence",
    "license",
    "loan",
    "lot",
    "mastercard",
    "member",
    "membership",
    "model",
    "mpn",
    "mrn",
    "npi",
    "opp",
    "opportunity",
    "order",
    "orders",
    "ordine",
    "otp",
    "package",
    "parcel",
    "part",
    "passcode",
    "passport",
    "patient",
    "pedido",
    "permit",
    "pin",
    "pkg",
    "po",
    "pol",
    "policy",
    "postal",
    "postcode",
    "prescription",
    "project",
    "purchase",
    "quote",
    "receipt",
    "rechnung",
    "rechnungsnummer",
    "record",
    "ref",
    "reference",
    "reg",
    "registration",
    "release",
    "req",
    "request",
    "reservation",
    "rev",
    "revision",
    "rfq",
    "rma",
    "routing",
    "rx",
    "serial",
    "shipment",
    "sku",
    "sn",
    "so",
    "sr",
    "ssn",
    "statement",
    "subscriber",
    "swift",
    "ticket",
    "ticketid",
    "tin",
    "tkt",
    "track",
    "tracking",
    "transaction",
    "txn",
    "uid",
    "upc",
    "upn",
    "ups",
    "user",
    "usps",
    "vat",
    "ver",
    "version",
    "vertrag",
    "vertragsnummer",
    "vin",
    "visa",
    "voucher",
    "waybill",
    "wo",
    "zip",
];

const IDENTIFIER_KEYS: [Key; IDENTIFIER_COUNT] = keys(IDENTIFIER_WORDS);

fn is_identifier_word(k: Key) -> bool {
    IDENTIFIER_KEYS.binary_search(&k).is_ok()
}

/// Words that mean "number"/"identifier" and need the word before them to decide.
const FILLER_WORDS: &[&str; 10] = &["id", "n", "no", "nr", "num", "number", "numero", "nummer", "nº", "núm"];

const FILLER_KEYS: [Key; FILLER_WORDS.len()] = keys(FILLER_WORDS);

fn is_filler_word(w: &str) -> bool {
    key(w.as_bytes()).is_some_and(|k| FILLER_KEYS.binary_search(&k).is_ok())
}

/// Characters allowed between a label and its number.
fn is_gap(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\n'
            | '\r'
            | '\u{a0}'
            | ':'
            | '\u{ff1a}'
            | '#'
            | '.'
            | '-'
            | '\u{2013}'
            | '\u{2014}'
            | '='
            | '['
            | '|'
            | '>'
            | '*'
            | '°'
            | '\u{fe0f}'
            | '\u{200b}'
            | '/'
    )
}

fn is_phone_symbol(c: char) -> bool {
    matches!(c, '\u{260e}' | '\u{260f}' | '\u{2706}' | '\u{1f4de}' | '\u{1f4f1}' | '\u{1f4e0}' | '\u{1f57b}' | '\u{1f4f2}')
}

/// Reads backwards from `end`: skips gap characters (at most a few), then one word.
/// Returns (word start, word, saw a phone symbol).
fn prev_word(text: &str, end: usize) -> (usize, &str, bool) {
    let before = &text[..end];
    let mut it = before.char_indices().rev().peekable();
    let mut gaps = 0;
    let mut word_end = end;
    while let Some(&(i, c)) = it.peek() {
        if is_phone_symbol(c) {
            return (i, "", true);
        }
        if !is_gap(c) || gaps >= 8 {
            break;
        }
        gaps += 1;
        word_end = i;
        it.next();
    }
    let mut word_start = word_end;
    let mut n = 0;
    while let Some(&(i, c)) = it.peek() {
        if !c.is_alphabetic() || n >= 24 {
            break;
        }
        n += 1;
        word_start = i;
        it.next();
    }
    (word_start, &text[word_start..word_end], false)
}

/// Classifies the label (if any) ending right before byte `start`.
pub(crate) fn label_before(text: &str, start: usize) -> Label {
    let (ws, word, symbol) = prev_word(text, start);
    if symbol {
        return Label::Phone;
    }
    if word.is_empty() {
        return Label::None;
    }
    if let Some(l) = classify(word) {
        // "Sr." is the honorific of the name before the number ("John Smith Sr. — 415…"),
        // not a service-request label ("SR 41555501").
        let honorific = word.eq_ignore_ascii_case("sr") && text[ws + word.len()..].starts_with('.');
        return if honorific { Label::None } else { l };
    }
    if is_filler_word(word) {
        let (_, prev, symbol) = prev_word(text, ws);
        if symbol {
            return Label::Phone;
        }
        let own = if word.eq_ignore_ascii_case("id") { Label::Identifier } else { Label::None };
        return classify(prev).unwrap_or(own);
    }
    Label::None
}

fn classify(word: &str) -> Option<Label> {
    if word.is_empty() {
        return None;
    }
    if let Some(k) = key(word.as_bytes()) {
        if is_phone_word(k) {
            return Some(Label::Phone);
        }
        if is_identifier_word(k) {
            return Some(Label::Identifier);
        }
    }
    // CJK suffixes: lower-casing changes nothing there.
    if !word.is_ascii() && PHONE_SUFFIX.iter().any(|s| word.ends_with(s)) {
        return Some(Label::Phone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(s: &str) -> Label {
        label_before(s, s.len())
    }

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        for list in [&PHONE_WORDS[..], &IDENTIFIER_WORDS[..], &FILLER_WORDS[..]] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|w| *w == w.to_lowercase()));
        }
        // The binary searches run on the packed keys: they must order like the words.
        for keys in [&PHONE_KEYS[..], &IDENTIFIER_KEYS[..], &FILLER_KEYS[..]] {
            assert!(keys.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(key(b"PHONE"), key(b"phone"));
        assert!(key(b"rechnungsnummerx").is_some() && key(b"rechnungsnummerxx").is_none());
    }

    #[test]
    fn labels() {
        assert_eq!(at_end("Phone: "), Label::Phone);
        assert_eq!(at_end("Mobile no. "), Label::Phone);
        assert_eq!(at_end("☎ "), Label::Phone);
        assert_eq!(at_end("T: "), Label::Phone);
        assert_eq!(at_end("お電話："), Label::Phone);
        assert_eq!(at_end("Order #"), Label::Identifier);
        assert_eq!(at_end("Policy No. "), Label::Identifier);
        assert_eq!(at_end("Member ID: "), Label::Identifier);
        assert_eq!(at_end("Account number "), Label::Identifier);
        assert_eq!(at_end("No. "), Label::None);
        assert_eq!(at_end("Best number: "), Label::None);
        assert_eq!(at_end("Caller ID: "), Label::Phone);
        assert_eq!(at_end("call me at "), Label::None);
        assert_eq!(at_end("John Smith Sr. — "), Label::None);
        assert_eq!(at_end("SR "), Label::Identifier);
        assert_eq!(at_end(""), Label::None);
    }
}
