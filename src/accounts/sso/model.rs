//! The pure rules of single sign-on: which claim names a person, when the provider's answer shows
//! a second factor, which provider an email address belongs to, and what each failure tells the
//! person (in Swedish) and the audit trail (in English).

use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::identity_providers;
use crate::error::FieldError;
use crate::ids::MunicipalityId;

/// How far the service's clock and a provider's may differ when an ID token's times are checked:
/// small, so that an expired token is not taken, and enough for clocks kept by NTP.
pub const CLOCK_SKEW_SECONDS: i64 = 60;
/// How long a sign-in sent to a provider may take before its answer is refused.
pub const LOGIN_MINUTES: i64 = 10;

/// An identity provider as an operator added it.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_providers)]
pub struct IdentityProvider {
    pub id: String,
    pub name: String,
    pub municipality_id: MunicipalityId,
    pub organisation_id: Option<String>,
    pub issuer: String,
    pub client_id: String,
    /// The name of the environment variable that holds the client secret.
    pub client_secret_env: String,
    /// acr/amr values, separated by spaces, that mean a second factor was checked.
    pub mfa_acr: String,
    pub claim: String,
    pub create_users: String,
    pub email_domain: String,
    pub created_at: NaiveDateTime,
}

impl IdentityProvider {
    /// The login button's words.
    pub fn button(&self) -> String {
        format!("Logga in med {}", self.name)
    }

    pub fn claim(&self) -> Claim {
        self.claim.parse().unwrap_or(Claim::Email)
    }

    /// Whether the ID token's `acr` or one of its `amr` values is one that this provider's
    /// operator named as a second factor.
    pub fn second_factor_shown(&self, acr: Option<&str>, amr: &[String]) -> bool {
        let values: Vec<&str> = self.mfa_acr.split_whitespace().collect();
        acr.is_some_and(|a| values.contains(&a)) || amr.iter().any(|a| values.contains(&a.as_str()))
    }

    /// Whether unknown people become reporters.
    pub fn creates_reporters(&self) -> bool {
        self.create_users == "reporter"
    }

    /// Whether an email address typed on the login form belongs to this provider.
    pub fn serves_address(&self, email: &str) -> bool {
        !self.email_domain.is_empty()
            && email
                .trim()
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&self.email_domain))
    }
}

/// Which ID-token claim names the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// `email`, matched to the user's email address.
    Email,
    /// `hsa_id` (SITHS), matched to a link stored before, or to the email address's local part
    /// never: an HSA-id must have been linked (see the README).
    HsaId,
    /// `sub`, matched only through a stored link.
    Sub,
}

impl std::str::FromStr for Claim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "email" => Ok(Claim::Email),
            "hsa_id" => Ok(Claim::HsaId),
            "sub" => Ok(Claim::Sub),
            other => Err(format!(
                "--claim must be email, hsa_id or sub, not {other:?}"
            )),
        }
    }
}

/// What an operator gives `samordna idp add`, checked.
pub struct NewProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_env: String,
    pub mfa_acr: Vec<String>,
    pub claim: String,
    pub create_users: Option<String>,
    pub email_domain: Option<String>,
}

impl NewProvider {
    /// Errors per option, in English: the operator's command line speaks English.
    pub fn errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("--name", "is empty"));
        }
        match url::Url::parse(self.issuer.trim()) {
            Ok(u) if u.scheme() == "https" || u.host_str().is_some_and(is_loopback) => {}
            Ok(_) => errors.push(FieldError::new(
                "--issuer",
                "must be an https address (http only on loopback, for tests)",
            )),
            Err(e) => errors.push(FieldError::new(
                "--issuer",
                format!("is not an address: {e}"),
            )),
        }
        if self.client_id.trim().is_empty() {
            errors.push(FieldError::new("--client-id", "is empty"));
        }
        let env = self.client_secret_env.trim();
        if env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            errors.push(FieldError::new(
                "--client-secret-env",
                "must be the name of an environment variable (letters, digits, _)",
            ));
        }
        if let Err(e) = self.claim.parse::<Claim>() {
            errors.push(FieldError::new("--claim", &e));
        }
        if let Some(c) = &self.create_users {
            if c != "reporter" {
                errors.push(FieldError::new(
                    "--create-users",
                    "can only be reporter (no other role is ever given automatically)",
                ));
            }
        }
        if let Some(d) = &self.email_domain {
            if d.contains('@') || !d.contains('.') {
                errors.push(FieldError::new(
                    "--email-domain",
                    "must be a domain like ekby.se",
                ));
            }
        }
        errors
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a sign-in through a provider did not end in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The provider did not answer (discovery, keys or token endpoint unreachable).
    ProviderDown,
    /// The provider's discovery document or keys could not be read as such.
    DiscoveryInvalid,
    /// The client secret's environment variable is not set on this server.
    SecretMissing,
    /// The person cancelled at the provider (`error=access_denied`).
    Cancelled,
    /// The provider answered with another error.
    ProviderRefused,
    /// The answer names no sign-in that is waiting (unknown, expired or already used state).
    UnknownState,
    /// The answer came to another browser than the one that started the sign-in.
    OtherBrowser,
    /// The provider refused the code (used before, or expired).
    CodeRefused,
    WrongIssuer,
    WrongAudience,
    Expired,
    NotYetValid,
    BadSignature,
    NonceMismatch,
    /// Any other fault of the token (missing, unreadable, unsupported algorithm).
    TokenInvalid,
    /// The claim names nobody who has an account.
    NoAccount,
}

impl Failure {
    /// What the audit entry says, in English.
    pub fn detail(self) -> &'static str {
        match self {
            Failure::ProviderDown => "provider unreachable",
            Failure::DiscoveryInvalid => "discovery document or keys invalid",
            Failure::SecretMissing => "client secret variable not set",
            Failure::Cancelled => "cancelled at the provider (access_denied)",
            Failure::ProviderRefused => "provider answered with an error",
            Failure::UnknownState => "unknown, expired or replayed state",
            Failure::OtherBrowser => "state does not belong to this browser",
            Failure::CodeRefused => "code refused by the provider (replayed or expired)",
            Failure::WrongIssuer => "ID token from another issuer",
            Failure::WrongAudience => "ID token for another audience",
            Failure::Expired => "ID token expired",
            Failure::NotYetValid => "ID token not yet valid",
            Failure::BadSignature => "ID token signature invalid",
            Failure::NonceMismatch => "nonce mismatch",
            Failure::TokenInvalid => "ID token invalid",
            Failure::NoAccount => "no account for this person",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Failure::ProviderDown | Failure::DiscoveryInvalid => StatusCode::BAD_GATEWAY,
            Failure::SecretMissing => StatusCode::SERVICE_UNAVAILABLE,
            Failure::NoAccount | Failure::Cancelled => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The page's heading and what to do, in Swedish.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Failure::ProviderDown => (
                "Inloggningstjänsten svarar inte",
                "Er organisations inloggningstjänst gick inte att nå just nu. Försök igen om en \
                 stund. Fungerar det inte, kontakta er IT-avdelning.",
            ),
            Failure::DiscoveryInvalid => (
                "Inloggningstjänsten är felinställd",
                "Svaret från er organisations inloggningstjänst gick inte att läsa. Kontakta er \
                 IT-avdelning eller den som administrerar Samordna.",
            ),
            Failure::SecretMissing => (
                "Inloggningen är inte färdiginställd",
                "Samordna saknar en inställning för den här inloggningstjänsten. Kontakta den som \
                 administrerar Samordna.",
            ),
            Failure::Cancelled => (
                "Inloggningen avbröts",
                "Du avbröt inloggningen hos inloggningstjänsten. Vill du logga in, gå tillbaka \
                 till inloggningen och försök igen.",
            ),
            Failure::ProviderRefused => (
                "Inloggningstjänsten nekade inloggningen",
                "Er organisations inloggningstjänst godtog inte inloggningen. Försök igen, och \
                 kontakta er IT-avdelning om det inte fungerar.",
            ),
            Failure::UnknownState => (
                "Inloggningen har redan använts eller tagit för lång tid",
                "Svaret från inloggningstjänsten hör inte till någon pågående inloggning: den kan \
                 redan ha använts, eller tagit mer än tio minuter. Gå tillbaka till inloggningen \
                 och försök igen.",
            ),
            Failure::OtherBrowser => (
                "Inloggningen startades i en annan webbläsare",
                "Svaret från inloggningstjänsten hör till en inloggning som inte startades här. \
                 Gå tillbaka till inloggningen och försök igen i samma webbläsare.",
            ),
            Failure::CodeRefused => (
                "Inloggningen har redan använts",
                "Inloggningstjänsten godtog inte svaret en gång till. Gå tillbaka till \
                 inloggningen och försök igen.",
            ),
            Failure::WrongIssuer
            | Failure::WrongAudience
            | Failure::Expired
            | Failure::NotYetValid
            | Failure::BadSignature
            | Failure::NonceMismatch
            | Failure::TokenInvalid => (
                "Inloggningen kunde inte kontrolleras",
                "Beviset från inloggningstjänsten var inte giltigt, så vi släppte inte in dig. \
                 Det kan bero på att datorns eller tjänstens klocka går fel. Försök igen, och \
                 kontakta er IT-avdelning om det inte fungerar.",
            ),
            Failure::NoAccount => (
                "Du har inget konto i Samordna",
                "Du är inloggad hos din organisation, men har inget konto i Samordna. Kontakta \
                 din administratör.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(mfa: &str, domain: &str) -> IdentityProvider {
        IdentityProvider {
            id: "p".into(),
            name: "Ekby kommuns inloggning".into(),
            municipality_id: MunicipalityId("m".into()),
            organisation_id: None,
            issuer: "https://idp.ekby.se".into(),
            client_id: "samordna".into(),
            client_secret_env: "EKBY_OIDC_SECRET".into(),
            mfa_acr: mfa.into(),
            claim: "email".into(),
            create_users: String::new(),
            email_domain: domain.into(),
            created_at: crate::db::now(),
        }
    }

    #[test]
    fn second_factor_only_with_a_named_acr_or_amr() {
        let loa3 = "http://id.elegnamnden.se/loa/1.0/loa3";
        let p = provider(&format!("{loa3} mfa"), "");
        assert!(p.second_factor_shown(Some(loa3), &[]));
        assert!(p.second_factor_shown(None, &["pwd".into(), "mfa".into()]));
        assert!(!p.second_factor_shown(Some("http://id.elegnamnden.se/loa/1.0/loa2"), &[]));
        assert!(!p.second_factor_shown(None, &["pwd".into()]));
        assert!(!provider("", "").second_factor_shown(Some(loa3), &[]));
    }

    #[test]
    fn address_goes_to_the_provider_of_its_domain() {
        let p = provider("", "ekby.se");
        assert!(p.serves_address(" Anna.Svensson@EKBY.se "));
        assert!(!p.serves_address("anna@ekby.se.example.org"));
        assert!(!p.serves_address("anna@ovik.se"));
        assert!(!provider("", "").serves_address("anna@ekby.se"));
    }

    #[test]
    fn new_provider_checked() {
        let good = NewProvider {
            name: "Ekby".into(),
            issuer: "https://idp.ekby.se/realms/staff".into(),
            client_id: "samordna".into(),
            client_secret_env: "EKBY_OIDC_SECRET".into(),
            mfa_acr: vec![],
            claim: "email".into(),
            create_users: None,
            email_domain: Some("ekby.se".into()),
        };
        assert!(good.errors().is_empty());
        let bad = NewProvider {
            issuer: "http://idp.ekby.se".into(),
            client_secret_env: "EKBY SECRET".into(),
            claim: "name".into(),
            create_users: Some("admin".into()),
            ..good
        };
        let fields: Vec<String> = bad.errors().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "--issuer",
                "--client-secret-env",
                "--claim",
                "--create-users"
            ]
        );
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn every_failure_has_swedish_words_and_is_never_a_server_error() {
        use Failure::*;
        for f in [
            ProviderDown,
            DiscoveryInvalid,
            SecretMissing,
            Cancelled,
            ProviderRefused,
            UnknownState,
            OtherBrowser,
            CodeRefused,
            WrongIssuer,
            WrongAudience,
            Expired,
            NotYetValid,
            BadSignature,
            NonceMismatch,
            TokenInvalid,
            NoAccount,
        ] {
            let (title, text) = f.words();
            assert!(!title.is_empty() && !text.is_empty() && !f.detail().is_empty());
            assert_ne!(f.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
