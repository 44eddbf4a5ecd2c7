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
        outside: Vec::new(),
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
        let valid = validate_plan(&plan(), day, &known, &["soc".into()]).unwrap();
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
        let fields: Vec<String> = validate_plan(&bad, day, &["soc".into()], &["soc".into()])
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

    #[test]
    fn the_overall_responsibility_lies_with_a_kommun_or_region_taking_part() {
        use crate::accounts::Principal;
        assert!(may_lead(Principal::Kommun, true));
        assert!(may_lead(Principal::Region, true));
        assert!(
            !may_lead(Principal::Annan, true),
            "a private school is no principal of a SIP"
        );
        assert!(
            !may_lead(Principal::Region, false),
            "a region not taking part"
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let known = ["bup".to_string(), "soc".to_string(), "friskola".to_string()];
        // BUP exists but does not take part (or is not a principal): refused, beside the field.
        let mut input = plan();
        input.lead_organisation_id = "friskola".into();
        let errors = validate_plan(&input, day, &known, &["soc".into(), "bup".into()]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "lead_organisation_id");
        assert!(
            errors[0].message.contains("kommunen eller regionen"),
            "{}",
            errors[0].message
        );
        input.lead_organisation_id = "bup".into();
        assert!(validate_plan(&input, day, &known, &["soc".into(), "bup".into()]).is_ok());
        assert!(validate_plan(&input, day, &known, &["soc".into()]).is_err());
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
            outside_organisations: vec![
                " Lugnets terapi ".into(),
                "lugnets  TERAPI".into(),
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
        assert_eq!(
            valid.outside_organisations,
            ["Lugnets terapi"],
            "trimmed, once"
        );
        // An outside organisation alone is enough; one too long or with a line break is not.
        let outside_only = ConsentInput {
            organisation_ids: Vec::new(),
            ..input.clone()
        };
        assert!(validate_consent(&outside_only, today, true).is_ok());
        let bad_outside = ConsentInput {
            outside_organisations: vec!["a\nb".into(), "x".repeat(201)],
            ..outside_only
        };
        assert_eq!(
            fields(validate_consent(&bad_outside, today, true).unwrap_err()),
            [
                "outside_organisations",
                "outside_organisations",
                "organisation_ids"
            ]
        );
        let bad = ConsentInput {
            given_by: String::new(),
            relation: "uncle".into(),
            given_on: "2026-12-01".into(),
            valid_until: "2026-11-30".into(),
            organisation_ids: Vec::new(),
            outside_organisations: Vec::new(),
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
    fn a_guest_needs_a_name_an_address_and_what_consent_covers_them_as() {
        let input = ParticipantInput {
            name: " Eva ".into(),
            email: " Eva@Example.SE ".into(),
            relation: Some("guardian".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_guest(&input, false).unwrap(),
            (
                "Eva".to_string(),
                "eva@example.se".to_string(),
                GuestOf::Family(Relation::Guardian)
            )
        );
        assert_eq!(fields(validate_guest(&input, true).unwrap_err()), ["email"]);
        let bad = ParticipantInput::default();
        assert_eq!(
            fields(validate_guest(&bad, false).unwrap_err()),
            ["name", "email", "relation"],
            "a guest must say what the consent covers them as"
        );
        let outside = ParticipantInput {
            relation: None,
            outside_organisation: Some(" Lugnets terapi ".into()),
            ..input.clone()
        };
        assert_eq!(
            validate_guest(&outside, false).unwrap().2,
            GuestOf::Outside("Lugnets terapi".into())
        );
        let listed = ParticipantInput {
            relation: Some(String::new()),
            organisation_id: Some("skola".into()),
            ..input.clone()
        };
        assert_eq!(
            validate_guest(&listed, false).unwrap().2,
            GuestOf::Organisation("skola".into())
        );
        let two = ParticipantInput {
            organisation_id: Some("skola".into()),
            ..input.clone()
        };
        assert_eq!(
            fields(validate_guest(&two, false).unwrap_err()),
            ["relation"]
        );
        let uncle = ParticipantInput {
            relation: Some("uncle".into()),
            ..input
        };
        assert_eq!(
            fields(validate_guest(&uncle, false).unwrap_err()),
            ["relation"]
        );
        assert!(check_new_participant(None, false).is_ok());
        let refusal = not_covered("user_id", "BUP", &[]);
        assert_eq!(
            fields(check_new_participant(Some(refusal), true).unwrap_err()),
            ["user_id"]
        );
        assert_eq!(
            fields(check_new_participant(None, true).unwrap_err()),
            ["email"]
        );
    }

    #[test]
    fn a_refusal_names_the_consents_in_force() {
        let karin = ConsentName {
            given_by: "Karin Berg".into(),
            given_on: day(3, 1),
        };
        let refusal = not_covered(
            "outside_organisation",
            "Lugnets terapi",
            std::slice::from_ref(&karin),
        );
        assert_eq!(refusal.field, "outside_organisation");
        assert!(
            refusal.message.starts_with(
                "Samtycket från Karin Berg (2026-03-01) omfattar inte Lugnets terapi."
            ),
            "{}",
            refusal.message
        );
        let two = not_covered(
            "user_id",
            "BUP",
            &[
                karin,
                ConsentName {
                    given_by: "Ali Berg".into(),
                    given_on: day(3, 2),
                },
            ],
        );
        assert!(
            two.message
                .starts_with("Samtyckena från Karin Berg (2026-03-01) och Ali Berg (2026-03-02)"),
            "{}",
            two.message
        );
        assert!(not_covered("relation", "familjen", &[])
            .message
            .contains("inget giltigt samtycke"));
    }

    fn school_only(given: NaiveDate, until: Option<NaiveDate>, withdrawn: bool) -> ConsentTerms {
        ConsentTerms {
            given_on: given,
            valid_until: until,
            withdrawn,
            organisations: vec!["skola".into()],
            outside: vec!["Lugnets terapi".into()],
        }
    }

    #[test]
    fn consent_covers_the_family_and_the_organisations_it_names_only() {
        let today = day(3, 10);
        let consent = school_only(day(3, 1), None, false);
        let terms = std::slice::from_ref(&consent);
        let covered = |who| participant_covered("soc", who, terms, today);
        // The calling organisation always.
        assert!(participant_covered(
            "soc",
            Covering::Organisation("soc"),
            &[],
            today
        ));
        // The family named in the consent: a guardian, the child.
        assert!(covered(Covering::Family(Relation::Guardian)));
        assert!(covered(Covering::Family(Relation::Child)));
        // An organisation on the list, with an account or without: only if named.
        assert!(covered(Covering::Organisation("skola")));
        assert!(!covered(Covering::Organisation("bup")));
        // An outside organisation: only if the consent names it (as a reader compares names).
        assert!(covered(Covering::Outside("lugnets  Terapi")));
        assert!(
            !covered(Covering::Outside("Privatpraktiken Eken")),
            "the outside therapist under a consent that does not name them"
        );
        // Someone without an account who said nothing about who they are.
        assert!(!covered(Covering::Unknown));
    }

    #[test]
    fn withdrawal_and_expiry_apply_to_everyone_without_an_account_too() {
        let withdrawn = [school_only(day(3, 1), None, true)];
        let expired = [school_only(day(3, 1), Some(day(3, 9)), false)];
        let today = day(3, 10);
        for terms in [&withdrawn[..], &expired[..], &[]] {
            for who in [
                Covering::Family(Relation::Guardian),
                Covering::Family(Relation::Child),
                Covering::Organisation("skola"),
                Covering::Outside("Lugnets terapi"),
            ] {
                assert!(!participant_covered("soc", who, terms, today), "{who:?}");
            }
            assert!(participant_covered(
                "soc",
                Covering::Organisation("soc"),
                terms,
                today
            ));
        }
        // The last day of a consent still counts.
        assert!(participant_covered(
            "soc",
            Covering::Outside("Lugnets terapi"),
            &expired,
            day(3, 9)
        ));
    }

    #[test]
    fn a_late_first_meeting_stays_late_once_booked() {
        let terms = [school_only(day(3, 1), None, false)];
        // Due 14 days after consent: 2026-03-15.
        let on_time = first_meeting(&terms, 14, day(3, 10), None).unwrap();
        assert_eq!((on_time.due, on_time.days_late), (day(3, 15), None));
        let overdue = first_meeting(&terms, 14, day(3, 18), None).unwrap();
        assert_eq!(overdue.days_late, Some(3), "none booked, three days past");
        let booked_late = first_meeting(&terms, 14, day(3, 18), Some(day(3, 20))).unwrap();
        assert_eq!(
            (booked_late.booked_on, booked_late.days_late),
            (Some(day(3, 20)), Some(5)),
            "booked for five days after the deadline: still late"
        );
        let held_late = first_meeting(&terms, 14, day(6, 1), Some(day(3, 20))).unwrap();
        assert_eq!(held_late.days_late, Some(5), "and after it was held");
        let booked_in_time = first_meeting(&terms, 14, day(3, 18), Some(day(3, 15))).unwrap();
        assert_eq!(booked_in_time.days_late, None, "the last day is in time");
        assert_eq!(first_meeting(&[], 14, day(3, 18), None), None);
    }
}
