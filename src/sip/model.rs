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

mod consent;
mod participants;
mod plan;
pub use consent::*;
pub use participants::*;
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

#[cfg(test)]
mod tests;
