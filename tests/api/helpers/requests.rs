//! The one way tests call the JSON API: `app.as_user(&token).get(path)`, `.post(path, body)`,
//! `.put`/`.patch`, or `app.anon()` for no token, each answering the status and the JSON body.
//!
//! Every request goes out from a fresh `reqwest::Client`, as the tests' own helpers always did:
//! no cookies (an API caller is its bearer token, never a browser session) and reqwest's default
//! of following redirects, unless [`Requests::in_browser`] says to send from the instance's
//! browser client. Anything else (headers, raw bodies, text) starts from [`Requests::request`].

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::TestApp;

/// Requests to one instance as one caller: a bearer token, or none.
pub struct Requests<'a> {
    app: &'a TestApp,
    token: Option<&'a str>,
    /// The client to send from: `None` for a fresh one per request.
    client: Option<&'a reqwest::Client>,
}

impl TestApp {
    /// Requests carrying `token` as their bearer token.
    pub fn as_user<'a>(&'a self, token: &'a str) -> Requests<'a> {
        self.with_token(Some(token))
    }

    /// Requests without a token.
    pub fn anon(&self) -> Requests<'_> {
        self.with_token(None)
    }

    /// Requests with a token or without, for tests that try both.
    pub fn with_token<'a>(&'a self, token: Option<&'a str>) -> Requests<'a> {
        Requests {
            app: self,
            token,
            client: None,
        }
    }
}

impl Requests<'_> {
    /// The same requests sent from the instance's browser ([`TestApp::client`]): with the
    /// cookies of whoever signed in there, redirects not followed. For tests of a token used
    /// where a session is too.
    pub fn in_browser(self) -> Self {
        Requests {
            client: Some(&self.app.client),
            ..self
        }
    }

    /// The request unsent, for tests that need more than status and JSON (headers, raw text,
    /// another content type).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = match self.client {
            Some(client) => client.request(method, self.app.url(path)),
            None => reqwest::Client::new().request(method, self.app.url(path)),
        };
        match self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `method` with `body` as JSON, if any; answers the status and the JSON body
    /// (`Value::Null` when the body is not JSON).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        status_and_json(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: impl Serialize) -> (u16, Value) {
        let body = serde_json::to_value(body).unwrap();
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: impl Serialize) -> (u16, Value) {
        let body = serde_json::to_value(body).unwrap();
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: impl Serialize) -> (u16, Value) {
        let body = serde_json::to_value(body).unwrap();
        self.send(Method::PUT, path, Some(body)).await
    }

    /// Sends `method` with a JSON body and asserts a 2xx answer (naming the path, the status and
    /// the body when it is not); answers the JSON body. For set-up steps whose success is assumed.
    pub async fn send_ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, body) = self.send(method, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    /// [`Requests::send_ok`] for a POST.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        self.send_ok(Method::POST, path, body).await
    }
}

/// A response's status and its body as JSON (`Value::Null` when it is not JSON).
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The fields an API error answer names, in order (`{"errors": [{"field": …}, …]}`).
pub fn error_fields(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

/// The `Location` header of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}
