//! The rules of the officer's decision, one child at a time: the violence rule (SOSFS 2014:4)
//! with the someone-close answer, which decisions it allows, and the check of one child's
//! decision. Pure: no I/O.

use serde::{Deserialize, Serialize};

use super::{Category, Decision, MAX_CONCERN};
use crate::error::FieldError;
use crate::text_enum;

text_enum!(
    /// Is the person the concern is about someone close to the child (närstående)?
    CloseAnswer {
        Yes => "yes" : "Ja",
        No => "no" : "Nej",
        Unknown => "unknown" : "Vet inte",
    }
);

/// The answers to the someone-close question, one per category that asks it. A category that
/// asks it and has no answer (a report filed before the question, or an API client that leaves it
/// out) counts as [`CloseAnswer::Unknown`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SomeoneClose(pub Vec<(Category, CloseAnswer)>);

impl SomeoneClose {
    pub fn answer(&self, category: Category) -> CloseAnswer {
        self.0
            .iter()
            .find(|(c, _)| *c == category)
            .map_or(CloseAnswer::Unknown, |(_, a)| *a)
    }

    /// As stored in `reports.someone_close`: `violence_in_home:yes,sexual_abuse:unknown`.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|(c, a)| format!("{}:{}", c.as_str(), a.as_str()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored text; anything it does not understand is left out (counts as unknown).
    pub fn from_stored(text: &str) -> Self {
        Self(
            text.split(',')
                .filter_map(|pair| {
                    let (c, a) = pair.split_once(':')?;
                    Some((c.parse().ok()?, a.parse().ok()?))
                })
                .collect(),
        )
    }
}

/// The violence rule (SOSFS 2014:4): an investigation is always opened (or the report joined to
/// one already under way for the child) when the child may have been subjected to violence or
/// other abuse by someone close, or has witnessed violence by or against someone close.
///
/// It applies when, for violence in the home, sexual abuse or honour-related violence, the
/// suspected person is someone close (`yes`). When the reporter does not know: for violence in
/// the home it applies (the home is the family), and for honour-related violence it applies too
/// (decided here as the safe side: honour-related violence is by definition exercised by the
/// family or kin); for sexual abuse an unknown perpetrator does not by itself trigger the rule —
/// the officer's assessment decides.
pub fn violence_rule_applies(categories: &[Category], someone_close: &SomeoneClose) -> bool {
    categories.iter().any(|&c| {
        c.asks_someone_close()
            && match someone_close.answer(c) {
                CloseAnswer::Yes => true,
                CloseAnswer::No => false,
                CloseAnswer::Unknown => {
                    matches!(c, Category::ViolenceInHome | Category::HonourViolence)
                }
            }
    })
}

/// The decisions the officer may make for a child in a report with these categories and
/// someone-close answers: when the violence rule applies, only opening an investigation or
/// joining one already under way ([`violence_rule_applies`]).
pub fn allowed_decisions(
    categories: &[Category],
    someone_close: &SomeoneClose,
) -> &'static [Decision] {
    if violence_rule_applies(categories, someone_close) {
        &[Decision::Open, Decision::Join]
    } else {
        Decision::ALL
    }
}

/// One child's decision as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ChildDecisionInput {
    /// The child's id in the report (`children[].id` of `GET /api/v1/reports/{id}`).
    #[serde(default)]
    pub child_id: String,
    /// `open`, `not_open` or `join` (join an investigation already under way for the child).
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    /// Required when the decision comes after the 14-day limit.
    #[serde(default)]
    pub late_reason: String,
    /// Required when the violence rule applies: siblings in the household and how they are
    /// assessed (a sibling not named in the report can be added to it).
    #[serde(default)]
    pub siblings_note: String,
}

impl ChildDecisionInput {
    /// Nothing chosen or typed: the child is left for later.
    pub fn is_blank(&self) -> bool {
        [
            &self.decision,
            &self.reason,
            &self.late_reason,
            &self.siblings_note,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// What is known about a child's case when its decision is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildCase {
    /// The violence rule applies to the report.
    pub violence_rule: bool,
    /// An investigation already under way for the child (same personnummer, same municipality,
    /// not closed), if any.
    pub under_way: Option<String>,
    /// The child's personnummer is known (without it, no investigation can be found to join).
    pub has_personal_number: bool,
    /// The decision comes after its last day.
    pub late: bool,
}

/// A child's decision, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDecision {
    pub decision: Decision,
    pub reason: String,
    pub late_reason: String,
    pub siblings_note: String,
    /// For `join`: the investigation joined.
    pub joined_investigation: Option<String>,
}

/// Checks one child's decision. `field` names a field of this child in the errors (for example
/// `children[1].decision`).
pub fn check_child_decision(
    input: &ChildDecisionInput,
    case: &ChildCase,
    field: impl Fn(&str) -> String,
) -> Result<CheckedDecision, Vec<FieldError>> {
    let mut errors = Vec::new();
    let decision = match input.decision.parse::<Decision>() {
        Ok(Decision::NotOpen) if case.violence_rule => {
            errors.push(FieldError::new(
                field("decision"),
                "Anmälan gäller våld eller övergrepp från en närstående: en utredning ska inledas, \
                 eller anmälan föras till en utredning som redan pågår om barnet.",
            ));
            None
        }
        Ok(Decision::Join) if case.under_way.is_none() => {
            errors.push(FieldError::new(
                field("decision"),
                if case.has_personal_number {
                    "Det finns ingen pågående utredning om barnet i kommunen att föra anmälan till. Välj att inleda en utredning."
                } else {
                    "Barnets personnummer är inte känt, så ingen pågående utredning kan hittas. Välj att inleda en utredning."
                },
            ));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(field("decision"), "Välj ett beslut."));
            None
        }
    };
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        errors.push(FieldError::new(
            field("reason"),
            "Skriv skälen för beslutet.",
        ));
    } else if reason.chars().count() > MAX_CONCERN {
        errors.push(FieldError::new(
            field("reason"),
            format!("Högst {MAX_CONCERN} tecken."),
        ));
    }
    let late_reason = input.late_reason.trim().to_string();
    if case.late && late_reason.is_empty() {
        errors.push(FieldError::new(
            field("late_reason"),
            "Beslutet fattas efter 14 dagar. Skriv de synnerliga skälen till det.",
        ));
    }
    let siblings_note = input.siblings_note.trim().to_string();
    if case.violence_rule && siblings_note.is_empty() {
        errors.push(FieldError::new(
            field("siblings_note"),
            "Finns det syskon i hushållet? Skriv hur de bedöms (ett syskon som inte står i anmälan kan läggas till).",
        ));
    }
    match decision {
        Some(decision) if errors.is_empty() => Ok(CheckedDecision {
            joined_investigation: if decision == Decision::Join {
                case.under_way.clone()
            } else {
                None
            },
            decision,
            reason,
            late_reason: if case.late {
                late_reason
            } else {
                String::new()
            },
            siblings_note,
        }),
        _ => Err(errors),
    }
}
