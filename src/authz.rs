//! Who is asking, and whether they may. Every handler calls [`authorize`] with the resource it is
//! about to touch; the rules for each kind of resource live in one function each in [`policy`], and
//! every refusal is audited.

use crate::accounts::tokens::ApiToken;
use crate::accounts::{AuthUser, MunicipalityId, OrgKind, Role, UserId};
use crate::audit::event::{Event, Kind, Object};
use crate::audit::AuditActor;
use crate::db::AnyConnection;
use crate::error::AppError;

/// The one making a request: a signed-in user (by session or by their API token), or an
/// integration holding its own token.
#[derive(Clone, Debug)]
pub enum Actor {
    User(AuthUser),
    Integration(ApiToken),
}

impl Actor {
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Actor::User(user) => Some(user),
            Actor::Integration(_) => None,
        }
    }

    /// The municipality a user works in; an integration has none of its own here.
    pub fn municipality(&self) -> Option<&MunicipalityId> {
        self.user().map(|user| &user.organisation.municipality_id)
    }

    pub fn audit_actor(&self) -> AuditActor {
        match self {
            Actor::User(user) => AuditActor::from(user),
            Actor::Integration(token) => AuditActor {
                id: Some(format!("token:{}", token.id)),
                label: format!("integration {}", token.name),
                municipality: None,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    View,
    Create,
    Update,
}

/// What is being touched.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    /// The organisations, users and API tokens of a municipality.
    Accounts {
        municipality: &'a MunicipalityId,
    },
    /// The audit entries of a municipality.
    AuditTrail {
        municipality: &'a MunicipalityId,
    },
    /// The outgoing mail of a municipality.
    MailOutbox {
        municipality: &'a MunicipalityId,
    },
    /// Filing a report as a professional.
    ProfessionalReporting,
    /// A report of concern in full: social services of its municipality only.
    Report {
        municipality: &'a MunicipalityId,
    },
    /// The outcome of a report: only the professional who filed it.
    ReportOutcome {
        filed_by: Option<&'a UserId>,
    },
    IntakeQueue {
        municipality: &'a MunicipalityId,
    },
    Investigations {
        municipality: &'a MunicipalityId,
    },
    /// Starting and running SIPs of a municipality: its caseworkers.
    Sips {
        municipality: &'a MunicipalityId,
    },
    /// A SIP meeting, for someone invited to it while consent covers their organisation.
    SipMeeting {
        invited: bool,
    },
    /// The consultations of a municipality, as a list: its intake officers.
    ConsultationQueue {
        municipality: &'a MunicipalityId,
    },
    /// One consultation, read and answered by intake officers of its municipality.
    Consultation {
        municipality: &'a MunicipalityId,
    },
    /// One consultation, for the professional who asked it (read, and made into a report).
    OwnConsultation {
        asked_by: Option<&'a UserId>,
    },
    /// The journal of a child's case: read by intake officers and caseworkers of its
    /// municipality; written by intake officers during the förhandsbedömning and by caseworkers
    /// once the child's investigation is opened (`investigating`).
    Journal {
        municipality: &'a MunicipalityId,
        investigating: bool,
    },
    /// One information request, for a user it is addressed to (read, answer, decline).
    AddressedRequest {
        addressed: bool,
    },
    /// Who an investigation of a municipality is assigned to: its intake officers and
    /// caseworkers assign a caseworker (a caseworker may take one).
    Assignment {
        municipality: &'a MunicipalityId,
    },
    /// A caseworker's own investigations (*Mina utredningar*): caseworkers of the municipality.
    Caseload {
        municipality: &'a MunicipalityId,
    },
    /// A report's hand-over to the municipality's case system and its export: intake officers
    /// (and, to read, caseworkers) of its municipality, and integration tokens of an organisation
    /// of social services there (`integration` is the token's organisation, looked up).
    CaseSystem {
        municipality: &'a MunicipalityId,
        integration: Option<&'a crate::accounts::Organisation>,
    },
    /// The statistics of a municipality (counts and shares, no child's data): its managers
    /// (enhetschefer) and admins.
    Statistics {
        municipality: &'a MunicipalityId,
    },
}

impl Resource<'_> {
    /// The municipality whose data it is, where the resource says (not for an object that was
    /// not found, which has none).
    fn municipality(&self) -> Option<&MunicipalityId> {
        let municipality = match *self {
            Resource::Accounts { municipality }
            | Resource::AuditTrail { municipality }
            | Resource::MailOutbox { municipality }
            | Resource::Report { municipality }
            | Resource::IntakeQueue { municipality }
            | Resource::Investigations { municipality }
            | Resource::Sips { municipality }
            | Resource::ConsultationQueue { municipality }
            | Resource::Consultation { municipality }
            | Resource::Assignment { municipality }
            | Resource::Caseload { municipality }
            | Resource::Journal { municipality, .. }
            | Resource::CaseSystem { municipality, .. }
            | Resource::Statistics { municipality } => Some(municipality),
            Resource::ProfessionalReporting
            | Resource::ReportOutcome { .. }
            | Resource::SipMeeting { .. }
            | Resource::OwnConsultation { .. }
            | Resource::AddressedRequest { .. } => None,
        };
        municipality.filter(|m| !m.as_str().is_empty())
    }

    /// The kind of object a refusal of it names in the audit trail.
    fn kind(&self) -> Kind {
        match self {
            Resource::Accounts { .. } => Kind::Accounts,
            Resource::AuditTrail { .. } => Kind::AuditTrail,
            Resource::MailOutbox { .. } => Kind::MailOutbox,
            Resource::ProfessionalReporting => Kind::Report,
            Resource::Report { .. }
            | Resource::ReportOutcome { .. }
            | Resource::CaseSystem { .. } => Kind::Report,
            Resource::IntakeQueue { .. } => Kind::IntakeQueue,
            Resource::Investigations { .. }
            | Resource::Assignment { .. }
            | Resource::Caseload { .. } => Kind::Investigation,
            Resource::Sips { .. } => Kind::Sip,
            Resource::SipMeeting { .. } => Kind::Meeting,
            Resource::ConsultationQueue { .. }
            | Resource::Consultation { .. }
            | Resource::OwnConsultation { .. } => Kind::Consultation,
            Resource::Journal { .. } => Kind::JournalEntry,
            Resource::AddressedRequest { .. } => Kind::InformationRequest,
            Resource::Statistics { .. } => Kind::Municipality,
        }
    }
}

/// A user as the audit trail names them; their entries without an object of a municipality
/// belong to theirs.
impl From<&AuthUser> for AuditActor {
    fn from(user: &AuthUser) -> Self {
        AuditActor {
            id: Some(user.id.to_string()),
            label: format!("{} <{}>", user.name, user.email),
            municipality: Some(user.organisation.municipality_id.clone()),
        }
    }
}

/// How a refusal is answered: 403, or 404 where even the existence of the object is secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    Forbidden,
    Hidden,
}

/// The rules, one function per kind of resource. Pure: no I/O.
pub mod policy {
    use super::*;

    pub fn decide(actor: &Actor, action: Action, resource: &Resource) -> Result<(), Denial> {
        match *resource {
            Resource::Accounts { municipality }
            | Resource::AuditTrail { municipality }
            | Resource::MailOutbox { municipality } => administration(actor, municipality),
            Resource::ProfessionalReporting => has_role(actor, Role::Reporter),
            Resource::Report { municipality } => report(actor, action, municipality),
            Resource::ReportOutcome { filed_by } => match (actor.user(), filed_by) {
                (Some(user), Some(filer)) if user.id == *filer => Ok(()),
                _ => Err(Denial::Hidden),
            },
            Resource::IntakeQueue { municipality } => {
                social_services(actor, municipality, &[Role::Intake]).map_err(|_| Denial::Forbidden)
            }
            Resource::Investigations { municipality } => match action {
                Action::View => {
                    social_services(actor, municipality, &[Role::Intake, Role::Caseworker])
                }
                _ => social_services(actor, municipality, &[Role::Caseworker]),
            }
            .map_err(|_| Denial::Forbidden),
            Resource::Sips { municipality } => {
                social_services(actor, municipality, &[Role::Caseworker])
            }
            Resource::SipMeeting { invited: true } if actor.user().is_some() => Ok(()),
            Resource::SipMeeting { .. } => Err(Denial::Hidden),
            Resource::ConsultationQueue { municipality } => {
                social_services(actor, municipality, &[Role::Intake]).map_err(|_| Denial::Forbidden)
            }
            Resource::Consultation { municipality } => {
                social_services(actor, municipality, &[Role::Intake])
            }
            Resource::OwnConsultation { asked_by } => match (actor.user(), asked_by) {
                (Some(user), Some(asker)) if user.id == *asker => Ok(()),
                _ => Err(Denial::Hidden),
            },
            Resource::Journal {
                municipality,
                investigating,
            } => {
                social_services(actor, municipality, &[Role::Intake, Role::Caseworker])?;
                let writer = if investigating {
                    Role::Caseworker
                } else {
                    Role::Intake
                };
                match action {
                    Action::View => Ok(()),
                    Action::Create | Action::Update => {
                        social_services(actor, municipality, &[writer])
                            .map_err(|_| Denial::Forbidden)
                    }
                }
            }
            Resource::AddressedRequest { addressed: true } if actor.user().is_some() => Ok(()),
            Resource::AddressedRequest { .. } => Err(Denial::Hidden),
            Resource::Assignment { municipality } => {
                social_services(actor, municipality, &[Role::Intake, Role::Caseworker])
            }
            Resource::Caseload { municipality } => {
                social_services(actor, municipality, &[Role::Caseworker])
                    .map_err(|_| Denial::Forbidden)
            }
            Resource::CaseSystem {
                municipality,
                integration,
            } => match (actor, integration) {
                (Actor::User(_), _) => report(actor, action, municipality),
                (Actor::Integration(_), Some(org))
                    if org.kind == OrgKind::Socialtjanst
                        && org.municipality_id == *municipality =>
                {
                    Ok(())
                }
                (Actor::Integration(_), _) => Err(Denial::Hidden),
            },
            Resource::Statistics { municipality } => statistics(actor, municipality),
        }
    }

    /// Managers and admins read their own municipality's statistics; anyone else is refused.
    fn statistics(actor: &Actor, municipality: &MunicipalityId) -> Result<(), Denial> {
        match actor.user() {
            Some(user)
                if user.organisation.municipality_id == *municipality
                    && (user.has_role(Role::Manager) || user.has_role(Role::Admin)) =>
            {
                Ok(())
            }
            _ => Err(Denial::Forbidden),
        }
    }

    fn has_role(actor: &Actor, role: Role) -> Result<(), Denial> {
        match actor.user() {
            Some(user) if user.has_role(role) => Ok(()),
            _ => Err(Denial::Forbidden),
        }
    }

    /// Someone in social services of `municipality` with one of `roles`.
    fn social_services(
        actor: &Actor,
        municipality: &MunicipalityId,
        roles: &[Role],
    ) -> Result<(), Denial> {
        match actor.user() {
            Some(user)
                if user.organisation.kind == OrgKind::Socialtjanst
                    && user.organisation.municipality_id == *municipality
                    && roles.iter().any(|r| user.has_role(*r)) =>
            {
                Ok(())
            }
            _ => Err(Denial::Hidden),
        }
    }

    /// Intake officers read and record; caseworkers read. Anyone else is told it does not exist.
    fn report(actor: &Actor, action: Action, municipality: &MunicipalityId) -> Result<(), Denial> {
        match action {
            Action::View => social_services(actor, municipality, &[Role::Intake, Role::Caseworker]),
            Action::Create | Action::Update => {
                social_services(actor, municipality, &[Role::Intake])
            }
        }
    }

    /// Only admins manage accounts and read the audit trail and the outbox, each those of their
    /// own municipality; another municipality's are hidden from them.
    fn administration(actor: &Actor, municipality: &MunicipalityId) -> Result<(), Denial> {
        match actor.user() {
            Some(user) if user.has_role(Role::Admin) => {
                if user.organisation.municipality_id == *municipality {
                    Ok(())
                } else {
                    Err(Denial::Hidden)
                }
            }
            _ => Err(Denial::Forbidden),
        }
    }
}

/// Checks the policy; a refusal is written to the audit trail and answered as 403 or 404.
pub fn authorize(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: Action,
    resource: Resource<'_>,
    object_id: Option<&str>,
) -> Result<(), AppError> {
    match policy::decide(actor, action, &resource) {
        Ok(()) => Ok(()),
        Err(denial) => {
            // A refusal belongs to the municipality whose data was asked for, so its admins see
            // who tried, wherever they work.
            let mut who = actor.audit_actor();
            if let Some(municipality) = resource.municipality() {
                who = who.within(municipality);
            }
            let kind = resource.kind();
            let action = format!("{}.{}", kind.as_str(), action_name(action));
            Event::denied(&who, &action, Object::Asked(kind, object_id)).record(conn)?;
            Err(match denial {
                Denial::Forbidden => AppError::Forbidden,
                Denial::Hidden => AppError::NotFound,
            })
        }
    }
}

/// A thing asked for by id that does not exist: the attempt is audited as a refusal (`what` in
/// its detail) and answered 404, the same answer as for one the asker may not see.
pub fn not_found<T>(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    object: Object<'_>,
    what: &str,
) -> Result<T, AppError> {
    Event::denied(&actor.audit_actor(), action, object)
        .detail(what)
        .record(conn)?;
    Err(AppError::NotFound)
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::View => "view",
        Action::Create => "create",
        Action::Update => "update",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::*;

    pub(crate) fn user_with(roles: &[Role]) -> Actor {
        user_in(OrgKind::Socialtjanst, "m", roles)
    }

    fn user_in(kind: OrgKind, municipality: &str, roles: &[Role]) -> Actor {
        let at = chrono::NaiveDateTime::default();
        Actor::User(AuthUser {
            id: UserId("u".into()),
            email: "a@b.se".into(),
            name: "A".into(),
            title: "T".into(),
            phone: String::new(),
            organisation: Organisation {
                id: OrganisationId("o".into()),
                name: "O".into(),
                kind,
                principal: Principal::Kommun,
                municipality_id: MunicipalityId(municipality.into()),
                created_at: at,
            },
            municipality_name: "M".into(),
            roles: roles.to_vec(),
        })
    }

    #[test]
    fn reports_belong_to_social_services_of_their_municipality() {
        let here = MunicipalityId("m".into());
        let report = Resource::Report {
            municipality: &here,
        };
        let intake = user_in(OrgKind::Socialtjanst, "m", &[Role::Intake]);
        let caseworker = user_in(OrgKind::Socialtjanst, "m", &[Role::Caseworker]);
        assert_eq!(policy::decide(&intake, Action::View, &report), Ok(()));
        assert_eq!(policy::decide(&intake, Action::Update, &report), Ok(()));
        assert_eq!(policy::decide(&caseworker, Action::View, &report), Ok(()));
        assert_eq!(
            policy::decide(&caseworker, Action::Update, &report),
            Err(Denial::Hidden)
        );
        for outsider in [
            user_in(OrgKind::Socialtjanst, "other", &[Role::Intake]),
            user_in(OrgKind::Skola, "m", &[Role::Intake]),
            user_in(OrgKind::Socialtjanst, "m", &[Role::Reporter, Role::Admin]),
        ] {
            assert_eq!(
                policy::decide(&outsider, Action::View, &report),
                Err(Denial::Hidden)
            );
        }
    }

    #[test]
    fn the_case_system_is_social_services_of_the_municipality_and_their_integrations() {
        let here = MunicipalityId("m".into());
        let at = chrono::NaiveDateTime::default();
        let org = |kind, municipality: &str| Organisation {
            id: OrganisationId("o".into()),
            name: "O".into(),
            kind,
            principal: Principal::Kommun,
            municipality_id: MunicipalityId(municipality.into()),
            created_at: at,
        };
        let integration = Actor::Integration(crate::accounts::tokens::ApiToken {
            id: crate::accounts::tokens::TokenId("t".into()),
            name: "ärendesystem".into(),
            token_hash: String::new(),
            kind: crate::accounts::tokens::TokenKind::Integration,
            user_id: None,
            organisation_id: OrganisationId("o".into()),
            created_by: String::new(),
            created_at: at,
            last_used_at: None,
            revoked_at: None,
        });
        let social = org(OrgKind::Socialtjanst, "m");
        fn case_system<'a>(
            municipality: &'a MunicipalityId,
            integration: Option<&'a Organisation>,
        ) -> Resource<'a> {
            Resource::CaseSystem {
                municipality,
                integration,
            }
        }
        for action in [Action::View, Action::Update] {
            assert_eq!(
                policy::decide(&integration, action, &case_system(&here, Some(&social))),
                Ok(())
            );
            for other in [
                org(OrgKind::Skola, "m"),
                org(OrgKind::Socialtjanst, "other"),
            ] {
                assert_eq!(
                    policy::decide(&integration, action, &case_system(&here, Some(&other))),
                    Err(Denial::Hidden)
                );
            }
            assert_eq!(
                policy::decide(&integration, action, &case_system(&here, None)),
                Err(Denial::Hidden)
            );
        }
        let intake = user_in(OrgKind::Socialtjanst, "m", &[Role::Intake]);
        let caseworker = user_in(OrgKind::Socialtjanst, "m", &[Role::Caseworker]);
        assert_eq!(
            policy::decide(&intake, Action::Update, &case_system(&here, None)),
            Ok(())
        );
        assert_eq!(
            policy::decide(&caseworker, Action::View, &case_system(&here, None)),
            Ok(())
        );
        assert_eq!(
            policy::decide(&caseworker, Action::Update, &case_system(&here, None)),
            Err(Denial::Hidden)
        );
    }

    #[test]
    fn only_the_filer_sees_the_outcome() {
        let filer = user_in(OrgKind::Skola, "m", &[Role::Reporter]);
        let id = filer.user().unwrap().id.clone();
        let other = UserId("someone else".into());
        assert_eq!(
            policy::decide(
                &filer,
                Action::View,
                &Resource::ReportOutcome {
                    filed_by: Some(&id)
                }
            ),
            Ok(())
        );
        assert_eq!(
            policy::decide(
                &filer,
                Action::View,
                &Resource::ReportOutcome {
                    filed_by: Some(&other)
                }
            ),
            Err(Denial::Hidden)
        );
        assert_eq!(
            policy::decide(
                &filer,
                Action::View,
                &Resource::ReportOutcome { filed_by: None }
            ),
            Err(Denial::Hidden)
        );
    }

    #[test]
    fn statistics_are_for_managers_and_admins_of_their_own_municipality() {
        let here = MunicipalityId("m".into());
        let statistics = Resource::Statistics {
            municipality: &here,
        };
        for role in [Role::Manager, Role::Admin] {
            assert_eq!(
                policy::decide(&user_with(&[role]), Action::View, &statistics),
                Ok(())
            );
            let elsewhere = user_in(OrgKind::Socialtjanst, "other", &[role]);
            assert_eq!(
                policy::decide(&elsewhere, Action::View, &statistics),
                Err(Denial::Forbidden)
            );
        }
        for role in [Role::Reporter, Role::Intake, Role::Caseworker] {
            assert_eq!(
                policy::decide(&user_with(&[role]), Action::View, &statistics),
                Err(Denial::Forbidden)
            );
        }
    }

    #[test]
    fn the_journal_is_written_by_the_phase_s_role_and_hidden_from_outsiders() {
        let here = MunicipalityId("m".into());
        let journal = |investigating| Resource::Journal {
            municipality: &here,
            investigating,
        };
        let intake = user_in(OrgKind::Socialtjanst, "m", &[Role::Intake]);
        let caseworker = user_in(OrgKind::Socialtjanst, "m", &[Role::Caseworker]);
        for investigating in [false, true] {
            for reader in [&intake, &caseworker] {
                assert_eq!(
                    policy::decide(reader, Action::View, &journal(investigating)),
                    Ok(())
                );
            }
        }
        assert_eq!(
            policy::decide(&intake, Action::Create, &journal(false)),
            Ok(())
        );
        assert_eq!(
            policy::decide(&caseworker, Action::Create, &journal(false)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            policy::decide(&caseworker, Action::Create, &journal(true)),
            Ok(())
        );
        assert_eq!(
            policy::decide(&intake, Action::Create, &journal(true)),
            Err(Denial::Forbidden)
        );
        for outsider in [
            user_in(
                OrgKind::Socialtjanst,
                "other",
                &[Role::Intake, Role::Caseworker],
            ),
            user_in(OrgKind::Skola, "m", &[Role::Intake, Role::Reporter]),
            user_in(OrgKind::Socialtjanst, "m", &[Role::Admin]),
        ] {
            for action in [Action::View, Action::Create] {
                assert_eq!(
                    policy::decide(&outsider, action, &journal(true)),
                    Err(Denial::Hidden)
                );
            }
        }
    }

    #[test]
    fn consultations_are_for_intake_of_their_municipality_and_the_asker() {
        let here = MunicipalityId("m".into());
        let one = Resource::Consultation {
            municipality: &here,
        };
        let intake = user_in(OrgKind::Socialtjanst, "m", &[Role::Intake]);
        assert_eq!(policy::decide(&intake, Action::View, &one), Ok(()));
        assert_eq!(policy::decide(&intake, Action::Update, &one), Ok(()));
        for outsider in [
            user_in(OrgKind::Socialtjanst, "other", &[Role::Intake]),
            user_in(OrgKind::Socialtjanst, "m", &[Role::Caseworker, Role::Admin]),
            user_in(OrgKind::Skola, "m", &[Role::Intake, Role::Reporter]),
        ] {
            assert_eq!(
                policy::decide(&outsider, Action::View, &one),
                Err(Denial::Hidden)
            );
        }
        let teacher = user_in(OrgKind::Skola, "m", &[Role::Reporter]);
        let id = teacher.user().unwrap().id.clone();
        let other = UserId("someone else".into());
        let own = |asked_by| Resource::OwnConsultation { asked_by };
        assert_eq!(
            policy::decide(&teacher, Action::View, &own(Some(&id))),
            Ok(())
        );
        assert_eq!(
            policy::decide(&teacher, Action::View, &own(Some(&other))),
            Err(Denial::Hidden)
        );
        assert_eq!(
            policy::decide(&teacher, Action::View, &own(None)),
            Err(Denial::Hidden)
        );
        assert_eq!(
            policy::decide(
                &teacher,
                Action::View,
                &Resource::ConsultationQueue {
                    municipality: &here
                }
            ),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn only_admins_administer_and_only_their_own_municipality() {
        let here = MunicipalityId("m".into());
        for resource in [
            Resource::Accounts {
                municipality: &here,
            },
            Resource::AuditTrail {
                municipality: &here,
            },
            Resource::MailOutbox {
                municipality: &here,
            },
        ] {
            assert_eq!(
                policy::decide(&user_with(&[Role::Admin]), Action::View, &resource),
                Ok(())
            );
            assert_eq!(
                policy::decide(
                    &user_in(OrgKind::Skola, "m", &[Role::Admin]),
                    Action::Create,
                    &resource
                ),
                Ok(()),
                "an admin anywhere in the municipality"
            );
            assert_eq!(
                policy::decide(
                    &user_in(OrgKind::Socialtjanst, "other", &[Role::Admin]),
                    Action::View,
                    &resource
                ),
                Err(Denial::Hidden),
                "another municipality's admin on {resource:?}"
            );
            for role in [Role::Reporter, Role::Intake, Role::Caseworker] {
                assert_eq!(
                    policy::decide(&user_with(&[role]), Action::Create, &resource),
                    Err(Denial::Forbidden),
                    "{role:?} on {resource:?}"
                );
            }
        }
    }
}
