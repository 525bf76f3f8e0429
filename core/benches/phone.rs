//! Native throughput of the phone detector on the labelled corpus: `cargo bench -p mpt-core`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mpt_core::phone::{find_numbers, find_numbers_batch, normalize, Region};
use std::hint::black_box;

fn corpus_texts() -> Vec<String> {
    include_str!("../tests/corpus/crm.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = corpus_texts();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("find_numbers per document", |b| {
        b.iter(|| texts.iter().map(|t| find_numbers(black_box(t), Region::US).len()).sum::<usize>())
    });
    g.bench_function("find_numbers_batch", |b| b.iter(|| find_numbers_batch(black_box(&texts), Region::US)));
    g.finish();

    // Text without digits: the common case in a page, skipped at once.
    let prose = "Lorem ipsum dolor sit amet, consectetur adipiscing elit — naïve café 😀. ".repeat(2000);
    let mut g = c.benchmark_group("prose");
    g.throughput(Throughput::Bytes(prose.len() as u64));
    g.bench_function("find_numbers no digits", |b| b.iter(|| find_numbers(black_box(&prose), Region::US)));
    g.finish();

    c.bench_function("normalize", |b| b.iter(|| normalize(black_box("+1 (415) 555-0134 ext. 12"), Region::US)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
