//! Journal entries as written: pure checks, no I/O.

use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::FieldError;

crate::text_enum!(
    /// What happened, as the journal names it.
    EntryKind {
        ChildConversation => "samtal_barn" : "Samtal med barnet",
        GuardianConversation => "samtal_vardnadshavare" : "Samtal med vårdnadshavare",
        HomeVisit => "hembesok" : "Hembesök",
        PhoneCall => "telefonsamtal" : "Telefonsamtal",
        Meeting => "mote" : "Möte",
        Letter => "brev" : "Brev",
        PartnerConsultation => "konsultation" : "Konsultation med samverkanspart",
        Analysis => "analys" : "Analys",
        InformationAnswer => "uppgifter" : "Uppgifter från samverkanspart",
        Other => "annat" : "Annat",
    }
);

impl EntryKind {
    /// Whether a person may write an entry of this kind. A partner's answer to an information
    /// request is filed by the service itself, so that no one can write an entry that looks
    /// like one.
    pub fn written_by_hand(self) -> bool {
        self != EntryKind::InformationAnswer
    }

    /// The kinds a person may write, in the order the form lists them.
    pub fn by_hand() -> impl Iterator<Item = EntryKind> {
        EntryKind::ALL
            .iter()
            .copied()
            .filter(|k| k.written_by_hand())
    }
}

/// Longest text of an entry, in characters.
pub const MAX_TEXT: usize = 20_000;
/// Longest list of who took part, in characters.
pub const MAX_PARTICIPANTS: usize = 500;

/// A journal entry as typed (API JSON or a form).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct EntryInput {
    /// One of `samtal_barn`, `samtal_vardnadshavare`, `hembesok`, `telefonsamtal`, `mote`,
    /// `brev`, `konsultation`, `analys`, `uppgifter` (what a partner answered to an information
    /// request: filed so by the service), `annat`.
    #[serde(default)]
    pub kind: String,
    /// When it happened, e.g. `2026-12-01T14:30` (local time).
    #[serde(default)]
    pub happened_at: String,
    /// Who took part (free text).
    #[serde(default)]
    pub participants: String,
    #[serde(default)]
    pub text: String,
}

/// An entry that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidEntry {
    pub kind: EntryKind,
    pub happened_at: NaiveDateTime,
    pub participants: String,
    pub text: String,
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

/// Checks an entry; `now` bounds when it may have happened (not in the future).
pub fn validate(input: &EntryInput, now: NaiveDateTime) -> Result<ValidEntry, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = input
        .kind
        .parse::<EntryKind>()
        .ok()
        .filter(|k| k.written_by_hand());
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            "Välj vad som hände, till exempel samtal med barnet eller hembesök.",
        ));
    }
    let happened_at = match parse_time(&input.happened_at) {
        Some(t) if t <= now + chrono::Duration::minutes(5) => Some(t),
        Some(_) => {
            errors.push(FieldError::new(
                "happened_at",
                "Tiden har inte varit än. Skriv när det hände.",
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "happened_at",
                "Skriv datum och tid när det hände, till exempel 2026-12-01 14:30.",
            ));
            None
        }
    };
    let participants = input.participants.trim().to_string();
    if participants.chars().count() > MAX_PARTICIPANTS {
        errors.push(FieldError::new(
            "participants",
            format!("Högst {MAX_PARTICIPANTS} tecken."),
        ));
    }
    let text = input.text.trim().to_string();
    if text.is_empty() {
        errors.push(FieldError::new("text", "Skriv vad som hände."));
    } else if text.chars().count() > MAX_TEXT {
        errors.push(FieldError::new("text", format!("Högst {MAX_TEXT} tecken.")));
    }
    match (kind, happened_at) {
        (Some(kind), Some(happened_at)) if errors.is_empty() => Ok(ValidEntry {
            kind,
            happened_at,
            participants,
            text,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-12-02 10:00", "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_complete_entry_passes() {
        let input = EntryInput {
            kind: "hembesok".into(),
            happened_at: "2026-12-01T14:30".into(),
            participants: "Mamma".into(),
            text: " Besök i hemmet. ".into(),
        };
        let valid = validate(&input, now()).unwrap();
        assert_eq!(valid.kind, EntryKind::HomeVisit);
        assert_eq!(valid.text, "Besök i hemmet.");
    }

    #[test]
    fn a_partners_answer_is_filed_by_the_service_never_written_by_hand() {
        let input = EntryInput {
            kind: "uppgifter".into(),
            happened_at: "2026-12-01T14:30".into(),
            participants: String::new(),
            text: "Ser ut som ett svar från skolan.".into(),
        };
        let errors = validate(&input, now()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "kind");
        assert!(!EntryKind::by_hand().any(|k| k == EntryKind::InformationAnswer));
        assert_eq!(EntryKind::by_hand().count(), EntryKind::ALL.len() - 1);
    }

    #[test]
    fn every_missing_field_is_named_in_swedish() {
        let errors = validate(&EntryInput::default(), now()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "happened_at", "text"]);
    }

    #[test]
    fn a_time_in_the_future_is_refused() {
        let input = EntryInput {
            kind: "annat".into(),
            happened_at: "2026-12-03 10:00".into(),
            text: "x".into(),
            ..Default::default()
        };
        let errors = validate(&input, now()).unwrap_err();
        assert_eq!(errors[0].field, "happened_at");
    }
}
