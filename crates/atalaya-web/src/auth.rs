//! Secrets: password hashing, session and API tokens, and the SHA-256 digests we
//! store instead of the tokens themselves.
//!
//! Passwords use argon2id with OWASP's recommended minimum parameters (19 MiB,
//! two passes, one lane). Session and API tokens are 32 random bytes; the
//! database only ever sees `sha256(token)` in hex, so a leaked database cannot be
//! replayed as a credential. The binary's `atalaya user add|passwd` calls
//! [`hash_password`] so that the CLI and the web agree on the format.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every personal API token starts with this, so that secret scanners and
/// people recognise one when it leaks into a log or a repository.
pub const API_TOKEN_PREFIX: &str = "atl_";

/// Hashing could not run (never because the password is wrong).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|error| PasswordError::Hashing(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a fresh random salt into a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(|error| PasswordError::Hashing(error.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`. A malformed stored hash
/// counts as a mismatch (and is logged), so that a corrupt row locks the account
/// instead of opening it.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(argon) = hasher() else {
        return false;
    };
    match argon.verify_password(password.as_bytes(), hash) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(error) => {
            tracing::warn!(%error, "stored password hash could not be checked");
            false
        }
    }
}

/// A hash that verifies nothing, used to spend the same time on an unknown
/// username as on a known one (so response times do not reveal accounts).
pub fn dummy_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("atalaya timing equaliser").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// 32 random bytes as unpadded base64url (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new personal API token: the prefix followed by 32 random bytes.
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_token())
}

/// What the store keeps for a token: its SHA-256 in lower-case hex.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn secrets_match(expected: &str, provided: &str) -> bool {
    use subtle::ConstantTimeEq;
    expected.len() == provided.len() && bool::from(expected.as_bytes().ct_eq(provided.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a phc string"));
        // Two hashes of the same password differ: the salt is random.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn tokens_are_prefixed_random_and_stored_as_sha256_hex() {
        let token = new_api_token();
        assert!(token.starts_with("atl_"));
        assert_eq!(token.len(), 4 + 43);
        assert_ne!(token, new_api_token());
        let digest = token_digest(&token);
        assert_eq!(digest.len(), 64);
        assert!(
            digest
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "ab"));
    }
}
