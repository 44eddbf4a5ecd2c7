//! Settings, read from `SAMORDNA_*` environment variables. Every setting has a default that needs
//! nothing else, and a wrong value stops the start with one line naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use rand::RngCore;
use url::Url;

/// One wrong setting: which variable, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        problem: problem.into(),
    }
}

/// Where outgoing mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailTransportSetting {
    /// `smtp://` or `smtps://` URL, as lettre understands it.
    Smtp(String),
    /// No SMTP configured: each message is written as an `.eml` file into this folder.
    Folder(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub base_url: Url,
    pub mail: MailTransportSetting,
    pub mail_from: Mailbox,
    pub secret_key: Vec<u8>,
    /// True when the key was generated because none was configured (development only).
    pub secret_key_generated: Option<PathBuf>,
    /// The keys that seal the child's data at rest, and the blind index's key
    /// (`SAMORDNA_DATA_KEYS`, `SAMORDNA_INDEX_KEY`; derived from the secret key when not set).
    pub keys: crate::crypto::Keyring,
    /// The key that chains the audit trail (`SAMORDNA_AUDIT_KEY`; derived from the secret key
    /// when not set).
    pub audit_key: crate::crypto::AuditKey,
    /// Which of these keys were derived from the secret key because they were not set.
    pub keys_derived: Vec<&'static str>,
    /// How often the audit trail's head is logged, as an anchor kept outside the database
    /// (`SAMORDNA_AUDIT_HEAD_SECONDS`); zero turns it off.
    pub audit_head_interval: Duration,
    pub session_idle_timeout: Duration,
    pub session_max_lifetime: Duration,
    pub db_pool_size: u32,
    /// First retry delay of a failed message; doubles with each attempt.
    pub mail_retry_base: Duration,
    pub mail_max_attempts: i32,
    pub mail_poll_interval: Duration,
    pub log_json: bool,
    /// When intake is staffed, for municipalities that have not set their own
    /// (`samordna municipality set --office-hours`); a report after closing is due for its safety
    /// assessment the next calendar day.
    pub office_hours: crate::time::OfficeHours,
    /// How soon the safety assessment of an acute report is due (`SAMORDNA_ACUTE_SAFETY_HOURS`).
    pub acute_safety_within: Duration,
    /// Days after the decision within which a reporter with a duty to report gets feedback, under
    /// the rules from 2026-01-15 (`SAMORDNA_FEEDBACK_DAYS`; the exact value is set by ordinance).
    pub feedback_days: u32,
    /// Public (not logged-in) report submissions allowed per address and hour, counted in memory.
    pub public_reports_per_hour: u32,
    /// How long before a SIP meeting its reminder goes out.
    pub reminder_before: Duration,
    /// How often to look for meetings that need a reminder.
    pub reminder_poll_interval: Duration,
    /// How often each user's calendar address is read again for busy times.
    pub busy_refresh: Duration,
    /// How often retention (gallring) runs; zero turns the scheduled run off.
    pub retention_interval: Duration,
    /// Months a consultation (konsultation) is kept after it was asked, then removed by retention
    /// (`SAMORDNA_CONSULTATION_MONTHS`, default 12, at least 1).
    pub consultation_months: u32,
    /// Days a partner is given to answer an information request unless the caseworker sets
    /// another date (`SAMORDNA_INFORMATION_REQUEST_DAYS`, default 14, at least 1).
    pub information_request_days: u32,
    /// Whether calendar addresses may point into private networks (loopback, 10/8, …). Off: a
    /// user could otherwise make the service fetch from the municipality's internal network.
    pub busy_fetch_private: bool,
    /// Addresses (`IP:port`) calendar addresses may reach even inside private networks
    /// (`SAMORDNA_BUSY_FETCH_ALLOW`): an internal calendar server, and nothing else there.
    pub busy_fetch_allow: Vec<std::net::SocketAddr>,
    /// Whether webhook endpoints may be in private networks (`SAMORDNA_WEBHOOK_PRIVATE`), the
    /// same rule as calendar addresses: off, an admin could make the service post into the
    /// municipality's internal network.
    pub webhook_private: bool,
    /// The first wait before a failed webhook delivery is tried again, doubled each attempt
    /// (`SAMORDNA_WEBHOOK_RETRY_SECONDS`, default 30).
    pub webhook_retry_base: Duration,
    /// Attempts before a delivery is given up (`SAMORDNA_WEBHOOK_MAX_ATTEMPTS`, default 15:
    /// about three days with the six-hour cap on the wait).
    pub webhook_max_attempts: i32,
    /// How often the webhook worker looks for due deliveries.
    pub webhook_poll_interval: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`SAMORDNA_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::proxies::TrustedProxies,
}

const DEFAULT_DATABASE_URL: &str = "sqlite://samordna.db";
const DEFAULT_BIND: &str = "127.0.0.1:8080";

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so that tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url =
            lookup("SAMORDNA_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let backend = crate::db::Backend::from_url(&database_url)
            .map_err(|problem| bad("SAMORDNA_DATABASE_URL", problem))?;

        let bind_text = lookup("SAMORDNA_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            bad(
                "SAMORDNA_BIND",
                format!("{bind_text:?} is not an address and port like 127.0.0.1:8080"),
            )
        })?;

        let base_url = match lookup("SAMORDNA_BASE_URL") {
            Some(text) => parse_base_url(&text)?,
            None => Url::parse(&format!("http://{bind}/")).expect("socket address makes a URL"),
        };

        let data_dir = backend.data_dir();
        let mail = match lookup("SAMORDNA_SMTP_URL") {
            Some(url) => {
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url).map_err(
                    |e| {
                        bad(
                            "SAMORDNA_SMTP_URL",
                            format!(
                                "not a valid SMTP URL ({e}); expected e.g. smtp://user:pass@mail.example.se:587?tls=required"
                            ),
                        )
                    },
                )?;
                MailTransportSetting::Smtp(url)
            }
            None => MailTransportSetting::Folder(
                lookup("SAMORDNA_MAIL_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("samordna-mail")),
            ),
        };

        let mail_from_text = lookup("SAMORDNA_MAIL_FROM").unwrap_or_else(|| {
            format!(
                "Samordna <samordna@{}>",
                base_url.host_str().unwrap_or("localhost")
            )
        });
        let mail_from: Mailbox = mail_from_text.parse().map_err(|_| {
            bad(
                "SAMORDNA_MAIL_FROM",
                format!(
                    "{mail_from_text:?} is not an address like \"Samordna <samordna@kommun.se>\""
                ),
            )
        })?;

        let (secret_key, secret_key_generated) = match lookup("SAMORDNA_SECRET_KEY") {
            Some(key) if key.len() < 32 => {
                return Err(bad(
                    "SAMORDNA_SECRET_KEY",
                    format!("must be at least 32 characters, got {}", key.len()),
                ))
            }
            Some(key) => (key.into_bytes(), None),
            None => {
                let path = data_dir.join("samordna-secret.key");
                let key = load_or_create_key(&path)
                    .map_err(|e| bad("SAMORDNA_SECRET_KEY", format!("not set, and {e}")))?;
                (key, Some(path))
            }
        };

        let keys_derived: Vec<&'static str> = [
            "SAMORDNA_DATA_KEYS",
            "SAMORDNA_INDEX_KEY",
            "SAMORDNA_AUDIT_KEY",
        ]
        .into_iter()
        .filter(|name| lookup(name).is_none())
        .collect();
        let keys = keyring(&lookup, &secret_key)?;
        let audit_key = match lookup("SAMORDNA_AUDIT_KEY") {
            Some(text) => {
                crate::crypto::AuditKey::parse(&text).map_err(|p| bad("SAMORDNA_AUDIT_KEY", p))?
            }
            None => crate::crypto::AuditKey::derived(&secret_key),
        };

        let minutes = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            parse_number(&lookup, name, default).map(|m| Duration::from_secs(m * 60))
        };

        Ok(Settings {
            database_url,
            bind,
            base_url,
            mail,
            mail_from,
            secret_key,
            secret_key_generated,
            keys,
            audit_key,
            keys_derived,
            // 0 turns the log line off.
            audit_head_interval: Duration::from_secs(parse_at_least(
                &lookup,
                "SAMORDNA_AUDIT_HEAD_SECONDS",
                3600,
                0,
            )?),
            session_idle_timeout: minutes("SAMORDNA_SESSION_IDLE_MINUTES", 30)?,
            session_max_lifetime: minutes("SAMORDNA_SESSION_MAX_MINUTES", 12 * 60)?,
            db_pool_size: parse_number(&lookup, "SAMORDNA_DB_POOL_SIZE", 8)? as u32,
            mail_retry_base: Duration::from_secs(parse_number(
                &lookup,
                "SAMORDNA_MAIL_RETRY_SECONDS",
                30,
            )?),
            mail_max_attempts: parse_number(&lookup, "SAMORDNA_MAIL_MAX_ATTEMPTS", 12)? as i32,
            mail_poll_interval: Duration::from_secs(2),
            reminder_before: Duration::from_secs(
                parse_number(&lookup, "SAMORDNA_REMINDER_HOURS", 24)? * 3600,
            ),
            reminder_poll_interval: Duration::from_secs(60),
            busy_refresh: minutes("SAMORDNA_BUSY_REFRESH_MINUTES", 30)?,
            // 0 turns the scheduled run off.
            retention_interval: Duration::from_secs(
                parse_at_least(&lookup, "SAMORDNA_RETENTION_HOURS", 24, 0)? * 3600,
            ),
            consultation_months: parse_at_least(&lookup, "SAMORDNA_CONSULTATION_MONTHS", 12, 1)?
                .min(u64::from(u32::MAX)) as u32,
            information_request_days: parse_at_least(
                &lookup,
                "SAMORDNA_INFORMATION_REQUEST_DAYS",
                14,
                1,
            )?
            .min(3650) as u32,
            busy_fetch_private: match lookup("SAMORDNA_BUSY_FETCH_PRIVATE").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(bad(
                        "SAMORDNA_BUSY_FETCH_PRIVATE",
                        format!("{other:?} is neither \"true\" nor \"false\""),
                    ))
                }
            },
            busy_fetch_allow: lookup("SAMORDNA_BUSY_FETCH_ALLOW")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| {
                        bad(
                            "SAMORDNA_BUSY_FETCH_ALLOW",
                            format!("{a:?} is not an address with a port, e.g. 10.1.2.3:443"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            webhook_private: match lookup("SAMORDNA_WEBHOOK_PRIVATE").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(bad(
                        "SAMORDNA_WEBHOOK_PRIVATE",
                        format!("{other:?} is neither \"true\" nor \"false\""),
                    ))
                }
            },
            webhook_retry_base: Duration::from_secs(parse_number(
                &lookup,
                "SAMORDNA_WEBHOOK_RETRY_SECONDS",
                30,
            )?),
            webhook_max_attempts: parse_at_least(&lookup, "SAMORDNA_WEBHOOK_MAX_ATTEMPTS", 15, 1)?
                .min(100) as i32,
            webhook_poll_interval: Duration::from_secs(1),
            trusted_proxies: crate::proxies::TrustedProxies::parse(
                &lookup("SAMORDNA_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|problem| bad("SAMORDNA_TRUSTED_PROXIES", problem))?,
            office_hours: match lookup("SAMORDNA_OFFICE_HOURS") {
                None => Default::default(),
                Some(text) => text
                    .parse()
                    .map_err(|problem: String| bad("SAMORDNA_OFFICE_HOURS", problem))?,
            },
            public_reports_per_hour: parse_number(&lookup, "SAMORDNA_PUBLIC_REPORTS_PER_HOUR", 20)?
                as u32,
            acute_safety_within: Duration::from_secs(
                parse_at_most(&lookup, "SAMORDNA_ACUTE_SAFETY_HOURS", 2, 24)? * 3600,
            ),
            feedback_days: parse_at_most(&lookup, "SAMORDNA_FEEDBACK_DAYS", 14, 365)? as u32,
            log_json: match lookup("SAMORDNA_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(bad(
                        "SAMORDNA_LOG_FORMAT",
                        format!("{other:?} is neither \"text\" nor \"json\""),
                    ))
                }
            },
        })
    }

    /// True when the service is reached over https, so cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// An absolute link into the service, for email.
    pub fn link(&self, path: &str) -> String {
        self.base_url
            .join(path.trim_start_matches('/'))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| path.to_string())
    }
}

fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(text).map_err(|e| {
        bad(
            "SAMORDNA_BASE_URL",
            format!("{text:?} is not a URL ({e}); expected e.g. https://samordna.kommun.se/"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            "SAMORDNA_BASE_URL",
            format!("{text:?} must start with http:// or https:// and name a host"),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The data keys and the index key: as configured, or derived from the secret key.
fn keyring(
    lookup: &impl Fn(&str) -> Option<String>,
    secret_key: &[u8],
) -> Result<crate::crypto::Keyring, ConfigError> {
    use crate::crypto::Keyring;
    let data = match lookup("SAMORDNA_DATA_KEYS") {
        Some(text) => {
            Keyring::parse_data_keys(&text, secret_key).map_err(|p| bad("SAMORDNA_DATA_KEYS", p))?
        }
        None => vec![Keyring::derived_data_key(secret_key)],
    };
    let index = match lookup("SAMORDNA_INDEX_KEY") {
        Some(text) => Keyring::parse_index_key(&text).map_err(|p| bad("SAMORDNA_INDEX_KEY", p))?,
        None => Keyring::derived_index_key(secret_key),
    };
    Keyring::new(data, index).map_err(|p| bad("SAMORDNA_DATA_KEYS", p))
}

fn parse_number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    parse_at_least(lookup, name, default, 1)
}

/// A whole number from 1 to `most`.
fn parse_at_most(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    most: u64,
) -> Result<u64, ConfigError> {
    match parse_number(lookup, name, default)? {
        n if n <= most => Ok(n),
        _ => Err(bad(
            name,
            format!("must be a whole number from 1 to {most}"),
        )),
    }
}

/// A whole number of at least `least` (0 where 0 turns something off).
fn parse_at_least(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    least: u64,
) -> Result<u64, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if n >= least => Ok(n),
            _ => Err(bad(
                name,
                format!("{text:?} is not a whole number of at least {least}"),
            )),
        },
    }
}

/// Development convenience: a random key kept in a file beside the database.
fn load_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => return Err(format!("{} is too short to be a key", path.display())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{} cannot be read: {e}", path.display()))
        }
        Err(_) => {}
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    write_private_file(path, &key)
        .map_err(|e| format!("{} cannot be written: {e}", path.display()))?;
    Ok(key.into_bytes())
}

fn write_private_file(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("SAMORDNA_DATABASE_URL".into()).or_insert(db);
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_nothing() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080/");
        assert!(matches!(s.mail, MailTransportSetting::Folder(_)));
        assert!(s.secret_key_generated.is_some());
        assert_eq!(s.session_idle_timeout, Duration::from_secs(30 * 60));
        assert_eq!(s.acute_safety_within, Duration::from_secs(2 * 3600));
        assert_eq!(s.feedback_days, 14);
        let set = settings(&[
            ("SAMORDNA_ACUTE_SAFETY_HOURS", "4"),
            ("SAMORDNA_FEEDBACK_DAYS", "10"),
        ])
        .unwrap();
        assert_eq!(set.acute_safety_within, Duration::from_secs(4 * 3600));
        assert_eq!(set.feedback_days, 10);
    }

    #[test]
    fn each_wrong_setting_is_named() {
        for (name, value) in [
            ("SAMORDNA_BIND", "localhost"),
            ("SAMORDNA_BASE_URL", "ftp://x"),
            ("SAMORDNA_SMTP_URL", "mail.example.se"),
            ("SAMORDNA_MAIL_FROM", "not an address"),
            ("SAMORDNA_SECRET_KEY", "short"),
            ("SAMORDNA_DATABASE_URL", "mysql://x"),
            ("SAMORDNA_SESSION_IDLE_MINUTES", "-3"),
            ("SAMORDNA_LOG_FORMAT", "xml"),
            ("SAMORDNA_OFFICE_HOURS", "9-5"),
            ("SAMORDNA_DATA_KEYS", "a"),
            ("SAMORDNA_DATA_KEYS", "a:c2hvcnQ="),
            (
                "SAMORDNA_DATA_KEYS",
                "A!:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
            ),
            ("SAMORDNA_INDEX_KEY", "not base64"),
            ("SAMORDNA_AUDIT_KEY", "c2hvcnQ="),
            ("SAMORDNA_AUDIT_HEAD_SECONDS", "-1"),
            ("SAMORDNA_SESSION_IDLE_MINUTES", "0"),
            ("SAMORDNA_RETENTION_HOURS", "-1"),
            ("SAMORDNA_ACUTE_SAFETY_HOURS", "0"),
            ("SAMORDNA_FEEDBACK_DAYS", "två veckor"),
            ("SAMORDNA_ACUTE_SAFETY_HOURS", "25"),
            ("SAMORDNA_TRUSTED_PROXIES", "proxy.kommun.se"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{err}");
            assert!(err.to_string().starts_with(name), "{err}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn zero_turns_the_retention_schedule_off() {
        let off = settings(&[("SAMORDNA_RETENTION_HOURS", "0")]).unwrap();
        assert!(off.retention_interval.is_zero());
        let daily = settings(&[]).unwrap();
        assert_eq!(daily.retention_interval, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn data_keys_are_read_or_derived() {
        let key = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
        let set = settings(&[
            ("SAMORDNA_DATA_KEYS", &format!("b:{key},a:{key}")),
            ("SAMORDNA_INDEX_KEY", key),
        ])
        .unwrap();
        assert_eq!(set.keys.current_id(), "b");
        assert_eq!(set.keys_derived, ["SAMORDNA_AUDIT_KEY"]);
        let derived = settings(&[("SAMORDNA_SECRET_KEY", &"x".repeat(32))]).unwrap();
        assert_eq!(derived.keys.current_id(), crate::crypto::DERIVED_KEY_ID);
        assert_eq!(derived.keys_derived.len(), 3);
        // The same secret key derives the same keys, so instances sharing it read each other.
        let again = settings(&[("SAMORDNA_SECRET_KEY", &"x".repeat(32))]).unwrap();
        let sealed = derived.keys.seal("t.c", "v");
        assert_eq!(again.keys.open("t.c", &sealed).unwrap(), "v");
        assert_eq!(
            again.keys.blind_index("20121212-1212"),
            derived.keys.blind_index("20121212-1212")
        );
    }

    #[test]
    fn the_audit_key_is_read_or_derived_and_never_the_data_key() {
        let key = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
        let set = settings(&[("SAMORDNA_AUDIT_KEY", key)]).unwrap();
        assert_eq!(
            set.audit_key,
            crate::crypto::AuditKey::parse(key).unwrap(),
            "as configured"
        );
        assert!(!set.keys_derived.contains(&"SAMORDNA_AUDIT_KEY"));
        let secret = "x".repeat(32);
        let derived = settings(&[("SAMORDNA_SECRET_KEY", &secret)]).unwrap();
        assert!(derived.keys_derived.contains(&"SAMORDNA_AUDIT_KEY"));
        let again = settings(&[("SAMORDNA_SECRET_KEY", &secret)]).unwrap();
        assert_eq!(
            derived.audit_key, again.audit_key,
            "every instance derives the same"
        );
        let other = settings(&[("SAMORDNA_SECRET_KEY", &"y".repeat(32))]).unwrap();
        assert_ne!(derived.audit_key, other.audit_key);
        assert_ne!(
            derived.audit_key,
            crate::crypto::AuditKey::parse(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                crate::crypto::Keyring::derived_index_key(secret.as_bytes())
            ))
            .unwrap(),
            "a key of its own, not the blind index's"
        );
        assert_eq!(derived.audit_head_interval, Duration::from_secs(3600));
        let off = settings(&[("SAMORDNA_AUDIT_HEAD_SECONDS", "0")]).unwrap();
        assert!(off.audit_head_interval.is_zero());
    }

    #[test]
    fn base_url_gets_trailing_slash_and_links_join() {
        let s = settings(&[("SAMORDNA_BASE_URL", "https://samordna.kommun.se/app")]).unwrap();
        assert!(s.is_https());
        assert_eq!(s.link("/login"), "https://samordna.kommun.se/app/login");
    }

    #[test]
    fn generated_key_is_kept_between_starts() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("t.db").display());
        let get = |name: &str| (name == "SAMORDNA_DATABASE_URL").then(|| db.clone());
        let first = Settings::from_lookup(get).unwrap();
        let second = Settings::from_lookup(get).unwrap();
        assert_eq!(first.secret_key, second.secret_key);
        assert_eq!(first.secret_key.len(), 64);
    }
}
