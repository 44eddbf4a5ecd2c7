//! The files of an answer in the database: name and content sealed at rest (the content as
//! base64 of its bytes, sealed). Stored in the answer's transaction; each read of a file audited.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::UserId;
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::information_request_files;
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::information_requests::files::CheckedFile;
use crate::information_requests::store::{InformationRequest, InformationRequestId};
use crate::string_id;

string_id!(FileId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = information_request_files)]
pub struct FileRow {
    pub id: FileId,
    pub request_id: InformationRequestId,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Base64 of the bytes (sealed at rest).
    pub content: String,
    pub uploaded_by: UserId,
    pub uploaded_at: NaiveDateTime,
}
// Large rows: rotation re-seals them a few at a time.
crate::sealed_row!(FileRow, information_request_files by id: [name, content], batch 4);

/// A file as listed (no content).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FileInfo {
    pub id: String,
    pub name: String,
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    pub uploaded_at: NaiveDateTime,
}

impl FileInfo {
    /// The size in words, for pages.
    pub fn size_label(&self) -> String {
        if self.size >= 1024 * 1024 {
            format!("{:.1} MB", self.size as f64 / 1024.0 / 1024.0)
        } else {
            format!("{} kB", (self.size + 1023) / 1024)
        }
    }
}

/// Stores the checked files of `request`'s answer by `uploader` (the caller's transaction).
pub fn insert(
    conn: &mut AnyConnection,
    keys: &Keyring,
    uploader: &UserId,
    request: &InformationRequest,
    files: &[CheckedFile],
) -> Result<Vec<FileInfo>, AppError> {
    let at = now();
    let mut stored = Vec::with_capacity(files.len());
    for file in files {
        let row = FileRow {
            id: FileId::generate(),
            request_id: request.id.clone(),
            name: file.name.clone(),
            content_type: file.kind.content_type().to_string(),
            size: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
            content: STANDARD.encode(&file.bytes),
            uploaded_by: uploader.clone(),
            uploaded_at: at,
        };
        stored.push(FileInfo {
            id: row.id.to_string(),
            name: row.name.clone(),
            content_type: row.content_type.clone(),
            size: row.size,
            uploaded_at: at,
        });
        diesel::insert_into(information_request_files::table)
            .values(&row.seal(keys))
            .execute(conn)?;
    }
    Ok(stored)
}

/// The files of a request, oldest first, without content (names opened).
pub fn list(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &InformationRequestId,
) -> Result<Vec<FileInfo>, AppError> {
    let rows: Vec<(FileId, String, String, i64, NaiveDateTime)> = information_request_files::table
        .filter(information_request_files::request_id.eq(id))
        .order((
            information_request_files::uploaded_at,
            information_request_files::id,
        ))
        .select((
            information_request_files::id,
            information_request_files::name,
            information_request_files::content_type,
            information_request_files::size,
            information_request_files::uploaded_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name, content_type, size, uploaded_at)| {
            Ok(FileInfo {
                id: id.to_string(),
                name: keys.open("information_request_files.name", &name)?,
                content_type,
                size,
                uploaded_at,
            })
        })
        .collect()
}

/// One file of `request` with its bytes, and the read audited; `None` (audited as a refusal)
/// when the request has no such file.
pub fn read(
    conn: &mut AnyConnection,
    keys: &Keyring,
    reader: &AuditActor,
    request: &InformationRequest,
    id: &FileId,
) -> Result<Option<(FileInfo, Vec<u8>)>, AppError> {
    let row: Option<FileRow> = information_request_files::table
        .find(id)
        .filter(information_request_files::request_id.eq(&request.id))
        .select(FileRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(row) = row else {
        Event::denied(
            reader,
            "information_request.file_read",
            Object::InformationRequest(request.id.as_str()),
        )
        .detail("no such file")
        .record_in(conn, &request.municipality_id)?;
        return Ok(None);
    };
    let row = row.open(keys)?;
    let bytes = STANDARD.decode(row.content.as_bytes()).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored file {} is not base64: {e}", row.id))
    })?;
    Event::success(
        reader,
        "information_request.file_read",
        Object::InformationRequest(request.id.as_str()),
    )
    .detail(&format!("file={}", row.id))
    .record_in(conn, &request.municipality_id)?;
    Ok(Some((
        FileInfo {
            id: row.id.to_string(),
            name: row.name,
            content_type: row.content_type,
            size: row.size,
            uploaded_at: row.uploaded_at,
        },
        bytes,
    )))
}
