//! The JSON API under `/api/v1`, authenticated by bearer tokens. Every error, including a body
//! that is not valid JSON, is answered as JSON with a 4xx status.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::authz::Actor;
use crate::error::{ApiError, AppError};
use crate::web::identity::ApiActor;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .route("/me", web::get().to(get_me)),
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
                JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                    "Innehållet är för stort.".to_string()
                }
                JsonPayloadError::Deserialize(e) => format!("Felaktig JSON: {e}"),
                other => format!("Innehållet kunde inte läsas: {other}"),
            };
            ApiError(AppError::BadRequest(message)).into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError(AppError::BadRequest(format!("Felaktig fråga i adressen: {err}"))).into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError(AppError::BadRequest(format!("Felaktig adress: {err}"))).into()
    })
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
