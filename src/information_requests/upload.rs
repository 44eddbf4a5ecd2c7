//! Reads an answer sent as `multipart/form-data` (the API and the receiver's form): its text
//! parts and its `file` parts, streamed. A request that says it is larger than
//! [`MAX_REQUEST_BYTES`] is refused before anything is read; a file part is kept only up to
//! [`MAX_FILE_BYTES`] (the rest is read past and dropped, and the file marked too large), so no
//! upload is held whole in memory more than once, and none larger than the limit at all.

use actix_multipart::Multipart;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use futures_util::StreamExt;

use crate::error::{AppError, FieldError};
use crate::information_requests::files::{RawFile, MAX_FILE_BYTES, MAX_REQUEST_BYTES};

/// The longest text part kept, in bytes (the text's own limit is checked in characters later).
const MAX_TEXT_BYTES: usize = 128 * 1024;

/// What a multipart answer held.
#[derive(Debug, Default)]
pub struct Upload {
    /// The text parts, by name (the last of a name wins).
    pub fields: Vec<(String, String)>,
    /// The `file` parts, in order. A part with no file chosen (a form's empty file input) is
    /// left out.
    pub files: Vec<RawFile>,
}

impl Upload {
    /// A text part's value, or empty.
    pub fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

fn too_large() -> AppError {
    AppError::Invalid(vec![FieldError::new(
        "file",
        format!(
            "Det du skickar är för stort. Varje fil får vara högst 10 MB, och du kan skicka högst {} filer.",
            crate::information_requests::files::MAX_FILES
        ),
    )])
}

fn unreadable() -> AppError {
    AppError::BadRequest("Svaret kunde inte tas emot. Försök igen.".into())
}

/// Whether a request's content type is `multipart/form-data`.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Reads a multipart answer from `payload`.
pub async fn read(headers: &HeaderMap, payload: web::Payload) -> Result<Upload, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES) {
        return Err(too_large());
    }
    let mut parts = Multipart::new(headers, payload);
    let mut upload = Upload::default();
    let mut total = 0usize;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|_| unreadable())?;
        let name = part.name().unwrap_or("").to_string();
        let filename = part
            .content_disposition()
            .and_then(|d| d.get_filename().map(str::to_string));
        let limit = if filename.is_some() {
            MAX_FILE_BYTES
        } else {
            MAX_TEXT_BYTES
        };
        let mut bytes = Vec::new();
        let mut over = false;
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            total += chunk.len();
            if total > MAX_REQUEST_BYTES {
                return Err(too_large());
            }
            if over || bytes.len() + chunk.len() > limit {
                over = true;
                bytes = Vec::new();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        match filename {
            Some(filename) if name == "file" => {
                // A form's file input with nothing chosen sends an empty part with no name.
                if filename.is_empty() && bytes.is_empty() && !over {
                    continue;
                }
                upload.files.push(RawFile {
                    name: filename,
                    bytes,
                    too_large: over,
                });
            }
            Some(_) => {}
            None => {
                if over {
                    return Err(AppError::Invalid(vec![FieldError::new(
                        name,
                        "Texten är för lång. Korta den till högst 20 000 tecken.",
                    )]));
                }
                let text = String::from_utf8(bytes).map_err(|_| {
                    AppError::Invalid(vec![FieldError::new(
                        name.clone(),
                        "Texten kunde inte läsas (den är inte UTF-8).",
                    )])
                })?;
                upload.fields.push((name, text));
            }
        }
    }
    Ok(upload)
}

/// Reads a form's answer: `multipart/form-data` (with files) as [`read`] does, or a plain
/// URL-encoded form (text only, at most 256 kB).
pub async fn read_form(headers: &HeaderMap, mut payload: web::Payload) -> Result<Upload, AppError> {
    if is_multipart(headers) {
        return read(headers, payload).await;
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        if body.len() + chunk.len() > 256 * 1024 {
            return Err(AppError::BadRequest("Innehållet är för stort.".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| unreadable())?;
    Ok(Upload {
        fields,
        files: Vec::new(),
    })
}
