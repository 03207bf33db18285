//! An e-mail ready to send: what the web renders and the workers deliver.
//!
//! The web renders every part (in the recipient's language) and enqueues a
//! [`SEND_MAIL_JOB`] job whose payload is an [`OutgoingMail`]; the workers only
//! wrap it in MIME and hand it to the SMTP server, so they need no templates.
//! The two crates never depend on each other: this type is their contract.

use serde::{Deserialize, Serialize};

/// The job kind that delivers one [`OutgoingMail`].
pub const SEND_MAIL_JOB: &str = "mail.send";

/// A fully rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// One recipient address (`ana@example.org`).
    pub to: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, an alternative to the text.
    pub html: String,
    /// Random and unique per message, the same on every attempt: the workers
    /// build the `Message-ID` header from it, and it is the job's unique key,
    /// so a retried delivery carries the same id and mail clients can tell
    /// a duplicate from a new message.
    pub idempotency_key: String,
}

impl OutgoingMail {
    /// Whether `key` may be an idempotency key: 16 to 128 of `A-Z a-z 0-9 - _`,
    /// so it is safe inside a `Message-ID` header.
    pub fn is_valid_key(key: &str) -> bool {
        (16..=128).contains(&key.len())
            && key
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_header_safe() {
        assert!(OutgoingMail::is_valid_key("abcdefghijklmnop"));
        assert!(OutgoingMail::is_valid_key(&"a-_9".repeat(32)));
        for bad in [
            "short",
            "abcdefghijklmno>",
            "abcdefghijklmnop@x",
            "abcdefgh ijklmnop",
        ] {
            assert!(!OutgoingMail::is_valid_key(bad), "{bad}");
        }
        assert!(!OutgoingMail::is_valid_key(&"a".repeat(129)));
    }
}
