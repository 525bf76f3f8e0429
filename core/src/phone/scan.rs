//! Finding phone numbers in text: one pass over the bytes.
//!
//! The scanner jumps from digit to digit. At a digit it reads a *run*: groups of digits
//! joined by short separator runs (space, `-`, `.`, `/`, parentheses, NBSP). Runs that are too
//! short, glued to letters, or continue a larger numeric token (`3.14159…`, `10:30`) are
//! skipped without allocating. Otherwise the groups are interpreted: a `+`/`00`/`011`
//! international number for any calling code, or a national number of the default region
//! in a recognised shape (NANP: 3-3-4, (3) 3-4, 1-3-3-4, 10 or 1+10 digits). Groups may be
//! dropped at either end only where they are separated by whitespace, so "ISBN-like"
//! `978-0-306-40615-7` or `192.168.100.200` never yield a phone hidden inside them.
//! Labels right before the run decide ambiguous cases ([`super::labels`]). Also found:
//! vanity numbers (`1-800-FLOWERS`: toll-free with a leading 1, or after a phone label) and
//! numbers in full-width digits (text folded to ASCII from the first one; spans unchanged).
//! Not phones: IBAN continuations, blocks of four-digit groups, decimal amounts, dates.

use super::labels::{label_before, Label};
use super::meta::RegionInfo;
use super::normalize::{self, vanity_digit, Digits, Num};
use super::types::{Region, E164};
use serde::{Deserialize, Serialize};

/// One phone number found in text.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Match {
    /// Start, in UTF-16 code units (what DOM Ranges and JS string offsets use).
    pub start_utf16: u32,
    /// End (exclusive), in UTF-16 code units.
    pub end_utf16: u32,
    /// Start, in bytes of the UTF-8 text.
    pub start: usize,
    /// End (exclusive), in bytes.
    pub end: usize,
    /// The number in E.164 form.
    pub e164: E164,
    /// The extension's digits, if one was written ("x123" → "123").
    pub ext: Option<String>,
    /// The matched text as written (number and extension).
    pub raw: String,
}

/// Finds the phone numbers in `text`. National numbers are read in `region`'s numbering
/// plan; numbers with `+` (or `00`/`011`) are read for any calling code.
///
/// ```
/// use mpt_core::phone::{find_numbers, Region};
/// let m = find_numbers("Call (415) 555-0134 — not order #4155550199", Region::US);
/// assert_eq!(m.len(), 1);
/// assert_eq!(m[0].e164.as_str(), "+14155550134");
/// assert_eq!((m[0].start_utf16, m[0].end_utf16), (5, 19));
/// ```
pub fn find_numbers(text: &str, region: Region) -> Vec<Match> {
    let mut out = Vec::new();
    scan(text, &region.info(), |m| out.push(m.to_match()));
    out
}

/// A number found by [`for_each_number`], borrowed: nothing is allocated per match.
#[derive(Clone, Copy, Debug)]
pub struct FoundNumber<'a> {
    /// Start, in UTF-16 code units.
    pub start_utf16: u32,
    /// End (exclusive), in UTF-16 code units.
    pub end_utf16: u32,
    /// Start, in bytes.
    pub start: usize,
    /// End (exclusive), in bytes.
    pub end: usize,
    /// The number in E.164 form.
    pub e164: &'a str,
    /// The extension's digits, if any.
    pub ext: Option<&'a str>,
    /// The matched text as written.
    pub raw: &'a str,
}

impl FoundNumber<'_> {
    /// The owned [`Match`].
    pub fn to_match(&self) -> Match {
        Match {
            start_utf16: self.start_utf16,
            end_utf16: self.end_utf16,
            start: self.start,
            end: self.end,
            e164: E164::from_validated(self.e164),
            ext: self.ext.map(str::to_string),
            raw: self.raw.to_string(),
        }
    }
}

/// A detector for one region, reusable across many texts (the region is resolved once).
#[derive(Clone, Copy, Debug)]
pub struct Scanner {
    info: RegionInfo,
}

impl Scanner {
    /// A scanner reading national numbers in `region`'s plan.
    pub fn new(region: Region) -> Scanner {
        Scanner { info: region.info() }
    }

    /// Like [`for_each_number`].
    pub fn for_each(&self, text: &str, mut f: impl FnMut(&FoundNumber<'_>)) {
        scan(text, &self.info, |m| f(&m));
    }

    /// Like [`find_numbers`].
    pub fn find(&self, text: &str) -> Vec<Match> {
        let mut out = Vec::new();
        scan(text, &self.info, |m| out.push(m.to_match()));
        out
    }
}

/// Calls `f` for each phone number in `text`, in order, without allocating: the fast path
/// behind [`find_numbers`] for callers that copy results out themselves (the wasm exports).
pub fn for_each_number(text: &str, region: Region, mut f: impl FnMut(&FoundNumber<'_>)) {
    scan(text, &region.info(), |m| f(&m));
}

/// [`find_numbers`] over many texts (e.g. all text nodes of a page) in one call.
pub fn find_numbers_batch<S: AsRef<str>>(texts: &[S], region: Region) -> Vec<Vec<Match>> {
    let info = region.info();
    texts
        .iter()
        .map(|t| {
            let mut out = Vec::new();
            scan(t.as_ref(), &info, |m| out.push(m.to_match()));
            out
        })
        .collect()
}

/// Most digit groups in one run.
const MAX_GROUPS: usize = 8;

#[derive(Clone, Copy, Default)]
struct Sep {
    /// Only whitespace: the run may be cut here.
    ws_only: bool,
    /// Whitespace, then perhaps `(`: a number may end before it ("… 555-0134 (49m)").
    cut_after: bool,
    /// Contains `(` / `)`.
    open: bool,
    close: bool,
}

#[derive(Clone, Copy)]
struct Run {
    /// Byte spans of the digit groups.
    groups: [(usize, usize); MAX_GROUPS],
    /// `seps[i]` joins `groups[i]` and `groups[i + 1]`.
    seps: [Sep; MAX_GROUPS],
    n: usize,
    digits: usize,
}

/// Reads the run of digit groups starting at the digit at `i`.
fn read_run(b: &[u8], i: usize) -> Run {
    let mut run = Run { groups: [(0, 0); MAX_GROUPS], seps: [Sep::default(); MAX_GROUPS], n: 0, digits: 0 };
    let mut pos = i;
    loop {
        let gs = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        run.groups[run.n] = (gs, pos);
        run.digits += pos - gs;
        run.n += 1;
        if run.n == MAX_GROUPS || run.digits > 17 {
            return run;
        }
        // Separator run: at most 3 characters, at most one dash/dot, one of each paren.
        let (mut q, mut chars, mut spaces, mut hard) = (pos, 0, 0, 0);
        let mut sep = Sep::default();
        while q < b.len() && chars <= 3 {
            let w = match b[q] {
                b' ' => {
                    spaces += 1;
                    1
                }
                // "727/486-0681", "030/1234567": the slash is written like a dash.
                b'-' | b'.' | b'/' => {
                    hard += 1;
                    1
                }
                b'(' => {
                    sep.open = true;
                    1
                }
                b')' => {
                    sep.close = true;
                    1
                }
                0xC2 if b.get(q + 1) == Some(&0xA0) => {
                    spaces += 1;
                    2
                }
                // U+2010..U+2013 hyphens and en dash.
                0xE2 if b.get(q + 1) == Some(&0x80) && matches!(b.get(q + 2), Some(0x90..=0x93)) => {
                    hard += 1;
                    3
                }
                _ => break,
            };
            q += w;
            chars += 1;
        }
        if chars == 0 || chars > 3 || hard > 1 || spaces > 2 || q >= b.len() || !b[q].is_ascii_digit() {
            return run;
        }
        sep.ws_only = hard == 0 && !sep.open && !sep.close;
        sep.cut_after = hard == 0 && !sep.close && spaces > 0;
        run.seps[run.n - 1] = sep;
        pos = q;
    }
}

/// Whether a separator (as [`read_run`] accepts) and then a digit follow byte `j`.
#[inline]
fn continues(b: &[u8], j: usize) -> bool {
    let mut q = j;
    while q < b.len() && q < j + 9 {
        match b[q] {
            b'0'..=b'9' => return q > j,
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' | 0xC2 | 0xA0 | 0xE2 | 0x80 | 0x90..=0x93 => q += 1,
            _ => return false,
        }
    }
    false
}

/// The character before byte `i`, if any.
#[inline]
fn char_before(text: &str, i: usize) -> Option<(usize, char)> {
    text[..i].char_indices().next_back()
}

#[inline]
fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (c.is_alphabetic() && u32::from(c) < 0x2e80)
}

/// Whether the text before a run (starting at byte `st`) lets it be a phone number.
fn boundary_before_ok(text: &str, st: usize) -> bool {
    let Some((pi, p)) = char_before(text, st) else {
        return true;
    };
    if is_latin_letter(p) {
        return false;
    }
    match p {
        '$' | '€' | '£' | '¥' | '₹' | '@' | '/' | '\\' | '#' | '&' | '=' | '%' | '*' | '^' | '~' | '_' | '+' | '§' | '№' => false,
        // "3.1415926535", "1,234,567", "10:30:4155…" continue a larger number;
        // "INV-4155550134" continues an identifier. "Tel:4155550134" is fine.
        '.' | ',' | ':' => !char_before(text, pi).is_some_and(|(_, q)| q.is_ascii_digit()),
        '-' | '\u{2010}' | '\u{2011}' => !char_before(text, pi).is_some_and(|(_, q)| is_latin_letter(q)),
        _ => true,
    }
}

/// Parses an extension right after a number ending at byte `end`: returns (digits, end).
fn extension_after(b: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut q = end;
    let mut skipped = 0;
    while q < b.len() && matches!(b[q], b' ' | b',') && skipped < 2 {
        q += 1;
        skipped += 1;
    }
    if !matches!(b.get(q), Some(b';' | b'e' | b'E' | b'x' | b'X')) {
        return None;
    }
    let rest = &b[q..];
    let lower = |k: usize| rest.get(k).map(u8::to_ascii_lowercase);
    let starts = |m: &[u8]| m.iter().enumerate().all(|(k, &c)| lower(k) == Some(c));
    let marker = [&b";ext="[..], b"extension", b"ext", b"x"].into_iter().find(|m| starts(m))?;
    q += marker.len();
    let mut skipped = if marker[0] == b';' { 2 } else { 0 };
    while q < b.len() && matches!(b[q], b' ' | b'.' | b':') && skipped < 2 {
        q += 1;
        skipped += 1;
    }
    let ds = q;
    while q < b.len() && b[q].is_ascii_digit() && q - ds < 8 {
        q += 1;
    }
    let n = q - ds;
    if !(1..=7).contains(&n) || q < b.len() && (b[q].is_ascii_alphanumeric() || b[q] == b'_') {
        return None;
    }
    Some((ds, q))
}

/// Whether the text after a number ending at byte `end` lets it be a phone number.
fn boundary_after_ok(text: &str, end: usize) -> bool {
    let Some(c) = text[end..].chars().next() else {
        return true;
    };
    if is_latin_letter(c) {
        return false;
    }
    match c {
        '%' | '°' | '′' | '$' | '€' | '£' | '‰' | '@' | '_' => false,
        '.' | ',' | ':' | '/' | '-' | '\u{2013}' => !text.as_bytes().get(end + 1).is_some_and(u8::is_ascii_digit),
        _ => true,
    }
}

/// Shapes (group lengths) in which people write NANP numbers, leading `1` excluded.
fn nanp_shape_ok(lens: &[usize]) -> bool {
    matches!(lens, [3, 3, 4] | [10] | [3, 7])
}

/// Day-month-year and year-month-day shapes with `.`/`-`/`/`: never phones.
fn date_shaped(lens: &[usize]) -> bool {
    matches!(lens, [1 | 2, 1 | 2, 2 | 4] | [4, 1 | 2, 1 | 2])
}

struct Interp<'a> {
    text: &'a str,
    run: &'a Run,
    region: &'a RegionInfo,
}

impl Interp<'_> {
    /// Tries groups `s..e` as one number.
    fn try_groups(&self, s: usize, e: usize, plus: bool, lead_paren: bool, label: Label) -> Option<Num> {
        let run = self.run;
        let b = self.text.as_bytes();
        // Cheap pruning before any digit is copied: a NANP national number has 10 digits
        // (11 with the leading 1) unless it starts with an international prefix.
        let approx: usize = run.groups[s..e].iter().map(|g| g.1 - g.0).sum();
        if !(7..=18).contains(&approx) {
            return None;
        }
        if !plus && self.region.cc == 1 && label != Label::Phone && !(10..=11).contains(&approx) && b[run.groups[s].0] != b'0' {
            return None;
        }
        let mut lens = [0usize; MAX_GROUPS];
        let mut d = Digits::new();
        let mut total = 0;
        let mut opens = usize::from(lead_paren);
        let mut closes = 0;
        let mut skip_group = usize::MAX;
        // "+44 (0)20 7946 0958": the (0) trunk marker is not dialled from abroad.
        if plus && e - s >= 3 {
            let (gs, ge) = run.groups[s + 1];
            if ge - gs == 1 && b[gs] == b'0' && run.seps[s].open && run.seps[s + 1].close {
                skip_group = s + 1;
            }
        }
        let mut k = 0;
        for g in s..e {
            if g + 1 < e {
                opens += usize::from(run.seps[g].open);
                closes += usize::from(run.seps[g].close);
            }
            if g == skip_group {
                continue;
            }
            let (gs, ge) = run.groups[g];
            lens[k] = ge - gs;
            k += 1;
            total += ge - gs;
            b[gs..ge].iter().for_each(|&c| d.push(c));
        }
        if !(7..=17).contains(&total) || opens != closes || opens > 1 && skip_group == usize::MAX {
            return None;
        }
        let lens = &lens[..k];
        let digits = d.as_slice();
        if plus {
            return normalize::international(digits).ok().or_else(|| normalize::trunk_zero_dropped(digits));
        }
        let phone_label = label == Label::Phone;
        if let Some(rest) = self.intl_prefix(digits) {
            if k >= 2 || phone_label {
                return normalize::international(rest).ok();
            }
            return None;
        }
        if self.region.cc == 1 {
            let (nsn, shape) = match (digits.first(), lens) {
                (Some(b'1'), [1, rest @ ..]) => (&digits[1..], rest),
                (Some(b'1'), [11]) => (&digits[1..], &[10][..]),
                (Some(b'1'), [l, rest @ ..]) if phone_label && digits.len() == 11 => {
                    let _ = (l, rest);
                    (&digits[1..], &[10][..])
                }
                _ => (digits, lens),
            };
            if !(nanp_shape_ok(shape) || phone_label && nsn.len() == 10) {
                return None;
            }
            // Parentheses only around the area code.
            if opens == 1 {
                let area_group = s + lens.len() - shape.len();
                let open_ok = if area_group == s { lead_paren } else { run.seps[area_group - 1].open };
                if !open_ok || !run.seps[area_group].close || shape.len() < 2 {
                    return None;
                }
            }
            return normalize::nanp(nsn).ok();
        }
        if date_shaped(lens) {
            return None;
        }
        let np = self.region.national_prefix.as_bytes();
        // "(54) 3567-4981": an area code in parentheses is a phone's own shape, written
        // without the trunk prefix in several plans (Brazil).
        let paren_area = opens == 1 && lead_paren && run.seps[s].close && (2..=3).contains(&lens[0]);
        if !np.is_empty() && !digits.starts_with(np) && !phone_label && !paren_area {
            return None;
        }
        if k < 2 && !phone_label && total < 9 {
            return None;
        }
        normalize::resolve(false, &d, self.region).ok()
    }

    fn intl_prefix<'d>(&self, d: &'d [u8]) -> Option<&'d [u8]> {
        normalize::strip_intl_prefix(d, self.region)
    }
}

/// A found number before it becomes a [`Match`].
struct Found {
    start: usize,
    end: usize,
    e164: Num,
    ext: Option<(usize, usize)>,
}

/// Whether the run continues an IBAN or is a card-like block of four-digit groups:
/// `GB33 MOLK 6444 0885 7220 080` (a space-separated token of four capitals/digits holding a
/// digit right before, or an `XX99` country-and-check token one or two tokens back) or four
/// and more groups of exactly four digits (`0 0203 3428 0180 3009`).
fn iban_or_card_like(b: &[u8], st: usize, run: &Run) -> bool {
    let fours = run.groups[..run.n].iter().take_while(|g| g.1 - g.0 == 4).count();
    if run.groups[..run.n].iter().filter(|g| g.1 - g.0 == 4).count() >= 4 {
        return true;
    }
    let token_before = |end: usize| -> Option<(usize, &[u8])> {
        if end == 0 || b[end - 1] != b' ' {
            return None;
        }
        let e = end - 1;
        let s = b[..e].iter().rposition(|c| !c.is_ascii_alphanumeric()).map_or(0, |p| p + 1);
        Some((s, &b[s..e]))
    };
    let iban_head = |t: &[u8]| t.len() == 4 && t[..2].iter().all(u8::is_ascii_uppercase) && t[2..].iter().all(u8::is_ascii_digit);
    let group = |t: &[u8]| t.len() == 4 && t.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    // Walk back over space-separated four-character groups (at most four of them).
    let (mut at, mut back) = (st, 0);
    while back < 4 {
        let Some((s, t)) = token_before(at) else {
            break;
        };
        if iban_head(t) {
            return true;
        }
        if !group(t) {
            break;
        }
        // A group mixing capitals and digits ("514W") only occurs in codes like IBANs.
        if t.iter().any(u8::is_ascii_digit) && t.iter().any(u8::is_ascii_uppercase) {
            return true;
        }
        back += 1;
        at = s;
    }
    // Letters-only groups ("MOLK") count only next to an IBAN head, handled above.
    let digit_groups_back = {
        let (mut at, mut n) = (st, 0);
        while let Some((s, t)) = token_before(at) {
            if n >= 4 || !(t.len() == 4 && t.iter().all(u8::is_ascii_digit)) {
                break;
            }
            n += 1;
            at = s;
        }
        n
    };
    digit_groups_back + fours >= 4
}

/// Whether the run is a decimal amount (`8886661.94`, `89486659.80`): a group of four or more
/// digits, a dot, two digits at the end.
fn decimal_amount(b: &[u8], run: &Run) -> bool {
    let n = run.n;
    n >= 2 && {
        let (ps, pe) = run.groups[n - 2];
        let (ls, le) = run.groups[n - 1];
        pe - ps >= 4 && le - ls == 2 && ls == pe + 1 && b[pe] == b'.'
    }
}

/// Interprets the run starting at the digit at byte `i`.
fn candidate(text: &str, i: usize, run: &Run, region: &RegionInfo) -> Option<Found> {
    if run.digits < 7 {
        return None;
    }
    let b = text.as_bytes();
    let mut st = i;
    let mut plus = false;
    let mut lead_paren = false;
    if st > 0 && b[st - 1] == b'(' {
        lead_paren = true;
        st -= 1;
    }
    if st > 0 && b[st - 1] == b'+' {
        plus = true;
        st -= 1;
    }
    // NANP without "+": under ten digits nothing can match unless a group starts with 0 (an
    // international prefix); [`Interp::try_groups`] and the label rule below would reject
    // every way of reading it. Most look-alikes (dates, ZIP+4, SSNs) end here, before their
    // context is read.
    if region.cc == 1 && !plus && run.digits < 10 && run.groups[..run.n].iter().all(|g| b[g.0] != b'0') {
        return None;
    }
    if !boundary_before_ok(text, st) || iban_or_card_like(b, st, run) || decimal_amount(b, run) {
        return None;
    }
    let interp = Interp { text, run, region };
    // Labels are read only when they can change the outcome: to veto a match
    // ("Order #…") or to accept bare digits ("Phone: …").
    if let Some(f) = search(&interp, st, plus, lead_paren, Label::None) {
        // A number written with "+" is a phone whatever precedes it.
        return (plus || label_before(text, st) != Label::Identifier).then_some(f);
    }
    if region.cc == 1 && run.digits < 10 {
        return None;
    }
    match label_before(text, st) {
        Label::Phone => search(&interp, st, plus, lead_paren, Label::Phone),
        _ => None,
    }
}

/// Tries every way to take a number from the run: earliest start, then longest.
fn search(interp: &Interp<'_>, st: usize, plus: bool, lead_paren: bool, label: Label) -> Option<Found> {
    let (text, run) = (interp.text, interp.run);
    let b = text.as_bytes();
    for s in 0..run.n {
        let (start, lp) = if s == 0 {
            (st, lead_paren)
        } else {
            let sep = run.seps[s - 1];
            // Cut only at whitespace (or whitespace then "(").
            let gs = run.groups[s].0;
            let paren = sep.open && !sep.close && b[gs - 1] == b'(' && b[gs - 2] == b' ';
            if !(sep.ws_only || paren) {
                continue;
            }
            (if paren { gs - 1 } else { gs }, paren)
        };
        let lab = if s == 0 { label } else { Label::None };
        for e in (s + 1..=run.n).rev() {
            if e < run.n && !run.seps[e - 1].cut_after {
                continue;
            }
            let Some(e164) = interp.try_groups(s, e, plus && s == 0, lp, lab) else {
                continue;
            };
            let end = run.groups[e - 1].1;
            if let Some((ds, de)) = extension_after(b, end) {
                return Some(Found { start, end: de, e164, ext: Some((ds, de)) });
            }
            if boundary_after_ok(text, end) {
                return Some(Found { start, end, e164, ext: None });
            }
        }
    }
    None
}

/// The eight bytes at `i` as a little-endian word, if there are eight.
#[inline(always)]
fn load8(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i.wrapping_add(8)).and_then(|s| <[u8; 8]>::try_from(s).ok()).map(u64::from_le_bytes)
}

/// Index of the first ASCII digit in `b[from..]`, eight bytes at a time.
#[inline]
fn next_digit(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(w) = load8(b, i) {
        // A byte is a digit when (byte ^ 0x30) < 10. The lowest flagged lane is exact (a
        // borrow only runs upwards, from a lane that is itself a digit): it is the first digit.
        let x = w ^ (0x30 * ONES);
        let m = x.wrapping_sub(10 * ONES) & !x & HIGH;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(u8::is_ascii_digit).map(|k| i + k)
}

/// Index of the first ASCII digit or `0xEF` byte (lead of U+F000..U+FFFF, full-width forms
/// among them) in `b[from..]`, eight bytes at a time.
#[inline]
fn next_digit_or_wide(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(w) = load8(b, i) {
        let x = w ^ (0x30 * ONES);
        let e = w ^ (0xEF * ONES);
        // The lowest flagged lane of each test is exact (see `next_digit`), so of both too.
        let m = (x.wrapping_sub(10 * ONES) & !x | e.wrapping_sub(ONES) & !e) & HIGH;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c.is_ascii_digit() || c == 0xEF).map(|k| i + k)
}

/// UTF-16 code units in `b` (valid UTF-8): one per byte that is not a continuation byte,
/// plus one per 4-byte sequence (a surrogate pair). Eight bytes at a time.
fn utf16_len(b: &[u8]) -> u32 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut n = 0u32;
    for c in &mut chunks {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or_default());
        if w & HIGH == 0 {
            n += 8; // ASCII, nearly every word of CRM text
            continue;
        }
        // Continuation bytes are 10xxxxxx: bit 7 set, bit 6 clear.
        let cont = w & !(w << 1) & HIGH;
        // Lead bytes of 4-byte sequences are 11110xxx: bits 7..4 set.
        let four = w & (w << 1) & (w << 2) & (w << 3) & HIGH;
        n += 8 - cont.count_ones() + four.count_ones();
    }
    n + chunks.remainder().iter().map(|&c| u32::from(c & 0xC0 != 0x80) + u32::from(c >= 0xF0)).sum::<u32>()
}

/// Whether `text` can hold a number at all: an ASCII digit, or a full-width one. Callers
/// scanning many short texts (page text nodes) skip the rest with this cheap test.
pub fn may_hold_number(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().any(u8::is_ascii_digit) || has_fullwidth_digit(b)
}

/// Whether `b` holds a full-width digit (U+FF10..U+FF19, UTF-8 `EF BC 90..99`).
fn has_fullwidth_digit(b: &[u8]) -> bool {
    // `contains` on bytes is a memchr: pages without U+FFxx pay one fast pass.
    b.contains(&0xEF) && b.windows(3).any(|w| w[0] == 0xEF && w[1] == 0xBC && (0x90..=0x99).contains(&w[2]))
}

/// Folds full-width forms (U+FF01..U+FF5E: `０１２`, `（`, `－`, `＋`) and the ideographic
/// space to ASCII. Every folded character is one UTF-16 unit before and after, so UTF-16
/// offsets found in the folded text hold for the original.
fn fold_fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match u32::from(c) {
            u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFF01 + 0x21).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

/// The scanner: calls `emit` for each match, in text order. Text with full-width digits
/// (East Asian pages) is scanned folded to ASCII from the first one on; spans and `raw`
/// refer to the original. ASCII text pays nothing for this: the digit search also stops at
/// the lead byte of full-width forms.
fn scan(text: &str, region: &RegionInfo, mut emit: impl FnMut(FoundNumber<'_>)) {
    let Some(done_u16) = scan_ascii(text, region, true, &mut emit) else {
        return;
    };
    let folded = fold_fullwidth(text);
    // (folded byte, original byte) of the last char boundary reached: matches come in order.
    let mut at = (0usize, 0usize);
    let mut fold_chars = folded.char_indices().zip(text.char_indices());
    let mut to_orig = |fb: usize| -> usize {
        while at.0 < fb {
            match fold_chars.next() {
                Some(((f, fc), (o, oc))) => at = (f + fc.len_utf8(), o + oc.len_utf8()),
                None => break,
            }
        }
        at.1
    };
    scan_ascii(&folded, region, false, &mut |m: FoundNumber<'_>| {
        // Matches before the first full-width digit were emitted by the first pass.
        if m.start_utf16 < done_u16 {
            return;
        }
        let (start, end) = (to_orig(m.start), to_orig(m.end));
        emit(FoundNumber { start, end, raw: &text[start..end], ..m });
    });
}

/// North American toll-free area codes, where vanity numbers live.
fn toll_free(area: &[u8]) -> bool {
    matches!(area, b"800" | b"833" | b"844" | b"855" | b"866" | b"877" | b"888")
}

/// Whether, after the digit run ending at `j`, a separator or two and then a letter follow:
/// the only place a vanity number ("1-800-FLOWERS") can hide.
#[inline]
fn letter_follows(b: &[u8], j: usize) -> bool {
    let mut q = j;
    while q < b.len() && q < j + 3 && matches!(b[q], b'-' | b' ' | b'.' | b')') {
        q += 1;
    }
    q > j && b.get(q).is_some_and(u8::is_ascii_alphabetic)
}

/// A vanity number starting at the digit at `i`: `1-800-FLOWERS`, `1 (888) GOT-JUNK`,
/// `Phone: 800-356-TALK`. Letters are read on the keypad. Accepted with a leading `1`
/// and a toll-free area code, or after a phone label; letters must make at least three of
/// the seven subscriber characters, and up to three more letters may trail (`CONTACTS`).
fn vanity(text: &str, i: usize) -> Option<Found> {
    let b = text.as_bytes();
    let mut q = i;
    let mut st = i;
    let mut lead_one = false;
    if b[q] == b'1' && matches!(b.get(q + 1), Some(b'-' | b' ' | b'.')) {
        lead_one = true;
        q += 2;
        if b.get(q) == Some(&b' ') {
            q += 1;
        }
    }
    let paren = b.get(q) == Some(&b'(');
    if paren {
        q += 1;
    } else if !lead_one && i > 0 && b[i - 1] == b'(' {
        st = i - 1;
    }
    let area = b.get(q..q + 3)?;
    if !area.iter().all(u8::is_ascii_digit) {
        return None;
    }
    q += 3;
    if paren || st < i {
        if b.get(q) != Some(&b')') {
            return None;
        }
        q += 1;
    }
    if !matches!(b.get(q), Some(b'-' | b' ' | b'.')) {
        return None;
    }
    q += 1;
    let mut nsn = [0u8; 10];
    nsn[..3].copy_from_slice(area);
    let (mut n, mut letters, mut extra) = (3usize, 0usize, 0usize);
    let mut end = q;
    while q < b.len() {
        let c = b[q];
        if c.is_ascii_alphanumeric() {
            if n < 10 {
                nsn[n] = if c.is_ascii_digit() { c } else { vanity_digit(char::from(c))? };
                n += 1;
                letters += usize::from(c.is_ascii_alphabetic());
            } else if c.is_ascii_alphabetic() && extra < 3 {
                extra += 1;
            } else {
                return None;
            }
            q += 1;
            end = q;
        } else if matches!(c, b'-' | b'.') && n < 10 && b.get(q + 1).is_some_and(u8::is_ascii_alphanumeric) {
            q += 1;
        } else {
            break;
        }
    }
    if n < 10 || letters < 3 || !boundary_after_ok(text, end) || !boundary_before_ok(text, st) {
        return None;
    }
    let labelled = label_before(text, st) == Label::Phone;
    if !(labelled || lead_one && toll_free(area)) {
        return None;
    }
    let e164 = normalize::nanp(&nsn).ok()?;
    Some(Found { start: st, end, e164, ext: None })
}

/// Scans text whose digits are ASCII. With `wide`, stops at the first full-width digit and
/// returns the UTF-16 end of the last match emitted (0 if none): the caller rescans folded.
fn scan_ascii(text: &str, region: &RegionInfo, wide: bool, emit: &mut impl FnMut(FoundNumber<'_>)) -> Option<u32> {
    let b = text.as_bytes();
    let mut i = 0;
    let (mut cur_b, mut cur_u) = (0usize, 0u32);
    while i < b.len() {
        let next = if wide { next_digit_or_wide(b, i) } else { next_digit(b, i) };
        let Some(k) = next else { break };
        i = k;
        if b[i] == 0xEF {
            if b.get(i + 1) == Some(&0xBC) && matches!(b.get(i + 2), Some(0x90..=0x99)) {
                return Some(cur_u);
            }
            i += 1;
            continue;
        }
        // Fast path: a short digit group not followed by a separator and another digit
        // ("2024", "10:30", "$5") cannot be a number, unless letters follow (vanity).
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // A slash after one, two or six-plus digits is a date or a fraction ("12/25", "1/2").
        let slash_date = b.get(j) == Some(&b'/') && !(3..=5).contains(&(j - i));
        let (found, skip_to) = if j - i < 7 && (slash_date || !continues(b, j)) {
            let v = (region.cc == 1 && j - i <= 3 && letter_follows(b, j)).then(|| vanity(text, i)).flatten();
            (v, j)
        } else {
            let run = read_run(b, i);
            let (gs, ge) = run.groups[run.n - 1];
            let f = candidate(text, i, &run, region).or_else(|| {
                (region.cc == 1 && run.digits <= 7 && ge - gs <= 3 && letter_follows(b, ge)).then(|| vanity(text, i)).flatten()
            });
            (f, ge)
        };
        let Some(f) = found else {
            i = skip_to;
            continue;
        };
        let start_utf16 = cur_u + utf16_len(&b[cur_b..f.start]);
        let end_utf16 = start_utf16 + utf16_len(&b[f.start..f.end]);
        (cur_b, cur_u) = (f.end, end_utf16);
        emit(FoundNumber {
            start_utf16,
            end_utf16,
            start: f.start,
            end: f.end,
            e164: f.e164.as_str(),
            ext: f.ext.map(|(s, e)| &text[s..e]),
            raw: &text[f.start..f.end],
        });
        i = f.end;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod format_tests {
    use super::super::types::Region;
    use super::find_numbers;

    fn found(text: &str) -> Vec<(String, String)> {
        find_numbers(text, Region::US).into_iter().map(|m| (m.raw, m.e164.to_string())).collect()
    }

    fn one(text: &str, raw: &str, e164: &str) {
        assert_eq!(found(text), vec![(raw.to_string(), e164.to_string())], "{text:?}");
    }

    #[test]
    fn slashes() {
        one("cell 727/486-0681 after 5", "727/486-0681", "+17274860681");
        one("Office 404/328-5229", "404/328-5229", "+14043285229");
        one("404/328/5229", "404/328/5229", "+14043285229");
        // Dates, fractions and paths stay unmarked.
        assert!(found("due 12/25/2024 or 1/2/2025").is_empty());
        assert!(found("GET /api/404/328/5229").is_empty());
        assert!(found("ratio 404/3285229/1").is_empty());
    }

    #[test]
    fn slashes_national_de() {
        let m = find_numbers("Büro: 030/1234567", Region::parse("DE").unwrap());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].e164.as_str(), "+49301234567");
        assert!(find_numbers("am 24/12/2024", Region::parse("DE").unwrap()).is_empty());
    }

    #[test]
    fn full_width_digits() {
        let t = "電話：（４１５）５５５－０１３４ まで";
        let m = find_numbers(t, Region::US);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].e164.as_str(), "+14155550134");
        assert_eq!(m[0].raw, "（４１５）５５５－０１３４");
        let utf16: Vec<u16> = t.encode_utf16().collect();
        let s = String::from_utf16(&utf16[m[0].start_utf16 as usize..m[0].end_utf16 as usize]).unwrap();
        assert_eq!(s, m[0].raw);
        assert_eq!(&t[m[0].start..m[0].end], m[0].raw);
        let jp = find_numbers("ＴＥＬ ０３－１２３４－５６７８", Region::parse("JP").unwrap());
        assert_eq!(jp.len(), 1);
        assert_eq!(jp[0].e164.as_str(), "+81312345678");
    }

    #[test]
    fn vanity_numbers() {
        one("Order at 1-800-FLOWERS today", "1-800-FLOWERS", "+18003569377");
        one("call 1-800-GOT-JUNK.", "1-800-GOT-JUNK", "+18004685865");
        one("1 (888) CONTACTS", "1 (888) CONTACTS", "+18882668228");
        one("Phone: (212) 555-PIZZA", "(212) 555-PIZZA", "+12125557499");
        one("Tel: 800-356-TALK", "800-356-TALK", "+18003568255");
        // Without a leading 1 or a phone label, letters after digits are not a number.
        assert!(found("part 800-FLOWERS in stock").is_empty());
        assert!(found("SKU 1-800-AB").is_empty());
        assert!(found("model 1-800-FLOWERSXYZW").is_empty());
        assert!(found("see 1-212-FLOWERS").is_empty());
    }

    #[test]
    fn trunk_zero_after_the_calling_code_and_parenthesised_areas() {
        let de = Region::parse("DE").unwrap();
        let m = find_numbers("Phone: +49 0238 2958495", de);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].e164.as_str(), "+492382958495");
        let br = Region::parse("BR").unwrap();
        let m = find_numbers("Ligar (54) 3567-4981 hoje", br);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].e164.as_str(), "+555435674981");
        // Italian numbers keep their 0 after +39.
        let m = find_numbers("Tel +39 06 6982 1234", Region::US);
        assert_eq!(m[0].e164.as_str(), "+390669821234");
    }

    #[test]
    fn ibans_cards_and_amounts_are_not_numbers() {
        for (t, r) in [
            ("IBAN GB33 MOLK 6444 0885 7220 080.", "GB"),
            ("IBAN DE89 WHIF 9004 0800 6029 0600 8030 49.", "DE"),
            ("IBAN XX12 ROMC 514W 3726 2504 7.", "DE"),
            ("IBAN AU10 0000 0203 3428 0180 3009.", "AU"),
            ("IBAN PL55 1900 9973 8907 0950 0187 7106.", "DE"),
            ("IBAN HU42 9003 2053 0020 2716 0640 0575.", "IT"),
            ("total 8886661.94 NIO", "ES"),
            ("total 89486659.80 GMD", "IT"),
        ] {
            assert!(find_numbers(t, Region::parse(r).unwrap()).is_empty(), "{t}");
        }
        // Phones next to such tokens are still found.
        assert_eq!(find_numbers("CELL 0121 026 7269", Region::parse("GB").unwrap()).len(), 1);
        assert_eq!(find_numbers("Tel 0121 026 7269", Region::parse("GB").unwrap()).len(), 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod wide_tests {
    use super::super::types::Region;
    use super::find_numbers;

    #[test]
    fn ascii_numbers_before_and_after_full_width_ones() {
        let t = "Office (415) 555-0134, 東京 ０３－１２３４－５６７８ or (212) 555-0188 ＡＢＣ";
        let m = find_numbers(t, Region::US);
        let raws: Vec<&str> = m.iter().map(|m| m.raw.as_str()).collect();
        assert_eq!(raws, ["(415) 555-0134", "(212) 555-0188"]);
        let jp = find_numbers(t, Region::parse("JP").unwrap());
        let raws: Vec<&str> = jp.iter().map(|m| m.raw.as_str()).collect();
        assert!(raws.contains(&"０３－１２３４－５６７８"), "{raws:?}");
        // Full-width letters and punctuation alone change nothing.
        assert_eq!(find_numbers("ＡＢＣ！ call 415-555-0134", Region::US).len(), 1);
    }
}
