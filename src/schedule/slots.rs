//! Finding a time everyone can make. Pure: no I/O.
//!
//! Candidates are laid out on a 15-minute grid in Swedish local time, on working days only (no
//! weekends, public holidays or the days that are off in practice), inside every required
//! participant's working hours, and converted to UTC through the time zone rules, so a window
//! across a change to or from summer time is right on both sides. Busy intervals are UTC and are
//! widened by an optional buffer. A slot must be free for every required participant; slots are
//! ranked by how many optional participants can come, then by time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::reports::deadlines::to_utc;
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

impl WorkingHours {
    /// Whether `[start, start + minutes)` on `day` (local) lies within these hours.
    fn covers(&self, day: NaiveDate, start: NaiveTime, minutes: i64) -> bool {
        let end = start + Duration::minutes(minutes);
        self.days.contains(&day.weekday()) && start >= self.start && end <= self.end && end > start
    }
}

/// One participant as the search sees them: only busy intervals, never what they are.
#[derive(Clone, Debug)]
pub struct Person<Id> {
    pub id: Id,
    pub required: bool,
    pub hours: WorkingHours,
    /// Busy intervals in UTC, `[start, end)`, in any order, possibly overlapping.
    pub busy: Vec<(NaiveDateTime, NaiveDateTime)>,
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

/// Sorted, merged busy intervals widened by the buffer.
fn merged(
    busy: &[(NaiveDateTime, NaiveDateTime)],
    buffer: Duration,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut all: Vec<_> = busy
        .iter()
        .filter(|(s, e)| e > s)
        .map(|(s, e)| (*s - buffer, *e + buffer))
        .collect();
    all.sort();
    let mut out: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::with_capacity(all.len());
    for (s, e) in all {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Sorted, merged busy intervals: overlapping and touching intervals become one.
pub fn merge(busy: &[(NaiveDateTime, NaiveDateTime)]) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    merged(busy, Duration::zero())
}

/// Whether `[start, end)` overlaps any interval of a sorted, merged list.
fn overlaps(
    busy: &[(NaiveDateTime, NaiveDateTime)],
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> bool {
    // The first interval that ends after `start` is the only one that can overlap first.
    let i = busy.partition_point(|(_, e)| *e <= start);
    busy.get(i).is_some_and(|(s, _)| *s < end)
}

struct Prepared<'a, Id> {
    person: &'a Person<Id>,
    busy: Vec<(NaiveDateTime, NaiveDateTime)>,
}

/// The grid candidates of one local day that start at or after `earliest` and end by `latest`
/// (local times), as (local start time, UTC start, UTC end).
fn candidates(
    day: NaiveDate,
    minutes: i64,
    earliest: NaiveTime,
    latest: NaiveTime,
) -> impl Iterator<Item = (NaiveTime, NaiveDateTime, NaiveDateTime)> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    let first = (earliest - NaiveTime::MIN)
        .num_minutes()
        .div_euclid(STEP_MINUTES);
    let last = ((latest - NaiveTime::MIN).num_minutes() - minutes).div_euclid(STEP_MINUTES);
    (first..=last).filter_map(move |i| {
        let local_start = midnight + Duration::minutes(i * STEP_MINUTES);
        let local_end = local_start + Duration::minutes(minutes);
        (local_start.time() >= earliest && local_end.date() == day && local_end.time() <= latest)
            .then(|| (local_start.time(), to_utc(local_start), to_utc(local_end)))
    })
}

/// Free slots for everyone required, best first; or why there are none.
pub fn find<Id: Clone>(
    people: &[Person<Id>],
    search: &Search,
) -> Result<Vec<Slot<Id>>, NoSlot<Id>> {
    let buffer = Duration::minutes(search.buffer_minutes.max(0));
    let prepared: Vec<Prepared<Id>> = people
        .iter()
        .map(|p| Prepared {
            person: p,
            busy: merged(&p.busy, buffer),
        })
        .collect();
    let required: Vec<&Prepared<Id>> = prepared.iter().filter(|p| p.person.required).collect();
    let optional: Vec<&Prepared<Id>> = prepared.iter().filter(|p| !p.person.required).collect();
    let free = |p: &Prepared<Id>,
                day: NaiveDate,
                local: NaiveTime,
                start: NaiveDateTime,
                end: NaiveDateTime| {
        p.person.hours.covers(day, local, search.minutes) && !overlaps(&p.busy, start, end)
    };

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
            for (local, start, end) in candidates(day, search.minutes, earliest, latest) {
                let mut all_free = true;
                for (i, p) in required.iter().enumerate() {
                    if !free(p, day, local, start, end) {
                        blocked[i] += 1;
                        all_free = false;
                    }
                }
                if all_free {
                    slots.push(Slot {
                        start,
                        end,
                        optional_busy: optional
                            .iter()
                            .filter(|p| !free(p, day, local, start, end))
                            .map(|p| p.person.id.clone())
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
            candidates(*d, search.minutes, earliest, latest)
                .any(|(local, start, end)| required.iter().all(|p| free(p, *d, local, start, end)))
        });
    Err(NoSlot {
        blockers,
        nearest_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn person(
        id: &'static str,
        required: bool,
        busy: Vec<(NaiveDateTime, NaiveDateTime)>,
    ) -> Person<&'static str> {
        Person {
            id,
            required,
            hours: WorkingHours::default(),
            busy,
        }
    }

    fn search(from: NaiveDate, to: NaiveDate, minutes: i64) -> Search {
        Search {
            minutes,
            from,
            to,
            buffer_minutes: 0,
            limit: 1000,
        }
    }

    #[test]
    fn the_first_slot_is_the_start_of_the_working_day() {
        // Tuesday 1 December 2026, CET: 08:00 local is 07:00 UTC.
        let slots = find(
            &[person("a", true, vec![])],
            &search(day(12, 1), day(12, 1), 60),
        )
        .unwrap();
        assert_eq!(slots[0].start, at(12, 1, 7, 0));
        assert_eq!(
            slots.last().unwrap().end,
            at(12, 1, 15, 30),
            "ends 16:30 local"
        );
        assert_eq!(slots.len(), (8 * 60 + 30 - 60) / 15 + 1);
    }

    #[test]
    fn busy_times_and_buffers_are_respected() {
        let busy = vec![(at(12, 1, 7, 0), at(12, 1, 9, 0))]; // 08:00–10:00 local
        let s = search(day(12, 1), day(12, 1), 60);
        let slots = find(&[person("a", true, busy.clone())], &s).unwrap();
        assert_eq!(slots[0].start, at(12, 1, 9, 0), "10:00 local");
        let with_buffer = Search {
            buffer_minutes: 15,
            ..s
        };
        let slots = find(&[person("a", true, busy)], &with_buffer).unwrap();
        assert_eq!(slots[0].start, at(12, 1, 9, 15));
    }

    #[test]
    fn optional_participants_rank_slots_and_are_named_when_busy() {
        let people = [
            person("soc", true, vec![]),
            person("bup", false, vec![(at(12, 1, 7, 0), at(12, 1, 12, 0))]),
        ];
        let slots = find(&people, &search(day(12, 1), day(12, 1), 60)).unwrap();
        assert_eq!(
            slots[0].start,
            at(12, 1, 12, 0),
            "the first time BUP can come"
        );
        assert!(slots[0].optional_busy.is_empty());
        let first_busy = slots.iter().find(|s| !s.optional_busy.is_empty()).unwrap();
        assert_eq!(first_busy.start, at(12, 1, 7, 0));
        assert_eq!(first_busy.optional_busy, ["bup"]);
    }

    #[test]
    fn weekends_holidays_and_days_off_in_practice_are_skipped() {
        // 24–27 December 2026: Christmas Eve (off in practice), Christmas Day, Boxing Day, Sunday.
        let none = find(
            &[person("a", true, vec![])],
            &search(day(12, 24), day(12, 27), 60),
        )
        .unwrap_err();
        assert!(
            none.blockers.is_empty(),
            "nobody blocks; there are no working days"
        );
        assert_eq!(none.nearest_day, Some(day(12, 28)));
        // Midsummer Eve 2026 is Friday 19 June.
        let slots = find(
            &[person("a", true, vec![])],
            &search(day(6, 19), day(6, 22), 60),
        )
        .unwrap();
        assert!(slots.iter().all(|s| s.start.date() == day(6, 22)));
    }

    #[test]
    fn right_on_both_sides_of_the_change_to_summer_time() {
        // Friday 27 March (CET) and Monday 30 March (CEST) 2026, around Sunday 29 March.
        let slots = find(
            &[person("a", true, vec![])],
            &search(day(3, 27), day(3, 30), 30),
        )
        .unwrap();
        let firsts: Vec<NaiveDateTime> = slots
            .iter()
            .map(|s| s.start)
            .filter(|s| s.time() <= NaiveTime::from_hms_opt(7, 0, 0).unwrap())
            .collect();
        assert!(firsts.contains(&at(3, 27, 7, 0)), "08:00 CET is 07:00 UTC");
        assert!(firsts.contains(&at(3, 30, 6, 0)), "08:00 CEST is 06:00 UTC");
        assert!(!firsts.contains(&at(3, 27, 6, 0)) && !firsts.contains(&at(3, 30, 5, 30)));
    }

    #[test]
    fn right_on_both_sides_of_the_change_to_winter_time() {
        // A busy interval given in UTC on Monday 26 October (CET): 09:00–10:00 UTC is 10–11 local.
        let busy = vec![(at(10, 26, 9, 0), at(10, 26, 10, 0))];
        let slots = find(
            &[person("a", true, busy)],
            &search(day(10, 23), day(10, 26), 60),
        )
        .unwrap();
        assert!(
            slots.iter().any(|s| s.start == at(10, 23, 6, 0)),
            "Friday 23rd: 08:00 CEST"
        );
        assert!(
            slots.iter().any(|s| s.start == at(10, 26, 7, 0)),
            "Monday 26th: 08:00 CET"
        );
        assert!(
            !slots.iter().any(|s| s.start == at(10, 26, 8, 30)),
            "would overlap 10:00 local"
        );
        assert!(
            slots.iter().any(|s| s.start == at(10, 26, 10, 0)),
            "11:00 local is free"
        );
    }

    #[test]
    fn without_a_slot_it_says_who_blocks_most_and_when_it_works() {
        let busy_all_week = vec![(at(12, 7, 0, 0), at(12, 12, 0, 0))];
        let people = [
            person("skola", true, busy_all_week),
            person("bvc", true, vec![(at(12, 7, 7, 0), at(12, 7, 9, 0))]),
            person("mamma", false, vec![]),
        ];
        let none = find(&people, &search(day(12, 7), day(12, 11), 60)).unwrap_err();
        assert_eq!(none.blockers[0].0, "skola");
        assert!(none.blockers[0].1 > none.blockers[1].1);
        assert_eq!(none.nearest_day, Some(day(12, 14)), "the next Monday");
    }

    #[test]
    fn working_hours_are_per_person() {
        let mut part_time = person("b", true, vec![]);
        part_time.hours = WorkingHours {
            days: vec![Weekday::Wed],
            start: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
        };
        let slots = find(
            &[person("a", true, vec![]), part_time],
            &search(day(11, 30), day(12, 4), 60),
        )
        .unwrap();
        assert!(slots.iter().all(|s| s.start.date() == day(12, 2)));
        assert_eq!(slots.len(), 5, "13:00, 13:15, 13:30, 13:45, 14:00");
    }
}
