//! Finding a time for a SIP meeting: busy times from partners' calendars and the search for a
//! common slot. So far the pure search ([`slots`]); fetching and parsing busy times follow.

pub mod slots;
