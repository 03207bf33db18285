//! `mail.send` against a real SMTP server: the sink started by
//! `scripts/peers/smtp.sh` (aiosmtpd), which stores each message byte for byte
//! in a Maildir. Tests read the Maildir and check what went over the wire:
//! well-formed lines, the headers, the UTF-8 subject, the multipart body. Like
//! the other peers, a missing sink fails these tests rather than skipping them.

use std::path::PathBuf;
use std::time::Duration;

use atalaya_domain::Timestamp;
use atalaya_domain::mail::{OutgoingMail, SEND_MAIL_JOB};
use atalaya_store::{Job, JobStatus, NewJob, Store};
use atalaya_workers::mail::{Mailer, SendMail, SmtpSettings, parse_from};
use atalaya_workers::{Backoff, JobError, JobHandler, Runner, RunnerConfig};
use base64::Engine;
use tokio_util::sync::CancellationToken;

on_both_backends!(
    a_message_reaches_the_server_well_formed,
    a_permanent_refusal_ends_as_a_dead_job_with_the_reason,
);

const URL_VAR: &str = "ATALAYA_TEST_SMTP_URL";
const MAILDIR_VAR: &str = "ATALAYA_TEST_SMTP_MAILDIR";

fn sink_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the SMTP sink with `scripts/peers/smtp.sh start` and \
             `eval \"$(scripts/peers/smtp.sh env)\"` (scripts/test.sh does it)"
        )
    })
}

fn mailer_for(url: &str) -> Mailer {
    let smtp = SmtpSettings::from_url(url).unwrap();
    Mailer::new(
        &smtp,
        parse_from("Atalaya Café <atalaya@example.org>").unwrap(),
    )
    .unwrap()
}

fn sink_mailer() -> Mailer {
    mailer_for(&sink_var(URL_VAR))
}

fn key(prefix: &str) -> String {
    let word = atalaya_connectors::testing::unique_word(prefix);
    format!("{word}-key-0123456789")
}

fn invitation_mail(to: &str, key: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: String::from("Invitación a «Café Aurora» en Atalaya: únete ya"),
        text: String::from(
            "Hola:\n\nAlicia te invita a Café Aurora como Gestor/a.\n\
             Acepta aquí: https://atalaya.example.org/invite/abc\n\n\
             Una línea muy larga para que el codificador tenga que partirla: \
             ñandú, pingüino, acción, corazón, camión, murciélago, árbol, Ávila, Óscar.\n",
        ),
        html: String::from(
            "<p>Hola:</p><p>Alicia te invita a <strong>Café Aurora</strong>.</p>\
             <p><a href=\"https://atalaya.example.org/invite/abc\">Aceptar la invitación</a></p>",
        ),
        idempotency_key: key.to_owned(),
    }
}

/// Every stored message whose envelope recipient is `to`, raw.
fn messages_to(to: &str) -> Vec<Vec<u8>> {
    let new = PathBuf::from(sink_var(MAILDIR_VAR)).join("new");
    let marker = format!("X-Sink-Rcpt-To: {to}\r\n");
    std::fs::read_dir(&new)
        .unwrap_or_else(|error| panic!("reading {}: {error}", new.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .filter(|raw| raw.starts_with(marker.as_bytes()))
        .collect()
}

/// Headers (unfolded, name lower-cased) and body of a raw message.
fn split_message(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("a blank line after the headers");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a continuation after a header");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    let found: Vec<&str> = headers
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(found.len(), 1, "exactly one {name} header in {headers:?}");
    found[0]
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`);
/// whitespace between two encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            let (before, from_word) = rest.split_at(start);
            let parts: Vec<&str> = from_word[2..].splitn(3, '?').collect();
            let end = parts.get(2).and_then(|text| text.find("?="));
            if let (Some(end), [charset, encoding, text]) = (end, parts.as_slice()) {
                assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                let encoded = &text[..end];
                let bytes = match encoding.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap(),
                    "q" => decode_quoted_printable(&encoded.replace('_', " ")),
                    other => panic!("unknown encoding {other}"),
                };
                out.push_str(&String::from_utf8(bytes).unwrap());
                rest = &text[end + 2..];
                last_was_word = true;
                continue;
            }
        }
        out.push_str(rest);
        break;
    }
    out
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'=' {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    out
}

/// The parameter `name` of a `Content-Type` value.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|pair| {
        let (key, found) = pair.trim().split_once('=')?;
        key.eq_ignore_ascii_case(name)
            .then(|| found.trim_matches('"').to_owned())
    })
}

/// The parts of a multipart body: each part's content type and decoded text.
fn parts(content_type: &str, body: &str) -> Vec<(String, String)> {
    let boundary = parameter(content_type, "boundary").expect("a boundary");
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    assert!(body.contains(&closing), "the multipart body is closed");
    body.split(&delimiter)
        .skip(1)
        .filter(|chunk| !chunk.starts_with("--"))
        .map(|chunk| {
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            let (headers, content) = split_message(chunk);
            let content = content.strip_suffix("\r\n").unwrap_or(&content).to_owned();
            let encoding = headers
                .iter()
                .find(|(key, _)| key == "content-transfer-encoding")
                .map_or("7bit", |(_, value)| value.as_str())
                .to_ascii_lowercase();
            let bytes = match encoding.as_str() {
                "quoted-printable" => decode_quoted_printable(&content),
                "base64" => base64::engine::general_purpose::STANDARD
                    .decode(content.replace("\r\n", ""))
                    .unwrap(),
                "7bit" | "8bit" => content.into_bytes(),
                other => panic!("unexpected transfer encoding {other}"),
            };
            let text = String::from_utf8(bytes).unwrap().replace("\r\n", "\n");
            (header(&headers, "content-type").to_owned(), text)
        })
        .collect()
}

async fn enqueue(store: &Store, mail: &OutgoingMail, max_attempts: i32) -> atalaya_domain::JobId {
    store
        .jobs()
        .enqueue(
            NewJob {
                kind: SEND_MAIL_JOB,
                payload: serde_json::to_value(mail).unwrap(),
                run_after: Timestamp(0),
                unique_key: Some(&mail.idempotency_key),
                max_attempts,
            },
            Timestamp::now(),
        )
        .await
        .unwrap()
        .unwrap()
}

/// Runs every queued mail job to an outcome, as `atalaya serve` would.
async fn run_until_idle(store: &Store, mailer: Mailer) {
    let config = RunnerConfig {
        poll_interval: Duration::from_millis(20),
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(10),
        },
        exit_when_idle: true,
        ..RunnerConfig::new("mail-test")
    };
    Runner::new(store.clone(), config)
        .register(SendMail::new(mailer))
        .run(CancellationToken::new())
        .await;
}

async fn a_message_reaches_the_server_well_formed(store: Store) {
    let key = key("ana");
    let to = format!("{}@example.org", key.to_lowercase());
    let mail = invitation_mail(&to, &key);
    let id = enqueue(&store, &mail, 5).await;
    run_until_idle(&store, sink_mailer()).await;
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.last_error);

    let stored = messages_to(&to);
    assert_eq!(stored.len(), 1, "one message for {to}");
    let raw = String::from_utf8(stored[0].clone()).expect("the message is UTF-8 safe");
    // Well-formed (RFC 5322): CRLF line ends only, lines within 998 octets,
    // headers in ASCII (anything else must be an encoded word).
    assert!(
        !raw.replace("\r\n", "").contains(['\r', '\n']),
        "bare CR or LF"
    );
    assert!(raw.split("\r\n").all(|line| line.len() <= 998));
    let (headers, body) = split_message(&raw);
    for (name, value) in &headers {
        assert!(value.is_ascii() && name.is_ascii(), "{name}: {value}");
    }
    assert_eq!(
        decode_words(header(&headers, "subject")),
        "Invitación a «Café Aurora» en Atalaya: únete ya"
    );
    assert_eq!(decode_words(header(&headers, "to")), to);
    let from = decode_words(header(&headers, "from"));
    assert!(
        from.contains("Atalaya Café") && from.contains("<atalaya@example.org>"),
        "{from}"
    );
    assert_eq!(
        header(&headers, "message-id"),
        format!("<{key}@example.org>")
    );
    assert_eq!(header(&headers, "mime-version"), "1.0");
    let date = header(&headers, "date");
    assert!(
        date.contains(" +0000") || date.contains(" -0000") || date.contains("GMT"),
        "{date}"
    );
    let content_type = header(&headers, "content-type");
    assert!(
        content_type.starts_with("multipart/alternative;"),
        "{content_type}"
    );
    let parts = parts(content_type, &body);
    assert_eq!(parts.len(), 2, "{parts:?}");
    let (text_type, text) = &parts[0];
    let (html_type, html) = &parts[1];
    // The plain text comes first: clients show the last part they understand.
    assert!(
        text_type.starts_with("text/plain") && text_type.to_lowercase().contains("utf-8"),
        "{text_type}"
    );
    assert!(
        html_type.starts_with("text/html") && html_type.to_lowercase().contains("utf-8"),
        "{html_type}"
    );
    assert_eq!(text, &mail.text);
    assert_eq!(html, &mail.html);
}

async fn a_permanent_refusal_ends_as_a_dead_job_with_the_reason(store: Store) {
    let key = key("reject");
    let to = format!("{}@example.org", key.to_lowercase());
    let id = enqueue(&store, &invitation_mail(&to, &key), 5).await;
    run_until_idle(&store, sink_mailer()).await;
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(job.attempts, 1, "a 5xx is not retried");
    let reason = job.last_error.unwrap_or_default();
    assert!(
        reason.contains("refused the message for good") && reason.contains("550"),
        "{reason}"
    );
    assert!(messages_to(&to).is_empty());
}

fn job_for(mail: &OutgoingMail) -> Job {
    Job {
        id: atalaya_domain::JobId(1),
        kind: SEND_MAIL_JOB.to_owned(),
        payload: serde_json::to_value(mail).unwrap(),
        status: JobStatus::Running,
        attempts: 1,
        max_attempts: 5,
        run_after: Timestamp(0),
        lease_owner: None,
        lease_expires_at: None,
        last_error: None,
        unique_key: None,
        created_at: Timestamp(0),
        finished_at: None,
    }
}

#[tokio::test]
async fn a_temporary_refusal_is_retried() {
    let key = key("tempfail");
    let to = format!("{}@example.org", key.to_lowercase());
    let outcome = SendMail::new(sink_mailer())
        .run(job_for(&invitation_mail(&to, &key)))
        .await;
    match outcome {
        Err(JobError::Retry(reason)) => assert!(reason.contains("451"), "{reason}"),
        other => panic!("expected a retry, got {other:?}"),
    }
    assert!(messages_to(&to).is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_retried() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = mailer_for(&format!("smtp://127.0.0.1:{port}"));
    let key = key("ana");
    let outcome = SendMail::new(mailer)
        .run(job_for(&invitation_mail("ana@example.org", &key)))
        .await;
    assert!(matches!(outcome, Err(JobError::Retry(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_malformed_payload_is_a_permanent_failure() {
    let mut job = job_for(&invitation_mail("ana@example.org", &key("ana")));
    job.payload = serde_json::json!({ "to": "ana@example.org" });
    let outcome = SendMail::new(sink_mailer()).run(job).await;
    assert!(
        matches!(outcome, Err(JobError::Permanent(_))),
        "{outcome:?}"
    );
}
