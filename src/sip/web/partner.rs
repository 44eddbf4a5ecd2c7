//! A partner's page: the meetings of every SIP they take part in, each with their own answer
//! and answer link.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::error::PageError;
use crate::sip;
use crate::sip::invitations::place_line;
use crate::sip::model::{swedish_time, Answer};
use crate::sip::store::{answers, Sip};
use crate::web::{render, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mina-moten", web::get().to(get_my_meetings));
}

#[derive(Template)]
#[template(path = "sip/mine.html")]
struct MyMeetingsPage {
    layout: Layout,
    sips: Vec<(Sip, Vec<MyMeeting>)>,
}

/// One upcoming meeting on a partner's page.
struct MyMeeting {
    when: String,
    place: String,
    answer: Answer,
    /// The partner's own answer link.
    link: String,
}

async fn get_my_meetings(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let found = state
        .db_with_settings(move |conn, settings| {
            sip::sips_of_participant(conn, &settings.keys, &actor)
        })
        .await?;
    let sips = found
        .into_iter()
        .map(|(sip, meetings)| {
            let rows = meetings
                .into_iter()
                .map(|(m, i)| {
                    let link = format!(
                        "/svar/{}",
                        answers::rsvp_token(&state.settings, &m.id, &i.participant_id)
                    );
                    let place = place_line(&m);
                    MyMeeting {
                        when: swedish_time(m.starts_at, m.minutes),
                        place,
                        answer: i.status,
                        link,
                    }
                })
                .collect();
            (sip, rows)
        })
        .collect();
    render(
        StatusCode::OK,
        &MyMeetingsPage {
            layout: Layout::new(&req, Some(user)),
            sips,
        },
    )
}
