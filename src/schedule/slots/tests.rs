//! The search for a common slot: working hours, holidays, busy times, clock changes and the
//! order slots are offered in.

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
        busy: Busy::new(&busy),
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

/// The search as it was first written (each candidate converted on its own, every interval
/// widened and merged per search, a binary search per check), kept as the reference the
/// faster search must agree with.
fn reference(
    people: &[Person<usize>],
    raw: &[Vec<(NaiveDateTime, NaiveDateTime)>],
    search: &Search,
) -> Vec<(NaiveDateTime, Vec<usize>)> {
    let buffer = Duration::minutes(search.buffer_minutes);
    let widened: Vec<Vec<(NaiveDateTime, NaiveDateTime)>> = raw
        .iter()
        .map(|busy| {
            busy.iter()
                .map(|(s, e)| (*s - buffer, *e + buffer))
                .collect()
        })
        .collect();
    let free = |i: usize, day: NaiveDate, local: NaiveDateTime| {
        let end = local + Duration::minutes(search.minutes);
        let (s, e) = (to_utc(local), to_utc(end));
        let h = &people[i].hours;
        h.days.contains(&day.weekday())
            && local.time() >= h.start
            && end.date() == day
            && end.time() <= h.end
            && !widened[i].iter().any(|(bs, be)| *bs < e && *be > s)
    };
    let mut out = Vec::new();
    let mut day = search.from;
    while day <= search.to {
        if is_working_day(day) {
            for step in 0..(24 * 60 / STEP_MINUTES) {
                let local = day.and_time(NaiveTime::MIN) + Duration::minutes(step * STEP_MINUTES);
                let all = (0..people.len())
                    .filter(|i| people[*i].required)
                    .all(|i| free(i, day, local));
                if all {
                    let busy: Vec<usize> = (0..people.len())
                        .filter(|i| !people[*i].required && !free(*i, day, local))
                        .collect();
                    out.push((to_utc(local), busy));
                }
            }
        }
        day = day.succ_opt().unwrap();
    }
    out.sort_by_key(|(s, b)| (b.len(), *s));
    out
}

#[test]
fn the_search_agrees_with_a_plain_reference_across_both_clock_changes() {
    // Busy intervals of several lengths and patterns per person, some overlapping, from
    // before the change to summer time until after the change to winter time.
    let first = at(3, 16, 5, 0);
    let raw: Vec<Vec<_>> = (0..5i64)
        .map(|p| {
            (0..400i64)
                .map(|i| {
                    let s = first + Duration::minutes((i * 7919 + p * 331) % (240 * 24 * 60));
                    (s, s + Duration::minutes(20 + (i * 37 + p) % 150))
                })
                .collect()
        })
        .collect();
    let people: Vec<Person<usize>> = (0..5i64)
        .map(|p| {
            let mut hours = WorkingHours::default();
            if p == 3 {
                hours.days = vec![Weekday::Mon, Weekday::Wed];
                hours.start = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
            }
            Person {
                id: p as usize,
                required: p % 2 == 0,
                hours,
                busy: Busy::new(&raw[p as usize]),
            }
        })
        .collect();
    for (from, to) in [(day(3, 23), day(4, 3)), (day(10, 19), day(10, 30))] {
        for (minutes, buffer) in [(15, 0), (60, 15), (90, 5)] {
            let s = Search {
                minutes,
                from,
                to,
                buffer_minutes: buffer,
                limit: 100_000,
            };
            let got: Vec<(NaiveDateTime, Vec<usize>)> = find(&people, &s)
                .unwrap_or_default()
                .into_iter()
                .map(|slot| {
                    assert_eq!(slot.end - slot.start, Duration::minutes(minutes));
                    (slot.start, slot.optional_busy)
                })
                .collect();
            let expected = reference(&people, &raw, &s);
            assert!(
                !expected.is_empty(),
                "the data leave slots ({from}, {minutes})"
            );
            assert_eq!(got, expected, "{from}–{to}, {minutes} min, buffer {buffer}");
        }
    }
}

#[test]
fn busy_times_are_merged_once_and_read_back() {
    let busy = Busy::new(&[
        (at(12, 1, 9, 0), at(12, 1, 10, 0)),
        (at(12, 1, 8, 0), at(12, 1, 9, 0)),
        (at(12, 1, 12, 0), at(12, 1, 11, 0)),
        (at(12, 1, 9, 30), at(12, 1, 9, 45)),
    ]);
    assert_eq!(busy.intervals(), vec![(at(12, 1, 8, 0), at(12, 1, 10, 0))]);
}
