//! Webhook authenticity helpers: HMAC-SHA256 over the raw body, constant-time comparison,
//! body-size cap, replay window, and a bounded dedupe set of event ids.
//!
//! Rules every connector follows:
//! * Sign/verify the **raw bytes** received. Re-serialising the JSON changes key order and
//!   number formatting, and the signature no longer matches (or, worse, matches something else).
//! * Compare MACs in constant time (`subtle`), after decoding the received signature, so the
//!   comparison leaks nothing about how many leading bytes were right.
//! * Cap the body before hashing it: an attacker must not make us hash gigabytes.
//! * For timestamped schemes, refuse timestamps outside a window (replays of a captured
//!   request), in both directions (clock skew).
//! * Deliveries are at-least-once: dedupe on the event id. The in-memory set here is the fast
//!   path; the daemon also persists event ids (the `inbox` table).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use jiff::Timestamp;
use parking_lot::Mutex;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::WebhookError;

/// Default cap on a webhook body: 1 MiB (Shopify order payloads are well under 100 KiB).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Default replay window for timestamped signatures: 5 minutes, as Stripe and Standard
/// Webhooks use.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(300);

pub fn check_body_size(body: &[u8], limit: usize) -> Result<(), WebhookError> {
    if body.len() > limit {
        Err(WebhookError::TooLarge {
            size: body.len(),
            limit,
        })
    } else {
        Ok(())
    }
}

/// HMAC-SHA256 of the concatenation of `parts` (no separator is added).
pub fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts any key length");
    for p in parts {
        mac.update(p);
    }
    let out = mac.finalize().into_bytes();
    let mut arr = [0u8; 32];
    arr.copy_from_slice(&out);
    arr
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Decodes lower- or upper-case hex; `None` on odd length or a non-hex digit.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks(2)
        .map(|p| Some((val(p[0])? << 4) | val(p[1])?))
        .collect()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Shopify style: `signature_b64 == base64(HMAC-SHA256(secret, parts…))`.
pub fn verify_hmac_base64(
    secret: &[u8],
    parts: &[&[u8]],
    signature_b64: &str,
) -> Result<(), WebhookError> {
    let given = BASE64
        .decode(signature_b64.trim())
        .map_err(|_| WebhookError::BadSignature)?;
    verify_mac(secret, parts, &given)
}

/// TikTok / sandbox style: `signature_hex == hex(HMAC-SHA256(secret, parts…))`.
pub fn verify_hmac_hex(
    secret: &[u8],
    parts: &[&[u8]],
    signature_hex: &str,
) -> Result<(), WebhookError> {
    let given = from_hex(signature_hex.trim()).ok_or(WebhookError::BadSignature)?;
    verify_mac(secret, parts, &given)
}

fn verify_mac(secret: &[u8], parts: &[&[u8]], given: &[u8]) -> Result<(), WebhookError> {
    let expected = hmac_sha256(secret, parts);
    if given.len() == expected.len() && constant_time_eq(&expected, given) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Refuses a signed timestamp (Unix seconds) further than `window` from `now`, either way.
pub fn check_replay_window(
    timestamp_secs: i64,
    now: Timestamp,
    window: Duration,
) -> Result<(), WebhookError> {
    let age = now.as_second().saturating_sub(timestamp_secs);
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    if age.abs() > window {
        Err(WebhookError::Stale { age_secs: age })
    } else {
        Ok(())
    }
}

/// A header as a trimmed string, or the right error.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .ok_or(WebhookError::MissingHeader(name))?
        .to_str()
        .map(str::trim)
        .map_err(|_| WebhookError::InvalidHeader(name))
}

/// A bounded set of recently seen event ids. When full, the oldest id is forgotten.
#[derive(Debug)]
pub struct DedupeSet {
    capacity: usize,
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl DedupeSet {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    /// Records `id`; returns `true` if it was not seen (within the capacity) before.
    pub fn insert_new(&self, id: &str) -> bool {
        let mut g = self.inner.lock();
        let (set, order) = &mut *g;
        if set.contains(id) {
            return false;
        }
        if order.len() >= self.capacity
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        set.insert(id.to_string());
        order.push_back(id.to_string());
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.inner.lock().0.contains(id)
    }

    pub fn len(&self) -> usize {
        self.inner.lock().1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"hush";

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(from_hex(&to_hex(&mac)).unwrap(), mac.to_vec());
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
    }

    #[test]
    fn base64_scheme_accepts_genuine_and_refuses_forged() {
        let body = br#"{"id":820982911946154508,"total_price":"10.00"}"#;
        let sig = BASE64.encode(hmac_sha256(SECRET, &[body]));
        assert!(verify_hmac_base64(SECRET, &[body], &sig).is_ok());
        // Forged: signed with another key.
        let forged = BASE64.encode(hmac_sha256(b"guess", &[body]));
        assert_eq!(
            verify_hmac_base64(SECRET, &[body], &forged),
            Err(WebhookError::BadSignature)
        );
        // Tampered body (same signature).
        let tampered = br#"{"id":820982911946154508,"total_price":"0.01"}"#;
        assert!(verify_hmac_base64(SECRET, &[tampered], &sig).is_err());
        // Truncated body and truncated signature.
        assert!(verify_hmac_base64(SECRET, &[&body[..body.len() - 1]], &sig).is_err());
        assert!(verify_hmac_base64(SECRET, &[body], &sig[..sig.len() - 4]).is_err());
        assert!(verify_hmac_base64(SECRET, &[body], "not base64!").is_err());
        assert!(verify_hmac_base64(SECRET, &[body], "").is_err());
    }

    #[test]
    fn hex_scheme_and_replay_window() {
        let body = b"{\"id\":\"evt_1\"}";
        let ts = "1700000000";
        let sig = to_hex(&hmac_sha256(SECRET, &[ts.as_bytes(), b".", body]));
        assert!(verify_hmac_hex(SECRET, &[ts.as_bytes(), b".", body], &sig).is_ok());
        assert!(verify_hmac_hex(SECRET, &[ts.as_bytes(), b".", body], &sig.to_uppercase()).is_ok());
        // The same body under another timestamp must not verify.
        assert!(verify_hmac_hex(SECRET, &[b"1700000001", b".", body], &sig).is_err());
        assert!(verify_hmac_hex(SECRET, &[ts.as_bytes(), b".", body], &sig[..62]).is_err());

        let now = Timestamp::from_second(1_700_000_100).unwrap();
        assert!(check_replay_window(1_700_000_000, now, DEFAULT_REPLAY_WINDOW).is_ok());
        assert_eq!(
            check_replay_window(1_699_999_000, now, DEFAULT_REPLAY_WINDOW),
            Err(WebhookError::Stale { age_secs: 1100 })
        );
        assert!(
            check_replay_window(1_700_001_000, now, DEFAULT_REPLAY_WINDOW).is_err(),
            "from the future"
        );
        assert!(check_replay_window(i64::MIN, now, DEFAULT_REPLAY_WINDOW).is_err());
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = vec![b'x'; DEFAULT_MAX_BODY + 1];
        assert_eq!(
            check_body_size(&big, DEFAULT_MAX_BODY),
            Err(WebhookError::TooLarge {
                size: DEFAULT_MAX_BODY + 1,
                limit: DEFAULT_MAX_BODY
            })
        );
        assert!(check_body_size(&big[..DEFAULT_MAX_BODY], DEFAULT_MAX_BODY).is_ok());
    }

    #[test]
    fn dedupe_set_is_bounded() {
        let d = DedupeSet::new(3);
        assert!(d.insert_new("a"));
        assert!(!d.insert_new("a"));
        assert!(d.insert_new("b"));
        assert!(d.insert_new("c"));
        assert!(d.insert_new("d")); // evicts "a"
        assert_eq!(d.len(), 3);
        assert!(!d.contains("a"));
        assert!(d.insert_new("a"), "forgotten after eviction");
        assert!(!d.insert_new("d"));
    }

    #[test]
    fn header_helper() {
        let mut h = HeaderMap::new();
        h.insert("x-sig", " abc ".parse().unwrap());
        assert_eq!(header_str(&h, "x-sig").unwrap(), "abc");
        assert_eq!(
            header_str(&h, "x-missing"),
            Err(WebhookError::MissingHeader("x-missing"))
        );
    }
}
