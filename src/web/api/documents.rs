//! `/documents`: the list (filters, cursor pages), one document with its extracted fields and
//! their confidence, its original bytes, and the upload.
//!
//! An upload goes through the same intake gate as every source (size, file type, then the store's
//! one transaction that makes a document once per content hash): new bytes answer 201, bytes
//! already known 200 with the document that holds them. With an `Idempotency-Key`, the same key
//! and the same file answer what the first request answered; the same key with another file is
//! 409, since a client reusing a key for something else has a bug worth hearing about.

use std::net::SocketAddr;

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Api;
use super::cursor;
use super::problem::{Kind, Problem, ProblemDetails};
use super::types::{DocumentDetail, DocumentItem, DocumentPage};
use crate::domain::{ContentHash, DocumentId, DocumentState, Origin, RawDocument};
use crate::stages::intake::{self, IntakeError};
use crate::store::api::{DocumentFilter, KeyedUpload};
use crate::store::users::AuditLine;
use crate::store::IntakeOutcome;
use crate::users::api_token::Scope;
use crate::users::Action;
use crate::web::request::{client_ip, header_text};
use crate::web::WebState;

/// Longest idempotency key accepted.
const MAX_KEY_CHARS: usize = 200;
/// The multipart field that carries the document.
const FILE_FIELD: &str = "file";

/// `GET /documents` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only documents in this state (`pending_approval`, `posted`…).
    state: Option<String>,
    /// Part of the supplier's name, any case.
    supplier: Option<String>,
    /// Part of the invoice number, the supplier's name or the file name, any case.
    q: Option<String>,
    /// The `next` of the page before.
    cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// A query that does not parse (a `limit` that is not a number…).
pub(super) fn bad_query(e: QueryRejection) -> Problem {
    Problem::new(
        Kind::Invalid,
        format!("the query string does not parse: {}", e.body_text()),
        format!(
            "les paramètres de l'URL sont illisibles : {}",
            e.body_text()
        ),
    )
}

/// A document id from the path: anything else is a document that does not exist.
pub(super) fn document_id(text: &str) -> Result<DocumentId, Problem> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(DocumentId)
        .ok_or_else(|| not_found(text))
}

fn not_found(id: &str) -> Problem {
    Problem::new(
        Kind::NotFound,
        format!("there is no document {id}"),
        format!("le document {id} n'existe pas"),
    )
}

fn empty_to_none(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Documents, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/documents",
    tag = "documents",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of documents", body = DocumentPage),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A filter, cursor or limit is wrong", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<WebState>,
    api: Api,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<DocumentPage>, Problem> {
    api.may(Scope::Read, Action::View)?;
    let Query(q) = query.map_err(bad_query)?;
    let limit = cursor::limit(q.limit)?;
    let filter = DocumentFilter {
        state: empty_to_none(q.state)
            .map(|s| s.parse::<DocumentState>())
            .transpose()
            .map_err(|e| {
                Problem::new(Kind::Invalid, e.to_string(), format!("état inconnu : {e}"))
            })?,
        supplier: empty_to_none(q.supplier),
        q: empty_to_none(q.q),
    };
    let filters = cursor::fingerprint(&[
        filter.state.map(|s| s.as_str().to_string()),
        filter.supplier.clone(),
        filter.q.clone(),
    ]);
    let before = cursor::start(q.cursor.as_deref(), "documents", &filters)?.map(DocumentId);
    let rows = state
        .store
        .documents_page(&filter, before, limit + 1)
        .await
        .map_err(Problem::store)?;
    let (rows, next) = cursor::page(rows, limit, "documents", &filters, |d| d.id.0);
    Ok(Json(DocumentPage {
        items: rows.iter().map(DocumentItem::from).collect(),
        next,
    }))
}

/// One document: what was read, each field with its confidence, its history and duplicates.
#[utoipa::path(
    get,
    path = "/documents/{id}",
    tag = "documents",
    params(("id" = i64, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The document", body = DocumentDetail),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn one(
    State(state): State<WebState>,
    api: Api,
    Path(id): Path<String>,
) -> Result<Json<DocumentDetail>, Problem> {
    api.may(Scope::Read, Action::View)?;
    let id = document_id(&id)?;
    let record = state.store.document(id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound(_) => not_found(&id.to_string()),
        e => Problem::store(e),
    })?;
    Ok(Json(DocumentDetail::of(&record)))
}

/// The original bytes, as received.
#[utoipa::path(
    get,
    path = "/documents/{id}/original",
    tag = "documents",
    params(("id" = i64, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The original file (PDF, XML, PNG, JPEG or TIFF)", content_type = "application/octet-stream"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn original(
    State(state): State<WebState>,
    api: Api,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    api.may(Scope::Read, Action::View)?;
    let id = document_id(&id)?;
    let bytes = state.store.document_bytes(id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound(_) => not_found(&id.to_string()),
        e => Problem::store(e),
    })?;
    let kind = match crate::read::sniff(&bytes) {
        Some(crate::read::Kind::Pdf) => "application/pdf",
        Some(crate::read::Kind::Xml) => "application/xml",
        Some(crate::read::Kind::Png) => "image/png",
        Some(crate::read::Kind::Jpeg) => "image/jpeg",
        Some(crate::read::Kind::Tiff) => "image/tiff",
        None => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// What `POST /documents` takes: a multipart form whose `file` field is the document.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // The schema of the form; the handler reads the parts as they stream.
pub struct UploadForm {
    /// The document (PDF, Factur-X, UBL or CII XML, PNG, JPEG, TIFF), at most 25 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Hands a document in (multipart, field `file`). Answers 201 for new bytes, 200 for bytes
/// already received (the document that holds them).
#[utoipa::path(
    post,
    path = "/documents",
    tag = "documents",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key with the same file answers what the first request answered; with another file, 409")),
    responses(
        (status = 201, description = "A new document", body = DocumentItem),
        (status = 200, description = "These bytes were a document already", body = DocumentItem),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A read token, or a viewer", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The key was used for another file", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Over 25 MB", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "No file, an empty file, or not a kind facteur reads", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    api: Api,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    api.may(Scope::Write, Action::Submit)?;
    let key = idempotency_key(&headers)?;
    let mut form = form.map_err(|e| {
        Problem::new(
            Kind::UnsupportedMediaType,
            format!(
                "send the document as multipart/form-data with a field named file: {}",
                e.body_text()
            ),
            format!(
                "envoyez le document en multipart/form-data, dans un champ nommé file : {}",
                e.body_text()
            ),
        )
    })?;
    let (name, bytes) = file_part(&mut form).await?;
    let limit = state.api.intake.max_document_bytes();
    if bytes.len() as u64 > limit {
        return Err(Problem::new(
            Kind::TooLarge,
            format!(
                "the file is over the {} MiB limit (intake.max_document_mb)",
                state.api.intake.max_document_mb
            ),
            format!(
                "le fichier dépasse la limite de {} Mio (intake.max_document_mb)",
                state.api.intake.max_document_mb
            ),
        ));
    }
    let body_hash = ContentHash::of(&bytes).to_string();
    let user = api.0.user.id;
    if let Some(k) = &key {
        if let Some(done) = state
            .store
            .keyed_upload(user, k)
            .await
            .map_err(Problem::store)?
        {
            return answer(&state, &done, &body_hash, true).await;
        }
    }
    let raw = RawDocument {
        bytes,
        name: name.clone(),
        origin: Origin::Api {
            user: api.email().to_string(),
            file_name: name.clone(),
        },
    };
    let outcome = intake::accept(state.store.as_ref(), &raw, &state.api.intake)
        .await
        .map_err(|e| match e {
            IntakeError::Rejected(why) => {
                Problem::with(Kind::Invalid, super::problem::Words::same(why))
            }
            IntakeError::Store(e) => Problem::store(e),
        })?;
    let mut done = KeyedUpload {
        document: outcome.document(),
        created: matches!(outcome, IntakeOutcome::Created(_)),
        body_hash: body_hash.clone(),
    };
    if let Some(k) = &key {
        let now = (state.clock)();
        done = state
            .store
            .record_keyed_upload(user, k, &done, now)
            .await
            .map_err(Problem::store)?;
    }
    let line = AuditLine {
        at: (state.clock)(),
        actor: api.actor(),
        action: "api upload".into(),
        detail: format!(
            "document {} ({}): {name}",
            done.document,
            if done.created { "new" } else { "known bytes" }
        ),
        ip: Some(client_ip(&headers, &peer)),
        user_agent: header_text(&headers, header::USER_AGENT),
    };
    state.store.audit_web(&line).await.map_err(Problem::store)?;
    answer(&state, &done, &body_hash, false).await
}

/// The `Idempotency-Key` header, if sent: 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        Problem::new(
            Kind::Invalid,
            format!("Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters (a UUID, say)"),
            format!("Idempotency-Key doit compter de 1 à {MAX_KEY_CHARS} caractères ASCII visibles (un UUID par exemple)"),
        )
    };
    let k = v.to_str().map_err(|_| bad())?.trim();
    if k.is_empty() || k.len() > MAX_KEY_CHARS || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(k.to_string()))
}

/// The `file` part of the form: its name (cut to 255 characters) and bytes.
async fn file_part(form: &mut Multipart) -> Result<(String, Vec<u8>), Problem> {
    let failed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                Kind::TooLarge,
                format!(
                    "the upload is over {} MB: send a smaller file",
                    super::MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
                format!(
                    "l'envoi dépasse {} Mo : envoyez un fichier plus petit",
                    super::MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
            )
        } else {
            Problem::new(
                Kind::BadRequest,
                format!("the multipart body is broken: {}", e.body_text()),
                format!("le corps multipart est illisible : {}", e.body_text()),
            )
        }
    };
    while let Some(field) = form.next_field().await.map_err(failed)? {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let name: String = field
            .file_name()
            .map(|n| n.chars().take(255).collect())
            .filter(|n: &String| !n.trim().is_empty())
            .unwrap_or_else(|| "document".into());
        let bytes = field.bytes().await.map_err(failed)?;
        return Ok((name, bytes.to_vec()));
    }
    Err(Problem::new(
        Kind::Invalid,
        "no document: send it in a multipart field named file",
        "aucun document : envoyez-le dans un champ multipart nommé file",
    ))
}

/// The answer for an upload: the document, 201 when it was new the first time, else 200. A
/// replayed key with another file is a conflict.
async fn answer(
    state: &WebState,
    done: &KeyedUpload,
    body_hash: &str,
    replayed: bool,
) -> Result<Response, Problem> {
    if done.body_hash != body_hash {
        return Err(Problem::new(
            Kind::Conflict,
            format!(
                "this Idempotency-Key was used for another file (document {}): use a new key for a new upload",
                done.document
            ),
            format!(
                "cette Idempotency-Key a servi pour un autre fichier (document {}) : prenez une nouvelle clé pour un nouvel envoi",
                done.document
            ),
        ));
    }
    let record = state
        .store
        .document(done.document)
        .await
        .map_err(Problem::store)?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = (status, Json(DocumentItem::from(&record.summary))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/documents/{}", done.document)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(r)
}
