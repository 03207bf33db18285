//! `mail.send`: delivers one e-mail that the web rendered, through SMTP.
//!
//! ```text
//!  web: render (recipient's language) ─▶ jobs.enqueue(mail.send, OutgoingMail, unique key)
//!  worker: OutgoingMail ─▶ MIME (multipart/alternative: text + HTML, UTF-8 headers,
//!          Message-ID from the idempotency key) ─▶ SMTP (plain, STARTTLS or TLS)
//!              ├─ 250 ─────────────────────────────▶ succeeded
//!              ├─ 4xx, connection or TLS failure ──▶ retried with backoff
//!              └─ 5xx (permanent refusal) ─────────▶ dead, with the server's reply as the reason
//! ```
//!
//! SMTP has no way to ask "did you get this already?", so a crash between the
//! server's 250 and recording the job's success sends the message twice; both
//! copies carry the same `Message-ID`, which is what mail clients deduplicate on.

use std::net::IpAddr;
use std::time::Duration;

use atalaya_domain::mail::{OutgoingMail, SEND_MAIL_JOB};
use atalaya_store::Job;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::{BoxFuture, JobError, JobHandler, Runner};

/// How long one SMTP command may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: no encryption (a relay on this machine or a test sink).
    Plain,
    /// `smtp+starttls://`: upgraded with STARTTLS, which must succeed.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// Where and how to reach the SMTP server, parsed from `mail.smtp_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, percent-decoded from the URL.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|(user, _)| format!("{user}:[redacted]")),
            )
            .finish()
    }
}

/// A mail setting that cannot work, named for what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailConfigError {
    #[error("mail.smtp_url is not a URL: {0}")]
    InvalidUrl(String),
    #[error(
        "mail.smtp_url scheme {0:?} is not supported: use smtp://, smtp+starttls:// or smtps://"
    )]
    UnsupportedScheme(String),
    #[error("mail.smtp_url has no host")]
    MissingHost,
    #[error("mail.smtp_url must not have a path, query or fragment")]
    UnexpectedParts,
    #[error(
        "mail.smtp_url has credentials but smtp:// would send them unencrypted to {0}: \
         use smtps:// or smtp+starttls://"
    )]
    CredentialsInClear(String),
    #[error("mail.from {0:?} is not an address like \"Atalaya <atalaya@example.org>\"")]
    InvalidFrom(String),
    #[error("the TLS settings for {host} could not be built: {message}")]
    Tls { host: String, message: String },
}

impl SmtpSettings {
    /// Parses `smtp://host[:25]`, `smtp+starttls://user:password@host[:587]` or
    /// `smtps://user:password@host[:465]`. Credentials are refused over plain
    /// `smtp://` unless the server is on this machine.
    pub fn from_url(text: &str) -> Result<SmtpSettings, MailConfigError> {
        let url = url::Url::parse(text.trim())
            .map_err(|error| MailConfigError::InvalidUrl(error.to_string()))?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (SmtpSecurity::Plain, 25),
            "smtp+starttls" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            other => return Err(MailConfigError::UnsupportedScheme(other.to_owned())),
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or(MailConfigError::MissingHost)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(MailConfigError::UnexpectedParts);
        }
        let credentials = if url.username().is_empty() {
            None
        } else {
            let decode = |part: &str| {
                url::form_urlencoded::parse(format!("x={}", part.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            Some((
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            ))
        };
        if credentials.is_some() && security == SmtpSecurity::Plain && !is_loopback(&host) {
            return Err(MailConfigError::CredentialsInClear(host));
        }
        Ok(SmtpSettings {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Parses `mail.from`: `atalaya@example.org` or `Atalaya <atalaya@example.org>`.
pub fn parse_from(text: &str) -> Result<Mailbox, MailConfigError> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|_| MailConfigError::InvalidFrom(text.to_owned()))
}

/// Sends rendered messages through one SMTP server. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Why one delivery failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The message cannot be built (a malformed recipient, say) or the server
    /// refused it with a 5xx reply: sending it again would fail again.
    #[error("{0}")]
    Permanent(String),
    /// A 4xx reply, a refused connection, a timeout, a TLS failure.
    #[error("{0}")]
    Transient(String),
}

impl From<SendError> for JobError {
    fn from(error: SendError) -> JobError {
        match error {
            SendError::Permanent(message) => JobError::Permanent(message),
            SendError::Transient(message) => JobError::Retry(message),
        }
    }
}

impl Mailer {
    pub fn new(smtp: &SmtpSettings, from: Mailbox) -> Result<Mailer, MailConfigError> {
        let tls_parameters = || {
            TlsParameters::new(smtp.host.clone()).map_err(|error| MailConfigError::Tls {
                host: smtp.host.clone(),
                message: error.to_string(),
            })
        };
        let tls = match smtp.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// The MIME message for `mail`: From, To, Subject (UTF-8 encoded as the
    /// standard says), Date, a `Message-ID` of `<key@from-domain>`, and a
    /// multipart/alternative body with the text first and the HTML second.
    pub fn message(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        if !OutgoingMail::is_valid_key(&mail.idempotency_key) {
            return Err(SendError::Permanent(format!(
                "the message's idempotency key {:?} is not 16-128 of A-Z a-z 0-9 - _",
                mail.idempotency_key
            )));
        }
        let to: Mailbox = mail.to.trim().parse().map_err(|error| {
            SendError::Permanent(format!("recipient {:?} is not valid: {error}", mail.to))
        })?;
        let message_id = format!("<{}@{}>", mail.idempotency_key, self.from.email.domain());
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(message_id))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|error| SendError::Permanent(format!("the message cannot be built: {error}")))
    }

    /// Delivers `mail` once.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(format!(
                "the SMTP server refused the message for good: {error}"
            ))),
            Err(error) => Err(SendError::Transient(format!(
                "the message could not be handed to the SMTP server: {error}"
            ))),
        }
    }
}

/// The `mail.send` job handler.
#[derive(Debug, Clone)]
pub struct SendMail {
    mailer: Mailer,
}

impl SendMail {
    pub fn new(mailer: Mailer) -> SendMail {
        SendMail { mailer }
    }
}

impl JobHandler for SendMail {
    fn kind(&self) -> &'static str {
        SEND_MAIL_JOB
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let mailer = self.mailer.clone();
        Box::pin(async move {
            let mail = OutgoingMail::deserialize(&job.payload).map_err(|error| {
                JobError::permanent(format!("malformed mail.send payload: {error}"))
            })?;
            mailer.send(&mail).await?;
            tracing::info!(job = %job.id, key = %mail.idempotency_key, "e-mail handed to the SMTP server");
            Ok(())
        })
    }
}

/// Registers `mail.send` on `runner`, delivering through `mailer`.
pub fn register(runner: Runner, mailer: Mailer) -> Runner {
    runner.register(SendMail::new(mailer))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Host, port, security and credentials, or a fragment of the error.
    type Expected<'a> = Result<(&'a str, u16, SmtpSecurity, Option<(&'a str, &'a str)>), &'a str>;

    fn check(url: &str, expected: Expected<'_>) {
        let parsed = SmtpSettings::from_url(url);
        match (parsed, expected) {
            (Ok(settings), Ok((host, port, security, credentials))) => {
                assert_eq!(settings.host, host, "{url}");
                assert_eq!(settings.port, port, "{url}");
                assert_eq!(settings.security, security, "{url}");
                assert_eq!(
                    settings
                        .credentials
                        .as_ref()
                        .map(|(user, password)| (user.as_str(), password.as_str())),
                    credentials,
                    "{url}"
                );
            }
            (Err(error), Err(fragment)) => {
                assert!(error.to_string().contains(fragment), "{url}: {error}");
            }
            (parsed, expected) => panic!("{url}: got {parsed:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn smtp_urls() {
        use SmtpSecurity::{Plain, StartTls, Tls};
        check(
            "smtp://127.0.0.1:2525",
            Ok(("127.0.0.1", 2525, Plain, None)),
        );
        check(
            "smtp://mail.example.org",
            Ok(("mail.example.org", 25, Plain, None)),
        );
        check(
            "smtp+starttls://ana:s%3Acret%40x@mail.example.org",
            Ok(("mail.example.org", 587, StartTls, Some(("ana", "s:cret@x")))),
        );
        check(
            "smtps://ana%40example.org:p+w@mail.example.org:2465",
            Ok((
                "mail.example.org",
                2465,
                Tls,
                Some(("ana@example.org", "p+w")),
            )),
        );
        check(
            "smtp://relay:secret@localhost:25",
            Ok(("localhost", 25, Plain, Some(("relay", "secret")))),
        );
        check("smtp://[::1]:2525", Ok(("::1", 2525, Plain, None)));
        check("smtp://ana:secret@mail.example.org", Err("unencrypted"));
        check("http://mail.example.org", Err("not supported"));
        check("smtps://mail.example.org/inbox", Err("path"));
        check("smtp://mail.example.org?tls=required", Err("query"));
        check("mail.example.org:25", Err("not supported"));
        check("not a url", Err("not a URL"));
    }

    #[test]
    fn passwords_are_redacted_in_debug() {
        let settings = SmtpSettings::from_url("smtps://ana:hunter22@mail.example.org").unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter22"), "{debug}");
        assert!(debug.contains("ana:[redacted]"), "{debug}");
    }

    #[test]
    fn from_addresses() {
        assert_eq!(
            parse_from("Atalaya <atalaya@example.org>")
                .unwrap()
                .email
                .to_string(),
            "atalaya@example.org"
        );
        assert!(parse_from("atalaya@example.org").is_ok());
        assert!(parse_from("atalaya").is_err());
    }

    fn mailer() -> Mailer {
        let smtp = SmtpSettings::from_url("smtp://127.0.0.1:1").unwrap();
        Mailer::new(&smtp, parse_from("Atalaya <atalaya@example.org>").unwrap()).unwrap()
    }

    fn mail(to: &str, key: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.to_owned(),
            subject: String::from("Invitación"),
            text: String::from("hola"),
            html: String::from("<p>hola</p>"),
            idempotency_key: key.to_owned(),
        }
    }

    #[test]
    fn malformed_messages_are_permanent_failures() {
        let mailer = mailer();
        for bad in [
            mail("not an address", "abcdefghijklmnop"),
            mail(
                "ana@example.org\r\nBcc: eve@example.org",
                "abcdefghijklmnop",
            ),
            mail("ana@example.org", "short"),
            mail("ana@example.org", "abcdefghijklmnop>\r\nBcc: x"),
        ] {
            assert!(
                matches!(mailer.message(&bad), Err(SendError::Permanent(_))),
                "{bad:?}"
            );
        }
        let formatted = String::from_utf8(
            mailer
                .message(&mail("ana@example.org", "abcdefghijklmnop"))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            formatted.contains("Message-ID: <abcdefghijklmnop@example.org>\r\n"),
            "{formatted}"
        );
    }
}
