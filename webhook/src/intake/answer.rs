//! The intake's answers: every one, refusals included, is one line of JSON with its status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::intake::budget::{Busy, RETRY_AFTER_SECS};

pub(crate) fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// 503 with `Retry-After`: the intake is at one of its bounds.
pub(crate) fn busy(why: Busy) -> Response {
    let mut r = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": why.to_string()}),
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(RETRY_AFTER_SECS),
    );
    r
}
