use super::*;

fn entry() -> Entry {
    Entry {
        seq: 7,
        at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_micro_opt(10, 0, 0, 123_456)
            .unwrap(),
        actor_id: Some("u1".into()),
        actor_label: "anna@ekby.se".into(),
        action: "report.view".into(),
        object_type: "report".into(),
        object_id: Some("r1".into()),
        outcome: Outcome::Success,
        detail: String::new(),
        prev_hash: "ab".repeat(32),
        hash: String::new(),
        municipality_id: Some(MunicipalityId("m1".into())),
    }
}

#[test]
fn the_hash_depends_on_the_key_and_on_every_field() {
    let (a, b) = (AuditKey::derived(b"one"), AuditKey::derived(b"two"));
    let e = entry();
    let keyed = e.keyed_hash(&a);
    assert_eq!(keyed.len(), 64);
    assert_eq!(keyed, e.keyed_hash(&AuditKey::derived(b"one")));
    assert_ne!(keyed, e.keyed_hash(&b));
    assert_ne!(keyed, e.plain_hash(), "not the unkeyed hash");
    let changes: [fn(&mut Entry); 8] = [
        |e| e.seq += 1,
        |e| e.prev_hash = "cd".repeat(32),
        |e| e.at += chrono::TimeDelta::microseconds(1),
        |e| e.actor_id = None,
        |e| e.outcome = Outcome::Denied,
        |e| e.detail = "x".into(),
        |e| e.municipality_id = Some(MunicipalityId("m2".into())),
        |e| e.object_id = None,
    ];
    for change in changes {
        let mut changed = entry();
        change(&mut changed);
        assert_ne!(changed.keyed_hash(&a), keyed);
    }
    // Fields are length-prefixed: text cannot move from one field into the next.
    let mut shifted = entry();
    shifted.object_type = "repor".into();
    shifted.object_id = Some("tr1".into());
    assert_ne!(shifted.keyed_hash(&a), keyed);
}

#[test]
fn anchors_are_seq_colon_hash() {
    let hash = "0123456789abcdef".repeat(4);
    let anchor: Anchor = format!(" 42:{} ", hash.to_uppercase()).parse().unwrap();
    assert_eq!(
        anchor,
        Anchor {
            seq: 42,
            hash: hash.clone()
        }
    );
    assert_eq!(anchor.to_string(), format!("42:{hash}"));
    for bad in [
        String::new(),
        "42".into(),
        hash.clone(),
        format!("0:{hash}"),
        format!("-1:{hash}"),
        format!("x:{hash}"),
        format!("42:{}", &hash[1..]),
        format!("42:{hash}0"),
        format!("42:{}g", &hash[1..]),
        format!("42:{hash}:1"),
    ] {
        let err = bad.parse::<Anchor>().unwrap_err();
        assert!(err.contains("SEQ:HASH"), "{bad}: {err}");
    }
}

#[test]
fn a_key_is_base64_of_32_bytes_and_never_shown() {
    let key = AuditKey::parse("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=").unwrap();
    assert_eq!(format!("{key:?}"), "AuditKey(..)");
    assert!(AuditKey::parse("c2hvcnQ=").is_err());
    assert!(AuditKey::parse("not base64").is_err());
}
