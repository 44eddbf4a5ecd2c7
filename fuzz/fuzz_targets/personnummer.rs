//! Personnummer and samordningsnummer as typed into forms (src/personnummer.rs).
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use samordna::personnummer::{Kind, PersonalNumber};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("fixed date");
    let Ok(number) = PersonalNumber::parse(text, today) else {
        return;
    };
    assert!(number.birth_date() <= today, "birth date in the future");
    // The canonical form, YYYYMMDD-NNNC, is what is stored: it must read back as the same number.
    let canonical = number.canonical();
    assert_eq!(canonical.len(), 13, "canonical form {canonical:?}");
    let again = PersonalNumber::parse(&canonical, today)
        .unwrap_or_else(|p| panic!("canonical form {canonical:?} does not parse again: {p:?}"));
    assert_eq!(again, number, "canonical form {canonical:?} reads back differently");
    assert_eq!(again.canonical(), canonical);
    let samordning = canonical[6..8].parse::<u32>().expect("digits") > 60;
    assert_eq!(number.kind() == Kind::Samordningsnummer, samordning);
});
