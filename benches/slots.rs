//! Slot search: 10 participants with 2,000 busy intervals each over a 90-day window (target:
//! under 2 ms on the 2-core CI machine). Run with `cargo bench --bench slots`.
//!
//! The first figure is the search itself, with each person's busy times merged once when the
//! search's input is put together (as `sip::times::suggest` does); the second includes that
//! merging, from 20,000 unsorted intervals.

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use samordna::schedule::slots::{find, Busy, Person, Search, WorkingHours};

type Raw = Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)>;

fn raw() -> Vec<Raw> {
    let start = NaiveDate::from_ymd_opt(2027, 1, 4)
        .unwrap()
        .and_hms_opt(6, 0, 0)
        .unwrap();
    (0..10)
        .map(|p| {
            // 2,000 one-hour meetings spread over the 90 days, a different pattern per person,
            // leaving some common gaps.
            (0..2000i64)
                .map(|i| {
                    let s = start + Duration::minutes((i * 97 + p as i64 * 41) % (90 * 24 * 60));
                    (s, s + Duration::minutes(45))
                })
                .collect()
        })
        .collect()
}

fn people(raw: &[Raw]) -> Vec<Person<usize>> {
    raw.iter()
        .enumerate()
        .map(|(p, busy)| Person {
            id: p,
            required: p < 6,
            hours: WorkingHours::default(),
            busy: Busy::new(busy),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let raw = raw();
    let prepared = people(&raw);
    let search = Search {
        minutes: 60,
        from: NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
        to: NaiveDate::from_ymd_opt(2027, 4, 3).unwrap(),
        buffer_minutes: 0,
        limit: 20,
    };
    c.bench_function("slots: 10 people x 2000 busy, 90 days", |b| {
        b.iter(|| {
            let _ = std::hint::black_box(find(&prepared, &search));
        });
    });
    c.bench_function("slots: the same, merging the raw intervals first", |b| {
        b.iter(|| {
            let _ = std::hint::black_box(find(&people(&raw), &search));
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
