//! The rules of a SIP that need no database: consent coverage, the first-meeting deadline, what a
//! meeting needs, and how a time reads in Swedish. Pure: no I/O.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::reports::deadlines;
use crate::text_enum;

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
            let utc = deadlines::to_utc(local);
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
    let start = deadlines::local(start_utc);
    let end = deadlines::local(start_utc + Duration::minutes(minutes.into()));
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
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let code: String = (0..4)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("SIP-{code}")
}

#[cfg(test)]
mod tests {
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
}

/// One measure (insats) as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MeasureInput {
    #[serde(default)]
    pub description: String,
    /// The organisation that carries it out.
    #[serde(default)]
    pub organisation_id: String,
    /// `kommun`, `region` or `annan`.
    #[serde(default)]
    pub principal: String,
}

/// The plan as typed after a meeting.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PlanInput {
    /// The child's needs.
    #[serde(default)]
    pub needs: String,
    /// Goals, measurable and in the child's own words where possible.
    #[serde(default)]
    pub goals: Vec<String>,
    #[serde(default)]
    pub measures: Vec<MeasureInput>,
    /// The organisation with the overall responsibility (huvudansvar).
    #[serde(default)]
    pub lead_organisation_id: String,
    /// `YYYY-MM-DD`; six months after the meeting if left out.
    #[serde(default)]
    pub follow_up_on: String,
}

/// A checked plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPlan {
    pub needs: String,
    pub goals: Vec<String>,
    pub measures: Vec<MeasureInput>,
    pub lead_organisation_id: String,
    pub follow_up_on: NaiveDate,
}

/// Checks a plan written after the meeting held on `meeting_day`; `known` are the organisations
/// that exist. Empty goal and measure rows are left out.
pub fn validate_plan(
    input: &PlanInput,
    meeting_day: NaiveDate,
    known: &[String],
) -> Result<ValidPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let needs = input.needs.trim().to_string();
    if needs.is_empty() {
        errors.push(FieldError::new("needs", "Beskriv barnets behov."));
    }
    let goals: Vec<String> = input
        .goals
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    if goals.is_empty() {
        errors.push(FieldError::new(
            "goals[0]",
            "Skriv minst ett mål, gärna med barnets egna ord.",
        ));
    }
    let mut measures = Vec::new();
    for (i, m) in input.measures.iter().enumerate() {
        if m.description.trim().is_empty() && m.organisation_id.trim().is_empty() {
            continue;
        }
        let f = |name: &str| format!("measures[{i}].{name}");
        if m.description.trim().is_empty() {
            errors.push(FieldError::new(f("description"), "Beskriv insatsen."));
        }
        if !known.iter().any(|k| k == m.organisation_id.trim()) {
            errors.push(FieldError::new(
                f("organisation_id"),
                "Välj vem som ansvarar för insatsen.",
            ));
        }
        if m.principal.parse::<crate::accounts::Principal>().is_err() {
            errors.push(FieldError::new(
                f("principal"),
                "Välj huvudman: kommun, region eller annan.",
            ));
        }
        measures.push(MeasureInput {
            description: m.description.trim().to_string(),
            organisation_id: m.organisation_id.trim().to_string(),
            principal: m.principal.trim().to_string(),
        });
    }
    if measures.is_empty() {
        errors.push(FieldError::new(
            "measures[0].description",
            "Skriv minst en insats.",
        ));
    }
    let lead = input.lead_organisation_id.trim().to_string();
    if !known.contains(&lead) {
        errors.push(FieldError::new(
            "lead_organisation_id",
            "Välj vilken verksamhet som har huvudansvaret.",
        ));
    }
    let follow_up_on = match input.follow_up_on.trim() {
        "" => Some(meeting_day + chrono::Months::new(6)),
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if d > meeting_day + chrono::Months::new(24) => {
                errors.push(FieldError::new(
                    "follow_up_on",
                    "Välj en dag inom två år efter mötet.",
                ));
                None
            }
            Ok(d) if d > meeting_day => Some(d),
            Ok(_) => {
                errors.push(FieldError::new(
                    "follow_up_on",
                    "Uppföljningen ska ligga efter mötet.",
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "follow_up_on",
                    "Skriv datumet som år-månad-dag, till exempel 2027-05-31.",
                ));
                None
            }
        },
    };
    match (follow_up_on, errors.is_empty()) {
        (Some(follow_up_on), true) => Ok(ValidPlan {
            needs,
            goals,
            measures,
            lead_organisation_id: lead,
            follow_up_on,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
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
        let valid = validate_plan(&plan(), day, &known).unwrap();
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
        let fields: Vec<String> = validate_plan(&bad, day, &["soc".into()])
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
}
