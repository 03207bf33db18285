//! `atalaya serve`: the web interface, the API and the background workers in
//! one process, until Ctrl-C or SIGTERM.
//!
//! ```text
//!   bind listener ──► web (axum) ─┐
//!   store (migrated) ─────────────┼─► shutdown token ◄── Ctrl-C / SIGTERM
//!   workers (job runner) ─────────┘
//! ```

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, redact_url};
use crate::demo;

/// How often due sources are looked for; each source has its own interval.

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (beats server.bind). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Load (or refresh) the demo workspace first and print how to sign in.
    #[arg(long)]
    pub demo: bool,
    /// Serve the web interface only; leave background jobs to other processes.
    #[arg(long)]
    pub no_workers: bool,
}

pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let bind = match &args.bind {
        Some(bind) => bind
            .parse()
            .with_context(|| format!("--bind {bind:?} is not an address like 127.0.0.1:8080"))?,
        None => config.bind_addr()?,
    };
    let store = super::open_store(config).await?;
    tracing::info!(database = %redact_url(&config.database_url()), "database ready");

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));

    if args.demo {
        let credentials = demo::load(&store).await?;
        demo::print_credentials(&credentials, Some(&url));
    }
    // Scripts (and the end-to-end test) read this line to find the port.
    println!("Atalaya is listening on {url}");

    let secrets = config.secret_box()?;
    // One client for sources and account connections: same SSRF guard, limits and allow-list.
    let http = atalaya_connectors::SafeHttpClient::new(config.http_client_config()?)
        .map_err(|error| anyhow::anyhow!("building the HTTP client for sources: {error}"))?;
    let mailer = config.mailer()?;
    let shutdown = CancellationToken::new();
    let workers = if config.workers.enabled && !args.no_workers {
        let settings = atalaya_workers::RunnerSettings {
            concurrency: config.workers.concurrency,
            poll_interval: Duration::from_millis(config.workers.poll_interval_ms),
            // Within the process's own grace, so that the jobs are released
            // before it gives up on them.
            shutdown_timeout: Duration::from_secs(
                config
                    .workers
                    .shutdown_timeout_secs
                    .min(config.server.shutdown_grace_secs),
            ),
            lease: Duration::from_secs(config.workers.lease_secs),
            ..atalaya_workers::RunnerSettings::default()
        };
        let client = http.clone();
        let runner = atalaya_workers::standard_runner(store.clone(), settings);
        let runner = atalaya_workers::poll::register_listening(
            runner,
            store.clone(),
            client,
            Some(secrets.clone()),
        )
        .every(
            atalaya_workers::poll::POLL_DUE_KIND,
            Duration::from_secs(config.sources.due_check_secs),
        );
        let runner = match mailer {
            Some(mailer) => atalaya_workers::mail::register(runner, mailer),
            None => runner,
        };
        let token = shutdown.clone();
        Some(tokio::spawn(async move { runner.run(token).await }))
    } else {
        None
    };

    let settings = atalaya_web::WebSettings {
        secure_cookies: config.secure_cookies(),
        session_ttl: Duration::from_secs(u64::from(config.security.session_ttl_hours) * 3600),
        login_max_failures: config.security.login_max_failures,
        login_window: Duration::from_secs(u64::from(config.security.login_window_minutes) * 60),
        trusted_proxies: config.trusted_proxies()?,
        public_url: config.server.public_url.clone(),
        // Whichever process runs the workers sends the mail; they share this setting.
        mail_enabled: config.mail.smtp_url.is_some(),
        anyone_can_create_workspaces: config.workspaces.anyone_can_create,
        invitation_ttl: config.invitation_ttl(),
        invitation_limits: config.invitation_limits(),
    };
    let listening = atalaya_web::listening::ListeningSettings {
        secrets: Some(secrets),
        max_upload_bytes: config.sources.max_upload_bytes,
        max_webhook_bytes: usize::try_from(config.sources.max_body_bytes).unwrap_or(usize::MAX),
        upload_dir: None,
        http: Some(http),
        backfill_days: config.listening.backfill_days,
    };
    let state = atalaya_web::AppState::with_listening(store.clone(), settings, listening);
    let web_shutdown = shutdown.clone();
    let web = tokio::spawn(atalaya_web::serve(listener, state, async move {
        web_shutdown.cancelled().await;
    }));

    wait_for_signal().await;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    tracing::info!(grace_secs = grace.as_secs(), "shutting down");
    shutdown.cancel();
    // Whatever is in flight gets the grace, then is abandoned: a request that
    // never ends (a client that stalls its upload) cannot keep the process up.
    // Nothing is half-written: every write is a transaction, rolled back when
    // its task is dropped, and jobs are idempotent.
    let deadline = tokio::time::Instant::now() + grace;
    match tokio::time::timeout_at(deadline, web).await {
        Ok(joined) => joined.context("web server task")?.context("web server")?,
        Err(_) => tracing::warn!("shutdown grace over: abandoning in-flight requests"),
    }
    if let Some(workers) = workers {
        // The runner stops by the grace too, then releases its jobs.
        let released = deadline + Duration::from_secs(2);
        if tokio::time::timeout_at(released, workers).await.is_err() {
            tracing::warn!("the job runner did not stop in time; its jobs' leases will expire");
        }
    }
    if tokio::time::timeout(Duration::from_secs(2), store.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still busy at exit");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
