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

#[test]
fn violence_by_someone_close_allows_only_opening() {
    assert_eq!(
        allowed_decisions(&[Category::ViolenceInHome, Category::Neglect]),
        &[Decision::Open]
    );
    assert_eq!(
        allowed_decisions(&[Category::HonourViolence]),
        &[Decision::Open]
    );
    assert_eq!(allowed_decisions(&[Category::SchoolAbsence]), Decision::ALL);
}
