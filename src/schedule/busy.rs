//! Busy times from a calendar file: what Outlook, Google, Apple and others publish as a secret
//! address, or what a user uploads. Pure: no I/O.
//!
//! Only `[start, end)` intervals in UTC come out, merged so that not even the boundaries of
//! back-to-back events remain. Titles, descriptions, places and attendees are never read.
//!
//! Read: `VEVENT` with `RRULE` (expanded in the event's own local time, so a weekly 09:00 stays at
//! 09:00 across a change to or from summer time), `RDATE`, `EXDATE`, `RECURRENCE-ID` overrides
//! (moved or cancelled instances), all-day and multi-day events; events marked free
//! (`TRANSP:TRANSPARENT`, Outlook's `X-MICROSOFT-CDO-BUSYSTATUS:FREE`) and cancelled ones
//! (`STATUS:CANCELLED`) are not busy. `VFREEBUSY` with `FREEBUSY` periods by `FBTYPE`. Time zones
//! as in [`crate::schedule::zones`]. Components the search has no use for (tasks, journals,
//! alarms, vendor extensions) are skipped before parsing.
//!
//! A file that cannot be read is refused as a whole, with the line and what is wrong: reading half
//! a calendar would show someone free when they are not.
//!
//! The work one calendar may cost is bounded as a whole ([`Budget`]); recurrence rules are
//! expanded in [`crate::schedule::recurrence`], time zones resolved in [`crate::schedule::zones`].
//!
//! In two passes: `components` checks the file's structure and keeps only what is read; `reader`
//! turns each parsed calendar's events and free/busy periods into intervals. `malformed` is the
//! refusal both give.

mod components;
mod malformed;
mod reader;

use chrono::{Datelike, NaiveDateTime};

use self::components::{components_we_read, unreadable};
use self::malformed::malformed;
pub use self::malformed::Malformed;
pub use self::reader::Interval;
use self::reader::Reader;
use crate::schedule::budget::{Budget, MAX_INTERVALS, TOO_BIG};
use crate::schedule::slots::merge;

/// The busy intervals of every calendar in `text` that overlap `[from, to)` (UTC), cut to the
/// window, sorted and merged; within the [`Budget::standard`].
pub fn busy_times(
    text: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Interval>, Malformed> {
    busy_times_within(text, from, to, &mut Budget::standard())
}

/// [`busy_times`] within `budget`: a calendar that would take more is refused with [`TOO_BIG`].
pub fn busy_times_within(
    text: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    budget: &mut Budget,
) -> Result<Vec<Interval>, Malformed> {
    let cleaned = components_we_read(text)?;
    let mut busy = Vec::new();
    for calendar in ical::IcalParser::new(cleaned.as_bytes()) {
        budget.take(0).map_err(|_| malformed(None, TOO_BIG))?;
        let calendar = calendar.map_err(unreadable)?;
        Reader::new(&calendar, text, to.year() + 1, budget)?
            .read(&calendar, from, to, &mut busy, budget)?;
        if busy.len() > MAX_INTERVALS {
            return Err(malformed(
                None,
                format!("kalendern har fler än {MAX_INTERVALS} upptagna tider under perioden"),
            ));
        }
    }
    Ok(merge(&busy))
}

#[cfg(test)]
mod tests;
