//! SIPs in the database, one file per thing stored: the SIPs themselves ([`sips`]), consents,
//! participants, meetings, the answers to invitations, and plans; and [`views`], what the pages
//! read. SQL and audit only: access is checked, input validated ([`crate::sip::model`]) and mail
//! queued by the callers in [`crate::sip`]. Every change is audited in the transaction that makes
//! it.

pub mod answers;
pub mod children;
pub mod consents;
pub mod meetings;
pub mod participants;
pub mod plans;
pub mod sips;
pub mod views;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::ids::{MunicipalityId, OrganisationId, UserId};
use crate::sip::model::{self, Answer, ConsentTerms, Relation};
use crate::string_id;

pub use plans::Plan;

string_id!(SipId);
string_id!(ConsentId);
string_id!(ParticipantId);
string_id!(MeetingId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::sips)]
pub struct Sip {
    pub id: SipId,
    pub reference: String,
    pub municipality_id: MunicipalityId,
    pub child_name: String,
    pub child_personal_number: Option<String>,
    pub report_id: Option<String>,
    pub calling_organisation_id: OrganisationId,
    pub responsible_user_id: UserId,
    pub created_at: NaiveDateTime,
}
crate::sealed_row!(Sip, sips by id: [child_name, child_personal_number]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::db::schema::consents)]
pub struct Consent {
    pub id: ConsentId,
    #[serde(skip)]
    pub sip_id: SipId,
    pub given_by: String,
    pub relation: Relation,
    pub given_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    #[serde(skip)]
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub withdrawn_by: Option<UserId>,
}
crate::sealed_row!(Consent, consents by id: [given_by]);
// A participant without an account may be a guardian: their name and address are sealed (for
// staff too, so that every row is alike).
crate::sealed_row!(Participant, participants by id: [name, email]);
// A place may still say more than it should, and a video link lets anyone holding it join.
crate::sealed_row!(Meeting, meetings by id: [place, video_url]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::db::schema::participants)]
pub struct Participant {
    pub id: ParticipantId,
    #[serde(skip)]
    pub sip_id: SipId,
    pub user_id: Option<UserId>,
    pub organisation_id: Option<OrganisationId>,
    pub name: String,
    pub email: String,
    pub required: bool,
    pub added_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
    /// Without an account: a member of the family (guardian, the child).
    pub relation: Option<Relation>,
    /// Without an account: the outside organisation a consent names them by.
    pub outside_organisation: Option<String>,
}

impl Participant {
    /// Who they are as far as consent goes ([`model::Covering`]).
    pub fn covering(&self) -> model::Covering<'_> {
        if let Some(org) = &self.organisation_id {
            model::Covering::Organisation(org.as_str())
        } else if let Some(relation) = self.relation {
            model::Covering::Family(relation)
        } else if let Some(name) = &self.outside_organisation {
            model::Covering::Outside(name)
        } else {
            model::Covering::Unknown
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::meetings)]
pub struct Meeting {
    pub id: MeetingId,
    pub sip_id: SipId,
    pub uid: String,
    pub sequence: i32,
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub place: String,
    pub video_url: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
    pub reminder_sent_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::invitees)]
pub struct Invitee {
    pub meeting_id: MeetingId,
    pub participant_id: ParticipantId,
    pub status: Answer,
    pub status_changed_at: Option<NaiveDateTime>,
    pub answered_sequence: i32,
    pub rsvp_token_hash: String,
    pub removed_at: Option<NaiveDateTime>,
}

/// The responsible caseworker chairs every meeting: already accepted, never asked to answer.
pub fn is_chair(sip: &Sip, participant: &Participant) -> bool {
    participant.user_id.as_ref() == Some(&sip.responsible_user_id)
}

/// Whether a participant may take part today ([`model::participant_covered`]).
pub(crate) fn covered(
    sip: &Sip,
    participant: &Participant,
    terms: &[ConsentTerms],
    today: NaiveDate,
) -> bool {
    model::participant_covered(
        sip.calling_organisation_id.as_str(),
        participant.covering(),
        terms,
        today,
    )
}
