//! Errors as RFC 9457 problem details (`application/problem+json`: type, title, status, detail,
//! instance), in English or in French as the request's `Accept-Language` asks.
//!
//! Handlers answer a `Problem` without knowing the path; `render`, a layer around every route of
//! the API, writes it with the request's path as `instance`. Whatever else fails (an extractor's
//! rejection, a body over the limit, a wrong method, an unknown route) is turned into a problem
//! by the same layer, so a client never has to parse a plain-text error.

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

pub const CONTENT_TYPE: &str = "application/problem+json";
/// Largest error body read back to make a problem of it (axum's rejections are a line).
const LEFTOVER_BYTES: usize = 4096;

/// Text in both languages of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub en: String,
    pub fr: String,
}

impl Words {
    pub fn new(en: impl Into<String>, fr: impl Into<String>) -> Words {
        Words {
            en: en.into(),
            fr: fr.into(),
        }
    }

    /// A text that comes from elsewhere in facteur (a store refusal, a correction's error),
    /// written in English only.
    pub fn same(text: impl Into<String>) -> Words {
        let t = text.into();
        Words {
            en: t.clone(),
            fr: t,
        }
    }

    fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Fr,
}

/// The kinds of problem this API answers, each with its status and `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    /// The role or the token's scope does not allow it.
    Forbidden,
    NotFound,
    UnknownRoute,
    MethodNotAllowed,
    Conflict,
    Gone,
    TooLarge,
    Invalid,
    UnsupportedMediaType,
    Internal,
}

impl Kind {
    pub fn status(&self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound | Kind::UnknownRoute => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Gone => StatusCode::GONE,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind a bare status stands for (what another layer answered).
    fn of_status(status: StatusCode) -> Kind {
        match status {
            StatusCode::UNAUTHORIZED => Kind::Unauthorized,
            StatusCode::FORBIDDEN => Kind::Forbidden,
            StatusCode::NOT_FOUND => Kind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
            StatusCode::CONFLICT => Kind::Conflict,
            StatusCode::GONE => Kind::Gone,
            StatusCode::PAYLOAD_TOO_LARGE => Kind::TooLarge,
            StatusCode::UNPROCESSABLE_ENTITY => Kind::Invalid,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMediaType,
            s if s.is_server_error() => Kind::Internal,
            _ => Kind::BadRequest,
        }
    }

    /// The problem's `type`, a URI that names it.
    pub fn uri(&self) -> &'static str {
        match self {
            Kind::BadRequest => "urn:facteur:problem:bad-request",
            Kind::Unauthorized => "urn:facteur:problem:unauthorized",
            Kind::Forbidden => "urn:facteur:problem:forbidden",
            Kind::NotFound => "urn:facteur:problem:not-found",
            Kind::UnknownRoute => "urn:facteur:problem:unknown-route",
            Kind::MethodNotAllowed => "urn:facteur:problem:method-not-allowed",
            Kind::Conflict => "urn:facteur:problem:conflict",
            Kind::Gone => "urn:facteur:problem:gone",
            Kind::TooLarge => "urn:facteur:problem:too-large",
            Kind::Invalid => "urn:facteur:problem:invalid",
            Kind::UnsupportedMediaType => "urn:facteur:problem:unsupported-media-type",
            Kind::Internal => "urn:facteur:problem:internal",
        }
    }

    fn title(&self) -> Words {
        let (en, fr) = match self {
            Kind::BadRequest => ("Bad request", "Requête incorrecte"),
            Kind::Unauthorized => ("Authentication needed", "Authentification requise"),
            Kind::Forbidden => ("Not allowed", "Non autorisé"),
            Kind::NotFound => ("Not found", "Introuvable"),
            Kind::UnknownRoute => ("No such route", "Route inconnue"),
            Kind::MethodNotAllowed => ("Method not allowed", "Méthode non autorisée"),
            Kind::Conflict => ("Conflict", "Conflit"),
            Kind::Gone => ("Gone", "Expiré"),
            Kind::TooLarge => ("Too large", "Trop volumineux"),
            Kind::Invalid => ("Invalid request", "Requête invalide"),
            Kind::UnsupportedMediaType => (
                "Unsupported media type",
                "Type de contenu non pris en charge",
            ),
            Kind::Internal => ("Internal error", "Erreur interne"),
        };
        Words::new(en, fr)
    }
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub detail: Words,
}

impl Problem {
    pub fn new(kind: Kind, en: impl Into<String>, fr: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: Words::new(en, fr),
        }
    }

    pub fn with(kind: Kind, detail: Words) -> Problem {
        Problem { kind, detail }
    }

    /// A store failure: the cause is logged, the client told only that it failed (or, for a
    /// refusal the store explains, why).
    pub fn store(e: StoreError) -> Problem {
        match e {
            StoreError::NotFound(what) => Problem::new(
                Kind::NotFound,
                format!("{what} does not exist"),
                format!("{what} : introuvable"),
            ),
            StoreError::Conflict(why) | StoreError::Stale(why) | StoreError::Busy(why) => {
                Problem::with(Kind::Conflict, Words::same(why))
            }
            StoreError::Invalid(why) => Problem::with(Kind::Invalid, Words::same(why)),
            e => {
                tracing::error!(error = %e, "an API request failed on the store");
                Problem::new(
                    Kind::Internal,
                    "the store failed; the error is in the server's log",
                    "le stockage a échoué ; l'erreur est dans le journal du serveur",
                )
            }
        }
    }

    fn body(&self, lang: Lang, instance: Option<&str>) -> Body {
        let status = self.kind.status().as_u16();
        let title = self.kind.title();
        let json = ProblemDetails {
            kind: self.kind.uri().to_string(),
            title: title.get(lang).to_string(),
            status,
            detail: self.detail.get(lang).to_string(),
            instance: instance.map(str::to_string),
        };
        Body::from(serde_json::to_vec(&json).unwrap_or_default())
    }
}

/// The problem+json document (RFC 9457 §3.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem (`urn:facteur:problem:…`).
    #[serde(rename = "type")]
    #[schema(example = "urn:facteur:problem:forbidden")]
    pub kind: String,
    /// The kind in words, in the request's language.
    pub title: String,
    pub status: u16,
    /// What is wrong with this request and what to do instead.
    pub detail: String,
    /// The request's path.
    pub instance: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut r = (
            self.kind.status(),
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            self.body(Lang::En, None),
        )
            .into_response();
        if self.kind == Kind::Unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"facteur\""),
            );
        }
        r.extensions_mut().insert(self);
        r
    }
}

fn lang_of(headers: &HeaderMap) -> Lang {
    let asked = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first language named decides (the API speaks two; weights would choose among them
    // the same way in practice).
    match asked
        .split(',')
        .next()
        .map(|t| t.trim().to_ascii_lowercase())
    {
        Some(t) if t.starts_with("fr") => Lang::Fr,
        _ => Lang::En,
    }
}

/// The layer: every error answer leaves as problem+json with its `instance`.
pub async fn render(request: Request, next: Next) -> Response {
    let lang = lang_of(request.headers());
    let instance = full_path(&request);
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None => {
            // Another layer's answer (a rejection, a limit): its text becomes the detail.
            let bytes = axum::body::to_bytes(body, LEFTOVER_BYTES)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let text = if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            };
            Problem::with(Kind::of_status(status), Words::same(text))
        }
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(match lang {
            Lang::En => "en",
            Lang::Fr => "fr",
        }),
    );
    Response::from_parts(parts, problem.body(lang, Some(&instance)))
}

/// The path as the client sent it (the nested router sees it without `/api/v1`).
fn full_path(request: &Request) -> String {
    request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |u| u.0.path())
        .to_string()
}

/// Anything under `/api/v1` that is not a route.
pub async fn unknown_route(request: Request) -> Problem {
    let path = full_path(&request);
    Problem::new(
        Kind::UnknownRoute,
        format!("there is no {path} in this API: the routes are listed in /api/v1/openapi.json"),
        format!("{path} n'existe pas dans cette API : les routes sont dans /api/v1/openapi.json"),
    )
}

/// A route asked with a method it does not have.
pub async fn method_not_allowed(request: Request) -> Problem {
    let (m, path) = (request.method().clone(), full_path(&request));
    Problem::new(
        Kind::MethodNotAllowed,
        format!("{path} does not answer {m}: see /api/v1/openapi.json for its methods"),
        format!("{path} ne répond pas à {m} : ses méthodes sont dans /api/v1/openapi.json"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_language_asked_decides() {
        let mut h = HeaderMap::new();
        assert_eq!(lang_of(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr-FR,fr;q=0.9,en;q=0.5"),
        );
        assert_eq!(lang_of(&h), Lang::Fr);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("de, fr"));
        assert_eq!(lang_of(&h), Lang::En);
    }

    #[test]
    fn every_kind_keeps_its_status() {
        for k in [
            Kind::BadRequest,
            Kind::Unauthorized,
            Kind::Forbidden,
            Kind::NotFound,
            Kind::MethodNotAllowed,
            Kind::Conflict,
            Kind::Gone,
            Kind::TooLarge,
            Kind::Invalid,
            Kind::UnsupportedMediaType,
            Kind::Internal,
        ] {
            assert_eq!(Kind::of_status(k.status()), k, "{k:?}");
        }
    }
}
