//! Finding a time everyone can make. Pure: no I/O.
//!
//! Candidates are laid out on a 15-minute grid in Swedish local time, on working days only (no
//! weekends, public holidays or the days that are off in practice), inside every required
//! participant's working hours, and converted to UTC through the time zone rules, so a window
//! across a change to or from summer time is right on both sides. Busy intervals are UTC and are
//! widened by an optional buffer. A slot must be free for every required participant; slots are
//! ranked by how many optional participants can come, then by time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use crate::time::to_utc;
use crate::workdays::is_working_day;

/// The grid slots start on.
pub const STEP_MINUTES: i64 = 15;
/// How far past the window the search for a nearest possible time goes.
const LOOK_AHEAD_DAYS: i64 = 90;

/// When someone works, in Swedish local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for WorkingHours {
    /// Monday to Friday, 08:00–16:30.
    fn default() -> Self {
        WorkingHours {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            end: NaiveTime::from_hms_opt(16, 30, 0).expect("valid"),
        }
    }
}

/// Busy intervals prepared for the search: sorted and merged once, as UTC seconds since 1970 so
/// that every comparison is between two numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Busy(Vec<(i64, i64)>);

fn seconds(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

fn time_of(seconds: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

impl Busy {
    /// From UTC intervals `[start, end)` in any order, possibly overlapping; empty and reversed
    /// ones are left out. Sorting is linear for input that is already in order (as stored).
    pub fn new(busy: &[(NaiveDateTime, NaiveDateTime)]) -> Self {
        let mut all: Vec<(i64, i64)> = busy
            .iter()
            .filter(|(s, e)| e > s)
            .map(|(s, e)| (seconds(*s), seconds(*e)))
            .collect();
        // The stable sort finds runs already in order (as stored, one per source) and merges them.
        all.sort();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        Busy(out)
    }

    /// The merged intervals, in UTC.
    pub fn intervals(&self) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        self.0
            .iter()
            .map(|(s, e)| (time_of(*s), time_of(*e)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<(NaiveDateTime, NaiveDateTime)>> for Busy {
    fn from(busy: Vec<(NaiveDateTime, NaiveDateTime)>) -> Self {
        Busy::new(&busy)
    }
}

/// Sorted, merged busy intervals: overlapping and touching intervals become one.
pub fn merge(busy: &[(NaiveDateTime, NaiveDateTime)]) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    Busy::new(busy).intervals()
}

/// One participant as the search sees them: only busy intervals, never what they are.
#[derive(Clone, Debug)]
pub struct Person<Id> {
    pub id: Id,
    pub required: bool,
    pub hours: WorkingHours,
    /// When they are busy, merged once when the search's input is put together.
    pub busy: Busy,
}

/// What to search for.
#[derive(Clone, Debug)]
pub struct Search {
    pub minutes: i64,
    /// First and last local day to search, inclusive.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Kept free before and after every busy interval.
    pub buffer_minutes: i64,
    /// At most this many slots are returned.
    pub limit: usize,
}

/// A time that every required participant can make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot<Id> {
    /// UTC.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Optional participants who cannot come then.
    pub optional_busy: Vec<Id>,
}

/// Why there is no slot, and where the nearest one is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoSlot<Id> {
    /// Required participants, most blocking first, with how many candidate times each blocks.
    pub blockers: Vec<(Id, usize)>,
    /// The first day after the window on which a slot exists, if one does within 90 days.
    pub nearest_day: Option<NaiveDate>,
}

/// One person during the search: their merged busy times and how far into them the search has
/// come. Candidates are tried in time order, so each interval is passed once.
struct Walker<'a, Id> {
    person: &'a Person<Id>,
    /// The first interval that ends after the last candidate's start (less the buffer).
    next: usize,
    /// The last start asked about; an earlier one starts the walk again.
    last: i64,
    /// Working hours as seconds after local midnight.
    start_of_day: i64,
    end_of_day: i64,
}

impl<'a, Id> Walker<'a, Id> {
    fn new(person: &'a Person<Id>) -> Self {
        let of_day = |t: NaiveTime| i64::from(t.num_seconds_from_midnight());
        Walker {
            person,
            next: 0,
            last: i64::MIN,
            start_of_day: of_day(person.hours.start),
            end_of_day: of_day(person.hours.end),
        }
    }

    /// Whether `[start, end)` (UTC seconds) is clear of every busy interval widened by
    /// `buffer`: the same as the candidate widened by the buffer being clear of the intervals.
    fn clear(&mut self, start: i64, end: i64, buffer: i64) -> bool {
        let busy = &self.person.busy.0;
        let (start, end) = (start - buffer, end + buffer);
        if start < self.last {
            self.next = busy.partition_point(|(_, e)| *e <= start);
        }
        self.last = start;
        while busy.get(self.next).is_some_and(|(_, e)| *e <= start) {
            self.next += 1;
        }
        busy.get(self.next).is_none_or(|(s, _)| *s >= end)
    }

    /// Whether they can come to a candidate: working that day and then, and not busy.
    fn free(&mut self, works: bool, candidate: &Candidate, minutes: i64, buffer: i64) -> bool {
        let local_end = candidate.local + minutes * 60;
        works
            && candidate.local >= self.start_of_day
            && local_end <= self.end_of_day
            && local_end > candidate.local
            && self.clear(candidate.start, candidate.end, buffer)
    }

    fn works_on(&self, day: NaiveDate) -> bool {
        self.person.hours.days.contains(&day.weekday())
    }
}

/// A grid time on one local day: its local start as seconds after midnight, and its UTC start
/// and end as seconds since 1970.
struct Candidate {
    local: i64,
    start: i64,
    end: i64,
}

/// The grid candidates of one local day that start at or after `earliest` and end by `latest`
/// (local times). The day's offset from UTC is looked up once; only on a day the clocks change
/// is each time converted on its own.
fn candidates(
    day: NaiveDate,
    minutes: i64,
    earliest: NaiveTime,
    latest: NaiveTime,
) -> Vec<Candidate> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    let first = (earliest - NaiveTime::MIN)
        .num_minutes()
        .div_euclid(STEP_MINUTES);
    let last = ((latest - NaiveTime::MIN).num_minutes() - minutes).div_euclid(STEP_MINUTES);
    if last < first {
        return Vec::new();
    }
    let offset = |local: NaiveDateTime| seconds(local) - seconds(to_utc(local));
    let (first_local, last_end) = (
        midnight + Duration::minutes(first * STEP_MINUTES),
        midnight + Duration::minutes(last * STEP_MINUTES + minutes),
    );
    let same_offset = offset(first_local) == offset(last_end);
    let day_offset = offset(first_local);
    let base = seconds(midnight);
    (first..=last)
        .filter_map(|i| {
            let local_start = midnight + Duration::minutes(i * STEP_MINUTES);
            let local_end = local_start + Duration::minutes(minutes);
            if local_start.time() < earliest || local_end.date() != day || local_end.time() > latest
            {
                return None;
            }
            let local = i * STEP_MINUTES * 60;
            let (start, end) = if same_offset {
                (
                    base + local - day_offset,
                    base + local + minutes * 60 - day_offset,
                )
            } else {
                (seconds(to_utc(local_start)), seconds(to_utc(local_end)))
            };
            Some(Candidate { local, start, end })
        })
        .collect()
}

/// Free slots for everyone required, best first; or why there are none.
pub fn find<Id: Clone>(
    people: &[Person<Id>],
    search: &Search,
) -> Result<Vec<Slot<Id>>, NoSlot<Id>> {
    let buffer = search.buffer_minutes.max(0) * 60;
    let minutes = search.minutes;
    let mut required: Vec<Walker<Id>> = people
        .iter()
        .filter(|p| p.required)
        .map(Walker::new)
        .collect();
    let mut optional: Vec<Walker<Id>> = people
        .iter()
        .filter(|p| !p.required)
        .map(Walker::new)
        .collect();

    // Only times inside every required person's hours can work: no need to try the others.
    let earliest = required
        .iter()
        .map(|p| p.person.hours.start)
        .max()
        .unwrap_or(NaiveTime::MIN);
    let latest = required
        .iter()
        .map(|p| p.person.hours.end)
        .min()
        .unwrap_or(NaiveTime::from_hms_opt(23, 59, 59).expect("valid"));
    let mut slots = Vec::new();
    let mut blocked = vec![0usize; required.len()];
    let mut day = search.from;
    while day <= search.to {
        if is_working_day(day) {
            let required_works: Vec<bool> = required.iter().map(|p| p.works_on(day)).collect();
            let optional_works: Vec<bool> = optional.iter().map(|p| p.works_on(day)).collect();
            for candidate in candidates(day, minutes, earliest, latest) {
                let mut all_free = true;
                for (i, p) in required.iter_mut().enumerate() {
                    if !p.free(required_works[i], &candidate, minutes, buffer) {
                        blocked[i] += 1;
                        all_free = false;
                    }
                }
                if all_free {
                    slots.push(Slot {
                        start: time_of(candidate.start),
                        end: time_of(candidate.end),
                        optional_busy: optional
                            .iter_mut()
                            .zip(&optional_works)
                            .filter_map(|(p, works)| {
                                (!p.free(*works, &candidate, minutes, buffer))
                                    .then(|| p.person.id.clone())
                            })
                            .collect(),
                    });
                }
            }
        }
        day = day.succ_opt().expect("a next day");
    }
    if !slots.is_empty() {
        slots.sort_by_key(|s| (s.optional_busy.len(), s.start));
        slots.truncate(search.limit);
        return Ok(slots);
    }

    let mut blockers: Vec<(Id, usize)> = required
        .iter()
        .zip(blocked)
        .filter(|(_, n)| *n > 0)
        .map(|(p, n)| (p.person.id.clone(), n))
        .collect();
    blockers.sort_by_key(|b| std::cmp::Reverse(b.1));
    let nearest_day = (1..=LOOK_AHEAD_DAYS)
        .map(|n| search.to + Duration::days(n))
        .filter(|d| is_working_day(*d))
        .find(|d| {
            let works: Vec<bool> = required.iter().map(|p| p.works_on(*d)).collect();
            candidates(*d, minutes, earliest, latest).iter().any(|c| {
                required
                    .iter_mut()
                    .zip(&works)
                    .all(|(p, w)| p.free(*w, c, minutes, buffer))
            })
        });
    Err(NoSlot {
        blockers,
        nearest_day,
    })
}

#[cfg(test)]
mod tests;
