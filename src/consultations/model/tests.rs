use super::*;

fn complete() -> ConsultationInput {
    ConsultationInput {
        municipality_id: String::new(),
        situation:
            "En elev i årskurs 3 kommer ofta hungrig till skolan och säger att det inte finns \
                    mat hemma. Ska jag göra en anmälan?"
                .into(),
        child_age: Some(9),
        unit: "Ekbackens skola, åk 3".into(),
    }
}

fn fields(input: &ConsultationInput) -> Vec<String> {
    validate(input)
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_consultation_without_a_name_is_valid() {
    let valid = validate(&complete()).unwrap();
    assert_eq!(valid.child_age, 9);
    assert_eq!(valid.unit, "Ekbackens skola, åk 3");
    assert!(valid.municipality_id.is_empty(), "the asker's own");
}

#[test]
fn situation_age_and_unit_are_needed() {
    let empty = ConsultationInput::default();
    assert_eq!(fields(&empty), ["situation", "child_age", "unit"]);
    for age in [-1, 18, 40] {
        let input = ConsultationInput {
            child_age: Some(age),
            ..complete()
        };
        assert_eq!(fields(&input), ["child_age"], "{age}");
    }
    for age in [0, 17] {
        let input = ConsultationInput {
            child_age: Some(age),
            ..complete()
        };
        assert!(validate(&input).is_ok(), "{age}");
    }
}

#[test]
fn a_personnummer_in_any_form_is_refused() {
    for number in [
        "20121212-1212",
        "201212121212",
        "121212-1212",
        "1212121212",
        "121212+1212",
        "20121272-1212", // samordningsnummer: day + 60
        "121212 1212",
    ] {
        let input = ConsultationInput {
            situation: format!("Det gäller barnet med nummer {number}, som är ledset."),
            ..complete()
        };
        let errors = validate(&input).unwrap_err();
        assert_eq!(errors.len(), 1, "{number}");
        assert_eq!(errors[0].field, "situation");
        assert!(errors[0].message.contains("personnummer"), "{number}");
        let unit = ConsultationInput {
            unit: format!("Skola {number}"),
            ..complete()
        };
        assert_eq!(fields(&unit), ["unit"], "{number} in the unit");
    }
}

#[test]
fn numbers_that_are_not_personnummer_pass() {
    for text in [
        "Barnet är 9 år och har 3 syskon.",
        "Det hände 2026-11-23 klockan 14.30.",
        "Frånvaron är 120 timmar sedan 2025.",
        "Ring 08-123 456 78 om du vill.",
        "Klass 3B, rum 1234567",
        // Ten digits, but month 13 cannot be a birth date.
        "Ärendenummer 1213121212",
    ] {
        assert!(!has_personal_number_shape(text), "{text}");
    }
}

#[test]
fn a_name_is_refused_with_what_looked_like_one() {
    for (text, words) in [
        ("Kim Testbarn i klass 3 är ledsen.", "Kim Testbarn"),
        ("Eleven heter Kim och är ofta ledsen.", "Kim"),
        ("Pojken kallas Bosse av de andra.", "Bosse"),
        ("Flickans namn är Lova.", "Lova"),
        (
            "Jag har en elev, Anna-Karin Svensson, som oroar mig.",
            "Anna-Karin Svensson",
        ),
        ("Jag tror att Maja far illa.", "Maja"),
        ("Mamman till Noah kommer ofta berusad.", "Noah"),
        ("Med Kim Andersson är det svårt.", "Kim Andersson"),
    ] {
        let input = ConsultationInput {
            situation: text.into(),
            ..complete()
        };
        let errors = validate(&input).unwrap_err();
        assert_eq!(errors[0].field, "situation", "{text}");
        assert!(
            errors[0].message.contains(words) && errors[0].message.contains("namn"),
            "{text}: {}",
            errors[0].message
        );
    }
}

#[test]
fn ordinary_capitals_are_not_names() {
    for text in [
        "Eleven går på BUP sedan i våras. I skolan är hon tyst.",
        "Hej! Jag undrar hur jag ska göra. Barnet säger att pappa slår.",
        "Vi har kontakt med BVC och skolsköterskan, men inget händer.",
        "Enligt Skolverket ska vi anmäla. På Ekbackens skola har eleven varit borta.",
    ] {
        assert_eq!(identifying(text, true), None, "{text}");
    }
    // A school's name belongs in the unit.
    assert_eq!(identifying("Ekbackens Skola, åk 3", false), None);
    assert_eq!(
        identifying("Ekbackens skola, eleven heter Kim", false),
        Some(Identifying::Name("Kim".into()))
    );
}

#[test]
fn an_answer_needs_words_and_whether_to_report() {
    let answer = AnswerInput {
        answer: "Det du beskriver bör anmälas.".into(),
        should_report: Some(true),
    };
    assert_eq!(
        validate_answer(&answer).unwrap(),
        ValidAnswer {
            answer: "Det du beskriver bör anmälas.".into(),
            should_report: true
        }
    );
    let fields: Vec<String> = validate_answer(&AnswerInput::default())
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["answer", "should_report"]);
}
