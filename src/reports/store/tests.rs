use super::*;

#[test]
fn queue_pages_are_checked_per_parameter() {
    assert_eq!(
        QueuePage::parse(None, Some("")),
        Ok(QueuePage {
            limit: 100,
            offset: 0
        })
    );
    assert_eq!(
        QueuePage::parse(Some(" 500 "), Some("200")),
        Ok(QueuePage {
            limit: 500,
            offset: 200
        })
    );
    let fields = |r: Result<QueuePage, Vec<FieldError>>| -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    };
    assert_eq!(fields(QueuePage::parse(Some("0"), None)), ["limit"]);
    assert_eq!(fields(QueuePage::parse(Some("501"), None)), ["limit"]);
    assert_eq!(
        fields(QueuePage::parse(Some("tio"), Some("-1"))),
        ["limit", "offset"]
    );
    assert_eq!(QueuePage::from(-5).offset, 0);
}

#[test]
fn the_queue_clock_is_the_first_still_running() {
    let safety = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(15, 0, 0)
        .unwrap();
    let decision = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    assert_eq!(next_due(safety, decision, false), safety);
    // After the assessment: the end of the decision's last day, Stockholm time (UTC+1).
    assert_eq!(
        next_due(safety, decision, true),
        decision.and_hms_opt(22, 59, 59).unwrap()
    );
}

#[test]
fn references_look_right() {
    let r = new_reference();
    assert_eq!(r.len(), 10);
    assert!(r.starts_with("OA-") && r.as_bytes()[7] == b'-', "{r}");
    assert!(!r[3..].contains(['0', 'O', '1', 'I', 'L']), "{r}");
}
