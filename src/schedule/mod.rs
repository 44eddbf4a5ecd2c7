//! Finding a time for a SIP meeting: busy times read from partners' calendars ([`busy`], with
//! the time zones calendars use in [`zones`], recurrence rules in [`recurrence`] and the bound on
//! the work one calendar may cost in [`budget`]), kept per user with their working hours
//! ([`sources`], fetched over the network by [`fetch`]; [`hours`]), and the search for a common
//! slot ([`slots`]). Parsing and search are pure; only `sources`, `fetch` and `hours` do I/O.

pub mod budget;
pub mod busy;
pub mod fetch;
pub mod hours;
pub mod recurrence;
pub mod slots;
pub mod sources;
pub mod zones;
