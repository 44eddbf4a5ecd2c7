//! The rules for closing an investigation (issue 19 §3): the outcome, the day, the reason, and
//! how late it was. Pure: no I/O.

use chrono::NaiveDate;

use crate::error::FieldError;
use crate::text_enum;

text_enum!(
    /// How an investigation ended.
    ClosingOutcome {
        SupportGranted => "support_granted" : "Insats eller bistånd beviljat",
        NoSupport => "no_support" : "Inget stöd",
        Transferred => "transferred" : "Överflyttad till annan kommun",
        Other => "other" : "Avslutad av annan anledning",
    }
);

/// The longest text of a closing's support or reason.
pub const MAX_CLOSING_TEXT: usize = 10_000;

/// A closing as typed (form or API).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ClosingInput {
    /// `support_granted`, `no_support`, `transferred` or `other`.
    #[serde(default)]
    pub outcome: String,
    /// Which support was granted (free text); needed for `support_granted`, otherwise ignored.
    #[serde(default)]
    pub support: String,
    /// The day it was closed, `YYYY-MM-DD`: not in the future nor before it was opened.
    #[serde(default)]
    pub closed_on: String,
    /// Why it is closed and what was decided.
    #[serde(default)]
    pub reason: String,
}

/// A checked closing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidClosing {
    pub outcome: ClosingOutcome,
    /// Empty unless support was granted.
    pub support: String,
    pub closed_on: NaiveDate,
    pub reason: String,
}

/// Checks a closing of an investigation opened on `opened_on`, on `today`; every mistake at once,
/// in Swedish, beside its field.
pub fn check_closing(
    input: &ClosingInput,
    opened_on: NaiveDate,
    today: NaiveDate,
) -> Result<ValidClosing, Vec<FieldError>> {
    let mut errors = Vec::new();
    let outcome = match input.outcome.trim() {
        "" => {
            errors.push(FieldError::new("outcome", "Välj hur utredningen avslutas."));
            None
        }
        other => match other.parse::<ClosingOutcome>() {
            Ok(o) => Some(o),
            Err(_) => {
                errors.push(FieldError::new(
                    "outcome",
                    "Välj ett av alternativen för hur utredningen avslutas.",
                ));
                None
            }
        },
    };
    let support = input.support.trim();
    let support = if outcome == Some(ClosingOutcome::SupportGranted) {
        if support.is_empty() {
            errors.push(FieldError::new(
                "support",
                "Skriv vilken insats eller vilket bistånd som beviljats.",
            ));
        } else if support.chars().count() > MAX_CLOSING_TEXT {
            errors.push(FieldError::new("support", "Texten är för lång."));
        }
        support.to_string()
    } else {
        String::new()
    };
    let closed_on = match NaiveDate::parse_from_str(input.closed_on.trim(), "%Y-%m-%d") {
        Ok(d) if d > today => {
            errors.push(FieldError::new(
                "closed_on",
                "Datumet kan inte ligga i framtiden.",
            ));
            None
        }
        Ok(d) if d < opened_on => {
            errors.push(FieldError::new(
                "closed_on",
                "Datumet kan inte ligga före den dag utredningen inleddes.",
            ));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                "closed_on",
                "Skriv datumet som år-månad-dag, till exempel 2027-05-31.",
            ));
            None
        }
    };
    let reason = input.reason.trim();
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Skriv skälen för beslutet att avsluta utredningen.",
        ));
    } else if reason.chars().count() > MAX_CLOSING_TEXT {
        errors.push(FieldError::new("reason", "Texten är för lång."));
    }
    match (outcome, closed_on, errors.is_empty()) {
        (Some(outcome), Some(closed_on), true) => Ok(ValidClosing {
            outcome,
            support,
            closed_on,
            reason: reason.to_string(),
        }),
        _ => Err(errors),
    }
}

/// Days after the last day (`due_on`) that the investigation was closed; 0 when in time.
pub fn days_late(due_on: NaiveDate, closed_on: NaiveDate) -> i32 {
    i32::try_from((closed_on - due_on).num_days().max(0)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input(outcome: &str, support: &str, closed_on: &str, reason: &str) -> ClosingInput {
        ClosingInput {
            outcome: outcome.into(),
            support: support.into(),
            closed_on: closed_on.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_complete_closing_is_accepted_and_support_kept_only_when_granted() {
        let ok = check_closing(
            &input(
                "support_granted",
                " Kontaktfamilj ",
                "2027-03-01",
                " Behov finns. ",
            ),
            d("2027-01-01"),
            d("2027-03-02"),
        )
        .unwrap();
        assert_eq!(ok.outcome, ClosingOutcome::SupportGranted);
        assert_eq!(ok.support, "Kontaktfamilj");
        assert_eq!(ok.reason, "Behov finns.");
        let none = check_closing(
            &input("no_support", "Kontaktfamilj", "2027-01-01", "Inget behov."),
            d("2027-01-01"),
            d("2027-01-01"),
        )
        .unwrap();
        assert_eq!(none.support, "");
    }

    #[test]
    fn every_mistake_is_named_beside_its_field() {
        let errors =
            check_closing(&input("", "", "", ""), d("2027-01-01"), d("2027-02-01")).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["outcome", "closed_on", "reason"]);
        let errors = check_closing(
            &input("support_granted", " ", "2027-01-01", "x"),
            d("2027-01-01"),
            d("2027-02-01"),
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "support");
        let errors = check_closing(
            &input("maybe", "", "x", "x"),
            d("2027-01-01"),
            d("2027-02-01"),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn the_day_is_neither_in_the_future_nor_before_the_opening() {
        let future = check_closing(
            &input("other", "", "2027-02-02", "x"),
            d("2027-01-01"),
            d("2027-02-01"),
        );
        assert_eq!(future.unwrap_err()[0].field, "closed_on");
        let before = check_closing(
            &input("other", "", "2026-12-31", "x"),
            d("2027-01-01"),
            d("2027-02-01"),
        );
        assert_eq!(before.unwrap_err()[0].field, "closed_on");
    }

    #[test]
    fn lateness_counts_days_after_the_last_day() {
        assert_eq!(days_late(d("2027-05-01"), d("2027-04-30")), 0);
        assert_eq!(days_late(d("2027-05-01"), d("2027-05-01")), 0);
        assert_eq!(days_late(d("2027-05-01"), d("2027-05-11")), 10);
    }
}
