//! A real OpenID provider for the tests (`oidc-provider`, tests/oidc/provider.mjs) and a forged
//! one (tests/oidc/forged.mjs) for the tokens a real one never makes, each a node process on
//! loopback ended when dropped; and a browser-like walk through a provider's own pages.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

use super::TestApp;

/// The environment variable the test providers' client secret is read from (as an operator
/// would set it on the server).
pub const SECRET_ENV: &str = "SAMORDNA_TEST_OIDC_SECRET";
pub const SECRET: &str = "samordna-test-secret";
pub const LOA3: &str = "http://id.elegnamnden.se/loa/1.0/loa3";
pub const LOA2: &str = "http://id.elegnamnden.se/loa/1.0/loa2";

/// A person at the provider.
pub struct Person<'a> {
    pub login: &'a str,
    pub email: &'a str,
    pub acr: &'a str,
}

pub struct NodeProvider {
    pub issuer: String,
    child: Child,
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node(script: &str, app: &TestApp, envs: &[(&str, String)]) -> NodeProvider {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "oidc-provider is not installed: run `npm ci --prefix tests/oidc` (scripts/test does)"
    );
    std::env::set_var(SECRET_ENV, SECRET);
    let mut command = Command::new("node");
    command
        .arg(dir.join(script))
        .env("REDIRECT_URI", app.url("/login/oidc/callback"))
        .env("POST_LOGOUT_REDIRECT_URI", app.url("/login?logged_out=1"))
        .env("CLIENT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("node starts");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line)
        .expect("the provider prints its issuer");
    // The rest is read and dropped, so that the provider never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let issuer = line
        .trim()
        .strip_prefix("ISSUER ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    NodeProvider { issuer, child }
}

/// The real provider, with these people (password "provlosen" each).
pub fn real_provider(app: &TestApp, people: &[Person<'_>]) -> NodeProvider {
    let users: Vec<_> = people
        .iter()
        .map(|p| {
            json!({"login": p.login, "password": "provlosen", "sub": format!("sub-{}", p.login),
                   "email": p.email, "acr": p.acr})
        })
        .collect();
    node(
        "provider.mjs",
        app,
        &[("OIDC_USERS", serde_json::Value::Array(users).to_string())],
    )
}

/// The real provider with people given as its OIDC_USERS JSON (for claims beyond the email).
pub fn real_provider_with(app: &TestApp, people: serde_json::Value) -> NodeProvider {
    node("provider.mjs", app, &[("OIDC_USERS", people.to_string())])
}

/// The forged provider; its tokens name `email`.
pub fn forged_provider(app: &TestApp, email: &str) -> NodeProvider {
    node("forged.mjs", app, &[("EMAIL", email.to_string())])
}

impl NodeProvider {
    /// Sets what the forged provider's next tokens get wrong.
    pub async fn fault(&self, name: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/fault?name={name}", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

impl TestApp {
    /// Adds an identity provider for Testkommun as the command line does; returns its id.
    pub async fn add_identity_provider(
        &self,
        name: &str,
        issuer: &str,
        mfa_acr: &[&str],
    ) -> String {
        let (name, issuer) = (name.to_string(), issuer.to_string());
        let mfa: Vec<String> = mfa_acr.iter().map(ToString::to_string).collect();
        self.conn(move |conn| {
            let m = super::municipality_named(conn, "Testkommun").unwrap();
            samordna::accounts::sso::add_provider(
                conn,
                &samordna::audit::AuditActor::cli(),
                &m,
                None,
                &samordna::accounts::sso::model::NewProvider {
                    name,
                    issuer,
                    client_id: "samordna".into(),
                    client_secret_env: SECRET_ENV.into(),
                    mfa_acr: mfa,
                    claim: "email".into(),
                    create_users: None,
                    email_domain: Some("ekby.test".into()),
                },
            )
            .unwrap()
            .id
        })
        .await
    }

    /// Signs in through a provider as a browser does: the login button, the provider's own
    /// login page (and consent page, the first time), back to the service. Returns the service's
    /// answer to the provider's redirect (`/login/oidc/callback`), or the first page that is
    /// neither (a refusal of the service before the provider). `None` as login: cancel ("Avbryt")
    /// on the provider's login page.
    pub async fn sign_in_through(
        &self,
        provider_id: &str,
        login: Option<&str>,
    ) -> reqwest::Response {
        self.sign_in_at(provider_id, login).await.1
    }

    /// Like [`TestApp::sign_in_through`], with the address the provider sent the browser back to.
    pub async fn sign_in_at(
        &self,
        provider_id: &str,
        login: Option<&str>,
    ) -> (String, reqwest::Response) {
        let start = self.url(&format!("/login/oidc?provider={provider_id}&next=%2F"));
        self.walk(start, login).await
    }

    /// Follows redirects from `url` through the provider's pages as [`sign_in_through`] does.
    pub async fn walk(&self, url: String, login: Option<&str>) -> (String, reqwest::Response) {
        let mut url = url::Url::parse(&url).unwrap();
        for _ in 0..20 {
            let response = self.client.get(url.clone()).send().await.unwrap();
            let on_app = url.as_str().starts_with(&self.address);
            if on_app && url.path() == "/login/oidc/callback" {
                return (url.to_string(), response);
            }
            if response.status().is_redirection() {
                url = url
                    .join(response.headers()["location"].to_str().unwrap())
                    .unwrap();
                continue;
            }
            if on_app || response.status() != 200 {
                return (url.to_string(), response);
            }
            // A page of the provider: its login or consent form.
            let page = response.text().await.unwrap();
            let action = |suffix: &str| {
                let marker = "action=\"";
                page.match_indices(marker)
                    .map(|(i, _)| &page[i + marker.len()..])
                    .map(|rest| &rest[..rest.find('"').unwrap()])
                    .find(|a| a.ends_with(suffix))
                    .map(|a| url.join(a).unwrap())
            };
            let (target, form) = if let Some(login_action) = action("/login") {
                match login {
                    Some(login) => (
                        login_action,
                        vec![("login", login), ("password", "provlosen")],
                    ),
                    None => (action("/abort").unwrap(), vec![]),
                }
            } else if let Some(confirm) = action("/confirm") {
                (confirm, vec![])
            } else {
                panic!("an unexpected page of the provider at {url}: {page}");
            };
            let response = self
                .client
                .post(target.clone())
                .form(&form)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_redirection(),
                "the provider's form answered {}",
                response.status()
            );
            url = target
                .join(response.headers()["location"].to_str().unwrap())
                .unwrap();
        }
        panic!("too many redirects");
    }
}
