//! Reading a published calendar of 5,000 events into busy times, as the service does for every
//! calendar address (issue 5's target: under 50 ms on the 2-core CI machine). The feed is shaped
//! like an Outlook publication: a Windows-named VTIMEZONE, 4,400 single events over a year (some
//! all-day, some free), 500 weekly series with EXDATEs, and 100 moved instances. Run with
//! `cargo bench --bench feed`.

use std::fmt::Write;

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use samordna::schedule::busy::busy_times;

const ZONE: &str = "W. Europe Standard Time";

fn feed() -> String {
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:Microsoft Exchange Server 2010\r\nX-WR-CALNAME:Kalender\r\n\
         BEGIN:VTIMEZONE\r\nTZID:{ZONE}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\n\
         TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
         BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
         RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    );
    let first = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    let stamp = |d: NaiveDate, h: i64| {
        (d.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(h)).format("%Y%m%dT%H%M%S")
    };
    for i in 0..4400i64 {
        let day = first + Duration::days(i % 360);
        let _ = write!(
            out,
            "BEGIN:VEVENT\r\nUID:single-{i}@example.org\r\nSUMMARY:Möte {i}\r\nLOCATION:Rum {}\r\n",
            i % 40
        );
        if i % 50 == 0 {
            let _ = write!(
                out,
                "DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\n",
                day.format("%Y%m%d"),
                (day + Duration::days(1)).format("%Y%m%d")
            );
        } else {
            let start = 7 * 60 + (i * 37) % (9 * 60);
            let _ = write!(
                out,
                "DTSTART;TZID={ZONE}:{}\r\nDTEND;TZID={ZONE}:{}\r\n",
                stamp(day, start),
                stamp(day, start + 45)
            );
        }
        if i % 7 == 0 {
            out.push_str("TRANSP:TRANSPARENT\r\n");
        }
        out.push_str("END:VEVENT\r\n");
    }
    for i in 0..500i64 {
        let day = first + Duration::days(i % 7);
        let start = 8 * 60 + (i * 15) % (8 * 60);
        let _ = write!(
            out,
            "BEGIN:VEVENT\r\nUID:series-{i}@example.org\r\nSUMMARY:Återkommande {i}\r\n\
             DTSTART;TZID={ZONE}:{}\r\nDTEND;TZID={ZONE}:{}\r\nRRULE:FREQ=WEEKLY;COUNT=52\r\n\
             EXDATE;TZID={ZONE}:{}\r\nEND:VEVENT\r\n",
            stamp(day, start),
            stamp(day, start + 30),
            stamp(day + Duration::days(14), start)
        );
        if i < 100 {
            let moved = day + Duration::days(21);
            let _ = write!(
                out,
                "BEGIN:VEVENT\r\nUID:series-{i}@example.org\r\nRECURRENCE-ID;TZID={ZONE}:{}\r\n\
                 DTSTART;TZID={ZONE}:{}\r\nDTEND;TZID={ZONE}:{}\r\nEND:VEVENT\r\n",
                stamp(moved, start),
                stamp(moved, start + 60),
                stamp(moved, start + 90)
            );
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn bench(c: &mut Criterion) {
    let text = feed();
    let from = NaiveDate::from_ymd_opt(2027, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let to = from + Duration::days(366);
    let busy = busy_times(&text, from, to).expect("the feed reads");
    // Merged: overlapping and back-to-back events become one interval.
    assert!(busy.len() > 300, "only {} busy intervals", busy.len());
    println!("{} merged busy intervals", busy.len());
    c.bench_function(
        "busy times: published feed of 5,000 events, one year",
        |b| b.iter(|| std::hint::black_box(busy_times(&text, from, to)).is_ok()),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
