//! Acute reports and where their alert goes, and the intake settings a municipality sets for them
//! (office hours, socialjour phone, alert addresses). Pure: no I/O.

use crate::error::FieldError;
use crate::time::OfficeHours;

use super::ValidReport;

/// An acute report: marked acute danger by the reporter, or one where the violence rule applies.
/// It goes first in the intake queue with its mark, its safety assessment is due within hours
/// (`SAMORDNA_ACUTE_SAFETY_HOURS`) and an alert is mailed at once.
/// The violence rule is [`super::violence_rule_applies`], with the someone-close answers.
pub fn is_acute(report: &ValidReport) -> bool {
    report.acute_danger || report.violence_rule_applies()
}

/// Who an acute report's alert goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertTo {
    /// The municipality's intake (mottagningen), in office hours.
    Intake,
    /// The out-of-hours service (socialjouren).
    Socialjour,
}

impl AlertTo {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertTo::Intake => "intake",
            AlertTo::Socialjour => "socialjour",
        }
    }
}

/// Where the alert of an acute report goes: the intake's address in office hours, the
/// socialjour's outside them; the other one when the right one is not set (an alert that reaches
/// someone is better than none), and `None` when neither is.
pub fn alert_recipient<'a>(
    in_office_hours: bool,
    intake_address: &'a str,
    socialjour_address: &'a str,
) -> Option<(AlertTo, &'a str)> {
    let intake = (AlertTo::Intake, intake_address.trim());
    let socialjour = (AlertTo::Socialjour, socialjour_address.trim());
    let (first, second) = if in_office_hours {
        (intake, socialjour)
    } else {
        (socialjour, intake)
    };
    [first, second].into_iter().find(|(_, a)| !a.is_empty())
}

/// A municipality's intake settings as given on the command line: each `None` is left as it is;
/// an empty text clears a value (for the office hours: back to `SAMORDNA_OFFICE_HOURS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntakeContactsInput {
    pub office_hours: Option<String>,
    pub socialjour_phone: Option<String>,
    pub socialjour_alert_email: Option<String>,
    pub intake_alert_email: Option<String>,
}

/// The checked changes: `office_hours` is `Some(None)` to go back to the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntakeContactsChange {
    pub office_hours: Option<Option<String>>,
    pub socialjour_phone: Option<String>,
    pub socialjour_alert_email: Option<String>,
    pub intake_alert_email: Option<String>,
}

const MAX_PHONE: usize = 40;

/// Checks the intake settings; each mistake is named by its option.
pub fn validate_intake_contacts(
    input: &IntakeContactsInput,
) -> Result<IntakeContactsChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    if input == &IntakeContactsInput::default() {
        errors.push(FieldError::new(
            "municipality",
            "Ange minst en inställning att ändra.",
        ));
    }
    let office_hours = input.office_hours.as_deref().map(|text| {
        let text = text.trim();
        if text.is_empty() || text == "default" {
            return None;
        }
        match text.parse::<OfficeHours>() {
            Ok(hours) => Some(format!(
                "{}-{}",
                hours.opens.format("%H:%M"),
                hours.closes.format("%H:%M")
            )),
            Err(_) => {
                errors.push(FieldError::new(
                    "office_hours",
                    "Skriv kontorstiden som 08:00-16:30 (eller default för standardtiden).",
                ));
                None
            }
        }
    });
    let socialjour_phone = input.socialjour_phone.as_deref().map(|text| {
        let text = text.trim();
        let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
        if text.chars().count() > MAX_PHONE
            || !text.chars().all(allowed)
            || (!text.is_empty() && !text.chars().any(|c| c.is_ascii_digit()))
        {
            errors.push(FieldError::new(
                "socialjour_phone",
                "Skriv ett telefonnummer med siffror, till exempel 010-123 45 67.",
            ));
        }
        text.to_string()
    });
    let mut address = |field: &str, value: &Option<String>| {
        value.as_deref().map(|text| {
            let text = text.trim();
            if !text.is_empty() && text.parse::<lettre::Address>().is_err() {
                errors.push(FieldError::new(
                    field,
                    "Skriv en e-postadress som jour@kommun.se (eller tomt för att ta bort den).",
                ));
            }
            text.to_string()
        })
    };
    let socialjour_alert_email = address("socialjour_alert_email", &input.socialjour_alert_email);
    let intake_alert_email = address("intake_alert_email", &input.intake_alert_email);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(IntakeContactsChange {
        office_hours,
        socialjour_phone,
        socialjour_alert_email,
        intake_alert_email,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{validate, ReportInput};
    use super::*;

    fn report(categories: &[&str], acute_danger: bool) -> ValidReport {
        let input = ReportInput {
            municipality_id: "m1".into(),
            children: vec![super::super::ChildInput {
                name: "Kim".into(),
                birth_date: "2015-03-14".into(),
                told: Some(true),
                ..Default::default()
            }],
            concern: "Oro.".into(),
            categories: categories.iter().map(|c| (*c).to_string()).collect(),
            acute_danger: Some(acute_danger),
            police_informed: Some(false),
            ..Default::default()
        };
        validate(
            &input,
            true,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn acute_danger_or_violence_by_someone_close_is_acute() {
        assert!(is_acute(&report(&["neglect"], true)));
        assert!(is_acute(&report(&["violence_in_home"], false)));
        assert!(is_acute(&report(&["honour_violence", "other"], false)));
        assert!(!is_acute(&report(&["neglect", "school_absence"], false)));
        assert!(!is_acute(&report(&["other"], false)));
    }

    #[test]
    fn the_alert_goes_to_intake_in_office_hours_and_to_socialjour_outside_them() {
        let (intake, jour) = ("mottagning@ekby.se", "jour@ekby.se");
        assert_eq!(
            alert_recipient(true, intake, jour),
            Some((AlertTo::Intake, intake))
        );
        assert_eq!(
            alert_recipient(false, intake, jour),
            Some((AlertTo::Socialjour, jour))
        );
        // The other address when the right one is not set; none when neither is.
        assert_eq!(
            alert_recipient(false, intake, " "),
            Some((AlertTo::Intake, intake))
        );
        assert_eq!(
            alert_recipient(true, "", jour),
            Some((AlertTo::Socialjour, jour))
        );
        assert_eq!(alert_recipient(true, "", ""), None);
    }

    #[test]
    fn intake_contacts_are_checked_field_by_field() {
        let change = validate_intake_contacts(&IntakeContactsInput {
            office_hours: Some("7:30-16:00".into()),
            socialjour_phone: Some(" 010-123 45 67 ".into()),
            socialjour_alert_email: Some("jour@ekby.se".into()),
            intake_alert_email: None,
        })
        .unwrap();
        assert_eq!(change.office_hours, Some(Some("07:30-16:00".into())));
        assert_eq!(change.socialjour_phone.as_deref(), Some("010-123 45 67"));
        assert_eq!(change.intake_alert_email, None, "left as it is");
        let back = validate_intake_contacts(&IntakeContactsInput {
            office_hours: Some("default".into()),
            intake_alert_email: Some(String::new()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(back.office_hours, Some(None));
        assert_eq!(back.intake_alert_email.as_deref(), Some(""));
        let errors = validate_intake_contacts(&IntakeContactsInput {
            office_hours: Some("9-5".into()),
            socialjour_phone: Some("ring jouren".into()),
            socialjour_alert_email: Some("jour.ekby.se".into()),
            intake_alert_email: Some("a@b@c".into()),
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "office_hours",
                "socialjour_phone",
                "socialjour_alert_email",
                "intake_alert_email"
            ]
        );
        assert!(validate_intake_contacts(&IntakeContactsInput::default()).is_err());
    }
}
