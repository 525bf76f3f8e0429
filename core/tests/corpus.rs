//! Precision and recall on the labelled CRM corpus (`tests/corpus/crm.jsonl`, written by
//! `tools/gen-corpus.mjs`). A found number counts as correct only with the exact UTF-16
//! span, the right E.164 and the right extension.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use mpt_core::phone::{find_numbers, find_numbers_batch, Region};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Doc {
    id: String,
    text: String,
    phones: Vec<Phone>,
    distractors: Vec<Span>,
}

#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord, Clone, Debug)]
struct Phone {
    start_utf16: u32,
    end_utf16: u32,
    e164: String,
    ext: Option<String>,
}

#[derive(Deserialize)]
struct Span {
    start_utf16: u32,
    end_utf16: u32,
    kind: String,
}

fn corpus() -> Vec<Doc> {
    let raw = include_str!("corpus/crm.jsonl");
    raw.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("corpus line is valid JSON")).collect()
}

#[test]
fn corpus_precision_and_recall() {
    let docs = corpus();
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut distractor_hits: BTreeMap<String, usize> = BTreeMap::new();
    let mut distractor_total: BTreeMap<String, usize> = BTreeMap::new();
    let mut report = Vec::new();
    for doc in &docs {
        let found: Vec<Phone> = find_numbers(&doc.text, Region::US)
            .into_iter()
            .map(|m| Phone { start_utf16: m.start_utf16, end_utf16: m.end_utf16, e164: m.e164.to_string(), ext: m.ext })
            .collect();
        for f in &found {
            if doc.phones.contains(f) {
                tp += 1;
            } else {
                fp += 1;
                report.push(format!("FP {}: {:?} in {:?}", doc.id, f, utf16_slice(&doc.text, f.start_utf16, f.end_utf16)));
            }
            for d in &doc.distractors {
                if f.start_utf16 < d.end_utf16 && d.start_utf16 < f.end_utf16 {
                    *distractor_hits.entry(d.kind.clone()).or_default() += 1;
                }
            }
        }
        for p in &doc.phones {
            if !found.contains(p) {
                fn_ += 1;
                report.push(format!("FN {}: {:?} = {:?}", doc.id, p, utf16_slice(&doc.text, p.start_utf16, p.end_utf16)));
            }
        }
        for d in &doc.distractors {
            *distractor_total.entry(d.kind.clone()).or_default() += 1;
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let phones: usize = docs.iter().map(|d| d.phones.len()).sum();
    let distractors: usize = docs.iter().map(|d| d.distractors.len()).sum();
    println!("corpus: {} documents, {phones} phones, {distractors} distractors", docs.len());
    println!("tp {tp} fp {fp} fn {fn_}: precision {precision:.4}, recall {recall:.4}");
    for (k, n) in &distractor_total {
        println!("  distractor {k:>14}: {n:>5}, matched {}", distractor_hits.get(k).copied().unwrap_or(0));
    }
    for r in report.iter().take(60) {
        println!("{r}");
    }
    assert!(phones >= 3000 && distractors >= 3000, "corpus too small");
    assert!(precision >= 0.99, "precision {precision:.4} < 0.99");
    assert!(recall >= 0.99, "recall {recall:.4} < 0.99");
}

fn utf16_slice(text: &str, s: u32, e: u32) -> String {
    let u: Vec<u16> = text.encode_utf16().collect();
    String::from_utf16_lossy(u.get(s as usize..e as usize).unwrap_or(&[]))
}

#[test]
fn corpus_spans_agree_between_bytes_and_utf16() {
    for doc in corpus() {
        for m in find_numbers(&doc.text, Region::US) {
            assert_eq!(&doc.text[m.start..m.end], m.raw);
            assert_eq!(utf16_slice(&doc.text, m.start_utf16, m.end_utf16), m.raw, "{}", doc.id);
        }
    }
}

#[test]
fn batch_equals_one_by_one() {
    let docs = corpus();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let batch = find_numbers_batch(&texts, Region::US);
    for (t, b) in texts.iter().zip(&batch) {
        assert_eq!(&find_numbers(t, Region::US), b);
    }
}
