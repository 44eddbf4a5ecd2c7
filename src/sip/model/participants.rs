//! Who may take part in a SIP: an account holder of a covered organisation, or someone without an
//! account who is the family or belongs to an organisation a valid consent covers. Pure.

use super::*;

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ParticipantInput {
    /// A user of a partner organisation; or leave out and give name and email.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    /// Must the meeting have this person? Defaults to yes.
    #[serde(default)]
    pub required: Option<bool>,
    /// Without an account, what the consent covers them as — exactly one of these three:
    /// a member of the family, `guardian` or `child`;
    #[serde(default)]
    pub relation: Option<String>,
    /// or someone from an organisation on the list (its id), which a consent must cover;
    #[serde(default)]
    pub organisation_id: Option<String>,
    /// or someone from an outside organisation, by the name a consent gives it.
    #[serde(default)]
    pub outside_organisation: Option<String>,
}

impl ParticipantInput {
    /// The user chosen from the list, if one was.
    pub fn chosen_user(&self) -> Option<&str> {
        self.user_id.as_deref().filter(|u| !u.is_empty())
    }
}

/// The error when the chosen user does not exist or is not active.
pub fn unknown_user() -> Vec<FieldError> {
    vec![FieldError::new(
        "user_id",
        "Det finns ingen sådan användare.",
    )]
}

/// What a participant without an account is covered as: consent limits every participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestOf {
    /// A member of the family the consent is about: a guardian or the child.
    Family(Relation),
    /// Someone from an organisation on the list (its id).
    Organisation(String),
    /// Someone from an outside organisation, by name.
    Outside(String),
}

impl GuestOf {
    /// The field of [`ParticipantInput`] that says it, where a refusal is shown.
    pub fn field(&self) -> &'static str {
        match self {
            GuestOf::Family(_) => "relation",
            GuestOf::Organisation(_) => "organisation_id",
            GuestOf::Outside(_) => "outside_organisation",
        }
    }
}

/// What a participant without an account says they are covered as: exactly one of relation,
/// organisation and outside organisation.
fn guest_of(errors: &mut Vec<FieldError>, input: &ParticipantInput) -> Option<GuestOf> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let relation = given(&input.relation);
    let organisation = given(&input.organisation_id);
    let outside = given(&input.outside_organisation);
    let said = [&relation, &organisation, &outside]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if said != 1 {
        errors.push(FieldError::new(
            "relation",
            "Ange en sak om vem personen är: vårdnadshavare, barnet, en verksamhet i listan \
             eller en utomstående verksamhet som samtycket nämner.",
        ));
        return None;
    }
    if let Some(relation) = relation {
        return match relation.parse::<Relation>() {
            Ok(r) => Some(GuestOf::Family(r)),
            Err(_) => {
                errors.push(FieldError::new(
                    "relation",
                    "Välj om personen är vårdnadshavare eller barnet.",
                ));
                None
            }
        };
    }
    if let Some(organisation) = organisation {
        return Some(GuestOf::Organisation(organisation));
    }
    let name = outside.unwrap_or_default();
    if crate::input::has_control(&name) {
        crate::input::check_name(errors, "outside_organisation", &name);
        return None;
    }
    if name.chars().count() > 200 {
        errors.push(FieldError::new(
            "outside_organisation",
            "Verksamhetens namn får vara högst 200 tecken.",
        ));
        return None;
    }
    Some(GuestOf::Outside(name))
}

/// Checks a participant without an account: their name and address (as
/// [`crate::accounts::parse_email`] writes it) and what the consent covers them as
/// ([`GuestOf`]). `has_account` says whether someone with that address has an account here, who
/// should then be chosen from the list instead.
pub fn validate_guest(
    input: &ParticipantInput,
    has_account: bool,
) -> Result<(String, String, GuestOf), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("name", "Fyll i namnet."));
    }
    crate::input::check_name(&mut errors, "name", &name);
    let email = crate::accounts::parse_email(&mut errors, "email", &input.email);
    if has_account {
        errors.push(FieldError::new(
            "email",
            "Personen har ett konto här. Välj hen i listan, så gäller samtycket för hens verksamhet.",
        ));
    }
    let of = guest_of(&mut errors, input);
    match (of, errors.is_empty()) {
        (Some(of), true) => Ok((name, email, of)),
        _ => Err(errors),
    }
}

/// A consent as a refusal names it: who gave it and on which day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentName {
    pub given_by: String,
    pub given_on: NaiveDate,
}

/// The refusal of someone no valid consent covers, beside `field`, naming the consents valid
/// today (`valid`) and what they do not cover (`whom`: an organisation's label or name).
pub fn not_covered(field: &str, whom: &str, valid: &[ConsentName]) -> FieldError {
    if valid.is_empty() {
        return FieldError::new(
            field,
            "Det finns inget giltigt samtycke i den här SIP:en. Registrera familjens samtycke \
             först.",
        );
    }
    let names: Vec<String> = valid
        .iter()
        .map(|c| format!("{} ({})", c.given_by, c.given_on))
        .collect();
    let consents = if names.len() == 1 {
        format!("Samtycket från {}", names[0])
    } else {
        format!("Samtyckena från {}", names.join(" och "))
    };
    FieldError::new(
        field,
        format!(
            "{consents} omfattar inte {whom}. Registrera ett samtycke som omfattar {whom} \
             innan personen bjuds in."
        ),
    )
}

/// Whether someone found or typed may be added: `refusal` is `None` when a valid consent covers
/// them (or [`not_covered`]'s refusal), and they must not be `already` taking part.
pub fn check_new_participant(
    refusal: Option<FieldError>,
    already: bool,
) -> Result<(), Vec<FieldError>> {
    if let Some(refusal) = refusal {
        return Err(vec![refusal]);
    }
    if already {
        return Err(vec![FieldError::new("email", "Personen är redan med.")]);
    }
    Ok(())
}

/// Who a participant is, as far as consent goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Covering<'a> {
    /// Someone of an organisation on the list: a user with an account, or someone without one.
    Organisation(&'a str),
    /// A member of the family: a guardian or the child.
    Family(Relation),
    /// Someone from an outside organisation, by name.
    Outside(&'a str),
    /// Someone without an account who said none of these (added before consent limited
    /// everyone): no consent covers them.
    Unknown,
}

/// Whether a participant may take part on `today` in a SIP the `calling` organisation runs.
/// Consent limits every participant, with or without an account: the calling organisation is
/// always covered; any other organisation needs a valid consent naming it (from the list, or
/// by name for an outside organisation); the family the consent is about (a guardian, the
/// child) needs some valid consent; and someone who is none of these is not covered.
pub fn participant_covered(
    calling: &str,
    who: Covering<'_>,
    terms: &[ConsentTerms],
    today: NaiveDate,
) -> bool {
    match who {
        Covering::Organisation(org) if org == calling => true,
        Covering::Organisation(org) => covers(terms, org, today),
        Covering::Family(_) => terms.iter().any(|t| t.valid_on(today)),
        Covering::Outside(name) => covers_outside(terms, name, today),
        Covering::Unknown => false,
    }
}
