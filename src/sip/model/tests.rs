use super::*;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn terms(given: NaiveDate, until: Option<NaiveDate>, withdrawn: bool) -> ConsentTerms {
    ConsentTerms {
        given_on: given,
        valid_until: until,
        withdrawn,
        organisations: vec!["skola".into(), "bup".into()],
    }
}

#[test]
fn consent_covers_named_organisations_while_valid() {
    let c = [terms(day(11, 1), Some(day(12, 31)), false)];
    assert!(covers(&c, "skola", day(11, 23)));
    assert!(!covers(&c, "bvc", day(11, 23)), "not named");
    assert!(!covers(&c, "skola", day(10, 31)), "before it was given");
    assert!(
        covers(&c, "skola", day(12, 31))
            && !covers(&c, "skola", NaiveDate::from_ymd_opt(2027, 1, 1).unwrap())
    );
    assert!(
        !covers(&[terms(day(11, 1), None, true)], "skola", day(11, 23)),
        "withdrawn"
    );
}

#[test]
fn the_first_meeting_is_due_days_after_consent() {
    let c = [
        terms(day(11, 10), None, false),
        terms(day(11, 1), None, true),
    ];
    assert_eq!(first_meeting_due(&c, 14, day(11, 23)), Some(day(11, 24)));
    assert_eq!(first_meeting_due(&[], 14, day(11, 23)), None);
}

#[test]
fn a_meeting_needs_a_future_time_a_length_and_a_place() {
    let now = day(11, 23).and_hms_opt(12, 0, 0).unwrap();
    let ok = validate_meeting(
        &MeetingInput {
            starts_at: "2026-12-03T09:30".into(),
            minutes: Some(90),
            place: "Kommunhuset".into(),
            video_url: String::new(),
        },
        now,
    )
    .unwrap();
    assert_eq!(
        ok.starts_at,
        day(12, 3).and_hms_opt(8, 30, 0).unwrap(),
        "CET is UTC+1"
    );
    let fields: Vec<String> = validate_meeting(
        &MeetingInput {
            starts_at: "2026-11-01T09:30".into(),
            minutes: Some(5),
            video_url: "http://x".into(),
            ..Default::default()
        },
        now,
    )
    .unwrap_err()
    .into_iter()
    .map(|e| e.field)
    .collect();
    assert_eq!(fields, ["starts_at", "minutes", "video_url"]);
    let far = validate_meeting(
        &MeetingInput {
            starts_at: "2031-01-01T09:00".into(),
            minutes: Some(60),
            place: "BUP-mottagningen".into(),
            video_url: String::new(),
        },
        now,
    )
    .unwrap_err();
    assert_eq!(far[0].field, "starts_at");
    assert!(far[1].message.contains("\"bup\""), "{}", far[1].message);
}

#[test]
fn times_read_in_swedish_on_both_sides_of_the_clock_change() {
    let summer = day(3, 30).and_hms_opt(8, 0, 0).unwrap();
    assert_eq!(
        swedish_time(summer, 90),
        "måndag 30 mars 2026 kl. 10.00–11.30"
    );
    let winter = day(10, 26).and_hms_opt(8, 0, 0).unwrap();
    assert_eq!(
        swedish_time(winter, 60),
        "måndag 26 oktober 2026 kl. 09.00–10.00"
    );
}

mod plan_tests {
    use super::*;

    fn plan() -> PlanInput {
        PlanInput {
            needs: "Stöd i skolan och hemma.".into(),
            goals: vec![
                "Jag vill orka gå till skolan varje dag.".into(),
                "  ".into(),
            ],
            measures: vec![
                MeasureInput {
                    description: "Samtal varannan vecka".into(),
                    organisation_id: "bup".into(),
                    principal: "region".into(),
                },
                MeasureInput::default(),
            ],
            lead_organisation_id: "soc".into(),
            follow_up_on: String::new(),
        }
    }

    #[test]
    fn a_plan_follows_up_within_six_months_by_default() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let known = ["bup".to_string(), "soc".to_string()];
        let valid = validate_plan(&plan(), day, &known).unwrap();
        assert_eq!(valid.goals.len(), 1, "empty rows dropped");
        assert_eq!(valid.measures.len(), 1);
        assert_eq!(
            valid.follow_up_on,
            NaiveDate::from_ymd_opt(2027, 6, 3).unwrap()
        );
    }

    #[test]
    fn a_plan_names_what_is_missing() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let mut bad = plan();
        bad.needs.clear();
        bad.goals.clear();
        bad.measures[0].principal = "stat".into();
        bad.measures[0].organisation_id = "okänd".into();
        bad.lead_organisation_id.clear();
        bad.follow_up_on = "2026-12-01".into();
        let fields: Vec<String> = validate_plan(&bad, day, &["soc".into()])
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "needs",
                "goals[0]",
                "measures[0].organisation_id",
                "measures[0].principal",
                "lead_organisation_id",
                "follow_up_on"
            ]
        );
    }
}

mod inputs {
    use super::*;

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_sip_needs_the_childs_name_and_a_real_personnummer_and_report() {
        let today = day(11, 23);
        let valid = validate_sip(
            &SipInput {
                child_name: "  Alva  ".into(),
                child_personal_number: String::new(),
                report_id: Some(String::new()),
            },
            today,
            true,
        )
        .unwrap();
        assert_eq!(valid.child_name, "Alva");
        assert_eq!((valid.child_personal_number, valid.report_id), (None, None));
        let bad = SipInput {
            child_name: " ".into(),
            child_personal_number: "not a number".into(),
            report_id: Some("r1".into()),
        };
        assert_eq!(
            fields(validate_sip(&bad, today, false).unwrap_err()),
            ["child_name", "child_personal_number", "report_id"]
        );
    }

    #[test]
    fn a_consent_names_who_gave_it_when_and_for_whom() {
        let today = day(11, 23);
        let input = ConsentInput {
            given_by: "Karin".into(),
            relation: "guardian".into(),
            given_on: String::new(),
            valid_until: "2027-05-31".into(),
            organisation_ids: vec![
                "skola".into(),
                " bup ".into(),
                "skola".into(),
                String::new(),
            ],
        };
        assert_eq!(consent_organisations(&input), ["bup", "skola"]);
        let valid = validate_consent(&input, today, true).unwrap();
        assert_eq!(
            (valid.given_on, valid.relation),
            (today, Relation::Guardian)
        );
        assert_eq!(valid.organisations, ["bup", "skola"]);
        let bad = ConsentInput {
            given_by: String::new(),
            relation: "uncle".into(),
            given_on: "2026-12-01".into(),
            valid_until: "2026-11-30".into(),
            organisation_ids: Vec::new(),
        };
        assert_eq!(
            fields(validate_consent(&bad, today, true).unwrap_err()),
            [
                "given_by",
                "relation",
                "given_on",
                "valid_until",
                "organisation_ids"
            ]
        );
        assert_eq!(
            fields(validate_consent(&input, today, false).unwrap_err()),
            ["organisation_ids"]
        );
    }

    #[test]
    fn a_guest_needs_a_name_and_an_address_without_an_account() {
        let input = ParticipantInput {
            name: " Eva ".into(),
            email: " Eva@Example.SE ".into(),
            ..Default::default()
        };
        assert_eq!(
            validate_guest(&input, false).unwrap(),
            ("Eva".to_string(), "eva@example.se".to_string())
        );
        assert_eq!(fields(validate_guest(&input, true).unwrap_err()), ["email"]);
        let bad = ParticipantInput::default();
        assert_eq!(
            fields(validate_guest(&bad, false).unwrap_err()),
            ["name", "email"]
        );
        assert!(check_new_participant(true, false).is_ok());
        assert_eq!(
            fields(check_new_participant(false, true).unwrap_err()),
            ["user_id"]
        );
        assert_eq!(
            fields(check_new_participant(true, true).unwrap_err()),
            ["email"]
        );
    }

    #[test]
    fn the_calling_organisation_is_always_covered_and_guests_need_some_consent() {
        let today = day(3, 10);
        let consent = ConsentTerms {
            given_on: day(3, 1),
            valid_until: None,
            withdrawn: false,
            organisations: vec!["skola".into()],
        };
        let terms = std::slice::from_ref(&consent);
        assert!(participant_covered("soc", Some("soc"), &[], today));
        assert!(participant_covered("soc", Some("skola"), terms, today));
        assert!(!participant_covered("soc", Some("bup"), terms, today));
        assert!(participant_covered("soc", None, terms, today));
        assert!(!participant_covered("soc", None, &[], today));
    }
}
