//! Adding and removing a SIP's participants on the caseworker's SIP page: who they are (an
//! account, or the family or an organisation a consent covers) and the error beside the choice.

use super::*;

#[derive(Deserialize)]
pub(super) struct ParticipantForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    required: String,
    /// Without an account: `guardian`, `child`, `org:<id>` or `outside` (then
    /// `outside_organisation` names it).
    #[serde(default)]
    covered_as: String,
    #[serde(default)]
    outside_organisation: String,
}

/// The form's one choice of what a participant without an account is covered as, in the fields
/// of [`ParticipantInput`]: `(relation, organisation_id, outside_organisation)`.
fn covered_as(form: &ParticipantForm) -> (Option<String>, Option<String>, Option<String>) {
    let outside = Some(form.outside_organisation.trim().to_string()).filter(|o| !o.is_empty());
    match form.covered_as.as_str() {
        "" | "outside" => (None, None, outside),
        relation @ ("guardian" | "child") => (Some(relation.to_string()), None, None),
        other => (
            None,
            Some(other.strip_prefix("org:").unwrap_or(other).to_string()),
            None,
        ),
    }
}

/// The API's fields that the form asks with its one choice `covered_as`: their errors are shown
/// beside it.
fn beside_choice(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            if e.field == "relation" || e.field == "organisation_id" {
                e.field = "covered_as".into();
            }
            e
        })
        .collect()
}

pub(super) async fn post_participant(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ParticipantForm>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let (relation, organisation_id, outside_organisation) = covered_as(&form);
    let input = ParticipantInput {
        user_id: Some(form.user_id).filter(|u| !u.is_empty()),
        name: form.name,
        email: form.email,
        required: Some(form.required != "no"),
        relation,
        organisation_id,
        outside_organisation,
    };
    let sent = input.clone();
    let typed = Typed {
        participant: input,
        ..Default::default()
    };
    change(
        &req,
        &state,
        current,
        id,
        Saved::ParticipantAdded,
        typed,
        move |conn, settings, actor, sip| match sip::add_participant(
            conn, settings, actor, sip, &sent,
        ) {
            Ok(_) => Ok(()),
            Err(AppError::Invalid(errors)) => Err(AppError::Invalid(beside_choice(errors))),
            Err(e) => Err(e),
        },
    )
    .await
}

pub(super) async fn post_remove(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, pid) = path.into_inner();
    change(
        &req,
        &state,
        current,
        SipId(id),
        Saved::ParticipantRemoved,
        Typed::default(),
        move |conn, settings, actor, sip| {
            sip::remove_participant(conn, settings, actor, sip, &ParticipantId(pid))
        },
    )
    .await
}
