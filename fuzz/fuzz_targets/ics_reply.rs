//! `METHOD:REPLY` calendars as calendar clients mail them (src/calendar/reply.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use samordna::calendar::reply::parse_reply;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reply) = parse_reply(text) {
        // What parse_reply promises about an accepted reply.
        assert!(!reply.uid.trim().is_empty(), "empty UID accepted");
        assert!(reply.attendee.contains('@'), "attendee without @");
        assert_eq!(
            reply.attendee,
            reply.attendee.to_ascii_lowercase(),
            "attendee not lower-cased"
        );
    }
});
