//! Finding a time for a SIP meeting: busy times read from partners' calendars ([`busy`], with
//! the time zones calendars use in [`zones`], recurrence rules in [`recurrence`] and the bound on
//! the work one calendar may cost in [`budget`]), kept per user ([`sources`]), and the search for
//! a common slot ([`slots`]). Parsing and search are pure; only `sources` does I/O.

pub mod budget;
pub mod fetch;
pub mod hours;
pub mod busy;
pub mod recurrence;
pub mod slots;
pub mod sources;
pub mod zones;
