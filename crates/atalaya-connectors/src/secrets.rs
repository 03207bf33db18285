//! Source secrets (webhook keys, feed credentials, later network tokens) sealed
//! at rest with a key from the configuration.
//!
//! Format of a sealed value: `[version = 1][24-byte random nonce][ciphertext + 16-byte tag]`,
//! XChaCha20-Poly1305. The 24-byte nonce is large enough to pick at random for
//! every seal without counting; the version byte lets a later format (or a
//! key rotation scheme) coexist with stored values.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;

/// Why a key or a sealed value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secrets key must be 32 bytes, base64-encoded (e.g. the output of `openssl rand -base64 32`)"
    )]
    BadKey,
    #[error("sealed value is too short")]
    Truncated,
    #[error("sealed value has unknown format version {0}")]
    UnknownVersion(u8),
    /// Wrong key, or the stored value was altered.
    #[error("sealed value cannot be opened with this key (wrong key or altered data)")]
    Undecryptable,
    #[error("value too large to seal")]
    TooLarge,
}

/// Seals and opens secrets with one 32-byte key. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// From the configuration's base64 key (standard or URL-safe alphabet, padding optional).
    pub fn from_base64(encoded: &str) -> Result<SecretBox, SecretError> {
        let encoded = encoded.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(SecretBox::from_key(&key))
    }

    /// Encrypts with a fresh random nonce: sealing the same secret twice gives different bytes.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext)
            .map_err(|_| SecretError::TooLarge)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        let (&version, rest) = sealed.split_first().ok_or(SecretError::Truncated)?;
        if version != VERSION {
            return Err(SecretError::UnknownVersion(version));
        }
        if rest.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SecretError::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SecretError::Truncated)?;
        self.cipher
            .decrypt(&XNonce::from(nonce), ciphertext)
            .map_err(|_| SecretError::Undecryptable)
    }
}

/// A new random key.
pub fn generate_key() -> [u8; 32] {
    let mut key = [0_u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

/// A new random key, base64-encoded for the configuration file.
pub fn generate_key_base64() -> String {
    base64::engine::general_purpose::STANDARD.encode(generate_key())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let secret_box = SecretBox::from_key(&generate_key());
        let sealed = secret_box.seal(b"webhook key").unwrap();
        assert_eq!(secret_box.open(&sealed).unwrap(), b"webhook key");
        assert_ne!(
            sealed,
            secret_box.seal(b"webhook key").unwrap(),
            "nonces are random"
        );
        assert_eq!(sealed.len(), 1 + 24 + 11 + 16);

        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            secret_box.open(&altered).unwrap_err(),
            SecretError::Undecryptable
        );
        let other = SecretBox::from_key(&generate_key());
        assert_eq!(other.open(&sealed).unwrap_err(), SecretError::Undecryptable);
        let mut wrong_version = sealed.clone();
        wrong_version[0] = 9;
        assert_eq!(
            secret_box.open(&wrong_version).unwrap_err(),
            SecretError::UnknownVersion(9)
        );
        assert_eq!(
            secret_box.open(&sealed[..20]).unwrap_err(),
            SecretError::Truncated
        );
        assert_eq!(secret_box.open(&[]).unwrap_err(), SecretError::Truncated);
    }

    #[test]
    fn keys_from_config() {
        let encoded = generate_key_base64();
        let from_config = SecretBox::from_base64(&encoded).unwrap();
        let sealed = from_config.seal(b"x").unwrap();
        assert_eq!(
            SecretBox::from_base64(&format!(" {encoded}\n"))
                .unwrap()
                .open(&sealed)
                .unwrap(),
            b"x"
        );
        assert_eq!(
            SecretBox::from_base64("c2hvcnQ=").unwrap_err(),
            SecretError::BadKey
        );
        assert_eq!(
            SecretBox::from_base64("not base64 at all!").unwrap_err(),
            SecretError::BadKey
        );
        assert_eq!(format!("{from_config:?}"), "SecretBox(<redacted>)");
    }
}
