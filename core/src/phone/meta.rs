//! Lookups over the generated numbering-plan tables ([`super::metadata`]).
//!
//! National significant numbers (NSN) are handled as ASCII digit slices.

use super::metadata::{CCS, CC_MAIN_REGION, FORMATS, NANP_AREA_CODES, REGIONS, RUNS, TEMPLATES, TEMPLATE_OFFSETS};

/// One country calling code and what is valid after it (a view into the tables).
#[derive(Clone, Copy, Debug)]
pub struct CcInfo {
    /// The calling code, e.g. 44.
    pub cc: u16,
    index: usize,
    /// Runs over the NSN's first two digits: 4 bytes each (first prefix, 24-bit length mask).
    runs: &'static [u8],
    /// Display formats: 7 bytes each (length, first prefix, last prefix, national, international).
    formats: &'static [u8],
}

/// One region (ISO 3166 alpha-2).
#[derive(Clone, Copy, Debug)]
pub struct RegionInfo {
    /// Its country calling code.
    pub cc: u16,
    /// National (trunk) prefix dialled before national numbers, e.g. "0"; empty if none.
    pub national_prefix: &'static str,
    /// International call prefix when it is a fixed digit string, e.g. "011"; empty otherwise.
    pub intl_prefix: &'static str,
}

const REGION_RECORD: usize = 11;

/// The table entry for a calling code.
pub fn cc_info(cc: u16) -> Option<CcInfo> {
    let rows = CCS.get(..CCS.len().saturating_sub(1))?;
    let index = rows.binary_search_by_key(&cc, |r| r.0).ok()?;
    let (_, r0, f0) = CCS[index];
    let (_, r1, f1) = *CCS.get(index + 1)?;
    Some(CcInfo {
        cc,
        index,
        runs: RUNS.get(usize::from(r0) * 4..usize::from(r1) * 4)?,
        formats: FORMATS.get(usize::from(f0) * 7..usize::from(f1) * 7)?,
    })
}

fn region_record(i: usize) -> &'static str {
    REGIONS.get(i * REGION_RECORD..(i + 1) * REGION_RECORD).unwrap_or("")
}

/// The table entry for a region code (upper case).
pub fn region_info(code: [u8; 2]) -> Option<RegionInfo> {
    let n = REGIONS.len() / REGION_RECORD;
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let rec = region_record(mid);
        match rec.as_bytes().get(..2).cmp(&Some(&code[..])) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                let cc = rec.get(2..5)?.parse().ok()?;
                return Some(RegionInfo { cc, national_prefix: rec.get(5..7)?.trim_end(), intl_prefix: rec.get(7..11)?.trim_end() });
            }
        }
    }
    None
}

/// Splits a calling code off the front of `digits` (calling codes are prefix-free).
pub fn split_cc(digits: &[u8]) -> Option<(CcInfo, &[u8])> {
    let mut cc: u16 = 0;
    for (i, &d) in digits.iter().take(3).enumerate() {
        cc = cc * 10 + u16::from(d.wrapping_sub(b'0') % 10);
        if let Some(info) = cc_info(cc) {
            return Some((info, &digits[i + 1..]));
        }
    }
    None
}

fn prefix2(nsn: &[u8]) -> u8 {
    let d = |b: u8| b.wrapping_sub(b'0') % 10;
    match nsn {
        [a, b, ..] => d(*a) * 10 + d(*b),
        [a] => d(*a) * 10,
        [] => 0,
    }
}

/// Bitmask of the NSN lengths valid for numbers starting like `nsn`.
pub fn length_mask(info: &CcInfo, nsn: &[u8]) -> u32 {
    let p = prefix2(nsn);
    let mut mask = 0;
    for r in info.runs.chunks_exact(4) {
        if r[0] > p {
            break;
        }
        mask = u32::from(r[1]) | u32::from(r[2]) << 8 | u32::from(r[3]) << 16;
    }
    mask
}

/// Bitmask of all NSN lengths valid anywhere under this calling code.
pub fn all_lengths(info: &CcInfo) -> u32 {
    info.runs.chunks_exact(4).fold(0, |acc, r| acc | u32::from(r[1]) | u32::from(r[2]) << 8 | u32::from(r[3]) << 16)
}

/// Whether a NANP area code (three digits) is assigned.
pub fn nanp_area_assigned(area: u16) -> bool {
    let area = usize::from(area);
    NANP_AREA_CODES.get(area / 8).is_some_and(|b| b & (1 << (area % 8)) != 0)
}

fn template(id: u16) -> Option<&'static str> {
    let i = usize::from(id);
    let (s, e) = (*TEMPLATE_OFFSETS.get(i)?, *TEMPLATE_OFFSETS.get(i + 1)?);
    TEMPLATES.get(usize::from(s)..usize::from(e))
}

fn format_row(f: &[u8]) -> Option<(&'static str, &'static str)> {
    Some((template(u16::from_le_bytes([f[3], f[4]]))?, template(u16::from_le_bytes([f[5], f[6]]))?))
}

/// Display templates `(national, international)` for a valid NSN, if the table has them.
pub fn templates(info: &CcInfo, nsn: &[u8]) -> Option<(&'static str, &'static str)> {
    let p = prefix2(nsn);
    let len = nsn.len();
    info.formats.chunks_exact(7).find(|f| usize::from(f[0]) == len && f[1] <= p && p <= f[2]).and_then(format_row)
}

/// A template for formatting a partial NSN as it is typed: the one for the shortest
/// valid length at least as long as what has been typed.
pub fn partial_templates(info: &CcInfo, nsn: &[u8]) -> Option<(&'static str, &'static str)> {
    let p = prefix2(nsn);
    let mut best: Option<&[u8]> = None;
    for f in info.formats.chunks_exact(7) {
        if usize::from(f[0]) >= nsn.len() && f[1] <= p && p <= f[2] && best.is_none_or(|b| f[0] < b[0]) {
            best = Some(f);
        }
    }
    best.and_then(format_row)
}

/// The main region of a calling code ("001" for non-geographic codes).
pub fn main_region(info: &CcInfo) -> &'static str {
    match CC_MAIN_REGION.get(info.index * 2..info.index * 2 + 2) {
        Some("00") | None => "001",
        Some(r) => r,
    }
}
