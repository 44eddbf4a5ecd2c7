//! Consultation without a name (konsultation): a professional asks social services about a worry
//! without naming the child; intake officers of that municipality answer in the service; the
//! professional is told by a content-free email and reads the answer when logged in, and may make
//! the consultation into a report of concern in one step, the text carried over and the legal
//! clocks starting then. Consultations are removed by retention after a set time.
//!
//! Who may do what: a professional with the reporter role asks, and reads and converts their own;
//! intake officers of the consultation's municipality list, read and answer. Anyone else is told
//! it does not exist (404), and that is audited.

pub mod api;
pub mod model;
pub mod store;
pub mod web;

use crate::accounts::{AuthUser, MunicipalityId};
use crate::audit::event::Object;
use crate::authz::{authorize, not_found, policy, Action, Actor, Resource};
use crate::config::Settings;
use crate::db::{write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::reports::model::ReportInput;
use crate::reports::store::Filed;
use model::{AnswerInput, ConsultationInput};
use store::{Asker, Consultation, ConsultationId};

/// Who is looking at a consultation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// The professional who asked it.
    Asker,
    /// An intake officer of its municipality.
    Intake,
}

/// Finds a consultation and checks what `actor` may do with it: intake officers of its
/// municipality view and answer (`Update`); the asker views and converts (`Create`, a report
/// from it). One that does not exist and one the caller may not see look the same (404), and
/// both are audited.
pub fn access(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ConsultationId,
    action: Action,
) -> Result<(Consultation, Viewer), AppError> {
    let Some(consultation) = store::find(conn, &settings.keys, id)? else {
        return not_found(
            conn,
            actor,
            "consultation.access",
            Object::Consultation(id.as_str()),
            "no such consultation",
        );
    };
    let intake = Resource::Consultation {
        municipality: &consultation.municipality_id,
    };
    let own = Resource::OwnConsultation {
        asked_by: Some(&consultation.asked_by),
    };
    let (resource, viewer) = match action {
        Action::View if policy::decide(actor, action, &intake).is_ok() => (intake, Viewer::Intake),
        Action::View | Action::Create => (own, Viewer::Asker),
        Action::Update => (intake, Viewer::Intake),
    };
    authorize(conn, actor, action, resource, Some(id.as_str()))?;
    Ok((consultation, viewer))
}

/// Asks a consultation: a professional (reporter role), of the municipality they name or else
/// their own.
pub fn ask(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    input: &ConsultationInput,
) -> Result<Consultation, AppError> {
    authorize(
        conn,
        actor,
        Action::Create,
        Resource::ProfessionalReporting,
        None,
    )?;
    let asker = actor.user().ok_or(AppError::Forbidden)?;
    let valid = model::validate(input).map_err(AppError::Invalid)?;
    let municipality = if valid.municipality_id.is_empty() {
        asker.organisation.municipality_id.clone()
    } else {
        MunicipalityId(valid.municipality_id.clone())
    };
    store::create(conn, &settings.keys, asker, &municipality, &valid)
}

/// Reads one consultation (asker or intake), with who asked, audited.
pub fn read(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ConsultationId,
) -> Result<(Consultation, Viewer, Asker), AppError> {
    let (consultation, viewer) = access(conn, settings, actor, id, Action::View)?;
    let asker = store::asker_of(conn, &consultation)?;
    store::record_read(conn, &consultation, &actor.audit_actor())?;
    Ok((consultation, viewer, asker))
}

/// Answers a consultation (intake officers of its municipality), once.
pub fn answer(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ConsultationId,
    input: &AnswerInput,
) -> Result<Consultation, AppError> {
    let (consultation, _) = access(conn, settings, actor, id, Action::Update)?;
    let officer = actor.user().ok_or(AppError::NotFound)?;
    let valid = model::validate_answer(input).map_err(AppError::Invalid)?;
    store::answer(conn, settings, officer, &consultation, &valid)
}

/// Makes a consultation into a report of concern (the asker, once): `input` names the child; an
/// empty concern takes the consultation's text, an empty municipality the consultation's. The
/// report is filed now, so its clocks start now, and the consultation points to it, in one
/// transaction. `form_errors` are what a web form found before the report could be checked.
pub fn convert(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ConsultationId,
    input: &ReportInput,
    form_errors: Vec<FieldError>,
) -> Result<Filed, AppError> {
    let (consultation, _) = access(conn, settings, actor, id, Action::Create)?;
    if consultation.converted_at.is_some() {
        return Err(store::already_converted());
    }
    let asker: AuthUser = actor.user().ok_or(AppError::NotFound)?.clone();
    let input = carried_over(input, &consultation);
    write_tx(conn, |conn| {
        let filed =
            crate::reports::file_report(conn, settings, Some(actor), &input, form_errors, || true)?;
        store::mark_converted(conn, &consultation, &filed.id, &asker)?;
        Ok(filed)
    })
}

/// The report as it will be filed: what the consultation already says fills what was left empty.
pub fn carried_over(input: &ReportInput, consultation: &Consultation) -> ReportInput {
    let mut input = input.clone();
    if input.concern.trim().is_empty() {
        input.concern = consultation.situation.clone();
    }
    if input.municipality_id.trim().is_empty() {
        input.municipality_id = consultation.municipality_id.0.clone();
    }
    if let Some(child) = input.children.first_mut() {
        if child.school.trim().is_empty() {
            child.school = consultation.unit.clone();
        }
    }
    input
}

/// The consultations of the actor's own municipality (intake officers).
pub fn for_intake(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
) -> Result<Vec<Consultation>, AppError> {
    let municipality = actor.municipality().cloned().ok_or(AppError::Forbidden)?;
    authorize(
        conn,
        actor,
        Action::View,
        Resource::ConsultationQueue {
            municipality: &municipality,
        },
        None,
    )?;
    store::of_municipality(conn, &settings.keys, &municipality, &actor.audit_actor())
}

/// The consultations the actor asked (professionals with the reporter role).
pub fn own(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
) -> Result<Vec<Consultation>, AppError> {
    authorize(
        conn,
        actor,
        Action::View,
        Resource::ProfessionalReporting,
        None,
    )?;
    let asker = actor.user().ok_or(AppError::Forbidden)?;
    store::asked_by(conn, &settings.keys, asker)
}

/// Runs consultation retention every `interval` in the background (every instance; removal is
/// safe to race).
pub async fn schedule_retention(
    pool: crate::db::DbPool,
    interval: std::time::Duration,
    months: u32,
) {
    loop {
        let pool = pool.clone();
        let result = actix_web::web::block(move || -> Result<usize, AppError> {
            let mut conn = pool.get()?;
            Ok(store::remove_expired(&mut conn, crate::db::now(), months, false)?.len())
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(consultations = n, "retention: consultations removed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "consultation retention failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "consultation retention task failed; will retry"),
        }
        tokio::time::sleep(interval).await;
    }
}
