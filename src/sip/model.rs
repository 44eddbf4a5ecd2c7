//! The rules of a SIP that need no database: what a new SIP, a consent, a participant, a meeting
//! and a plan need, consent coverage, the first-meeting deadline, and how a time reads in
//! Swedish. Pure: no I/O; what only the database can tell (does this report exist?) comes in as
//! an argument.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::personnummer::PersonalNumber;
use crate::text_enum;
use crate::time;

mod plan;
pub use plan::{may_lead, validate_plan, MeasureInput, PlanInput, ValidPlan};

text_enum!(
    /// Who gave a consent.
    Relation {
        Guardian => "guardian" : "Vårdnadshavare",
        Child => "child" : "Barnet",
    }
);

text_enum!(
    /// A participant's answer to an invitation.
    Answer {
        NoAnswer => "needs_action" : "Inget svar",
        Coming => "accepted" : "Kommer",
        Maybe => "tentative" : "Kommer kanske",
        NotComing => "declined" : "Kommer inte",
    }
);

impl Answer {
    pub fn partstat(self) -> crate::calendar::ics::PartStat {
        use crate::calendar::ics::PartStat;
        match self {
            Answer::NoAnswer => PartStat::NeedsAction,
            Answer::Coming => PartStat::Accepted,
            Answer::Maybe => PartStat::Tentative,
            Answer::NotComing => PartStat::Declined,
        }
    }

    pub fn from_partstat(p: crate::calendar::ics::PartStat) -> Self {
        use crate::calendar::ics::PartStat;
        match p {
            PartStat::NeedsAction => Answer::NoAnswer,
            PartStat::Accepted => Answer::Coming,
            PartStat::Tentative => Answer::Maybe,
            PartStat::Declined => Answer::NotComing,
        }
    }
}

/// For templates, which compare through references.
pub fn same_answer(a: &Answer, b: &Answer) -> bool {
    a == b
}

/// A consent as far as coverage goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentTerms {
    pub given_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub withdrawn: bool,
    pub organisations: Vec<String>,
    /// Outside organisations (not on the list) the consent names, as the caseworker wrote them.
    pub outside: Vec<String>,
}

impl ConsentTerms {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        !self.withdrawn && self.given_on <= day && self.valid_until.is_none_or(|end| day <= end)
    }
}

/// Whether some consent valid on `day` covers `organisation`.
pub fn covers(consents: &[ConsentTerms], organisation: &str, day: NaiveDate) -> bool {
    consents
        .iter()
        .any(|c| c.valid_on(day) && c.organisations.iter().any(|o| o == organisation))
}

/// Whether some consent valid on `day` names the outside organisation `name` (compared as a
/// reader would: case and spacing do not count).
pub fn covers_outside(consents: &[ConsentTerms], name: &str, day: NaiveDate) -> bool {
    consents.iter().any(|c| {
        c.valid_on(day)
            && c.outside
                .iter()
                .any(|o| crate::accounts::same_organisation_name(o, name))
    })
}

/// The last day for the first meeting: `days` after the earliest consent still valid today.
pub fn first_meeting_due(
    consents: &[ConsentTerms],
    days: i32,
    today: NaiveDate,
) -> Option<NaiveDate> {
    consents
        .iter()
        .filter(|c| c.valid_on(today))
        .map(|c| c.given_on)
        .min()
        .map(|given| given + Duration::days(days.into()))
}

/// How the first meeting stands against its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstMeeting {
    /// The last day for it ([`first_meeting_due`]).
    pub due: NaiveDate,
    /// The day the first meeting is (or was) held, once one is booked.
    pub booked_on: Option<NaiveDate>,
    /// How many days after `due` it is held, or, while none is booked, how many days `due` has
    /// passed; `None` while on time. Stays once a meeting is booked: a late first meeting is
    /// late for good.
    pub days_late: Option<i64>,
}

/// The first meeting against its deadline: `first_booked` is the day of the earliest meeting
/// not cancelled (held or to come). The deadline counts from the consents valid on that day
/// (today while none is booked). `None` when no consent gives a deadline.
pub fn first_meeting(
    consents: &[ConsentTerms],
    days: i32,
    today: NaiveDate,
    first_booked: Option<NaiveDate>,
) -> Option<FirstMeeting> {
    let due = first_meeting_due(consents, days, first_booked.unwrap_or(today))?;
    let held = first_booked.unwrap_or(today);
    let late = (held - due).num_days();
    Some(FirstMeeting {
        due,
        booked_on: first_booked,
        days_late: (late > 0).then_some(late),
    })
}

/// A number of days in Swedish: "1 dag", "9 dagar".
pub fn days_text(days: &i64) -> String {
    if *days == 1 {
        "1 dag".into()
    } else {
        format!("{days} dagar")
    }
}

/// A meeting as typed: local Swedish time.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MeetingInput {
    /// Local time in Sweden, `YYYY-MM-DDTHH:MM`.
    #[serde(default)]
    pub starts_at: String,
    /// Length in minutes (15–480).
    pub minutes: Option<i32>,
    /// A neutral place, e.g. "Kommunhuset, rum 2" (never "BUP-mottagningen").
    #[serde(default)]
    pub place: String,
    /// A video link, if the meeting is held by video.
    #[serde(default)]
    pub video_url: String,
}

/// A checked meeting: start in UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidMeeting {
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub place: String,
    pub video_url: String,
}

pub fn validate_meeting(
    input: &MeetingInput,
    now: NaiveDateTime,
) -> Result<ValidMeeting, Vec<FieldError>> {
    let mut errors = Vec::new();
    let text = input.starts_at.trim();
    let start = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok();
    let start_utc = match start {
        None => {
            errors.push(FieldError::new(
                "starts_at",
                "Skriv dag och tid som år-månad-dag timme:minut, till exempel 2026-12-03 09:30.",
            ));
            None
        }
        Some(local) => {
            let utc = time::to_utc(local);
            if utc <= now {
                errors.push(FieldError::new(
                    "starts_at",
                    "Tiden har redan varit. Välj en tid framåt.",
                ));
            }
            Some(utc)
        }
    };
    let minutes = match input.minutes {
        Some(m) if (15..=480).contains(&m) => m,
        _ => {
            errors.push(FieldError::new(
                "minutes",
                "Ange mötets längd i minuter, mellan 15 och 480.",
            ));
            0
        }
    };
    if let Some(utc) = start_utc {
        if utc > now + Duration::days(2 * 366) {
            errors.push(FieldError::new("starts_at", "Välj en tid inom två år."));
        }
    }
    let place = input.place.trim().to_string();
    let video_url = input.video_url.trim().to_string();
    if let Some(word) = revealing_word(&place) {
        errors.push(FieldError::new(
            "place",
            format!("Platsen syns i e-post och kalendrar. Skriv en neutral plats utan \"{word}\", till exempel \"Kommunhuset, rum 2\"."),
        ));
    }
    if video_url.chars().count() > 500 {
        errors.push(FieldError::new("video_url", "Högst 500 tecken."));
    }
    if place.is_empty() && video_url.is_empty() {
        errors.push(FieldError::new(
            "place",
            "Skriv var mötet hålls, eller ange en videolänk.",
        ));
    }
    if !video_url.is_empty() && !video_url.starts_with("https://") {
        errors.push(FieldError::new(
            "video_url",
            "Videolänken ska börja med https://.",
        ));
    }
    if place.chars().count() > 200 {
        errors.push(FieldError::new("place", "Högst 200 tecken."));
    }
    match (start_utc, errors.is_empty()) {
        (Some(starts_at), true) => Ok(ValidMeeting {
            starts_at,
            minutes,
            place,
            video_url,
        }),
        _ => Err(errors),
    }
}

/// Words that would tell a reader of an e-mail or calendar which kind of care is involved.
const REVEALING: &[&str] = &[
    "bup",
    "bvc",
    "socialtjänst",
    "socialkontor",
    "socialförvaltning",
    "psykiatri",
    "habilitering",
    "barnavårdscentral",
    "ungdomsmottagning",
    "familjerätt",
    "beroende",
];

/// The first revealing word in a place, if any.
pub fn revealing_word(place: &str) -> Option<&'static str> {
    let lower = place.to_lowercase();
    REVEALING.iter().copied().find(|w| lower.contains(w))
}

const WEEKDAYS: [&str; 7] = [
    "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
];
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A day as a Swede writes it: "måndag 30 mars 2026".
pub fn swedish_date(day: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[day.weekday().num_days_from_monday() as usize],
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

/// A meeting's time as a Swede writes it: "måndag 30 mars 2026 kl. 10.00–11.30".
pub fn swedish_time(start_utc: NaiveDateTime, minutes: i32) -> String {
    let start = time::local(start_utc);
    let end = time::local(start_utc + Duration::minutes(minutes.into()));
    format!(
        "{} kl. {:02}.{:02}–{:02}.{:02}",
        swedish_date(start.date()),
        start.hour(),
        start.minute(),
        end.hour(),
        end.minute()
    )
}

/// A SIP reference like `SIP-4KX9`, from characters that cannot be confused.
pub fn new_reference() -> String {
    crate::ids::reference("SIP", &[4])
}

// ---- starting a SIP ----

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SipInput {
    #[serde(default)]
    pub child_name: String,
    /// The child's personnummer or samordningsnummer, if known.
    #[serde(default)]
    pub child_personal_number: String,
    /// The report whose investigation led to this SIP, if any.
    #[serde(default)]
    pub report_id: Option<String>,
}

/// A checked SIP: the child's name, their personnummer in its canonical form, and the report it
/// started from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSip {
    pub child_name: String,
    pub child_personal_number: Option<String>,
    pub report_id: Option<String>,
}

/// Checks a new SIP. `report_known` says whether the report it names (if any) is one of the
/// caseworker's municipality, which only the database can tell.
pub fn validate_sip(
    input: &SipInput,
    today: NaiveDate,
    report_known: bool,
) -> Result<ValidSip, Vec<FieldError>> {
    let mut errors = Vec::new();
    let child_name = input.child_name.trim().to_string();
    if child_name.is_empty() {
        errors.push(FieldError::new("child_name", "Fyll i barnets namn."));
    }
    crate::input::check_name(&mut errors, "child_name", &child_name);
    let number = match input.child_personal_number.trim() {
        "" => None,
        text => match PersonalNumber::parse(text, today) {
            Ok(n) => Some(n.canonical()),
            Err(problem) => {
                errors.push(FieldError::new("child_personal_number", problem.message()));
                None
            }
        },
    };
    if !report_known {
        errors.push(FieldError::new(
            "report_id",
            "Det finns ingen sådan anmälan i kommunen.",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidSip {
        child_name,
        child_personal_number: number,
        report_id: input.report_id.clone().filter(|r| !r.is_empty()),
    })
}

// ---- consent ----

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

// ---- participants ----

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

#[cfg(test)]
mod tests;
