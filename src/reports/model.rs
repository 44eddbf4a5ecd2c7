//! What a report of concern holds, and the rules for what is a complete one. Pure: no I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::personnummer::PersonalNumber;
use crate::text_enum;

mod acute;
pub use acute::{
    alert_recipient, is_acute, validate_intake_contacts, AlertTo, IntakeContactsChange,
    IntakeContactsInput,
};

text_enum!(
    /// What the concern is about. Several may apply.
    Category {
        ViolenceInHome => "violence_in_home" : "Våld i hemmet",
        SexualAbuse => "sexual_abuse" : "Sexuella övergrepp",
        Neglect => "neglect" : "Brister i omsorgen",
        ParentalSubstanceAbuse => "parental_substance_abuse" : "Förälders missbruk",
        ParentalMentalIllness => "parental_mental_illness" : "Förälders psykiska ohälsa",
        HonourViolence => "honour_violence" : "Hedersrelaterat våld och förtryck",
        ChildBehaviour => "child_behaviour" : "Barnets eget beteende eller missbruk",
        SchoolAbsence => "school_absence" : "Frånvaro från skolan",
        Other => "other" : "Annat",
    }
);

impl Category {
    /// Whether the form asks, for this category, if the suspected person is someone close to the
    /// child (närstående): violence in the home, sexual abuse and honour-related violence.
    pub fn asks_someone_close(self) -> bool {
        matches!(
            self,
            Category::ViolenceInHome | Category::SexualAbuse | Category::HonourViolence
        )
    }

    /// The categories that ask it, in form order.
    pub fn asking_someone_close() -> impl Iterator<Item = Category> {
        Category::ALL
            .iter()
            .copied()
            .filter(|c| c.asks_someone_close())
    }
}

text_enum!(
    /// Who filed the report.
    ReporterKind {
        Professional => "professional" : "Yrkesverksam",
        Private => "private" : "Privatperson",
        Anonymous => "anonymous" : "Anonym",
    }
);

text_enum!(
    /// The intake officer's decision after the initial assessment.
    Decision {
        Open => "open" : "Utredning inleds",
        NotOpen => "not_open" : "Utredning inleds inte",
        Join => "join" : "Anmälan förs till en pågående utredning",
    }
);

/// One child as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ChildInput {
    /// Personnummer or samordningsnummer, if known.
    #[serde(default)]
    pub personal_number: String,
    #[serde(default)]
    pub name: String,
    /// `YYYY-MM-DD`; needed when the personnummer is not known.
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub address: String,
    /// School or preschool.
    #[serde(default)]
    pub school: String,
    /// Has the child been told about the report?
    pub told: Option<bool>,
    /// Why not, when the child has not been told.
    #[serde(default)]
    pub not_told_reason: String,
}

/// One guardian as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct GuardianInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    pub told: Option<bool>,
    #[serde(default)]
    pub not_told_reason: String,
}

/// A private person's contact details; leave out (or empty) to report anonymously.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PrivateReporterInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// A report as typed in a form or sent to the API.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ReportInput {
    /// The child's home municipality, which receives the report.
    #[serde(default)]
    pub municipality_id: String,
    #[serde(default)]
    pub children: Vec<ChildInput>,
    #[serde(default)]
    pub guardians: Vec<GuardianInput>,
    /// The concern, in the reporter's own words.
    #[serde(default)]
    pub concern: String,
    /// Category codes, e.g. `neglect`.
    #[serde(default)]
    pub categories: Vec<String>,
    pub acute_danger: Option<bool>,
    pub police_informed: Option<bool>,
    /// The language an interpreter is needed for; empty if none.
    #[serde(default)]
    pub interpreter_language: String,
    /// Other agencies involved with the child.
    #[serde(default)]
    pub other_agencies: String,
    /// Only for private persons: who they are (omit to stay anonymous).
    #[serde(default)]
    pub reporter: Option<PrivateReporterInput>,
    /// For `violence_in_home`, `sexual_abuse` and `honour_violence`: is the suspected person
    /// someone close to the child? Category code to `yes`, `no` or `unknown`, e.g.
    /// `{"sexual_abuse": "yes"}`. Left out counts as `unknown`.
    #[serde(default)]
    pub someone_close: std::collections::BTreeMap<String, String>,
}

/// A checked child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    pub personal_number: Option<PersonalNumber>,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub address: String,
    pub school: String,
    pub told: bool,
    pub not_told_reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardian {
    pub name: String,
    pub phone: String,
    pub told: bool,
    pub not_told_reason: String,
}

/// A complete report, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidReport {
    pub municipality_id: String,
    pub children: Vec<Child>,
    pub guardians: Vec<Guardian>,
    pub concern: String,
    pub categories: Vec<Category>,
    pub acute_danger: bool,
    pub police_informed: bool,
    pub interpreter_language: String,
    pub other_agencies: String,
    /// For a private person: name, phone, email. `None` for anonymous (and for professionals,
    /// whose details come from their account).
    pub private_reporter: Option<PrivateReporterInput>,
    /// The someone-close answers for the chosen categories that ask it.
    pub someone_close: SomeoneClose,
}

impl ValidReport {
    /// Whether the violence rule applies to every child in the report.
    pub fn violence_rule_applies(&self) -> bool {
        violence_rule_applies(&self.categories, &self.someone_close)
    }
}

pub const MAX_CHILDREN: usize = 10;
pub const MAX_GUARDIANS: usize = 6;
pub(crate) const MAX_CONCERN: usize = 20_000;
const MAX_SHORT: usize = 300;

fn short(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    let value = value.trim().to_string();
    if value.chars().count() > MAX_SHORT {
        errors.push(FieldError::new(field, format!("Högst {MAX_SHORT} tecken.")));
    }
    value
}

fn yes_no(errors: &mut Vec<FieldError>, field: &str, value: Option<bool>, question: &str) -> bool {
    if value.is_none() {
        errors.push(FieldError::new(
            field,
            format!("Svara ja eller nej: {question}"),
        ));
    }
    value.unwrap_or(false)
}

/// Checks a report. `professional` reports take the reporter from the account; others may give a
/// name or stay anonymous. `today` decides the century of ten-digit personnummer.
pub fn validate(
    input: &ReportInput,
    professional: bool,
    today: NaiveDate,
) -> Result<ValidReport, Vec<FieldError>> {
    let mut errors = Vec::new();
    if input.municipality_id.trim().is_empty() {
        errors.push(FieldError::new(
            "municipality_id",
            "Välj vilken kommun barnet bor i.",
        ));
    }

    let filled_children: Vec<(usize, &ChildInput)> = input
        .children
        .iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || !child_is_empty(c))
        .collect();
    if filled_children.len() > MAX_CHILDREN {
        errors.push(FieldError::new(
            "children",
            format!("Högst {MAX_CHILDREN} barn i en anmälan. Gör en anmälan till för fler."),
        ));
    }
    let mut children = Vec::new();
    if filled_children.is_empty() {
        errors.push(FieldError::new(
            "children[0].name",
            "Fyll i uppgifter om barnet.",
        ));
    }
    for (i, child) in filled_children {
        let f = |name: &str| format!("children[{i}].{name}");
        let personal_number = match child.personal_number.trim() {
            "" => None,
            text => match PersonalNumber::parse(text, today) {
                Ok(n) => Some(n),
                Err(problem) => {
                    errors.push(FieldError::new(f("personal_number"), problem.message()));
                    None
                }
            },
        };
        let name = short(&mut errors, &f("name"), &child.name);
        crate::input::check_name(&mut errors, &f("name"), &name);
        let birth_date = match child.birth_date.trim() {
            "" => None,
            text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) if d <= today => Some(d),
                Ok(_) => {
                    errors.push(FieldError::new(
                        f("birth_date"),
                        "Födelsedatumet ligger i framtiden.",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        f("birth_date"),
                        "Skriv födelsedatumet som år-månad-dag, till exempel 2015-03-14.",
                    ));
                    None
                }
            },
        };
        if child.personal_number.trim().is_empty() {
            if name.is_empty() {
                errors.push(FieldError::new(
                    f("name"),
                    "Fyll i barnets namn (eller personnummer om du vet det).",
                ));
            }
            if child.birth_date.trim().is_empty() {
                errors.push(FieldError::new(
                    f("birth_date"),
                    "Fyll i barnets födelsedatum när du inte vet personnumret.",
                ));
            }
        }
        let told = yes_no(
            &mut errors,
            &f("told"),
            child.told,
            "vet barnet om anmälan?",
        );
        let not_told_reason = short(&mut errors, &f("not_told_reason"), &child.not_told_reason);
        if child.told == Some(false) && not_told_reason.is_empty() {
            errors.push(FieldError::new(
                f("not_told_reason"),
                "Berätta varför barnet inte vet om anmälan.",
            ));
        }
        children.push(Child {
            birth_date: birth_date.or(personal_number.as_ref().map(PersonalNumber::birth_date)),
            personal_number,
            name,
            address: short(&mut errors, &f("address"), &child.address),
            school: short(&mut errors, &f("school"), &child.school),
            told,
            not_told_reason: if told { String::new() } else { not_told_reason },
        });
    }

    let mut guardians = Vec::new();
    for (i, g) in input.guardians.iter().enumerate() {
        if guardian_is_empty(g) {
            continue;
        }
        let f = |name: &str| format!("guardians[{i}].{name}");
        if guardians.len() == MAX_GUARDIANS {
            errors.push(FieldError::new(
                "guardians",
                format!("Högst {MAX_GUARDIANS} vårdnadshavare."),
            ));
            break;
        }
        let name = short(&mut errors, &f("name"), &g.name);
        crate::input::check_name(&mut errors, &f("name"), &name);
        if name.is_empty() {
            errors.push(FieldError::new(f("name"), "Fyll i vårdnadshavarens namn."));
        }
        let told = yes_no(
            &mut errors,
            &f("told"),
            g.told,
            "vet vårdnadshavaren om anmälan?",
        );
        let reason = short(&mut errors, &f("not_told_reason"), &g.not_told_reason);
        if g.told == Some(false) && reason.is_empty() {
            errors.push(FieldError::new(
                f("not_told_reason"),
                "Berätta varför vårdnadshavaren inte vet om anmälan.",
            ));
        }
        guardians.push(Guardian {
            name,
            phone: short(&mut errors, &f("phone"), &g.phone),
            told,
            not_told_reason: if told { String::new() } else { reason },
        });
    }

    let concern = input.concern.trim().to_string();
    if concern.is_empty() {
        errors.push(FieldError::new(
            "concern",
            "Beskriv din oro: vad har du sett eller hört, och när?",
        ));
    } else if concern.chars().count() > MAX_CONCERN {
        errors.push(FieldError::new(
            "concern",
            format!("Högst {MAX_CONCERN} tecken."),
        ));
    }

    let mut categories = Vec::new();
    for text in &input.categories {
        match text.parse::<Category>() {
            Ok(c) if !categories.contains(&c) => categories.push(c),
            Ok(_) => {}
            Err(_) => errors.push(FieldError::new(
                "categories",
                format!("Okänt område {text:?}."),
            )),
        }
    }
    if input.categories.is_empty() {
        errors.push(FieldError::new(
            "categories",
            "Välj minst ett område som oron gäller (välj Annat om inget passar).",
        ));
    }
    let mut someone_close = SomeoneClose::default();
    for (code, answer) in &input.someone_close {
        let field = format!("someone_close.{code}");
        let Ok(category) = code.parse::<Category>() else {
            errors.push(FieldError::new(field, format!("Okänt område {code:?}.")));
            continue;
        };
        if answer.trim().is_empty() || !categories.contains(&category) {
            continue;
        }
        if !category.asks_someone_close() {
            errors.push(FieldError::new(
                field,
                "Frågan om närstående gäller bara våld i hemmet, sexuella övergrepp och hedersrelaterat våld.",
            ));
            continue;
        }
        match answer.parse::<CloseAnswer>() {
            Ok(a) => someone_close.0.push((category, a)),
            Err(_) => errors.push(FieldError::new(
                field,
                "Svara ja, nej eller vet inte: är den som misstänks någon som står barnet nära?",
            )),
        }
    }
    someone_close.0.sort();
    let acute_danger = yes_no(
        &mut errors,
        "acute_danger",
        input.acute_danger,
        "är barnet i akut fara?",
    );
    let police_informed = yes_no(
        &mut errors,
        "police_informed",
        input.police_informed,
        "vet polisen om det här?",
    );

    let private_reporter = match (&input.reporter, professional) {
        (_, true) => None,
        (None, false) => None,
        (Some(r), false)
            if r.name.trim().is_empty()
                && r.phone.trim().is_empty()
                && r.email.trim().is_empty() =>
        {
            None
        }
        (Some(r), false) => {
            let name = short(&mut errors, "reporter.name", &r.name);
            crate::input::check_name(&mut errors, "reporter.name", &name);
            if name.is_empty() {
                errors.push(FieldError::new(
                    "reporter.name",
                    "Fyll i ditt namn, eller välj att vara anonym.",
                ));
            }
            if r.phone.trim().is_empty() && r.email.trim().is_empty() {
                errors.push(FieldError::new(
                    "reporter.phone",
                    "Fyll i telefonnummer eller e-post så att socialtjänsten kan nå dig.",
                ));
            }
            Some(PrivateReporterInput {
                name,
                phone: short(&mut errors, "reporter.phone", &r.phone),
                email: short(&mut errors, "reporter.email", &r.email),
            })
        }
    };

    let interpreter_language = short(
        &mut errors,
        "interpreter_language",
        &input.interpreter_language,
    );
    let other_agencies = short(&mut errors, "other_agencies", &input.other_agencies);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidReport {
        municipality_id: input.municipality_id.trim().to_string(),
        children,
        guardians,
        concern,
        categories,
        acute_danger,
        police_informed,
        interpreter_language,
        other_agencies,
        private_reporter,
        someone_close,
    })
}

/// Checks a sibling the officer adds to a report (one the reporter did not name): a personnummer,
/// or else a name and a date of birth. Errors name the fields `personal_number`, `name` and
/// `birth_date`.
pub fn check_sibling(
    personal_number: &str,
    name: &str,
    birth_date: &str,
    today: NaiveDate,
) -> Result<Child, Vec<FieldError>> {
    let input = ReportInput {
        municipality_id: "-".into(),
        children: vec![ChildInput {
            personal_number: personal_number.into(),
            name: name.into(),
            birth_date: birth_date.into(),
            told: Some(false),
            not_told_reason: "-".into(),
            ..Default::default()
        }],
        concern: "-".into(),
        categories: vec![Category::Other.as_str().into()],
        acute_danger: Some(false),
        police_informed: Some(false),
        ..Default::default()
    };
    // The child's own checks, as on the report form, without the rest of a report.
    match validate(&input, true, today) {
        Ok(mut report) => Ok(report.children.remove(0)),
        Err(errors) => Err(errors
            .into_iter()
            .map(|e| FieldError {
                field: e
                    .field
                    .strip_prefix("children[0].")
                    .unwrap_or(&e.field)
                    .to_string(),
                ..e
            })
            .collect()),
    }
}

fn child_is_empty(c: &ChildInput) -> bool {
    [
        &c.personal_number,
        &c.name,
        &c.birth_date,
        &c.address,
        &c.school,
        &c.not_told_reason,
    ]
    .iter()
    .all(|s| s.trim().is_empty())
        && c.told.is_none()
}

fn guardian_is_empty(g: &GuardianInput) -> bool {
    [&g.name, &g.phone, &g.not_told_reason]
        .iter()
        .all(|s| s.trim().is_empty())
        && g.told.is_none()
}

mod decisions;
pub use decisions::*;

mod handover;
pub use handover::{check_handover, HandoverInput, ValidHandover, MAX_REGISTRATION_NUMBER};

mod closing;
pub use closing::{check_closing, days_late, ClosingInput, ClosingOutcome, ValidClosing};

#[cfg(test)]
mod tests;
