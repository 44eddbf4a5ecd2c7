//! Rules for text as it comes in, applied once where input is read.
//!
//! - A NUL character can be sent in any field (`%00` in an address or form, `\u0000` in JSON), but
//!   PostgreSQL cannot store it and SQLite would keep it invisibly. [`refuse_nul`] is middleware on
//!   every route: it answers a path holding a control character with 404 (no id or page name has
//!   one), and a query string, form or JSON body holding a NUL with 422, before any handler runs.
//! - A name goes into mail headers, calendar parameters and page titles, where a line break or
//!   another control character either cannot be carried or changes what the line means.
//!   [`check_name`] refuses them beside the field, in Swedish; the model code calls it for every
//!   name field.
//!
//! The pure rules come first and have no I/O.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use futures_util::StreamExt;

use crate::error::{ApiError, AppError, FieldError, PageError};

/// Whether `text` holds a control character (C0, DEL or C1: line breaks, tabs, NUL, escapes).
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// What a name field says when it holds a control character.
pub const NAME_CONTROL_MESSAGE: &str =
    "Får inte innehålla radbrytningar, tabbtecken eller andra osynliga styrtecken.";

/// Refuses a name (of a person, an organisation, a municipality, a key) that holds a control
/// character, with a Swedish message beside `field`.
pub fn check_name(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if has_control(value) {
        errors.push(FieldError::new(field, NAME_CONTROL_MESSAGE));
    }
}

/// What a field holding a NUL says.
pub const NUL_MESSAGE: &str =
    "Texten innehåller ett nolltecken (\\0), som inte kan sparas. Ta bort det och försök igen.";

/// Whether a percent-encoded part of an address (a path) decodes to a control character.
pub fn percent_decoded_has_control(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    i += 2;
                    high << 4 | low
                }
                _ => b'%',
            },
            other => other,
        };
        if byte < 0x20 || byte == 0x7f {
            return true;
        }
        i += 1;
    }
    false
}

/// The first field of a URL-encoded form or query string that holds a NUL, by its name.
pub fn form_field_with_nul(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', ""))
}

/// The first place in a JSON document that holds a NUL (in a key or a string), written the way
/// field errors name fields (`children[0].name`); `None` when there is none or the document is
/// not JSON (its handler explains that).
pub fn json_field_with_nul(body: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, at: &str) -> Option<String> {
        use serde_json::Value;
        let join = |key: &str| {
            if at.is_empty() {
                key.to_string()
            } else {
                format!("{at}.{key}")
            }
        };
        match value {
            Value::String(s) if s.contains('\0') => Some(at.to_string()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{at}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    Some(join(&key.replace('\0', "")))
                } else {
                    walk(item, &join(key))
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    walk(&value, "")
}

// ---- the middleware ----

/// Bodies larger than this are not read here: it is the largest limit of the extractors that read
/// text (JSON and raw bodies 256 KB, forms 16 KB), so anything larger is refused by them anyway.
const LARGEST_CHECKED_BODY: usize = 256 * 1024;

/// What a client reads when it sends a compressed body.
pub const COMPRESSED_MESSAGE: &str = "Skicka innehållet okomprimerat.";

/// Whether the request body is compressed (any `Content-Encoding` but `identity`). actix-web's
/// extractors would decompress it behind the NUL check, so such bodies are refused outright:
/// no client of this service needs to compress what it sends.
fn compressed(req: &ServiceRequest) -> bool {
    req.headers()
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|v| !v.is_empty() && !v.eq_ignore_ascii_case(b"identity"))
}

#[derive(Clone, Copy)]
enum BodyKind {
    Json,
    Form,
}

fn body_kind(req: &ServiceRequest) -> Option<BodyKind> {
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if length.is_some_and(|n| n == 0 || n > LARGEST_CHECKED_BODY) {
        return None;
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })?;
    if kind == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else if kind == "application/json" || kind.ends_with("+json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

fn refusal(api: bool, error: AppError) -> actix_web::Error {
    if api {
        ApiError(error).into()
    } else {
        PageError(error).into()
    }
}

/// Middleware on every route: control characters in the path answer 404; a NUL in the query
/// string or in a form or JSON body answers 422 naming the field (JSON under `/api/`, a Swedish
/// page elsewhere); a compressed body answers 415. The body is read once here and handed on
/// unchanged.
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let api = req.path().starts_with("/api/");
    if percent_decoded_has_control(req.uri().path()) {
        return Err(refusal(api, AppError::NotFound));
    }
    let nul = |field: String| {
        let field = if field.is_empty() {
            "body".to_string()
        } else {
            field
        };
        AppError::Invalid(vec![FieldError::new(field, NUL_MESSAGE)])
    };
    if let Some(field) = form_field_with_nul(req.query_string().as_bytes()) {
        return Err(refusal(api, nul(field)));
    }
    if compressed(&req) {
        return Err(refusal(
            api,
            AppError::UnsupportedMediaType(COMPRESSED_MESSAGE.into()),
        ));
    }
    if let Some(kind) = body_kind(&req) {
        let mut payload = req.take_payload();
        let mut body = actix_web::web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > LARGEST_CHECKED_BODY {
                return Err(refusal(
                    api,
                    AppError::BadRequest("Innehållet är för stort.".into()),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        let found = match kind {
            BodyKind::Json => json_field_with_nul(&body),
            BodyKind::Form => form_field_with_nul(&body),
        };
        if let Some(field) = found {
            return Err(refusal(api, nul(field)));
        }
        req.set_payload(Payload::from(body));
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_characters_are_refused() {
        for bad in [
            "Sara\nLind",
            "Sara\r\nBcc: x@y.se",
            "Sara\0",
            "Sara\tLind",
            "Sara\u{1b}[2J",
            "Sara\u{7f}",
            "Sara\u{85}",
        ] {
            let mut errors = Vec::new();
            check_name(&mut errors, "name", bad);
            assert_eq!(errors.len(), 1, "{bad:?}");
            assert_eq!(errors[0].field, "name");
        }
        for good in [
            "Sara Lind (mamma)",
            "Lind, Sara [vårdnadshavare]",
            "Sara: mamma; pappa @ hemma \\ \"Lind\"",
            "Åsa Öberg-Ängström",
            "李小龍",
        ] {
            let mut errors = Vec::new();
            check_name(&mut errors, "name", good);
            assert!(errors.is_empty(), "{good:?}");
        }
    }

    #[test]
    fn control_characters_in_a_path_are_found_however_they_are_written() {
        assert!(percent_decoded_has_control("/api/v1/reports/abc%00"));
        assert!(percent_decoded_has_control("/sip/%0d%0a"));
        assert!(percent_decoded_has_control("/sip/%7F"));
        assert!(!percent_decoded_has_control("/api/v1/reports/abc"));
        assert!(!percent_decoded_has_control("/sok/%C3%85sa%20Lind"));
        assert!(!percent_decoded_has_control("/odd/%0"));
        assert!(!percent_decoded_has_control("/odd/%"));
        assert!(!percent_decoded_has_control("/odd/%zz"));
    }

    #[test]
    fn a_nul_in_a_form_or_json_is_found_by_field() {
        assert_eq!(
            form_field_with_nul(b"csrf_token=x&email=a%00b&password=p"),
            Some("email".into())
        );
        assert_eq!(form_field_with_nul(b"email=a%40b.se"), None);
        assert_eq!(
            json_field_with_nul(br#"{"children":[{"name":"ok"},{"name":"a\u0000"}]}"#),
            Some("children[1].name".into())
        );
        assert_eq!(json_field_with_nul(br#"{"a\u0000":1}"#), Some("a".into()));
        assert_eq!(json_field_with_nul(br#""\u0000""#), Some(String::new()));
        // An escaped backslash before "u0000" is text, not a NUL.
        assert_eq!(json_field_with_nul(br#"{"name":"\\u0000"}"#), None);
        assert_eq!(json_field_with_nul(b"not json \0"), None);
    }
}
