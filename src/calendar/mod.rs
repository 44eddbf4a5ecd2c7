//! Calendars: the iCalendar we send (invitations, updates, cancellations, feeds) and the replies
//! we read. Both halves are pure; mail and storage live with the SIP meetings.

pub mod ics;
pub mod reply;

pub use reply::{param, value};
