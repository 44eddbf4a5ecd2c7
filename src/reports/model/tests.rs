use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn complete() -> ReportInput {
    ReportInput {
        municipality_id: "m1".into(),
        children: vec![ChildInput {
            personal_number: "20121212-1212".into(),
            name: "Kim".into(),
            told: Some(false),
            not_told_reason: "Barnet är rädd".into(),
            ..Default::default()
        }],
        guardians: vec![GuardianInput {
            name: "Förälder".into(),
            told: Some(true),
            ..Default::default()
        }],
        concern: "Barnet kommer hungrigt till skolan varje dag.".into(),
        categories: vec!["neglect".into()],
        acute_danger: Some(false),
        police_informed: Some(false),
        ..Default::default()
    }
}

fn fields(input: &ReportInput, professional: bool) -> Vec<String> {
    validate(input, professional, today())
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_complete_report_is_valid() {
    let report = validate(&complete(), true, today()).unwrap();
    assert_eq!(report.children.len(), 1);
    assert_eq!(
        report.children[0].birth_date,
        NaiveDate::from_ymd_opt(2012, 12, 12)
    );
    assert_eq!(report.categories, vec![Category::Neglect]);
    assert_eq!(report.private_reporter, None);
}

#[test]
fn an_empty_report_names_every_missing_answer() {
    let empty = ReportInput::default();
    assert_eq!(
        fields(&empty, true),
        [
            "municipality_id",
            "children[0].name",
            "concern",
            "categories",
            "acute_danger",
            "police_informed"
        ]
    );
    let one_empty_child = ReportInput {
        children: vec![ChildInput::default()],
        ..complete()
    };
    assert_eq!(
        fields(&one_empty_child, true),
        [
            "children[0].name",
            "children[0].birth_date",
            "children[0].told"
        ]
    );
}

#[test]
fn a_child_needs_a_personnummer_or_name_and_birth_date() {
    let mut input = complete();
    input.children[0] = ChildInput {
        name: "Kim".into(),
        birth_date: "2015-03-14".into(),
        told: Some(true),
        ..Default::default()
    };
    assert!(validate(&input, true, today()).is_ok());
    input.children[0].personal_number = "20121212-1213".into();
    let err = validate(&input, true, today()).unwrap_err();
    assert_eq!(err[0].field, "children[0].personal_number");
    assert!(err[0].message.contains("kontrollsiffran"));
    input.children[0].personal_number.clear();
    input.children[0].birth_date = "14/3 2015".into();
    assert_eq!(fields(&input, true), ["children[0].birth_date"]);
}

#[test]
fn siblings_in_one_report_and_empty_rows_ignored() {
    let mut input = complete();
    input.children.push(ChildInput::default());
    input.children.push(ChildInput {
        name: "Syskon".into(),
        birth_date: "2018-01-01".into(),
        told: Some(true),
        ..Default::default()
    });
    let report = validate(&input, true, today()).unwrap();
    assert_eq!(report.children.len(), 2);
    assert_eq!(report.children[1].name, "Syskon");
}

#[test]
fn not_told_needs_a_reason() {
    let mut input = complete();
    input.children[0].not_told_reason.clear();
    input.guardians[0].told = Some(false);
    assert_eq!(
        fields(&input, true),
        [
            "children[0].not_told_reason",
            "guardians[0].not_told_reason"
        ]
    );
}

#[test]
fn long_short_fields_are_refused() {
    let mut input = complete();
    input.other_agencies = "x".repeat(MAX_SHORT + 1);
    assert_eq!(fields(&input, true), ["other_agencies"]);
}

#[test]
fn private_reporters_are_anonymous_or_reachable() {
    let anonymous = validate(&complete(), false, today()).unwrap();
    assert_eq!(anonymous.private_reporter, None);
    let mut input = complete();
    input.reporter = Some(PrivateReporterInput {
        name: "Granne".into(),
        ..Default::default()
    });
    assert_eq!(fields(&input, false), ["reporter.phone"]);
    input.reporter.as_mut().unwrap().phone = "070-000 00 00".into();
    let named = validate(&input, false, today()).unwrap();
    assert_eq!(named.private_reporter.unwrap().name, "Granne");
}

/// Every category against every someone-close answer (and no answer at all).
#[test]
fn the_violence_rule_for_each_category_and_answer() {
    use CloseAnswer::{No, Unknown, Yes};
    let applies = |c: Category, a: Option<CloseAnswer>| {
        let close = SomeoneClose(a.map(|a| vec![(c, a)]).unwrap_or_default());
        violence_rule_applies(&[c], &close)
    };
    for &c in Category::ALL {
        let expected: [bool; 4] = match c {
            // yes, no, unknown, not answered
            Category::ViolenceInHome => [true, false, true, true],
            Category::HonourViolence => [true, false, true, true],
            Category::SexualAbuse => [true, false, false, false],
            _ => [false, false, false, false],
        };
        let got = [
            applies(c, Some(Yes)),
            applies(c, Some(No)),
            applies(c, Some(Unknown)),
            applies(c, None),
        ];
        assert_eq!(got, expected, "{c:?}");
    }
    // One category is enough, whatever the others say.
    let close = SomeoneClose(vec![
        (Category::ViolenceInHome, No),
        (Category::SexualAbuse, Yes),
    ]);
    assert!(violence_rule_applies(
        &[
            Category::ViolenceInHome,
            Category::SexualAbuse,
            Category::Neglect
        ],
        &close
    ));
    assert!(!violence_rule_applies(&[Category::ViolenceInHome], &close));
}

#[test]
fn under_the_violence_rule_only_opening_or_joining_is_allowed() {
    let yes = SomeoneClose(vec![(Category::SexualAbuse, CloseAnswer::Yes)]);
    assert_eq!(
        allowed_decisions(&[Category::SexualAbuse], &yes),
        &[Decision::Open, Decision::Join]
    );
    assert_eq!(
        allowed_decisions(
            &[Category::ViolenceInHome, Category::Neglect],
            &SomeoneClose::default()
        ),
        &[Decision::Open, Decision::Join]
    );
    assert_eq!(
        allowed_decisions(&[Category::SchoolAbsence], &yes),
        Decision::ALL
    );
}

#[test]
fn someone_close_answers_are_stored_and_read_back() {
    let close = SomeoneClose(vec![
        (Category::ViolenceInHome, CloseAnswer::Unknown),
        (Category::SexualAbuse, CloseAnswer::Yes),
    ]);
    assert_eq!(
        close.to_stored(),
        "violence_in_home:unknown,sexual_abuse:yes"
    );
    assert_eq!(SomeoneClose::from_stored(&close.to_stored()), close);
    assert_eq!(SomeoneClose::from_stored(""), SomeoneClose::default());
    assert_eq!(
        SomeoneClose::from_stored("x:y").answer(Category::HonourViolence),
        CloseAnswer::Unknown
    );
}

#[test]
fn the_form_asks_about_someone_close_only_for_violence_and_abuse() {
    let mut input = complete();
    input.categories = vec!["sexual_abuse".into(), "neglect".into()];
    input
        .someone_close
        .insert("sexual_abuse".into(), "yes".into());
    let report = validate(&input, true, today()).unwrap();
    assert!(report.violence_rule_applies());
    input
        .someone_close
        .insert("sexual_abuse".into(), "kanske".into());
    assert_eq!(fields(&input, true), ["someone_close.sexual_abuse"]);
    input.someone_close.clear();
    input.someone_close.insert("neglect".into(), "yes".into());
    assert_eq!(fields(&input, true), ["someone_close.neglect"]);
    // An answer for a category not chosen is ignored.
    input.someone_close.clear();
    input
        .someone_close
        .insert("honour_violence".into(), "yes".into());
    assert!(!validate(&input, true, today())
        .unwrap()
        .violence_rule_applies());
}

fn child_decision(decision: &str) -> ChildDecisionInput {
    ChildDecisionInput {
        child_id: "c1".into(),
        decision: decision.into(),
        reason: "Skäl.".into(),
        siblings_note: "Inga fler syskon.".into(),
        ..Default::default()
    }
}

fn decision_fields(input: &ChildDecisionInput, case: &ChildCase) -> Vec<String> {
    check_child_decision(input, case, |f| format!("children[0].{f}"))
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn per_child_decisions_follow_the_violence_rule() {
    let violence = ChildCase {
        violence_rule: true,
        has_personal_number: true,
        ..Default::default()
    };
    assert_eq!(
        decision_fields(&child_decision("not_open"), &violence),
        ["children[0].decision"]
    );
    let opened =
        check_child_decision(&child_decision("open"), &violence, |f: &str| f.to_string()).unwrap();
    assert_eq!(
        (opened.decision, opened.joined_investigation),
        (Decision::Open, None)
    );
    let mut without_note = child_decision("open");
    without_note.siblings_note.clear();
    assert_eq!(
        decision_fields(&without_note, &violence),
        ["children[0].siblings_note"]
    );
    // Without the rule, not opening is allowed and siblings need no note.
    let plain = ChildCase {
        has_personal_number: true,
        ..Default::default()
    };
    let mut not_open = child_decision("not_open");
    not_open.siblings_note.clear();
    assert_eq!(
        check_child_decision(&not_open, &plain, |f: &str| f.to_string())
            .unwrap()
            .decision,
        Decision::NotOpen
    );
}

#[test]
fn joining_needs_an_investigation_under_way_and_is_allowed_under_the_rule() {
    let under_way = ChildCase {
        violence_rule: true,
        under_way: Some("inv-1".into()),
        has_personal_number: true,
        late: false,
    };
    let joined =
        check_child_decision(&child_decision("join"), &under_way, |f: &str| f.to_string()).unwrap();
    assert_eq!(joined.decision, Decision::Join);
    assert_eq!(joined.joined_investigation.as_deref(), Some("inv-1"));
    let none = ChildCase {
        under_way: None,
        ..under_way.clone()
    };
    assert_eq!(
        decision_fields(&child_decision("join"), &none),
        ["children[0].decision"]
    );
    // Opening when one is under way is still allowed, and records no link.
    let opened =
        check_child_decision(&child_decision("open"), &under_way, |f: &str| f.to_string()).unwrap();
    assert_eq!(opened.joined_investigation, None);
}

#[test]
fn a_late_decision_needs_its_reason_and_an_unknown_one_is_refused() {
    let late = ChildCase {
        late: true,
        ..Default::default()
    };
    assert_eq!(
        decision_fields(&child_decision("open"), &late),
        ["children[0].late_reason"]
    );
    let mut bad = child_decision("kanske");
    bad.reason = "  ".into();
    assert_eq!(
        decision_fields(&bad, &ChildCase::default()),
        ["children[0].decision", "children[0].reason"]
    );
    assert!(ChildDecisionInput::default().is_blank());
    assert!(!child_decision("").is_blank());
}

#[test]
fn a_sibling_added_by_the_officer_needs_a_personnummer_or_a_name_and_birth_date() {
    let by_number = check_sibling("20140305-1236", "", "", today()).unwrap();
    assert_eq!(
        by_number.birth_date,
        NaiveDate::from_ymd_opt(2014, 3, 5),
        "from the personnummer"
    );
    let errors = |r: Result<Child, Vec<FieldError>>| -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    };
    assert_eq!(
        errors(check_sibling("", "Ada", "", today())),
        ["birth_date"]
    );
    assert_eq!(
        errors(check_sibling("20140305-1235", "", "", today())),
        ["personal_number"]
    );
    assert!(check_sibling("", "Ada Syskon", "2014-03-05", today()).is_ok());
}
