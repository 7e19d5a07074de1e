//! Wires the parts together and owns their lifetime: opens the store, loads the monitors,
//! starts the recorder, the scheduler (on a thread of its own, with the checks it has room
//! for), the alert dispatcher and the HTTP server, and at shutdown stops them in the order
//! that loses nothing: no new requests or checks, checks in flight finish (or are abandoned
//! after the grace period), then every recorded result is written. Alerts not yet sent stay
//! in the outbox for the next start.

use crate::account::Passwords;
use crate::alert::dispatcher::Dispatcher;
use crate::alert::email::EmailSettings;
use crate::alert::send::{SendSettings, Senders};
use crate::config::Config;
use crate::http::auth::{AttemptLimiter, KeyedLimit, Tokens};
use crate::http::{
    self, AppState, MonitorLocks, PINGS_PER_MINUTE, Sessions, TEST_SENDS_PER_MINUTE,
    TRIAL_CHECKS_PER_MINUTE,
};
use crate::live::Live;
use crate::metrics::Metrics;
use crate::probe::{DnsSettings, Prober};
use crate::recorder::Recorder;
use crate::retention::Pruner;
use crate::scheduler::{Job, Scheduler};
use crate::store::{self, Store};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

/// How long the final write of results may take at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
const JWT_SECRET_KEY: &str = "jwt_secret";

/// A started but not yet running service; [`App::run`] runs it.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    scheduler: Scheduler,
    recorder: Recorder,
    dispatcher: Dispatcher,
    pruner: Pruner,
    store: Arc<dyn Store>,
    live: Live,
    grace: Duration,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let store = store::open(&config.database_url)
            .await
            .with_context(|| format!("opening the database {}", config.database_url))?;
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().to_owned(),
            None => {
                let candidate = crate::secret::random_hex()?;
                store.setting_or_insert(JWT_SECRET_KEY, &candidate).await?
            }
        };

        // The trusted certificates are read from the system once, for checks and alerts alike.
        let tls = crate::tls::client_config(config.ca_file.as_deref())?;
        let prober = Prober::new(
            &DnsSettings {
                servers: config.dns_servers.clone(),
            },
            tls.clone(),
        )?;
        let senders = Arc::new(Senders::new(send_settings(config)?, tls)?);
        if let Some(why) = senders.email_off() {
            tracing::warn!("{why}");
        } else if let Some(via) = senders.email_via() {
            tracing::info!(via, "email alerts are on");
        }
        let alerts_queued = Arc::new(Notify::new());
        let dispatcher = Dispatcher::new(
            &config.node_name,
            Arc::clone(&store),
            Arc::clone(&senders),
            Arc::clone(&alerts_queued),
            config.alert_retry.0,
        );
        let live = Live::default();
        let metrics = Arc::new(Metrics::new()?);
        // The verdicts and the monitors are read side by side: at 100,000 monitors each takes
        // about a second.
        let loading = Instant::now();
        let ((recorder, results), monitors) = tokio::try_join!(
            Recorder::start(
                Arc::clone(&store),
                alerts_queued,
                live.clone(),
                Arc::clone(&metrics),
            ),
            store.active_monitors(),
        )?;
        let (mut scheduler, scheduler_handle) =
            Scheduler::new(prober.clone(), results.clone(), Arc::clone(&metrics));
        let count = monitors.len();
        scheduler.load(monitors.into_iter().map(|m| {
            let job = Job {
                monitor: m.id,
                spec: m.spec,
            };
            (job, m.last_check_at, m.runs)
        }));
        tracing::info!(
            monitors = count,
            ms = loading.elapsed().as_millis(),
            "monitors loaded and scheduled"
        );

        // Bound before the router is made: a heartbeat's ping URL names the real port.
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let public_url = public_url(config, listener.local_addr()?);
        let state = AppState {
            store: Arc::clone(&store),
            scheduler: scheduler_handle,
            recorder: results,
            locks: Arc::new(MonitorLocks::new()),
            live: live.clone(),
            passwords: Arc::new(Passwords::default()),
            senders,
            tokens: Arc::new(Tokens::new(secret.as_bytes(), config.token_ttl.0)),
            limiter: Arc::new(AttemptLimiter::new(
                config.login.per_address_per_minute,
                config.login.per_account_per_minute,
            )),
            test_sends: Arc::new(KeyedLimit::per_minute(TEST_SENDS_PER_MINUTE)),
            prober,
            trial_checks: Arc::new(KeyedLimit::per_minute(TRIAL_CHECKS_PER_MINUTE)),
            public_url: public_url.into(),
            pings: Arc::new(KeyedLimit::per_minute(PINGS_PER_MINUTE)),
            metrics,
            metrics_token: config.metrics_token.clone().map(Arc::new),
            sessions: Arc::new(Sessions::new(
                secret.as_bytes(),
                config.session_ttl.0,
                config
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
            )),
        };
        let router = http::router(state, &config.cors_origins)?;
        Ok(App {
            listener,
            router,
            scheduler,
            recorder,
            dispatcher,
            pruner: Pruner::new(Arc::clone(&store), config.retention.clone()),
            store,
            live,
            grace: config.shutdown_grace.0,
        })
    }

    /// The address the server is bound to (the real port when the configured one was 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many monitors are scheduled.
    pub fn scheduled(&self) -> usize {
        self.scheduler.len()
    }

    /// Serves until `shutdown` is cancelled, then shuts down gracefully.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App {
            listener,
            router,
            scheduler,
            recorder,
            dispatcher,
            pruner,
            store,
            live,
            grace,
        } = self;
        let scheduler = run_checks(scheduler, shutdown.clone(), grace)?;
        let recorder = tokio::spawn(recorder.run());
        let dispatcher = tokio::spawn(dispatcher.run(shutdown.clone(), grace));
        let pruner = tokio::spawn(pruner.run(shutdown.clone()));

        // Pages kept open for live updates would hold the server's graceful end for the whole
        // grace period: they are closed as soon as the shutdown begins.
        let serving = http::serve(listener, router, shutdown.clone(), grace);
        tokio::pin!(serving);
        tokio::select! {
            () = &mut serving => {}
            () = shutdown.cancelled() => {
                live.close();
                serving.await;
            }
        }
        // Whatever ended the server, the rest stops too.
        shutdown.cancel();

        scheduler.await.context("the scheduler's thread failed")?;
        dispatcher.await.context("the alert dispatcher failed")?;
        pruner.await.context("pruning failed")?;
        // The server, the scheduler and its checks held the last result handles: the recorder
        // now writes what is queued and ends.
        match tokio::time::timeout(FLUSH_TIMEOUT, recorder).await {
            Ok(joined) => joined.context("the recorder failed")?,
            Err(_) => tracing::error!(
                "results could not be written within {FLUSH_TIMEOUT:?}; some are lost"
            ),
        }
        store.close().await;
        Ok(())
    }
}

/// Runs the scheduler on a thread of its own, which also makes the checks while it has room
/// for them: a check that starts, waits and ends on one thread wakes no other. The runtime
/// this is called on takes the checks that do not fit. The receiver hears when it is done.
fn run_checks(
    scheduler: Scheduler,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<oneshot::Receiver<()>> {
    let shared = Handle::current();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the checks' runtime")?;
    let (done, finished) = oneshot::channel();
    std::thread::Builder::new()
        .name("upbeat-checks".into())
        .spawn(move || {
            runtime.block_on(scheduler.run(shutdown, grace, shared));
            let _ = done.send(());
        })
        .context("starting the checks' thread")?;
    Ok(finished)
}

/// Where people and jobs reach upbeat: `public_url`, else the address it listens on.
fn public_url(config: &Config, bound: SocketAddr) -> String {
    match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if bound.ip().is_unspecified() => {
            format!("http://{}:{}", config.node_name, bound.port())
        }
        None => format!("http://{bound}"),
    }
}

/// Where alerts go out, from the settings: SMTP when configured, else SendGrid, else no email.
fn send_settings(config: &Config) -> anyhow::Result<SendSettings> {
    let email = match (&config.smtp_url, &config.sendgrid_api_key) {
        (Some(url), _) => Some(EmailSettings::Smtp {
            url: url.clone(),
            from: config.smtp_from.clone(),
            ca_file: config.smtp_ca_file.clone(),
        }),
        (None, Some(key)) => Some(EmailSettings::SendGrid {
            api_key: key.clone(),
            api_url: config.sendgrid_url.clone(),
            from: config.smtp_from.clone(),
        }),
        (None, None) => None,
    };
    Ok(SendSettings {
        public_url: config.public_url.clone().unwrap_or_else(|| {
            // Listening on every address says nothing about the name people use: the
            // machine's name is the best guess.
            let guess = if config.listen.ip().is_unspecified() {
                format!("http://{}:{}", config.node_name, config.listen.port())
            } else {
                format!("http://{}", config.listen)
            };
            tracing::warn!(
                links = %guess,
                "public_url is not set: links in alerts point to {guess}; set UPBEAT_PUBLIC_URL to where people reach upbeat"
            );
            guess
        }),
        email,
        telegram_api: config.telegram_api_url.clone(),
        pagerduty_api: config.pagerduty_url.clone(),
    })
}
