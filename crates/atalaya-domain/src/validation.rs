//! Validation of user-supplied values, shared by the CLI, the web forms and the API.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is too long (at most {max} characters)")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is too short (at least {min} characters)")]
    TooShort { field: &'static str, min: usize },
    #[error("{field} may only contain {allowed}")]
    InvalidCharacters {
        field: &'static str,
        allowed: &'static str,
    },
    #[error("{field} is not a valid email address")]
    InvalidEmail { field: &'static str },
}

impl ValidationError {
    /// The field the error is about, for forms that highlight it.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::Empty { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::TooShort { field, .. }
            | ValidationError::InvalidCharacters { field, .. }
            | ValidationError::InvalidEmail { field } => field,
        }
    }
}

fn check_length(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    let length = value.chars().count();
    if length == 0 {
        return Err(ValidationError::Empty { field });
    }
    if length < min {
        return Err(ValidationError::TooShort { field, min });
    }
    if length > max {
        return Err(ValidationError::TooLong { field, max });
    }
    Ok(())
}

/// Usernames: 2–40 of `a-z 0-9 . _ -`, lower case (sign-in is case-insensitive).
pub fn validate_username(value: &str) -> Result<String, ValidationError> {
    let value = value.trim().to_lowercase();
    check_length("username", &value, 2, 40)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ValidationError::InvalidCharacters {
            field: "username",
            allowed: "letters a-z, digits, '.', '_' and '-'",
        });
    }
    Ok(value)
}

/// Workspace slugs appear in URLs: 2–40 of `a-z 0-9 -`, not starting or ending with `-`.
pub fn validate_slug(value: &str) -> Result<String, ValidationError> {
    let value = value.trim().to_lowercase();
    check_length("slug", &value, 2, 40)?;
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !allowed || value.starts_with('-') || value.ends_with('-') {
        return Err(ValidationError::InvalidCharacters {
            field: "slug",
            allowed: "letters a-z, digits and inner '-'",
        });
    }
    Ok(value)
}

/// A deliberately permissive email check: one `@`, something on each side, a dot
/// in the domain, no whitespace. Delivery is the real test.
pub fn validate_email(value: &str) -> Result<String, ValidationError> {
    let value = value.trim().to_owned();
    check_length("email", &value, 3, 254)?;
    let mut parts = value.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ValidationError::InvalidEmail { field: "email" });
    };
    let domain_ok = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
    if local.is_empty() || !domain_ok || value.chars().any(char::is_whitespace) {
        return Err(ValidationError::InvalidEmail { field: "email" });
    }
    Ok(value)
}

/// Display names: 1–80 characters, no control characters.
pub fn validate_display_name(value: &str) -> Result<String, ValidationError> {
    let value = value.trim().to_owned();
    check_length("display_name", &value, 1, 80)?;
    if value.chars().any(char::is_control) {
        return Err(ValidationError::InvalidCharacters {
            field: "display_name",
            allowed: "printable characters",
        });
    }
    Ok(value)
}

/// Passwords: at least 10 characters (NIST SP 800-63B favours length over rules),
/// at most 1024 so that hashing cannot be used to exhaust the server.
pub fn validate_password(value: &str) -> Result<(), ValidationError> {
    check_length("password", value, 10, 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(validate_username(" Ana.Lopez "), Ok("ana.lopez".to_owned()));
        assert!(matches!(
            validate_username("a"),
            Err(ValidationError::TooShort { .. })
        ));
        assert!(matches!(
            validate_username("ana lopez"),
            Err(ValidationError::InvalidCharacters { .. })
        ));
        assert!(matches!(
            validate_username(""),
            Err(ValidationError::Empty { .. })
        ));
    }

    #[test]
    fn slugs() {
        assert_eq!(validate_slug("Cafe-Aurora"), Ok("cafe-aurora".to_owned()));
        assert!(validate_slug("-cafe").is_err());
        assert!(validate_slug("café").is_err());
    }

    #[test]
    fn emails() {
        assert!(validate_email("ana@example.org").is_ok());
        for bad in [
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a b@example.org",
            "a@b@c.org",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pass").is_ok());
        assert!(validate_password(&"x".repeat(2000)).is_err());
    }
}
