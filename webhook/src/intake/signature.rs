//! GitHub webhook signatures: `X-Hub-Signature-256` = `sha256=` + hex HMAC-SHA256 of the raw
//! body. Verified in constant time against one or more secrets (two during a rotation), while the
//! body streams in ([`Verifier`]): a missing or malformed header is refused before any byte of
//! the body is read.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header GitHub sends when a secret is configured.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
const PREFIX: &str = "sha256=";
/// Hex length of a SHA-256 MAC.
const HEX_LEN: usize = 64;

/// A webhook secret. Its value never appears in `Debug` output.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A secret from raw bytes; surrounding whitespace (a trailing newline in a file) is trimmed.
    pub fn new(bytes: impl AsRef<[u8]>) -> Option<Self> {
        let b = bytes.as_ref().trim_ascii();
        (!b.is_empty()).then(|| Self(b.to_vec()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a delivery's signature was refused. The messages name the problem, never a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error(
        "missing X-Hub-Signature-256 header: configure the webhook secret in GitHub's webhook settings"
    )]
    Missing,
    #[error("malformed X-Hub-Signature-256 header: expected sha256= followed by 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body under any configured secret")]
    Mismatch,
}

/// Compute the header value GitHub would send for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// The HMACs of a body under every secret, fed chunk by chunk as the body arrives.
pub struct Verifier {
    macs: Vec<HmacSha256>,
    expected: [u8; HEX_LEN / 2],
}

impl Verifier {
    /// Start verifying against `header`; a missing or malformed header is refused at once.
    pub fn new(secrets: &[WebhookSecret], header: Option<&[u8]>) -> Result<Self, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let hex_part = header
            .strip_prefix(PREFIX.as_bytes())
            .filter(|h| h.len() == HEX_LEN)
            .ok_or(SignatureError::Malformed)?;
        let mut expected = [0u8; HEX_LEN / 2];
        hex::decode_to_slice(hex_part, &mut expected).map_err(|_| SignatureError::Malformed)?;
        let macs = secrets
            .iter()
            .map(|s| HmacSha256::new_from_slice(&s.0).expect("HMAC accepts keys of any length"))
            .collect();
        Ok(Self { macs, expected })
    }

    /// Feed the next bytes of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        for mac in &mut self.macs {
            mac.update(chunk);
        }
    }

    /// The verdict over everything fed. Each comparison is constant-time
    /// (`Mac::verify_slice`); every secret is always tried so timing does not reveal which
    /// matched.
    pub fn finish(self) -> Result<(), SignatureError> {
        let mut ok = false;
        for mac in self.macs {
            ok |= mac.verify_slice(&self.expected).is_ok();
        }
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Verify `header` over the raw `body` against every secret (see [`Verifier`]).
pub fn verify(
    secrets: &[WebhookSecret],
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let mut v = Verifier::new(secrets, header)?;
    v.update(body);
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors produced by `@octokit/webhooks-methods` `sign()` (see testdata/README.md).
    fn vectors() -> Vec<(String, Vec<u8>, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
        let lines = std::fs::read_to_string(format!("{dir}signatures.jsonl")).unwrap();
        lines
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let body = match v.get("file") {
                    Some(f) => std::fs::read(format!("{dir}{}", f.as_str().unwrap())).unwrap(),
                    None => v["payload"].as_str().unwrap().as_bytes().to_vec(),
                };
                (
                    v["secret"].as_str().unwrap().to_string(),
                    body,
                    v["signature"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn matches_octokit_webhooks_methods() {
        let v = vectors();
        assert_eq!(v.len(), 3);
        for (secret, body, sig) in v {
            assert_eq!(sign(secret.as_bytes(), &body), sig);
            let s = [WebhookSecret::new(&secret).unwrap()];
            assert_eq!(verify(&s, Some(sig.as_bytes()), &body), Ok(()));
        }
    }

    #[test]
    fn a_body_fed_in_chunks_verifies_as_a_whole_and_a_bad_header_needs_no_body() {
        let secrets = [WebhookSecret::new("It's a Secret to Everybody").unwrap()];
        let body = b"Hello, World!";
        let sig = sign(b"It's a Secret to Everybody", body);
        let mut v = Verifier::new(&secrets, Some(sig.as_bytes())).unwrap();
        for chunk in body.chunks(3) {
            v.update(chunk);
        }
        assert_eq!(v.finish(), Ok(()));
        let mut v = Verifier::new(&secrets, Some(sig.as_bytes())).unwrap();
        v.update(&body[..5]);
        assert_eq!(v.finish(), Err(SignatureError::Mismatch));
        assert!(matches!(
            Verifier::new(&secrets, None),
            Err(SignatureError::Missing)
        ));
        assert!(matches!(
            Verifier::new(&secrets, Some(b"sha256=zz")),
            Err(SignatureError::Malformed)
        ));
    }

    #[test]
    fn either_secret_of_a_rotation_verifies() {
        let body = b"{\"zen\":\"Keep it logically awesome.\"}";
        let old = WebhookSecret::new("old").unwrap();
        let new = WebhookSecret::new("new\n").unwrap();
        let both = [old.clone(), new.clone()];
        assert_eq!(
            verify(&both, Some(sign(b"old", body).as_bytes()), body),
            Ok(())
        );
        assert_eq!(
            verify(&both, Some(sign(b"new", body).as_bytes()), body),
            Ok(())
        );
        assert_eq!(
            verify(&[old], Some(sign(b"new", body).as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_tampering_and_bad_headers() {
        let s = [WebhookSecret::new("k").unwrap()];
        let sig = sign(b"k", b"body");
        assert_eq!(
            verify(&s, Some(sig.as_bytes()), b"bodY"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&s, None, b"body"), Err(SignatureError::Missing));
        let upper = sig.replace("sha256=", "SHA256=");
        let sha1 = format!("sha1={}", &sig[7..47]);
        let short = &sig[..sig.len() - 2];
        let long = format!("{sig}00");
        let nonhex = format!("sha256={}", "z".repeat(64));
        for bad in [
            upper.as_str(),
            sha1.as_str(),
            short,
            long.as_str(),
            nonhex.as_str(),
            "",
            "sha256=",
        ] {
            assert_eq!(
                verify(&s, Some(bad.as_bytes()), b"body"),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&[], Some(sig.as_bytes()), b"body"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_are_trimmed_redacted_and_never_empty() {
        assert!(WebhookSecret::new(" \n").is_none());
        let s = WebhookSecret::new("hunter2\n").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
