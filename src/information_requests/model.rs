//! Information requests: the pure rules. What a caseworker typed is checked here (the people
//! and the organisation are checked against the database in the store), and a request's state
//! follows from its times.

use chrono::{Days, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Shown to the receiver with every request: why they are asked and why they may answer.
pub const LEGAL_BASIS: &str = "Myndigheter och yrkesverksamma vars verksamhet berör barn och unga \
är enligt socialtjänstlagen skyldiga att lämna socialtjänsten alla uppgifter som kan vara av \
betydelse för utredningen av ett barns behov av skydd eller stöd. Sekretess hindrar inte att \
uppgifterna lämnas.";

/// How many days before its last day the receivers of an unanswered request are reminded.
pub const REMIND_DAYS_BEFORE: u64 = 2;

/// The longest questions, answer or reason accepted.
pub const MAX_TEXT: usize = 20_000;

/// A request as the caseworker typed it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct RequestInput {
    /// The partner organisation asked.
    #[serde(default)]
    pub organisation_id: String,
    /// The named users of that organisation the request is addressed to (user ids).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// The questions, free text.
    #[serde(default)]
    pub questions: String,
    /// The last day to answer, `YYYY-MM-DD`; empty for the default
    /// (`SAMORDNA_INFORMATION_REQUEST_DAYS`, 14 days).
    #[serde(default)]
    pub due_on: String,
}

/// A request that passed the checks that need no database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRequest {
    pub organisation_id: String,
    pub recipients: Vec<String>,
    pub questions: String,
    pub due_on: NaiveDate,
}

/// An answer as the receiver typed it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct AnswerInput {
    #[serde(default)]
    pub text: String,
}

/// A refusal to answer, with its reason.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct DeclineInput {
    #[serde(default)]
    pub reason: String,
}

/// A receiver's ask for more time.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct MoreTimeInput {
    /// Why more time is needed.
    #[serde(default)]
    pub reason: String,
    /// The day the receiver wishes to answer by, `YYYY-MM-DD`; may be left empty.
    #[serde(default)]
    pub wished_on: String,
}

/// A new last day given by the caseworker.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct GrantInput {
    /// The new last day to answer, `YYYY-MM-DD`, after today.
    #[serde(default)]
    pub due_on: String,
}

/// Checks an ask for more time on a request due on `due_on`: a reason, and a wished date (if
/// any) after the present last day.
pub fn validate_more_time(
    input: &MoreTimeInput,
    due_on: NaiveDate,
) -> Result<(String, Option<NaiveDate>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = match validate_text(&input.reason, "reason", "Skriv varför du behöver mer tid.")
    {
        Ok(reason) => Some(reason),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let wished_on = match input.wished_on.trim() {
        "" => None,
        typed => match NaiveDate::parse_from_str(typed, "%Y-%m-%d") {
            Ok(d) if d > due_on => Some(d),
            Ok(_) => {
                errors.push(FieldError::new(
                    "wished_on",
                    format!("Önskat datum måste ligga efter nuvarande sista svarsdag, {due_on}."),
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "wished_on",
                    "Skriv datumet som år-månad-dag, till exempel 2027-01-15.",
                ));
                None
            }
        },
    };
    match reason {
        Some(reason) if errors.is_empty() => Ok((reason, wished_on)),
        _ => Err(errors),
    }
}

/// Checks a new last day typed on `today`: a date after today.
pub fn validate_new_due_date(typed: &str, today: NaiveDate) -> Result<NaiveDate, Vec<FieldError>> {
    match NaiveDate::parse_from_str(typed.trim(), "%Y-%m-%d") {
        Ok(d) if d > today => Ok(d),
        Ok(_) => Err(vec![FieldError::new(
            "due_on",
            "Sista svarsdag måste ligga efter i dag.",
        )]),
        Err(_) => Err(vec![FieldError::new(
            "due_on",
            "Skriv datumet som år-månad-dag, till exempel 2027-01-15.",
        )]),
    }
}

/// Checks a request typed on `today`; `default_days` gives the due date when none is typed.
pub fn validate(
    input: &RequestInput,
    today: NaiveDate,
    default_days: u32,
) -> Result<ValidRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let organisation_id = input.organisation_id.trim().to_string();
    if organisation_id.is_empty() {
        errors.push(FieldError::new(
            "organisation_id",
            "Välj vilken verksamhet du vill begära uppgifter från.",
        ));
    }
    let mut recipients: Vec<String> = Vec::new();
    for r in &input.recipients {
        let r = r.trim();
        if !r.is_empty() && !recipients.iter().any(|k| k == r) {
            recipients.push(r.to_string());
        }
    }
    if recipients.is_empty() {
        errors.push(FieldError::new(
            "recipients",
            "Välj minst en person i verksamheten som ska få begäran.",
        ));
    }
    let questions = input.questions.trim().to_string();
    if questions.is_empty() {
        errors.push(FieldError::new(
            "questions",
            "Skriv vilka uppgifter du vill ha.",
        ));
    } else if questions.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            "questions",
            "Texten är för lång. Korta den till högst 20 000 tecken.",
        ));
    }
    let due_on = match input.due_on.trim() {
        "" => today.checked_add_days(Days::new(u64::from(default_days))),
        typed => match NaiveDate::parse_from_str(typed, "%Y-%m-%d") {
            Ok(d) if d > today => Some(d),
            Ok(_) => {
                errors.push(FieldError::new(
                    "due_on",
                    "Sista svarsdag måste ligga efter i dag.",
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "due_on",
                    "Skriv datumet som år-månad-dag, till exempel 2027-01-15.",
                ));
                None
            }
        },
    };
    match (due_on, errors.is_empty()) {
        (Some(due_on), true) => Ok(ValidRequest {
            organisation_id,
            recipients,
            questions,
            due_on,
        }),
        _ => Err(errors),
    }
}

/// Checks an answer's or a refusal's text (`field` names it in the error).
pub fn validate_text(text: &str, field: &str, missing: &str) -> Result<String, Vec<FieldError>> {
    let text = text.trim();
    if text.is_empty() {
        return Err(vec![FieldError::new(field, missing)]);
    }
    if text.contains('\0') {
        return Err(vec![FieldError::new(
            field,
            "Texten innehåller ett tecken som inte går att spara (NUL). Ta bort det och försök igen.",
        )]);
    }
    if text.chars().count() > MAX_TEXT {
        return Err(vec![FieldError::new(
            field,
            "Texten är för lång. Korta den till högst 20 000 tecken.",
        )]);
    }
    Ok(text.to_string())
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Sent, not yet opened by any receiver.
    Sent,
    /// Opened by a receiver, not answered.
    Read,
    Answered,
    Declined,
    /// Past its due date without an answer or a refusal.
    Overdue,
}

impl Status {
    /// In Swedish, for pages.
    pub fn label(self) -> &'static str {
        match self {
            Status::Sent => "Skickad",
            Status::Read => "Läst",
            Status::Answered => "Besvarad",
            Status::Declined => "Avböjd",
            Status::Overdue => "Försenad",
        }
    }
}

/// The state on `today` of a request due on `due_on` with the given times.
pub fn status(
    today: NaiveDate,
    due_on: NaiveDate,
    first_read_at: Option<NaiveDateTime>,
    answered_at: Option<NaiveDateTime>,
    declined_at: Option<NaiveDateTime>,
) -> Status {
    if answered_at.is_some() {
        Status::Answered
    } else if declined_at.is_some() {
        Status::Declined
    } else if today > due_on {
        Status::Overdue
    } else if first_read_at.is_some() {
        Status::Read
    } else {
        Status::Sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input() -> RequestInput {
        RequestInput {
            organisation_id: "org".into(),
            recipients: vec!["u1".into(), " u1 ".into(), "u2".into()],
            questions: "Hur är närvaron?".into(),
            due_on: String::new(),
        }
    }

    #[test]
    fn the_due_date_defaults_to_the_setting_and_recipients_are_kept_once() {
        let valid = validate(&input(), day("2026-12-02"), 14).unwrap();
        assert_eq!(valid.due_on, day("2026-12-16"));
        assert_eq!(valid.recipients, ["u1", "u2"]);
    }

    #[test]
    fn every_missing_or_wrong_field_is_named() {
        let bad = RequestInput {
            organisation_id: " ".into(),
            recipients: vec![" ".into()],
            questions: String::new(),
            due_on: "2026-12-02".into(),
        };
        let errors = validate(&bad, day("2026-12-02"), 14).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["organisation_id", "recipients", "questions", "due_on"]
        );
        let mut typo = input();
        typo.due_on = "15/1".into();
        assert_eq!(
            validate(&typo, day("2026-12-02"), 14).unwrap_err()[0].field,
            "due_on"
        );
    }

    #[test]
    fn more_time_needs_a_reason_and_a_later_wished_date() {
        let due = day("2026-12-16");
        let ask = |reason: &str, wished: &str| MoreTimeInput {
            reason: reason.into(),
            wished_on: wished.into(),
        };
        assert_eq!(
            validate_more_time(&ask(" Sjuk ", ""), due).unwrap(),
            ("Sjuk".to_string(), None)
        );
        assert_eq!(
            validate_more_time(&ask("Sjuk", "2026-12-20"), due)
                .unwrap()
                .1,
            Some(day("2026-12-20"))
        );
        let errors = validate_more_time(&ask("", "2026-12-10"), due).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["reason", "wished_on"]);
        assert!(validate_new_due_date("2026-12-02", day("2026-12-02")).is_err());
        assert!(validate_new_due_date("snart", day("2026-12-02")).is_err());
        assert_eq!(
            validate_new_due_date("2026-12-30", day("2026-12-02")).unwrap(),
            day("2026-12-30")
        );
        assert!(validate_text("a\0b", "text", "x").is_err());
    }

    #[test]
    fn status_follows_the_times_and_the_due_date() {
        let t = day("2026-12-02").and_hms_opt(9, 0, 0);
        let due = day("2026-12-16");
        assert_eq!(
            status(day("2026-12-03"), due, None, None, None),
            Status::Sent
        );
        assert_eq!(status(day("2026-12-03"), due, t, None, None), Status::Read);
        assert_eq!(
            status(day("2026-12-17"), due, t, None, None),
            Status::Overdue
        );
        assert_eq!(status(day("2026-12-17"), due, t, t, None), Status::Answered);
        assert_eq!(
            status(day("2026-12-17"), due, None, None, t),
            Status::Declined
        );
    }
}
