//! Each person's private calendar feed (`/calendar/{token}.ics`): every SIP meeting they are
//! invited to, with neutral titles, for any calendar to subscribe to. The token (256 bits) is
//! shown once and stored hashed; it can be replaced or turned off on the profile page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

use crate::accounts::{AuthUser, UserId};
use crate::audit;
use crate::authz::Actor;
use crate::calendar::ics::{self, Method};
use crate::crypto::rows::SealedRow;
use crate::db::schema::{calendar_feeds, invitees, meetings, participants, sips};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, PageError};
use crate::secrets::{hash_token, random_token};
use crate::sip::invitations;
use crate::sip::store::{Meeting, Sip};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::identity::CurrentUser;
use crate::web::profile::{show, Shown};
use crate::web::{see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/calendar/{file}", web::get().to(get_feed))
        .route("/profil/kalender", web::post().to(post_new_feed))
        .route("/profil/kalender/stang", web::post().to(post_close_feed));
}

/// The feed of the user holding `token`, or `None` for an unknown or revoked token.
pub fn feed_for_token(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    token: &str,
) -> Result<Option<String>, AppError> {
    let user: Option<UserId> = calendar_feeds::table
        .inner_join(crate::db::schema::users::table)
        .filter(calendar_feeds::token_hash.eq(hash_token(token)))
        .filter(crate::db::schema::users::active.eq(true))
        .select(calendar_feeds::user_id)
        .first(conn)
        .optional()?;
    let Some(user) = user else {
        return Ok(None);
    };
    let rows: Vec<(Meeting, Sip)> = meetings::table
        .inner_join(sips::table)
        .inner_join(invitees::table.inner_join(participants::table))
        .filter(participants::user_id.eq(&user))
        .filter(participants::removed_at.is_null())
        .filter(invitees::removed_at.is_null())
        .filter(meetings::cancelled_at.is_null())
        .order(meetings::starts_at)
        .select((Meeting::as_select(), Sip::as_select()))
        .load::<(Meeting, Sip)>(conn)?
        .into_iter()
        .map(|(m, s)| Ok((m.open(&settings.keys)?, s.open(&settings.keys)?)))
        .collect::<Result<_, AppError>>()?;
    // Only meetings of SIPs whose consent covers the person today.
    let mut covered: Vec<(crate::sip::store::SipId, bool)> = Vec::new();
    let mut events = Vec::with_capacity(rows.len());
    for (meeting, sip) in &rows {
        let ok = match covered.iter().find(|(id, _)| *id == sip.id) {
            Some((_, ok)) => *ok,
            None => {
                let ok = crate::sip::store::takes_part(conn, &settings.keys, sip, &user)?;
                covered.push((sip.id.clone(), ok));
                ok
            }
        };
        if ok {
            events.push(invitations::event_without_attendees(sip, meeting, settings));
        }
    }
    Ok(Some(ics::calendar(
        Method::Publish,
        &events,
        Some("SIP-möten (Samordna)"),
    )))
}

async fn get_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let file = path.into_inner();
    let token = file
        .strip_suffix(".ics")
        .ok_or(AppError::NotFound)?
        .to_string();
    let settings = state.settings.clone();
    let body = state
        .db(move |conn| feed_for_token(conn, &settings, &token))
        .await?
        .ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", &hash_token(&body)[..32]);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, max-age=0, must-revalidate"));
    Ok(if matches {
        response.finish()
    } else {
        response
            .content_type("text/calendar; charset=utf-8")
            .body(body)
    })
}

pub fn has_feed(conn: &mut AnyConnection, user: &UserId) -> Result<bool, AppError> {
    Ok(calendar_feeds::table
        .find(user)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

fn audit_feed(conn: &mut AnyConnection, user: &AuthUser, action: &str) -> Result<(), AppError> {
    audit::success(
        conn,
        &Actor::User(user.clone()),
        action,
        "user",
        user.id.as_str(),
        "",
    )
}

/// Creates a feed address, replacing any earlier one (which stops working at once).
async fn post_new_feed(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let token = random_token();
    let (u, hash) = (user.clone(), hash_token(&token));
    state
        .db(move |conn| {
            write_tx(conn, |conn| {
                diesel::delete(calendar_feeds::table.find(&u.id)).execute(conn)?;
                diesel::insert_into(calendar_feeds::table)
                    .values((
                        calendar_feeds::user_id.eq(&u.id),
                        calendar_feeds::token_hash.eq(&hash),
                        calendar_feeds::created_at.eq(now()),
                    ))
                    .execute(conn)?;
                audit_feed(conn, &u, "calendar_feed.create")
            })
        })
        .await?;
    let shown = Shown {
        new_feed: Some(state.settings.link(&format!("/calendar/{token}.ics"))),
        ..Default::default()
    };
    show(&req, &state, user, StatusCode::OK, shown).await
}

async fn post_close_feed(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let u = user.clone();
    state
        .db(move |conn| {
            write_tx(conn, |conn| {
                diesel::delete(calendar_feeds::table.find(&u.id)).execute(conn)?;
                audit_feed(conn, &u, "calendar_feed.revoke")
            })
        })
        .await?;
    Ok(see_other("/profil?sparat=stangd".into()))
}
