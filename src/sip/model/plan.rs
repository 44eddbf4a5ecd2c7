//! The plan written after a meeting (the SIP document itself): needs, goals, measures, who leads
//! and when to follow up. Pure, as the rest of [`crate::sip::model`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Whether an organisation whose principal is `principal` and that `takes_part` in the SIP (it
/// calls it, or someone of it takes part) may have the overall responsibility (huvudansvar) in
/// its plan: only a principal of the SIP — a kommun or a region — taking part.
pub fn may_lead(principal: crate::accounts::Principal, takes_part: bool) -> bool {
    use crate::accounts::Principal;
    takes_part && matches!(principal, Principal::Kommun | Principal::Region)
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
/// that exist, and `principals` those of them that may have the overall responsibility: the
/// organisations taking part in the SIP whose principal (huvudman) is a kommun or a region
/// ([`may_lead`]). Empty goal and measure rows are left out.
pub fn validate_plan(
    input: &PlanInput,
    meeting_day: NaiveDate,
    known: &[String],
    principals: &[String],
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
    } else if !principals.contains(&lead) {
        errors.push(FieldError::new(
            "lead_organisation_id",
            "Huvudansvaret ska ligga hos kommunen eller regionen: välj en verksamhet som är med \
             i SIP:en och har kommun eller region som huvudman.",
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
