//! What a consent needs: who gave it, for which organisations (from the list or outside ones by
//! name), from when and until when. Pure.

use super::*;

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ConsentInput {
    /// Who gave it: the guardian's name, or the child's.
    #[serde(default)]
    pub given_by: String,
    /// `guardian` or `child`.
    #[serde(default)]
    pub relation: String,
    /// `YYYY-MM-DD`; today if left out.
    #[serde(default)]
    pub given_on: String,
    /// `YYYY-MM-DD`, or empty for until withdrawn.
    #[serde(default)]
    pub valid_until: String,
    /// The organisations the consent covers.
    #[serde(default)]
    pub organisation_ids: Vec<String>,
    /// Outside organisations, not on the list, the consent also covers, by name (for example a
    /// private therapist's practice).
    #[serde(default)]
    pub outside_organisations: Vec<String>,
}

/// A checked consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidConsent {
    pub given_by: String,
    pub relation: Relation,
    pub given_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Sorted, each once.
    pub organisations: Vec<String>,
    /// Trimmed, each once (as a reader compares names), in the order written.
    pub outside_organisations: Vec<String>,
}

/// The organisations a consent names, sorted and each once, blanks left out: what is checked
/// against the database and stored.
pub fn consent_organisations(input: &ConsentInput) -> Vec<String> {
    let mut orgs: Vec<String> = input
        .organisation_ids
        .iter()
        .map(|o| o.trim().to_string())
        .collect();
    orgs.sort();
    orgs.dedup();
    orgs.retain(|o| !o.is_empty());
    orgs
}

fn parse_day(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "Skriv datumet som år-månad-dag, till exempel 2026-11-23.",
            ));
            None
        }
    }
}

/// Checks a consent recorded `today`. `organisations_known` says whether every organisation of
/// [`consent_organisations`] exists, which only the database can tell.
pub fn validate_consent(
    input: &ConsentInput,
    today: NaiveDate,
    organisations_known: bool,
) -> Result<ValidConsent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let given_by = input.given_by.trim().to_string();
    if given_by.is_empty() {
        errors.push(FieldError::new("given_by", "Fyll i vem som gav samtycket."));
    }
    crate::input::check_name(&mut errors, "given_by", &given_by);
    let relation = input.relation.parse::<Relation>().ok();
    if relation.is_none() {
        errors.push(FieldError::new(
            "relation",
            "Välj om det är en vårdnadshavare eller barnet.",
        ));
    }
    let given_on = if input.given_on.trim().is_empty() {
        Some(today)
    } else {
        parse_day(&mut errors, "given_on", &input.given_on)
    };
    if given_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new(
            "given_on",
            "Samtycket kan inte vara givet i framtiden.",
        ));
    }
    let valid_until = match input.valid_until.trim() {
        "" => None,
        text => parse_day(&mut errors, "valid_until", text),
    };
    if let (Some(from), Some(until)) = (given_on, valid_until) {
        if until < from {
            errors.push(FieldError::new(
                "valid_until",
                "Slutdatumet ligger före dagen samtycket gavs.",
            ));
        }
    }
    let organisations = consent_organisations(input);
    let mut outside: Vec<String> = Vec::new();
    for name in input.outside_organisations.iter().map(|o| o.trim()) {
        if name.is_empty() {
            continue;
        }
        if crate::input::has_control(name) {
            crate::input::check_name(&mut errors, "outside_organisations", name);
        } else if name.chars().count() > 200 {
            errors.push(FieldError::new(
                "outside_organisations",
                "Varje verksamhets namn får vara högst 200 tecken.",
            ));
        } else if !outside
            .iter()
            .any(|o| crate::accounts::same_organisation_name(o, name))
        {
            outside.push(name.to_string());
        }
    }
    if organisations.is_empty() && outside.is_empty() {
        errors.push(FieldError::new(
            "organisation_ids",
            "Välj vilka verksamheter samtycket gäller.",
        ));
    }
    if !organisations_known {
        errors.push(FieldError::new(
            "organisation_ids",
            "Någon av verksamheterna finns inte.",
        ));
    }
    match (relation, given_on, errors.is_empty()) {
        (Some(relation), Some(given_on), true) => Ok(ValidConsent {
            given_by,
            relation,
            given_on,
            valid_until,
            organisations,
            outside_organisations: outside,
        }),
        _ => Err(errors),
    }
}
