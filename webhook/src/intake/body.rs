//! The raw body of a delivery, read within bounds and verified while it streams in: GitHub's
//! 25 MiB cap (413), the signature (401) and the intake's shared byte budget (503) refuse a
//! delivery before a byte is read when its announced size or headers already tell; what was not
//! read is drained for a while, so the client sees the answer instead of a broken pipe.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::intake::answer::{busy, reply};
use crate::intake::budget::Ticket;
use crate::intake::signature::{self, Verifier, WebhookSecret};
use crate::metrics::RequestResult;

/// GitHub caps webhook payloads at 25 MiB.
pub const MAX_BODY: usize = 25 * 1024 * 1024;
/// An announced oversize body up to this size is read and dropped after the 413 ...
const DRAIN_MAX: u64 = 4 * MAX_BODY as u64;
/// ... for at most this long.
const DRAIN_FOR: Duration = Duration::from_secs(10);

fn too_large() -> Response {
    reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": format!("the body is larger than GitHub's {} MiB webhook cap; this is not a GitHub delivery", MAX_BODY / (1024 * 1024))}),
    )
}

/// Read and drop what the client still sends, for a while, after an answer given before its
/// body was read: a client that writes the whole body before it reads then sees the answer
/// instead of a broken pipe. Absurd sizes are not drained: the connection just closes.
pub(crate) fn drain(headers: &HeaderMap, body: Body) {
    if announced(headers).is_some_and(|n| n > DRAIN_MAX) {
        return;
    }
    tokio::spawn(async move {
        let mut body = body.into_data_stream();
        let drain = async { while futures::StreamExt::next(&mut body).await.is_some() {} };
        let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    });
}

fn announced(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Why the body was not taken: the answer, and the metrics word for it.
pub(crate) type Refused = (Response, RequestResult);

/// The raw body, verified against `keys` while it streams in and counted against the shared
/// budget as it arrives: an announced `Content-Length` above [`MAX_BODY`] (413), a missing or
/// malformed signature (401) and an announced size above what the budget has left (503) are
/// refused before a byte is read; a body that does not match the signature is dropped as soon
/// as it ends.
pub(crate) async fn read_verified(
    headers: &HeaderMap,
    body: Body,
    keys: &[WebhookSecret],
    ticket: &mut Ticket,
) -> Result<Bytes, Refused> {
    let announced = announced(headers);
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        drain(headers, body);
        return Err((too_large(), RequestResult::TooLarge));
    }
    let sig = headers
        .get(signature::SIGNATURE_HEADER)
        .map(|v| v.as_bytes());
    let mut verifier = match Verifier::new(keys, sig) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused");
            drain(headers, body);
            let r = reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
            return Err((r, RequestResult::Unauthorized));
        }
    };
    if let Some(n) = announced
        && let Err(why) = ticket.hold(n as usize)
    {
        drain(headers, body);
        return Err((busy(why), RequestResult::Busy));
    }
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        let chunk = chunk.map_err(|e| {
            let r = reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("could not read the body: {e}; redeliver")}),
            );
            (r, RequestResult::BadRequest)
        })?;
        if buf.len() + chunk.len() > MAX_BODY {
            return Err((too_large(), RequestResult::TooLarge));
        }
        let beyond = (buf.len() + chunk.len()).saturating_sub(ticket.held());
        ticket
            .hold(beyond)
            .map_err(|why| (busy(why), RequestResult::Busy))?;
        verifier.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    if let Err(e) = verifier.finish() {
        tracing::warn!(error = %e, "webhook refused");
        let r = reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
        return Err((r, RequestResult::Unauthorized));
    }
    Ok(buf.freeze())
}
