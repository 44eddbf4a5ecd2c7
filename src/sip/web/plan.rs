//! The plan: the form the caseworker writes it in after a meeting, and the plan as read, by the
//! caseworker (every version) and by the partners taking part (the latest).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::accounts::Principal;
use crate::audit::event::{Event, Object};
use crate::error::{AppError, PageError};
use crate::ids::OrganisationId;
use crate::reports::form::row_key;
use crate::sip;
use crate::sip::model::{swedish_time, MeasureInput, PlanInput};
use crate::sip::store::{plans, views, Meeting, MeetingId, Plan, Sip, SipId};
use crate::time::local_text;
use crate::web::csrf::CsrfForm;
use crate::web::{render, see_other, AppState, FormErrors, Saved, SavedOn};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sip/{id}/moten/{mid}/plan", web::get().to(get_plan_form))
        .route("/sip/{id}/moten/{mid}/plan", web::post().to(post_plan))
        .route("/sip/{id}/plan", web::get().to(get_plan))
        .route("/mina-moten/{id}/plan", web::get().to(get_partner_plan));
}

/// Rows shown in the plan form: what was typed, and empty rows to fill in.
const GOAL_ROWS: usize = 3;
const MEASURE_ROWS: usize = 4;

#[derive(Template)]
#[template(path = "sip/plan_form.html")]
struct PlanFormPage {
    layout: Layout,
    sip: Sip,
    meeting: Meeting,
    when: String,
    form: PlanInput,
    organisations: Vec<(OrganisationId, String)>,
    /// The organisations that may have the overall responsibility ([`plans::lead_candidates`]).
    leads: Vec<String>,
    principals: &'static [Principal],
    errors: FormErrors,
}

impl PlanFormPage {
    /// Offered as the one with the overall responsibility: a lead candidate, or the one chosen.
    fn lead_offered(&self, org: &OrganisationId) -> bool {
        self.leads.contains(&org.0) || self.form.lead_organisation_id == org.0
    }
    fn org_selected(&self, row: &MeasureInput, org: &str) -> bool {
        row.organisation_id == org
    }
}

fn padded(mut form: PlanInput) -> PlanInput {
    while form.goals.len() < GOAL_ROWS {
        form.goals.push(String::new());
    }
    while form.measures.len() < MEASURE_ROWS {
        form.measures.push(MeasureInput::default());
    }
    form
}

async fn plan_form_page(
    req: &HttpRequest,
    state: &AppState,
    CurrentActor { user, actor }: CurrentActor,
    sip_id: SipId,
    meeting_id: MeetingId,
    form: Option<PlanInput>,
    errors: FormErrors,
) -> Result<PlanFormPage, AppError> {
    let (sip, meeting, latest, organisations, leads) = state
        .db_with_settings(move |conn, settings| {
            let (sip, meeting) =
                sip::meeting_for_caseworker(conn, &settings.keys, &actor, &meeting_id)?;
            if sip.id != sip_id {
                return Err(AppError::NotFound);
            }
            if meeting.cancelled_at.is_some() {
                return Err(AppError::Conflict(
                    "Mötet är inställt; skriv planen efter ett möte som hölls.".into(),
                ));
            }
            let latest = plans::plans_of(conn, &settings.keys, &sip.id)?
                .into_iter()
                .next();
            let organisations = views::organisation_labels(conn)?;
            let leads = plans::lead_candidates(conn, &sip)?;
            Ok((sip, meeting, latest, organisations, leads))
        })
        .await?;
    // A new version starts from the latest one.
    let form = form.unwrap_or_else(|| match latest {
        Some(p) => PlanInput {
            needs: p.needs,
            goals: p.goals,
            measures: p.measures,
            lead_organisation_id: p.lead_organisation_id,
            follow_up_on: String::new(),
        },
        None => PlanInput {
            lead_organisation_id: sip.calling_organisation_id.0.clone(),
            ..Default::default()
        },
    });
    Ok(PlanFormPage {
        layout: Layout::new(req, Some(user)),
        when: swedish_time(meeting.starts_at, meeting.minutes),
        sip,
        meeting,
        form: padded(form),
        organisations,
        leads,
        principals: Principal::ALL,
        errors,
    })
}

async fn get_plan_form(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    let page = plan_form_page(
        &req,
        &state,
        current,
        SipId(id),
        MeetingId(mid),
        None,
        FormErrors::default(),
    )
    .await?;
    render(StatusCode::OK, &page)
}

/// Reads the plan form's rows (`goals[1]`, `measures[2].principal`, ...) in one pass.
fn plan_from(pairs: &[(String, String)]) -> PlanInput {
    const MAX_ROWS: usize = 50;
    let mut form = PlanInput::default();
    let mut goals: BTreeMap<usize, String> = BTreeMap::new();
    let mut measures: BTreeMap<usize, MeasureInput> = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "needs" => form.needs = value.clone(),
            "lead_organisation_id" => form.lead_organisation_id = value.clone(),
            "follow_up_on" => form.follow_up_on = value.clone(),
            other => {
                let goal = other
                    .strip_prefix("goals[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse::<usize>().ok());
                if let Some(i) = goal.filter(|i| *i < MAX_ROWS) {
                    goals.insert(i, value.clone());
                } else if let Some(("measures", i, field)) = row_key(other) {
                    if i < MAX_ROWS {
                        let m = measures.entry(i).or_default();
                        match field {
                            "description" => m.description = value.clone(),
                            "organisation_id" => m.organisation_id = value.clone(),
                            "principal" => m.principal = value.clone(),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    form.goals = goals.into_values().collect();
    form.measures = measures.into_values().collect();
    form
}

async fn post_plan(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    let form = plan_from(&pairs);
    let (actor, meeting, sent) = (current.actor.clone(), MeetingId(mid.clone()), form.clone());
    match state
        .db_with_settings(move |conn, settings| {
            sip::record_plan(conn, &settings.keys, &actor, &meeting, &sent)
        })
        .await
    {
        Ok(_) => Ok(see_other(format!(
            "/sip/{id}/plan?sparat={}",
            Saved::PlanRecorded.word()
        ))),
        Err(AppError::Invalid(errors)) => {
            let page = plan_form_page(
                &req,
                &state,
                current,
                SipId(id),
                MeetingId(mid),
                Some(form),
                FormErrors(errors),
            )
            .await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "sip/plan.html")]
struct PlanPage {
    layout: Layout,
    /// Where "back" leads: the caseworker's SIP page, or the partner's meetings.
    back: String,
    sip: Sip,
    plan: Option<Plan>,
    versions: Vec<(i32, String)>,
    organisations: Vec<(OrganisationId, String)>,
    /// The confirmation after the plan was recorded, or nothing.
    saved: &'static str,
}

impl PlanPage {
    fn org(&self, id: &str) -> String {
        self.organisations
            .iter()
            .find(|(o, _)| o.as_str() == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }
    fn principal(&self, code: &str) -> &'static str {
        code.parse::<Principal>().map_or("", |p| p.label())
    }
}

#[derive(Deserialize)]
struct PlanQuery {
    version: Option<i32>,
    #[serde(rename = "sparat")]
    saved: Option<String>,
}

async fn get_plan(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PlanQuery>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let (sip, plans, organisations) = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let plans = plans::plans_of(conn, &settings.keys, &sip.id)?;
            Event::success(
                &actor.audit_actor(),
                "sip.plan_read",
                Object::Sip(sip.id.as_str()),
            )
            .record(conn)?;
            Ok((sip, plans, views::organisation_labels(conn)?))
        })
        .await?;
    let versions = plans
        .iter()
        .map(|p| (p.version, local_text(&p.recorded_at)))
        .collect();
    let plan = match query.version {
        Some(v) => Some(
            plans
                .into_iter()
                .find(|p| p.version == v)
                .ok_or(AppError::NotFound)?,
        ),
        None => plans.into_iter().next(),
    };
    render(
        StatusCode::OK,
        &PlanPage {
            layout: Layout::new(&req, Some(user)),
            back: format!("/sip/{}", sip.id),
            sip,
            plan,
            versions,
            organisations,
            saved: Saved::read(SavedOn::Plan, query.saved.as_deref()).map_or("", Saved::message),
        },
    )
}

async fn get_partner_plan(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let (sip, plan, organisations) = state
        .db_with_settings(move |conn, settings| {
            let (sip, _) = sip::sip_for_participant(conn, &settings.keys, &actor, &id)?;
            let plan = plans::plans_of(conn, &settings.keys, &sip.id)?
                .into_iter()
                .next();
            Ok((sip, plan, views::organisation_labels(conn)?))
        })
        .await?;
    render(
        StatusCode::OK,
        &PlanPage {
            layout: Layout::new(&req, Some(user)),
            back: "/mina-moten".into(),
            sip,
            plan,
            versions: Vec::new(),
            organisations,
            saved: "",
        },
    )
}
