//! Standard Webhooks signatures: `webhook-signature: v1,<base64 of HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of a `whsec_<base64>` secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_…` secret (`None` when it is not one).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    (!key.is_empty()).then_some(key)
}

/// `v1,<base64>`: the signature of one message with one secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let mut mac = HmacSha256::new_from_slice(&secret_key(secret)?).ok()?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated (during a
/// rotation the receiver may hold either secret).
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| sign(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `webhook-id` of an event: stable across retries and redeliveries, so receivers can
/// drop duplicates.
pub fn message_id(event_id: uuid::Uuid) -> String {
    format!("msg_{}", event_id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_reference_example_of_the_specification() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn generated_secrets_are_32_random_bytes_and_sign() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_"));
        assert_eq!(secret_key(&a).unwrap().len(), 32);
        assert!(sign(&a, "msg_1", 1, "{}").unwrap().starts_with("v1,"));
        assert_eq!(secret_key("whsec_"), None);
        assert_eq!(secret_key("not-a-secret"), None);
        let header = signature_header(&[&a, &b], "msg_1", 1, "{}");
        assert_eq!(header.split(' ').count(), 2);
    }
}
