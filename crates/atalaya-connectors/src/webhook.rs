//! The webhook source: JSON mentions pushed to a per-source URL, signed with HMAC-SHA256.
//!
//! ```text
//! POST /hooks/<source>          X-Atalaya-Signature: sha256=<hex HMAC of the signed bytes>
//!                               X-Atalaya-Timestamp: <Unix seconds>   (optional)
//! signed bytes = body                      without a timestamp header
//!              = "<timestamp>." + body     with one; rejected when more than 5 minutes
//!                                          away from our clock (replay protection)
//! ```
//!
//! Verification compares in constant time. The body is either one mention object
//! or `{"mentions": [...]}` (at most [`MAX_BATCH_ITEMS`]); each object is validated
//! on its own, so one bad object never loses the good ones.

use crate::item::IncomingMention;
use crate::mapping::row_from_json;
use atalaya_domain::Timestamp;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Atalaya-Signature";
/// The optional header carrying the Unix time (seconds) the sender signed at.
pub const TIMESTAMP_HEADER: &str = "X-Atalaya-Timestamp";
/// How far a signed timestamp may be from our clock, either way.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;
/// Most mentions accepted in one request: larger batches must be split.
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// Why a webhook request was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing {SIGNATURE_HEADER} header")]
    MissingSignature,
    #[error("{SIGNATURE_HEADER} must be `sha256=` followed by 64 hex digits")]
    MalformedSignature,
    #[error("signature does not match the body")]
    BadSignature,
    #[error("missing {TIMESTAMP_HEADER} header, which this source requires")]
    MissingTimestamp,
    #[error("{TIMESTAMP_HEADER} is not Unix seconds")]
    MalformedTimestamp,
    #[error(
        "{TIMESTAMP_HEADER} is more than {TIMESTAMP_TOLERANCE_SECS} seconds from the server's clock (replayed or clock skew)"
    )]
    StaleTimestamp,
    #[error("body is not valid JSON: {reason}")]
    BadJson { reason: String },
    #[error("body must be a mention object or {{\"mentions\": [...]}}")]
    BadShape,
    #[error("more than {MAX_BATCH_ITEMS} mentions in one request")]
    TooManyItems,
}

impl WebhookError {
    /// A stable machine code, returned in the API error body.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingSignature => "missing_signature",
            WebhookError::MalformedSignature => "malformed_signature",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::MissingTimestamp => "missing_timestamp",
            WebhookError::MalformedTimestamp => "malformed_timestamp",
            WebhookError::StaleTimestamp => "stale_timestamp",
            WebhookError::BadJson { .. } => "bad_json",
            WebhookError::BadShape => "bad_shape",
            WebhookError::TooManyItems => "too_many_items",
        }
    }
}

fn mac_hex(secret: &[u8], timestamp: Option<&str>, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail; the
    // fallback keeps this total without an unwrap.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Vec::new();
    };
    if let Some(timestamp) = timestamp {
        mac.update(timestamp.as_bytes());
        mac.update(b".");
    }
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The signature header value a sender computes: `sha256=<hex>`. With
/// `timestamp`, the signed bytes are `"<timestamp>." + body`.
pub fn sign(secret: &[u8], body: &[u8], timestamp: Option<i64>) -> String {
    let timestamp = timestamp.map(|seconds| seconds.to_string());
    format!(
        "sha256={}",
        hex::encode(mac_hex(secret, timestamp.as_deref(), body))
    )
}

/// Verifies `X-Atalaya-Signature` over the body alone (no timestamp).
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> Result<(), WebhookError> {
    verify_mac(secret, None, body, header)
}

fn verify_mac(
    secret: &[u8],
    timestamp: Option<&str>,
    body: &[u8],
    header: &str,
) -> Result<(), WebhookError> {
    let hex_part = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::MalformedSignature)?;
    let given = hex::decode(hex_part).map_err(|_| WebhookError::MalformedSignature)?;
    if given.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    let expected = mac_hex(secret, timestamp, body);
    if bool::from(expected.ct_eq(&given)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Verifies a whole request: the signature header, and the timestamp header when
/// present (or when `require_timestamp`), against `now`.
pub fn verify_request(
    secret: &[u8],
    body: &[u8],
    signature_header: Option<&str>,
    timestamp_header: Option<&str>,
    now: Timestamp,
    require_timestamp: bool,
) -> Result<(), WebhookError> {
    let signature = signature_header.ok_or(WebhookError::MissingSignature)?;
    match timestamp_header.map(str::trim) {
        None if require_timestamp => Err(WebhookError::MissingTimestamp),
        None => verify_mac(secret, None, body, signature),
        Some(timestamp) => {
            let seconds: i64 = timestamp
                .parse()
                .map_err(|_| WebhookError::MalformedTimestamp)?;
            // The signature is checked first so an unauthenticated caller learns
            // nothing about our clock.
            verify_mac(secret, Some(timestamp), body, signature)?;
            let skew = (now.millis() / 1000)
                .saturating_sub(seconds)
                .saturating_abs();
            if skew > TIMESTAMP_TOLERANCE_SECS {
                Err(WebhookError::StaleTimestamp)
            } else {
                Ok(())
            }
        }
    }
}

/// One object of a batch that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRejection {
    /// Position in `mentions` (0 for a single-object body).
    pub index: usize,
    pub reason: String,
}

/// The outcome of parsing a webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBatch {
    pub accepted: Vec<IncomingMention>,
    pub rejected: Vec<ItemRejection>,
}

/// Parses a verified body: one mention object, or `{"mentions": [...]}`.
pub fn parse_payload(body: &[u8]) -> Result<WebhookBatch, WebhookError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadJson {
            reason: error.to_string(),
        })?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(WebhookError::BadShape);
    };
    let items = match object.remove("mentions") {
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(WebhookError::BadShape),
        None => vec![serde_json::Value::Object(object)],
    };
    if items.len() > MAX_BATCH_ITEMS {
        return Err(WebhookError::TooManyItems);
    }
    let mut batch = WebhookBatch {
        accepted: Vec::new(),
        rejected: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        let result = match item {
            serde_json::Value::Object(fields) => row_from_json(fields)
                .and_then(crate::mapping::RawRow::into_mention)
                .map_err(|problem| problem.to_string()),
            _ => Err("each mention must be a JSON object".to_owned()),
        };
        match result {
            Ok(mention) => batch.accepted.push(mention),
            Err(reason) => batch.rejected.push(ItemRejection { index, reason }),
        }
    }
    Ok(batch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a webhook secret for the tests";
    const BODY: &[u8] = br#"{"text":"Buen servicio"}"#;

    #[test]
    fn signatures() {
        fn check(header: &str, expected: Option<&str>) {
            assert_eq!(
                verify_signature(SECRET, BODY, header)
                    .err()
                    .map(|error| error.code()),
                expected,
                "header: {header}"
            );
        }
        let good = sign(SECRET, BODY, None);
        check(&good, None);
        check(&sign(b"another secret", BODY, None), Some("bad_signature"));
        check(&sign(SECRET, b"{}", None), Some("bad_signature"));
        check(
            &good.replace("sha256=", "sha1="),
            Some("malformed_signature"),
        );
        check("sha256=zz", Some("malformed_signature"));
        check("sha256=abcd", Some("malformed_signature"));
        check(&format!(" {good} "), None);
    }

    #[test]
    fn timestamped_requests() {
        let now = Timestamp(1_740_823_200_000);
        let seconds = now.millis() / 1000;
        let check = |signature: Option<String>,
                     timestamp: Option<String>,
                     require: bool,
                     expected: Result<(), WebhookError>| {
            let result = verify_request(
                SECRET,
                BODY,
                signature.as_deref(),
                timestamp.as_deref(),
                now,
                require,
            );
            assert_eq!(
                result, expected,
                "signature {signature:?} timestamp {timestamp:?}"
            );
        };
        check(
            Some(sign(SECRET, BODY, Some(seconds))),
            Some(seconds.to_string()),
            true,
            Ok(()),
        );
        check(
            Some(sign(SECRET, BODY, Some(seconds - 299))),
            Some((seconds - 299).to_string()),
            true,
            Ok(()),
        );
        // Replayed: a correctly signed request captured ten minutes ago.
        check(
            Some(sign(SECRET, BODY, Some(seconds - 600))),
            Some((seconds - 600).to_string()),
            true,
            Err(WebhookError::StaleTimestamp),
        );
        // The timestamp is covered by the signature: changing it breaks the signature.
        check(
            Some(sign(SECRET, BODY, Some(seconds - 600))),
            Some(seconds.to_string()),
            true,
            Err(WebhookError::BadSignature),
        );
        check(
            None,
            Some(seconds.to_string()),
            false,
            Err(WebhookError::MissingSignature),
        );
        check(
            Some(sign(SECRET, BODY, None)),
            None,
            true,
            Err(WebhookError::MissingTimestamp),
        );
        check(Some(sign(SECRET, BODY, None)), None, false, Ok(()));
        check(
            Some(sign(SECRET, BODY, None)),
            Some("soon".to_owned()),
            false,
            Err(WebhookError::MalformedTimestamp),
        );
    }

    #[test]
    fn payload_shapes() {
        let single = parse_payload(br#"{"id":"a1","text":"Hola"}"#).unwrap();
        assert_eq!((single.accepted.len(), single.rejected.len()), (1, 0));
        let batch = parse_payload(
            br#"{"mentions":[{"text":"uno"},{"url":"https://x.example"},7,{"text":"dos","url":"javascript:x"},{"text":"tres"}]}"#,
        )
        .unwrap();
        let texts: Vec<&str> = batch
            .accepted
            .iter()
            .map(|mention| mention.text.as_str())
            .collect();
        assert_eq!(texts, vec!["uno", "tres"]);
        let indexes: Vec<usize> = batch
            .rejected
            .iter()
            .map(|rejection| rejection.index)
            .collect();
        assert_eq!(indexes, vec![1, 2, 3]);
        assert_eq!(parse_payload(b"[1]").unwrap_err(), WebhookError::BadShape);
        assert_eq!(
            parse_payload(br#"{"mentions":{}}"#).unwrap_err(),
            WebhookError::BadShape
        );
        assert_eq!(parse_payload(b"{nope").unwrap_err().code(), "bad_json");
        let too_many = format!(
            r#"{{"mentions":[{}]}}"#,
            vec![r#"{"text":"x"}"#; MAX_BATCH_ITEMS + 1].join(",")
        );
        assert_eq!(
            parse_payload(too_many.as_bytes()).unwrap_err(),
            WebhookError::TooManyItems
        );
    }
}
