//! Handing a child's report over to the municipality's case system (issue 21 §2): the case
//! system's registration number (diarienummer or ärendenummer) and when it was handed over.

use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::FieldError;

/// The longest registration number taken: case systems use short codes such as `SN 2026/1234`.
pub const MAX_REGISTRATION_NUMBER: usize = 60;

/// A hand-over as sent through the API or the report page.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct HandoverInput {
    /// Which child of the report; may be left out when the report has one child.
    #[serde(default)]
    pub child_id: Option<String>,
    /// The case system's registration number, e.g. `SN 2026/1234`.
    #[serde(default)]
    pub registration_number: String,
    /// When it was handed over (UTC); now when left out.
    #[serde(default)]
    pub handed_over_at: Option<NaiveDateTime>,
}

/// A hand-over that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidHandover {
    pub registration_number: String,
    pub handed_over_at: NaiveDateTime,
}

/// Checks a hand-over: a registration number of printable characters, at most
/// [`MAX_REGISTRATION_NUMBER`]; a time not in the future (a minute's leeway for clocks) nor
/// before the report was received.
pub fn check_handover(
    input: &HandoverInput,
    received_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<ValidHandover, Vec<FieldError>> {
    let mut errors = Vec::new();
    let number = input.registration_number.trim();
    if number.is_empty() {
        errors.push(FieldError::new(
            "registration_number",
            "Skriv ärendesystemets diarie- eller ärendenummer.",
        ));
    } else if number.chars().count() > MAX_REGISTRATION_NUMBER {
        errors.push(FieldError::new(
            "registration_number",
            format!("Numret får vara högst {MAX_REGISTRATION_NUMBER} tecken."),
        ));
    } else if number.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "registration_number",
            "Numret får inte innehålla radbrytningar eller andra styrtecken.",
        ));
    }
    let at = input.handed_over_at.unwrap_or(now);
    if at > now + chrono::TimeDelta::minutes(1) {
        errors.push(FieldError::new(
            "handed_over_at",
            "Tidpunkten för överlämningen kan inte ligga i framtiden.",
        ));
    } else if at < received_at {
        errors.push(FieldError::new(
            "handed_over_at",
            "Anmälan kan inte ha lämnats över innan den kom in.",
        ));
    }
    if errors.is_empty() {
        Ok(ValidHandover {
            registration_number: number.to_string(),
            handed_over_at: at,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn input(number: &str, when: Option<NaiveDateTime>) -> HandoverInput {
        HandoverInput {
            child_id: None,
            registration_number: number.into(),
            handed_over_at: when,
        }
    }

    #[test]
    fn a_number_and_a_time_between_receipt_and_now_pass() {
        assert_eq!(
            check_handover(&input("  SN 2026/1234 ", Some(at(10))), at(8), at(12)),
            Ok(ValidHandover {
                registration_number: "SN 2026/1234".into(),
                handed_over_at: at(10)
            })
        );
        assert_eq!(
            check_handover(&input("1", None), at(8), at(12))
                .unwrap()
                .handed_over_at,
            at(12)
        );
    }

    #[test]
    fn mistakes_are_named_by_field() {
        let fields = |i: HandoverInput| -> Vec<String> {
            check_handover(&i, at(8), at(12))
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(input(" ", None)), ["registration_number"]);
        assert_eq!(
            fields(input(&"9".repeat(61), None)),
            ["registration_number"]
        );
        assert_eq!(fields(input("SN\n1", None)), ["registration_number"]);
        assert_eq!(fields(input("SN 1", Some(at(13)))), ["handed_over_at"]);
        assert_eq!(fields(input("SN 1", Some(at(7)))), ["handed_over_at"]);
    }
}
