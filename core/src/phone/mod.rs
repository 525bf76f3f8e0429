//! Phone-number detection, normalization and formatting.
//!
//! - [`find_numbers`] / [`find_numbers_batch`] (and the allocation-free [`Scanner`] /
//!   [`for_each_number`]): find phone numbers in page text, with spans
//!   in UTF-16 code units (what DOM Ranges use) and bytes. Hand-written single-pass scanning:
//!   precise about what is *not* a phone (dates, ZIP+4, SSNs, card numbers, IDs labelled
//!   "Order #", "Invoice"…) and fast enough to scan whole CRM tables.
//! - [`normalize`]: any human-written number (spaces, dots, `+`, `00`/`011`, `tel:` URIs,
//!   extensions, vanity letters) to E.164, or a [`ParseError`] a person understands.
//! - [`format()`] and [`AsYouType`]: national and international display.
//!
//! Validity facts (lengths per leading digits, display grouping, NANP area codes) come from
//! libphonenumber's public metadata, compiled into [`metadata`] by `core/tools/gen-metadata.mjs`.

mod error;
mod format;
mod labels;
mod meta;
#[rustfmt::skip]
pub mod metadata;
mod normalize;
mod scan;
mod types;

pub use error::ParseError;
pub use format::{format, AsYouType};
pub use normalize::{normalize, Normalized};
pub use scan::{find_numbers, find_numbers_batch, for_each_number, may_hold_number, FoundNumber, Match, Scanner};
pub use types::{Region, Style, E164};
