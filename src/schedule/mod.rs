//! Finding a time for a SIP meeting: busy times read from partners' calendars ([`busy`], with
//! the time zones calendars use in [`zones`]), kept per user ([`sources`]), and the search for a
//! common slot ([`slots`]). Parsing and search are pure; only `sources` does I/O.

pub mod busy;
pub mod slots;
pub mod sources;
pub mod zones;
