//! Configuration: defaults, then a TOML file, then `ATALAYA__…` environment
//! variables, then command-line flags. Loaded and validated once, in the binary;
//! each part of the program receives only the settings it needs.
//!
//! Unknown keys are errors (a misspelt key silently ignored is a production
//! incident waiting to happen), and secrets never appear in `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use std::str::FromStr;

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use serde::Deserialize;

/// The environment prefix; nested keys are separated by a double underscore,
/// e.g. `ATALAYA__SERVER__BIND=0.0.0.0:8080`.
pub const ENV_PREFIX: &str = "ATALAYA__";

/// A string that must never be printed: passwords in URLs, keys.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    /// Unset: `sqlite://{data_dir}/atalaya.db`.
    pub database_url: Option<Secret>,
    /// Where the embedded database and other local state live; created on first run.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub security: SecurityConfig,
    pub workers: WorkersConfig,
    pub sources: SourcesConfig,
    pub listening: ListeningConfig,
    pub mail: MailConfig,
    pub workspaces: WorkspacesConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://HOST[:25]`, `smtp+starttls://USER:PASSWORD@HOST[:587]` or
    /// `smtps://USER:PASSWORD@HOST[:465]`. Unset: no e-mail is sent.
    pub smtp_url: Option<Secret>,
    /// The sender, e.g. `Atalaya <atalaya@example.org>`; required with `smtp_url`.
    pub from: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspacesConfig {
    /// Whether every signed-in user may create workspaces; instance
    /// administrators always may.
    pub anyone_can_create: bool,
    pub invitation_ttl_days: u32,
    pub max_pending_invitations: u32,
    pub max_invitations_per_day: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListeningConfig {
    /// How many days back a new topic (or one given a new query, or switched
    /// back on) re-matches the stored mentions, in a background job.
    pub backfill_days: u32,
}

impl Default for ListeningConfig {
    fn default() -> Self {
        ListeningConfig {
            backfill_days: atalaya_web::listening::DEFAULT_BACKFILL_DAYS,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    /// Addresses (CIDRs or host names) that feeds may resolve to although they
    /// are loopback, private or link-local. Empty: such feeds are refused.
    pub allow_private: Vec<String>,
    /// Largest feed or webhook body accepted, after decompression.
    pub max_body_bytes: u64,
    /// Whole-request time limit for fetching a feed.
    pub fetch_timeout_secs: u64,
    /// Largest CSV/JSONL file accepted by the import page.
    pub max_upload_bytes: u64,
    /// How often the workers look for sources whose next poll is due (each
    /// source keeps its own interval; this only bounds how late a due poll starts).
    pub due_check_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    /// The address users reach Atalaya at, e.g. `https://atalaya.example.org`.
    pub public_url: Option<String>,
    /// Mark cookies `Secure`. Unset: true when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// After SIGTERM or Ctrl-C, how long in-flight requests and jobs may take
    /// before they are abandoned and the process exits anyway.
    pub shutdown_grace_secs: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `Forwarded` /
    /// `X-Forwarded-For` names the client. None by default.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Base64 of 32 random bytes; encrypts source secrets (webhook keys, feed
    /// passwords) at rest. Unset with SQLite: generated once into
    /// `{data_dir}/secret.key`. Required with PostgreSQL, where every process
    /// must share it.
    pub secret_key: Option<Secret>,
    pub session_ttl_hours: u32,
    pub login_max_failures: u32,
    pub login_window_minutes: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkersConfig {
    /// Run background jobs in this process. Several processes may share one
    /// PostgreSQL database; each claims jobs safely.
    pub enabled: bool,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub shutdown_timeout_secs: u64,
    /// How long a claimed job stays claimed without a heartbeat: after a crash,
    /// its jobs are taken up again by any process once this has passed.
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `atalaya=debug,sqlx=warn`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            security: SecurityConfig::default(),
            workers: WorkersConfig::default(),
            sources: SourcesConfig::default(),
            listening: ListeningConfig::default(),
            mail: MailConfig::default(),
            workspaces: WorkspacesConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".to_owned(),
            public_url: None,
            secure_cookies: None,
            shutdown_grace_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            allow_private: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            fetch_timeout_secs: 60,
            max_upload_bytes: 50 * 1024 * 1024,
            due_check_secs: 60,
        }
    }
}

impl Default for WorkspacesConfig {
    fn default() -> Self {
        WorkspacesConfig {
            anyone_can_create: false,
            invitation_ttl_days: 7,
            max_pending_invitations: 50,
            max_invitations_per_day: 100,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            secret_key: None,
            session_ttl_hours: 24 * 14,
            login_max_failures: 5,
            login_window_minutes: 15,
        }
    }
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            enabled: true,
            concurrency: 4,
            poll_interval_ms: 1000,
            shutdown_timeout_secs: 10,
            lease_secs: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info,sqlx=warn,tower_http=info".to_owned(),
            format: LogFormat::Pretty,
        }
    }
}

/// Where the configuration comes from, besides the environment.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// An explicit `--config FILE`: it must exist.
    pub file: Option<PathBuf>,
    /// `--database-url`, which beats every other source.
    pub database_url: Option<String>,
}

/// The default config file, read when present and no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "atalaya.toml";

impl Config {
    /// Loads defaults → TOML file → environment → flags, then validates.
    pub fn load(sources: &Sources) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Config::load_from(sources, &env)
    }

    /// [`Config::load`] with an explicit environment, so tests need not mutate
    /// the process's own.
    pub fn load_from(sources: &Sources, env: &[(String, String)]) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        match &sources.file {
            Some(path) => {
                if !path.is_file() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                if Path::new(DEFAULT_CONFIG_FILE).is_file() {
                    figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
                }
            }
        }
        // Environment variables are layered one by one (not through figment's
        // `Env`, which always reads the process environment) so that tests can
        // pass their own environment.
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            let value = Value::from_str(value).unwrap_or_else(|never| match never {});
            figment = figment.merge(Serialized::default(&key, value));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|error| anyhow::anyhow!(describe_figment_error(&error)))?;
        if let Some(url) = &sources.database_url {
            config.database_url = Some(Secret::new(url.clone()));
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: addresses parse, numbers are in range, the
    /// database URL has a scheme we support.
    /// `server.trusted_proxies` as address ranges (a plain address is its own range).
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.server
            .trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "server.trusted_proxies: {entry:?} is neither an address nor a CIDR range"
                        )
                    })
            })
            .collect()
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.bind_addr()?;
        self.trusted_proxies()?;
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("server.public_url must start with http:// or https:// (got {url:?})");
        }
        if let Some(url) = &self.database_url {
            check_database_scheme(url.expose())?;
        }
        if self.security.session_ttl_hours == 0 {
            bail!("security.session_ttl_hours must be at least 1");
        }
        if self.security.login_max_failures == 0 || self.security.login_window_minutes == 0 {
            bail!(
                "security.login_max_failures and security.login_window_minutes must be at least 1"
            );
        }
        if !(1..=64).contains(&self.workers.concurrency) {
            bail!(
                "workers.concurrency must be between 1 and 64 (got {})",
                self.workers.concurrency
            );
        }
        if self.workers.lease_secs < 2 {
            bail!("workers.lease_secs must be at least 2");
        }
        if self.workers.poll_interval_ms < 50 {
            bail!("workers.poll_interval_ms must be at least 50");
        }
        self.configured_secret_box()?;
        self.allow_list()?;
        if !(1..=3_650).contains(&self.listening.backfill_days) {
            bail!(
                "listening.backfill_days must be between 1 and 3650 (got {})",
                self.listening.backfill_days
            );
        }
        if self.sources.due_check_secs == 0 {
            bail!("sources.due_check_secs must be at least 1");
        }
        if self.sources.max_body_bytes < 1024 || self.sources.fetch_timeout_secs == 0 {
            bail!(
                "sources.max_body_bytes must be at least 1024 and sources.fetch_timeout_secs at least 1"
            );
        }
        self.mailer()?;
        let workspaces = &self.workspaces;
        if !(1..=90).contains(&workspaces.invitation_ttl_days) {
            bail!("workspaces.invitation_ttl_days must be between 1 and 90");
        }
        if workspaces.max_pending_invitations == 0 || workspaces.max_invitations_per_day == 0 {
            bail!(
                "workspaces.max_pending_invitations and workspaces.max_invitations_per_day must be at least 1"
            );
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .with_context(|| format!("log.level {:?} is not a valid filter", self.log.level))?;
        Ok(())
    }

    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server.bind.parse().with_context(|| {
            format!(
                "server.bind {:?} is not an address like 127.0.0.1:8080",
                self.server.bind
            )
        })
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("atalaya.db").display()),
        }
    }

    /// Creates the data directory when the embedded database lives in it.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        let url = self.database_url();
        if let Some(path) = url.strip_prefix("sqlite://")
            && let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating data directory {}", parent.display()))?;
        }
        Ok(())
    }

    /// The configured `security.secret_key`, parsed; `None` when unset.
    fn configured_secret_box(&self) -> anyhow::Result<Option<atalaya_connectors::SecretBox>> {
        self.security
            .secret_key
            .as_ref()
            .map(|key| {
                atalaya_connectors::SecretBox::from_base64(key.expose())
                    .map_err(|error| anyhow::anyhow!("security.secret_key: {error}"))
            })
            .transpose()
    }

    fn allow_list(&self) -> anyhow::Result<atalaya_connectors::AllowList> {
        atalaya_connectors::AllowList::parse(&self.sources.allow_private)
            .map_err(|error| anyhow::anyhow!("sources.allow_private: {error}"))
    }

    /// The key that seals source secrets: configured, or (embedded SQLite
    /// only) generated once into the data directory.
    pub fn secret_box(&self) -> anyhow::Result<atalaya_connectors::SecretBox> {
        if let Some(secrets) = self.configured_secret_box()? {
            return Ok(secrets);
        }
        if !self.database_url().starts_with("sqlite://") {
            bail!(
                "security.secret_key is required with this database, so that every process shares it: \
                 set ATALAYA__SECURITY__SECRET_KEY to the output of `openssl rand -base64 32`"
            );
        }
        let path = self.data_dir.join("secret.key");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("creating data directory {}", self.data_dir.display()))?;
            write_private_file(
                &path,
                atalaya_connectors::secrets::generate_key_base64().as_bytes(),
            )?;
            tracing::info!(path = %path.display(), "generated the key that encrypts source secrets");
        }
        let encoded = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        atalaya_connectors::SecretBox::from_base64(encoded.trim())
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
    }

    /// The HTTP client settings for polling sources.
    pub fn http_client_config(&self) -> anyhow::Result<atalaya_connectors::SafeHttpConfig> {
        let allow_list = self.allow_list()?;
        Ok(atalaya_connectors::SafeHttpConfig {
            allow_list,
            max_body_bytes: self.sources.max_body_bytes,
            total_timeout: std::time::Duration::from_secs(self.sources.fetch_timeout_secs),
            ..atalaya_connectors::SafeHttpConfig::default()
        })
    }

    /// The SMTP sender for `mail.send` jobs; `None` when no e-mail is configured.
    pub fn mailer(&self) -> anyhow::Result<Option<atalaya_workers::mail::Mailer>> {
        use atalaya_workers::mail::{Mailer, SmtpSettings, parse_from};
        let Some(url) = &self.mail.smtp_url else {
            if self.mail.from.is_some() {
                bail!(
                    "mail.from is set but mail.smtp_url is not: set both to send e-mail, or neither"
                );
            }
            return Ok(None);
        };
        let smtp =
            SmtpSettings::from_url(url.expose()).map_err(|error| anyhow::anyhow!("{error}"))?;
        let from = self.mail.from.as_deref().context(
            "mail.from is required with mail.smtp_url, e.g. \"Atalaya <atalaya@example.org>\"",
        )?;
        let from = parse_from(from).map_err(|error| anyhow::anyhow!("{error}"))?;
        if self.server.public_url.is_none() {
            bail!(
                "mail.smtp_url needs server.public_url: the links in e-mails must point at the address people reach"
            );
        }
        let mailer = Mailer::new(&smtp, from).map_err(|error| anyhow::anyhow!("{error}"))?;
        Ok(Some(mailer))
    }

    /// The web's view of the `[workspaces]` and `[mail]` settings.
    pub fn invitation_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.workspaces.invitation_ttl_days) * 24 * 3600)
    }

    pub fn invitation_limits(&self) -> atalaya_store::InvitationLimits {
        atalaya_store::InvitationLimits {
            max_pending: i64::from(self.workspaces.max_pending_invitations),
            max_per_day: i64::from(self.workspaces.max_invitations_per_day),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.server.secure_cookies.unwrap_or_else(|| {
            self.server
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://"))
        })
    }
}

/// Writes a file only its owner can read.
fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn check_database_scheme(url: &str) -> anyhow::Result<()> {
    let supported = [
        "sqlite://",
        "sqlite::memory:",
        "postgres://",
        "postgresql://",
    ];
    if supported.iter().any(|prefix| url.starts_with(prefix)) {
        return Ok(());
    }
    bail!(
        "database_url {} is not supported: use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
        redact_url(url)
    )
}

/// Hides the password of a URL, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials
                .split_once(':')
                .map_or(credentials, |(user, _)| user);
            let hidden = if credentials.contains(':') {
                ":[redacted]"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

fn describe_figment_error(error: &figment::Error) -> String {
    let mut lines = Vec::new();
    for single in error.clone() {
        let key = single.path.join(".");
        let from = single
            .metadata
            .as_ref()
            .map(|metadata| metadata.name.to_string())
            .unwrap_or_else(|| "configuration".to_owned());
        let what = single.kind.to_string();
        if key.is_empty() {
            lines.push(format!("invalid configuration ({from}): {what}"));
        } else {
            lines.push(format!(
                "invalid configuration key `{key}` ({from}): {what}"
            ));
        }
    }
    lines.join("\n")
}

/// The commented example printed by `atalaya config example`.
pub const EXAMPLE: &str = r#"# Atalaya configuration. Every key is optional; shown are the defaults.
# Precedence: defaults < this file (atalaya.toml, or --config FILE) < environment
# variables ATALAYA__KEY (nested keys joined by a double underscore, e.g.
# ATALAYA__SERVER__BIND) < command-line flags. Unknown keys are errors.

# The database. Unset: an embedded SQLite file in data_dir.
#   database_url = "sqlite://data/atalaya.db"
#   database_url = "postgres://atalaya:PASSWORD@127.0.0.1:5432/atalaya"
# Directory for the embedded database; created on first run.
data_dir = "data"

[server]
# Address to listen on. Use 0.0.0.0:8080 behind a reverse proxy in a container.
bind = "127.0.0.1:8080"
# The public address users reach, e.g. "https://atalaya.example.org".
# public_url = "https://atalaya.example.org"
# Mark cookies Secure. Unset: true when public_url starts with https://.
# secure_cookies = true
# After SIGTERM or Ctrl-C: how long in-flight requests and jobs may take before
# they are abandoned (jobs go back to the queue) and the process exits anyway.
shutdown_grace_secs = 10
# Reverse proxies whose Forwarded / X-Forwarded-For header names the client's
# address (sign-in limits count per client). None by default: behind a proxy,
# list it, or every client looks like the proxy.
#   trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
trusted_proxies = []

[security]
# Base64 of 32 random bytes (`openssl rand -base64 32`) that encrypts source
# secrets (webhook keys, feed passwords) at rest. Unset with the embedded
# SQLite: generated once into data_dir/secret.key. Required with PostgreSQL,
# where every process must share it.
# secret_key = "…"
# How long a sign-in lasts.
session_ttl_hours = 336
# Failed sign-ins one username may have from one address within the window;
# after them every attempt from there waits 1 s, 2 s, 4 s... (never locked).
# From all addresses together, 4 times as many slow unknown devices down (a
# browser the user signed in from before is exempt), and from one address over
# all usernames, 20 times as many.
login_max_failures = 5
login_window_minutes = 15

[workers]
# Run background jobs (ingestion, analysis, maintenance) in this process.
# Several processes can share one PostgreSQL database safely.
enabled = true
concurrency = 4
poll_interval_ms = 1000
# On shutdown, how long running jobs may take to finish (at most
# server.shutdown_grace_secs); those still running then go back to the queue.
shutdown_timeout_secs = 10
# After a crash, a job's claim lapses after this long and another process
# (or the restarted one) runs it again.
lease_secs = 60

[sources]
# Feeds may not resolve to loopback, private or link-local addresses (or cloud
# metadata endpoints): a stranger's feed URL must not reach your network.
# List here the CIDRs or host names you trust anyway, e.g. ["10.0.0.0/8"].
allow_private = []
# Largest feed or webhook body accepted, after decompression (bytes).
max_body_bytes = 10485760
# Whole-request time limit for fetching a feed.
fetch_timeout_secs = 60
# Largest CSV/JSONL file accepted by the import page (bytes).
max_upload_bytes = 52428800
# How often the workers look for sources due for a poll (seconds). Each source
# keeps its own interval (15 minutes unless its settings say otherwise).
due_check_secs = 60

[listening]
# When a topic is created, its query changes or it is switched back on, the
# stored mentions of this many past days are matched against it again in the
# background, so its counts cover the past and not only what arrives later.
backfill_days = 90

[mail]
# Outgoing e-mail (invitations to workspaces) through an SMTP server. Unset:
# nothing is e-mailed, and admins get each invitation link to copy and send.
#   smtp_url = "smtp://127.0.0.1:25"                                  # a relay on this machine, unencrypted
#   smtp_url = "smtp+starttls://USER:PASSWORD@smtp.example.org:587"   # STARTTLS, required
#   smtp_url = "smtps://USER:PASSWORD@smtp.example.org:465"           # TLS from the start
# Percent-encode special characters in the user and password (@ is %40, : is %3A).
# Credentials are refused over smtp:// unless the server is on this machine.
# E-mail needs server.public_url: the links in messages point there.
# The sender; required with smtp_url.
#   from = "Atalaya <atalaya@example.org>"

[workspaces]
# Whether every signed-in user may create workspaces (and become their admin).
# Instance administrators always may. Off by default: people who joined through
# an invitation, a client with a read-only role say, cannot add workspaces.
anyone_can_create = false
# How long an invitation link stays valid (1-90 days); it works once.
invitation_ttl_days = 7
# Pending invitations a workspace may have at once, and invitations it may make
# per 24 hours, so that a careless script or a hijacked admin account cannot
# turn the instance into a mass mailer.
max_pending_invitations = 50
max_invitations_per_day = 100

[log]
# A tracing filter: "info", "debug", "atalaya=debug,sqlx=warn", ...
level = "info,sqlx=warn,tower_http=info"
# "pretty" for people, "json" for log collectors.
format = "pretty"
"#;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atalaya.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_are_valid_and_use_embedded_sqlite() {
        let config = Config::load_from(&Sources::default(), &[]).unwrap();
        assert_eq!(config.database_url(), "sqlite://data/atalaya.db");
        assert_eq!(config.bind_addr().unwrap().to_string(), "127.0.0.1:8080");
        assert!(!config.secure_cookies());
    }

    #[test]
    fn the_example_parses_to_the_defaults() {
        let (_dir, path) = write_config(EXAMPLE);
        let sources = Sources {
            file: Some(path),
            database_url: None,
        };
        let config = Config::load_from(&sources, &[]).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{config:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn environment_beats_file_and_flag_beats_environment() {
        let (_dir, path) = write_config("[server]\nbind = \"127.0.0.1:9000\"\n");
        let sources = Sources {
            file: Some(path.clone()),
            database_url: None,
        };
        let config = Config::load_from(
            &sources,
            &env(&[("ATALAYA__SERVER__BIND", "127.0.0.1:9001")]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:9001");

        let sources = Sources {
            file: Some(path),
            database_url: Some("postgres://a@localhost/b".to_owned()),
        };
        let config = Config::load_from(
            &sources,
            &env(&[("ATALAYA__DATABASE_URL", "sqlite://x.db")]),
        )
        .unwrap();
        assert_eq!(config.database_url(), "postgres://a@localhost/b");
    }

    #[test]
    fn unknown_keys_are_errors_in_file_and_environment() {
        let (_dir, path) = write_config("[server]\nbnd = \"127.0.0.1:9000\"\n");
        let error = Config::load_from(
            &Sources {
                file: Some(path),
                database_url: None,
            },
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("bnd"), "{error}");

        let error = Config::load_from(&Sources::default(), &env(&[("ATALAYA__SERVR__BIND", "x")]))
            .unwrap_err();
        assert!(error.to_string().contains("servr"), "{error}");
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let cases = [
            (
                "ATALAYA__DATABASE_URL",
                "mysql://root@localhost/db",
                "not supported",
            ),
            ("ATALAYA__SERVER__BIND", "localhost", "server.bind"),
            ("ATALAYA__WORKERS__CONCURRENCY", "0", "workers.concurrency"),
            (
                "ATALAYA__LISTENING__BACKFILL_DAYS",
                "0",
                "listening.backfill_days",
            ),
            (
                "ATALAYA__SERVER__PUBLIC_URL",
                "atalaya.example.org",
                "public_url",
            ),
            ("ATALAYA__LOG__FORMAT", "xml", "format"),
        ];
        for (key, value, expected) in cases {
            let error = Config::load_from(&Sources::default(), &env(&[(key, value)])).unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{key}={value}: {error}"
            );
        }
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let sources = Sources {
            file: Some(PathBuf::from("/nonexistent/atalaya.toml")),
            database_url: None,
        };
        assert!(
            Config::load_from(&sources, &[])
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }

    #[test]
    fn secret_key_is_generated_once_for_sqlite_and_required_for_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data").display().to_string();
        let environment = env(&[("ATALAYA__DATA_DIR", &data_dir)]);
        let config = Config::load_from(&Sources::default(), &environment).unwrap();
        let sealed = config.secret_box().unwrap().seal(b"webhook key").unwrap();
        // A second load reads the same key back, so sealed secrets stay readable.
        assert_eq!(
            config.secret_box().unwrap().open(&sealed).unwrap(),
            b"webhook key"
        );

        let sources = Sources {
            file: None,
            database_url: Some("postgres://a@localhost/b".to_owned()),
        };
        let error = Config::load_from(&sources, &environment)
            .unwrap()
            .secret_box()
            .unwrap_err();
        assert!(error.to_string().contains("secret_key"), "{error}");
        let bad = env(&[("ATALAYA__SECURITY__SECRET_KEY", "not base64 of 32 bytes")]);
        assert!(Config::load_from(&Sources::default(), &bad).is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let sources = Sources {
            file: None,
            database_url: Some("postgres://atalaya:hunter22@db:5432/atalaya".to_owned()),
        };
        let config = Config::load_from(&sources, &[]).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter22"), "{debug}");
        assert_eq!(
            redact_url(config.database_url.unwrap().expose()),
            "postgres://atalaya:[redacted]@db:5432/atalaya"
        );
    }

    #[test]
    fn mail_is_off_unless_configured_and_checked_when_it_is() {
        let config = Config::load_from(&Sources::default(), &[]).unwrap();
        assert!(config.mailer().unwrap().is_none());

        let good = env(&[
            (
                "ATALAYA__MAIL__SMTP_URL",
                "smtps://ana:hunter22@smtp.example.org",
            ),
            ("ATALAYA__MAIL__FROM", "Atalaya <atalaya@example.org>"),
            ("ATALAYA__SERVER__PUBLIC_URL", "https://cm.example.org"),
        ]);
        let config = Config::load_from(&Sources::default(), &good).unwrap();
        assert!(config.mailer().unwrap().is_some());
        assert!(!format!("{config:?}").contains("hunter22"));

        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("ATALAYA__MAIL__SMTP_URL", "smtp://127.0.0.1:2525")],
                "mail.from",
            ),
            (
                &[("ATALAYA__MAIL__FROM", "atalaya@example.org")],
                "mail.smtp_url",
            ),
            (
                &[
                    ("ATALAYA__MAIL__SMTP_URL", "smtp://127.0.0.1:2525"),
                    ("ATALAYA__MAIL__FROM", "atalaya@example.org"),
                ],
                "server.public_url",
            ),
            (
                &[
                    ("ATALAYA__MAIL__SMTP_URL", "imap://mail.example.org"),
                    ("ATALAYA__MAIL__FROM", "atalaya@example.org"),
                ],
                "scheme",
            ),
            (
                &[
                    ("ATALAYA__MAIL__SMTP_URL", "smtp://127.0.0.1:2525"),
                    ("ATALAYA__MAIL__FROM", "not an address"),
                ],
                "mail.from",
            ),
        ];
        for (pairs, expected) in cases {
            let mut pairs = pairs.to_vec();
            if expected != "server.public_url" {
                pairs.push(("ATALAYA__SERVER__PUBLIC_URL", "https://cm.example.org"));
            }
            let error = Config::load_from(&Sources::default(), &env(&pairs)).unwrap_err();
            assert!(error.to_string().contains(expected), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn workspace_settings_are_bounded() {
        let config = Config::load_from(&Sources::default(), &[]).unwrap();
        assert!(!config.workspaces.anyone_can_create);
        assert_eq!(config.invitation_ttl().as_secs(), 7 * 24 * 3600);
        let config = Config::load_from(
            &Sources::default(),
            &env(&[("ATALAYA__WORKSPACES__ANYONE_CAN_CREATE", "true")]),
        )
        .unwrap();
        assert!(config.workspaces.anyone_can_create);
        for (key, value) in [
            ("ATALAYA__WORKSPACES__INVITATION_TTL_DAYS", "0"),
            ("ATALAYA__WORKSPACES__INVITATION_TTL_DAYS", "365"),
            ("ATALAYA__WORKSPACES__MAX_PENDING_INVITATIONS", "0"),
        ] {
            let error = Config::load_from(&Sources::default(), &env(&[(key, value)])).unwrap_err();
            assert!(
                error.to_string().contains("workspaces."),
                "{key}={value}: {error}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let mut config = Config::load_from(&Sources::default(), &env(&[])).unwrap();
        assert!(
            config.trusted_proxies().unwrap().is_empty(),
            "none by default"
        );
        config.server.trusted_proxies =
            vec!["127.0.0.1".into(), " 10.0.0.0/8 ".into(), "::1".into()];
        let nets = config.trusted_proxies().unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
        assert!(!nets[0].contains(&"127.0.0.2".parse::<std::net::IpAddr>().unwrap()));
        config.server.trusted_proxies = vec!["proxy.internal".into()];
        let error = config.validate().unwrap_err();
        assert!(
            error.to_string().contains("server.trusted_proxies"),
            "{error}"
        );
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let config = Config::load_from(
            &Sources::default(),
            &env(&[("ATALAYA__SERVER__PUBLIC_URL", "https://a.example.org")]),
        )
        .unwrap();
        assert!(config.secure_cookies());
    }
}
