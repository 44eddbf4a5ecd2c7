//! `samordna demo`: a demo municipality with one account per role, so that a newcomer can log in
//! and look around at once.

use crate::accounts::{self, NewOrganisation, NewUser, Role};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::db::{write_tx, AnyConnection};
use crate::error::AppError;

pub const MUNICIPALITY: &str = "Exempelkommun";

struct DemoOrg {
    name: &'static str,
    kind: &'static str,
    principal: &'static str,
}

const ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "Socialtjänsten Exempelkommun",
        kind: "socialtjanst",
        principal: "kommun",
    },
    DemoOrg {
        name: "Björkskolan",
        kind: "skola",
        principal: "kommun",
    },
    DemoOrg {
        name: "BVC Centrum",
        kind: "bvc",
        principal: "region",
    },
    DemoOrg {
        name: "BUP Exempelregionen",
        kind: "bup",
        principal: "region",
    },
];

struct DemoUser {
    email: &'static str,
    name: &'static str,
    title: &'static str,
    org: &'static str,
    role: Role,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        email: "larare@demo.samordna.se",
        name: "Lina Lärare",
        title: "Lärare",
        org: "Björkskolan",
        role: Role::Reporter,
    },
    DemoUser {
        email: "bvc@demo.samordna.se",
        name: "Berit Bergström",
        title: "BVC-sjuksköterska",
        org: "BVC Centrum",
        role: Role::Reporter,
    },
    DemoUser {
        email: "bup@demo.samordna.se",
        name: "Bo Björk",
        title: "Psykolog",
        org: "BUP Exempelregionen",
        role: Role::Reporter,
    },
    DemoUser {
        email: "mottagning@demo.samordna.se",
        name: "Mona Mottagare",
        title: "Mottagningssekreterare",
        org: "Socialtjänsten Exempelkommun",
        role: Role::Intake,
    },
    DemoUser {
        email: "handlaggare@demo.samordna.se",
        name: "Hugo Handläggare",
        title: "Socialsekreterare",
        org: "Socialtjänsten Exempelkommun",
        role: Role::Caseworker,
    },
    DemoUser {
        email: "chef@demo.samordna.se",
        name: "Elin Enhetschef",
        title: "Enhetschef",
        org: "Socialtjänsten Exempelkommun",
        role: Role::Manager,
    },
    DemoUser {
        email: "admin@demo.samordna.se",
        name: "Ada Administratör",
        title: "Systemförvaltare",
        org: "Socialtjänsten Exempelkommun",
        role: Role::Admin,
    },
];

/// One demo login, as printed.
pub struct Login {
    pub role: Role,
    pub email: &'static str,
    pub password: String,
}

/// Creates what is missing and gives every demo account a new password.
pub fn create(conn: &mut AnyConnection, settings: &Settings) -> Result<Vec<Login>, AppError> {
    let logins = write_tx(conn, |conn| {
        let municipality = match accounts::find_municipality_by_name(conn, MUNICIPALITY)? {
            Some(m) => m,
            None => {
                let m = accounts::create_municipality(conn, MUNICIPALITY, "010-123 45 67")?;
                // Socialjour and the alert addresses of acute reports, as an operator sets
                // them with `samordna municipality set`.
                crate::reports::store::set_intake_contacts(
                    conn,
                    &m.id,
                    &crate::reports::model::IntakeContactsChange {
                        office_hours: None,
                        socialjour_phone: Some("010-123 45 99".into()),
                        socialjour_alert_email: Some("socialjour@demo.samordna.se".into()),
                        intake_alert_email: Some("mottagningen@demo.samordna.se".into()),
                    },
                )?;
                m
            }
        };
        let existing = accounts::list_organisations(conn, Some(&municipality.id))?;
        for org in ORGS {
            let present = existing
                .iter()
                .any(|(o, _)| o.name == org.name && o.municipality_id == municipality.id);
            if !present {
                accounts::create_organisation(
                    conn,
                    &NewOrganisation {
                        name: org.name.into(),
                        kind: org.kind.into(),
                        principal: org.principal.into(),
                        municipality_id: municipality.id.0.clone(),
                    },
                )?;
            }
        }
        let orgs = accounts::list_organisations(conn, Some(&municipality.id))?;
        let mut logins = Vec::new();
        for demo in USERS {
            let password = accounts::password::generate();
            match accounts::find_user_by_email(conn, demo.email)? {
                Some(user) => accounts::set_password(conn, &user.id, &password)?,
                None => {
                    let org = orgs
                        .iter()
                        .find(|(o, _)| o.name == demo.org && o.municipality_id == municipality.id)
                        .ok_or(AppError::NotFound)?;
                    accounts::create_user(
                        conn,
                        &NewUser {
                            email: demo.email.into(),
                            name: demo.name.into(),
                            title: demo.title.into(),
                            phone: "010-123 45 00".into(),
                            organisation_id: org.0.id.0.clone(),
                            roles: vec![demo.role],
                            password: password.clone(),
                        },
                    )?;
                }
            }
            logins.push(Login {
                role: demo.role,
                email: demo.email,
                password,
            });
        }
        Event::success(
            &AuditActor::cli(),
            "demo.create",
            Object::Municipality(municipality.id.as_str()),
        )
        .record(conn)?;
        Ok::<_, AppError>(logins)
    })?;

    println!("Demo: {MUNICIPALITY} med socialtjänst, skola, BVC och BUP är klar.");
    println!(
        "Logga in på {}login med något av kontona:\n",
        settings.base_url
    );
    println!("  {:<24} {:<30} Lösenord", "Roll", "E-post");
    for login in &logins {
        println!(
            "  {:<24} {:<30} {}",
            login.role.label(),
            login.email,
            login.password
        );
    }
    println!("\nLösenorden byts varje gång du kör `samordna demo`.");
    Ok(logins)
}
