//! The JSON API under `/api/v1`, authenticated by bearer tokens. Every error, including a body
//! that is not valid JSON, is answered as JSON with a 4xx status.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::identity::ApiActor;
use crate::accounts::{NewUser, Role};
use crate::authz::Actor;
use crate::error::ErrorResponse;
use crate::error::{ApiError, AppError, FieldError};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .route("/openapi.json", web::get().to(get_openapi))
            .route("/me", web::get().to(get_me))
            .route("/users", web::post().to(post_user))
            .configure(crate::reports::api::routes)
            .configure(crate::caseload::api::routes)
            .configure(crate::sip::api::routes)
            .configure(crate::consultations::api::routes)
            .configure(crate::journal::api::routes)
            .configure(crate::information_requests::api::routes)
            .configure(crate::case_system::api::routes)
            .configure(crate::statistics::api::routes)
            .service(crate::web::methods::unrouted()),
    );
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _req: &HttpRequest| {
            use actix_web::error::JsonPayloadError;
            let message = match &err {
                JsonPayloadError::ContentType => {
                    "Skicka innehållet som JSON med Content-Type: application/json.".to_string()
                }
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => "Innehållet är för stort.".to_string(),
                JsonPayloadError::Deserialize(e) => format!("Felaktig JSON: {e}"),
                other => format!("Innehållet kunde inte läsas: {other}"),
            };
            ApiError(AppError::BadRequest(message)).into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError(AppError::BadRequest(format!(
            "Felaktig fråga i adressen: {err}"
        )))
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError(AppError::BadRequest(format!("Felaktig adress: {err}"))).into()
    })
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The OpenAPI description of this API, served at `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Samordna API", description = "Orosanmälan och SIP. Authenticate with `Authorization: Bearer smd_…`."),
    paths(
        crate::reports::api::post_report,
        crate::reports::api::get_report,
        crate::reports::api::post_safety_assessment,
        crate::reports::api::post_decision,
        crate::reports::api::post_sibling,
        crate::reports::api::get_my_reports,
        crate::reports::api::get_intake,
        crate::reports::api::get_investigations,
        crate::reports::api::post_extension,
        crate::reports::api::get_investigation,
        crate::reports::api::post_close,
        crate::caseload::api::get_my_investigations,
        crate::caseload::api::post_assignment,
        crate::sip::api::post_sip,
        crate::sip::api::post_consent,
        crate::sip::api::post_withdraw_consent,
        crate::sip::api::post_participant,
        crate::sip::api::post_remove_participant,
        crate::sip::api::post_meeting,
        crate::sip::api::get_meeting,
        crate::sip::api::patch_meeting,
        crate::sip::api::post_cancel_meeting,
        crate::sip::api::put_plan,
        crate::sip::api::get_plans,
        crate::sip::api::get_slots,
        crate::sip::inbound::post_inbound_mail,
        crate::consultations::api::post_consultation,
        crate::consultations::api::get_consultation,
        crate::consultations::api::post_consultation_answer,
        crate::consultations::api::post_consultation_convert,
        crate::journal::api::get_investigation_journal,
        crate::journal::api::post_investigation_journal,
        crate::journal::api::get_report_journal,
        crate::journal::api::post_report_journal,
        crate::journal::api::post_sign,
        crate::journal::api::post_correction,
        crate::information_requests::api::post_information_request,
        crate::information_requests::api::get_investigation_requests,
        crate::information_requests::api::get_information_requests,
        crate::information_requests::api::get_information_request,
        crate::information_requests::api::post_information_request_answer,
        crate::information_requests::api::post_information_request_decline,
        crate::case_system::api::get_export,
        crate::case_system::api::post_handover,
        crate::information_requests::api::post_information_request_more_time,
        crate::information_requests::api::post_information_request_due_date,
        crate::information_requests::api::get_information_request_file,
        crate::statistics::api::get_statistics,
    ),
    components(schemas(ErrorResponse, FieldError)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

async fn get_openapi() -> HttpResponse {
    use utoipa::OpenApi;
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[derive(Serialize)]
struct OrganisationBody {
    id: String,
    name: String,
    kind: crate::accounts::OrgKind,
    principal: crate::accounts::Principal,
    municipality_id: String,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum MeBody {
    User {
        id: String,
        email: String,
        name: String,
        title: String,
        organisation: OrganisationBody,
        roles: Vec<crate::accounts::Role>,
    },
    Integration {
        id: String,
        name: String,
        organisation_id: String,
    },
}

/// `GET /api/v1/me`: who the token belongs to.
async fn get_me(ApiActor(actor): ApiActor) -> Result<HttpResponse, ApiError> {
    let body = match actor {
        Actor::User(user) => MeBody::User {
            id: user.id.to_string(),
            email: user.email,
            name: user.name,
            title: user.title,
            organisation: OrganisationBody {
                id: user.organisation.id.to_string(),
                name: user.organisation.name,
                kind: user.organisation.kind,
                principal: user.organisation.principal,
                municipality_id: user.organisation.municipality_id.to_string(),
            },
            roles: user.roles,
        },
        Actor::Integration(token) => MeBody::Integration {
            id: token.id.to_string(),
            name: token.name,
            organisation_id: token.organisation_id.to_string(),
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

#[derive(serde::Deserialize)]
struct NewUserBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    password: String,
}

#[derive(Serialize)]
struct CreatedUser {
    id: String,
    email: String,
    name: String,
    roles: Vec<Role>,
}

/// `POST /api/v1/users` (admins): adds an account and sends its welcome email. Invalid input
/// answers 422 with `errors: [{field, message}]`.
async fn post_user(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut roles = Vec::new();
    for text in &body.roles {
        match text.parse::<Role>() {
            Ok(role) => roles.push(role),
            Err(_) => {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "roles",
                    format!("Okänd roll {text:?}. Välj bland: {}.", Role::choices()),
                )])
                .into())
            }
        }
    }
    let input = NewUser {
        email: body.email,
        name: body.name,
        title: body.title,
        phone: body.phone,
        organisation_id: body.organisation_id,
        roles: roles.clone(),
        password: body.password,
    };
    let user = state
        .db_with_settings(move |conn, settings| {
            crate::accounts::admin::add_user_as(conn, settings, &actor, &input)
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(CreatedUser {
        id: user.id.to_string(),
        email: user.email,
        name: user.name,
        roles,
    }))
}
