//! Published calendars and uploaded .ics files read for busy times (src/schedule/busy.rs).
#![no_main]

use chrono::{NaiveDate, NaiveDateTime};
use libfuzzer_sys::fuzz_target;
use samordna::schedule::busy::busy_times;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("fixed date")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The window the service searches in, fixed: 2026-01-01..2027-01-01 UTC. The default zone
    // comes from the calendar itself (X-WR-TIMEZONE) or the crate's own default.
    let (from, to) = (at(2026, 1, 1), at(2027, 1, 1));
    if let Ok(busy) = busy_times(text, from, to) {
        // Sorted, merged, non-empty intervals inside the window.
        for &(s, e) in &busy {
            assert!(s < e, "empty or reversed interval");
            assert!(from <= s && e <= to, "interval outside the window");
        }
        for pair in busy.windows(2) {
            assert!(pair[0].1 < pair[1].0, "intervals not sorted and merged");
        }
    }
});
