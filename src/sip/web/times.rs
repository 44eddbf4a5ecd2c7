//! Finding a time: the free times of everyone taking part, and booking one with a click.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, NaiveDate};

use crate::accounts::identity::{CurrentActor, Layout};
use crate::db::now;
use crate::error::{AppError, FieldError, PageError};
use crate::schedule::slots::Slot;
use crate::sip::model::{self, swedish_time, MeetingInput};
use crate::sip::store::{Sip, SipId};
use crate::sip::{self, times};
use crate::time;
use crate::web::csrf::CsrfForm;
use crate::web::{form_value, render, see_other, AppState, FormErrors, Saved};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sip/{id}/tider", web::get().to(get_times))
        .route("/sip/{id}/tider", web::post().to(post_book_time));
}

#[derive(Template)]
#[template(path = "sip/times.html")]
struct TimesPage {
    layout: Layout,
    sip: Sip,
    search: times::SearchInput,
    found: Option<times::Suggestions>,
    sent: SentBack,
}

/// A booking sent back to the page: what was typed and what was wrong.
#[derive(Default)]
struct SentBack {
    errors: FormErrors,
    place: String,
    video_url: String,
}

impl TimesPage {
    fn when(&self, slot: &Slot<usize>) -> String {
        swedish_time(slot.start, (slot.end - slot.start).num_minutes() as i32)
    }
    /// The local start, as the booking form reads it.
    fn value(&self, slot: &Slot<usize>) -> String {
        time::local(slot.start).format("%Y-%m-%d %H:%M").to_string()
    }
    fn names(&self, ids: &[usize]) -> String {
        let found = self.found.as_ref();
        ids.iter()
            .filter_map(|i| {
                found
                    .and_then(|f| f.people.get(*i))
                    .map(|p| p.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn name(&self, id: &usize) -> String {
        self.names(std::slice::from_ref(id))
    }
    fn day(&self, d: &NaiveDate) -> String {
        model::swedish_date(*d)
    }
    fn nearest_link(&self, d: &NaiveDate) -> String {
        let s = self.found.as_ref().map(|f| &f.search);
        format!(
            "/sip/{}/tider?duration_minutes={}&buffer_minutes={}&from={d}&to={}",
            self.sip.id,
            s.map_or(60, |s| s.minutes),
            s.map_or(0, |s| s.buffer_minutes),
            *d + Duration::days(13)
        )
    }
}

/// Runs the search (when it can be read) and shows the page.
async fn times_page(
    req: &HttpRequest,
    state: &AppState,
    CurrentActor { user, actor }: CurrentActor,
    id: SipId,
    search: times::SearchInput,
    mut sent: SentBack,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let typed = search.clone();
    let (sip, found) = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let found = match times::search_for(conn, &sip, &typed) {
                Ok(s) => Ok(times::suggest(conn, settings, &actor, &sip, s)?),
                Err(AppError::Invalid(e)) => Err(e),
                Err(e) => return Err(e),
            };
            Ok((sip, found))
        })
        .await?;
    let mut search = search;
    let (found, status) = match found {
        Ok(found) => {
            // Show the values searched with, defaults included.
            let s = &found.search;
            for (typed, used) in [
                (&mut search.duration_minutes, s.minutes.to_string()),
                (&mut search.from, s.from.to_string()),
                (&mut search.to, s.to.to_string()),
                (&mut search.buffer_minutes, s.buffer_minutes.to_string()),
            ] {
                if typed.trim().is_empty() {
                    *typed = used;
                }
            }
            (Some(found), status)
        }
        Err(search_errors) => {
            sent.errors.0.extend(search_errors);
            (None, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    render(
        status,
        &TimesPage {
            layout: Layout::new(req, Some(user)),
            sip,
            search,
            found,
            sent,
        },
    )
}

async fn get_times(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<times::SearchInput>,
) -> Result<HttpResponse, PageError> {
    times_page(
        &req,
        &state,
        current,
        SipId(path.into_inner()),
        query.into_inner(),
        SentBack::default(),
        StatusCode::OK,
    )
    .await
}

/// One click on a suggested time: the busy times are checked again, then the meeting is booked
/// and the invitations go out as for any booking.
async fn post_book_time(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let value = |k: &str| form_value(&pairs, k).to_string();
    let search = times::SearchInput {
        duration_minutes: value("duration_minutes"),
        from: value("from"),
        to: value("to"),
        buffer_minutes: value("buffer_minutes"),
    };
    let input = MeetingInput {
        starts_at: value("starts_at"),
        minutes: value("duration_minutes").trim().parse().ok(),
        place: value("place"),
        video_url: value("video_url"),
    };
    let (actor, sip_id, sent) = (current.actor.clone(), id.clone(), input.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &sip_id)?;
            let valid = model::validate_meeting(&sent, now()).map_err(AppError::Invalid)?;
            times::still_free(
                conn,
                &settings.keys,
                &sip,
                valid.starts_at,
                valid.minutes.into(),
            )?;
            sip::schedule_meeting(conn, settings, &actor, &sip, &sent).map(|_| ())
        })
        .await;
    let errors = match result {
        Ok(()) => {
            state.mail_wake.notify_one();
            return Ok(see_other(format!(
                "/sip/{id}?sparat={}",
                Saved::MeetingBooked.word()
            )));
        }
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::Conflict(message)) => vec![FieldError::new("form", message)],
        Err(e) => return Err(e.into()),
    };
    let status = if errors.iter().any(|e| e.field == "form") {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    times_page(
        &req,
        &state,
        current,
        id,
        search,
        SentBack {
            errors: FormErrors(errors),
            place: input.place,
            video_url: input.video_url,
        },
        status,
    )
    .await
}
