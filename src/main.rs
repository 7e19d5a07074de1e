//! The `upbeat` command line: parses arguments and hands over to the library.

use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use upbeat::app::App;
use upbeat::config::{self, Config, Overrides};

#[derive(Parser)]
#[command(
    name = "upbeat",
    version,
    about = "Self-hosted uptime monitoring: checks your sites on their own schedule, keeps every result, and says when one goes down.",
    long_about = None,
    after_help = "Start with `upbeat serve`, then open http://127.0.0.1:8080.\n\
                  Settings come from, highest first: flags, UPBEAT_* environment variables, the TOML \
                  file (--config, or ./upbeat.toml when present), built-in defaults.\n\
                  Log detail is set with RUST_LOG (e.g. RUST_LOG=upbeat=debug)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: the HTTP API and the checks of every monitor.
    Serve(ServeArgs),
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    upbeat serve\n  \
    upbeat serve --listen 0.0.0.0:8080 --database sqlite:/var/lib/upbeat/upbeat.db\n  \
    UPBEAT_JWT_SECRET=$(openssl rand -hex 32) upbeat serve --config /etc/upbeat.toml\n\n\
    Settings only in the file or the environment (UPBEAT_<NAME>, nested with __):\n  \
    jwt_secret       token signing secret, 32+ characters (generated and kept in the database when unset)\n  \
    token_ttl        how long a login token lasts [default: 24h]\n  \
    session_ttl      how long a browser stays signed in [default: 30d]\n  \
    cors_origins     origins allowed to call the API from a browser, comma-separated [default: none]\n  \
    shutdown_grace   how long checks in flight may finish at shutdown [default: 5s]\n  \
    dns_servers      DNS servers for checks, e.g. 10.0.0.2:53 [default: the system's]\n  \
    login.per_address_per_minute, login.per_account_per_minute   sign-in limits [default: 20, 10]\n  \
    public_url       where people reach upbeat, for links in alerts [default: http://<listen>, with this machine's name for 0.0.0.0]\n  \
    smtp_url         mail server for email alerts: smtp://user:pass@host:587, smtps://…:465, smtp://host:25\n  \
    smtp_from        sender of email alerts, e.g. \"upbeat <alerts@example.com>\"\n  \
    smtp_ca_file     PEM file of extra certificates to trust for the mail server\n  \
    ca_file          PEM file of extra certificates to trust for checks and alerts over https\n  \
    SENDGRID_API_KEY SendGrid API key, for email without a mail server (sendgrid_url to override)\n  \
    telegram_api_url, pagerduty_url   API addresses of those services [default: their own]\n  \
    alert_retry      wait before retrying a failed alert; doubles up to 1h, given up after a day [default: 10s]\n  \
    metrics_token    bearer token GET /metrics asks for [default: none, the metrics are open]\n  \
    retention.checks how long each check's own row is kept [default: 30d]\n  \
    retention.minutes, retention.hours, retention.days   how long the roll-ups are kept [default: 2d, 365d, forever]\n  \
    node_name        this process's name among several sharing one database [default: the machine's name]")]
struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "UPBEAT_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Database URL: sqlite:PATH, created with its tables when missing [default: sqlite:upbeat.db]
    #[arg(long, env = "UPBEAT_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    /// TOML settings file [default: ./upbeat.toml if it exists]
    #[arg(long, env = "UPBEAT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Log lines are written by a thread of their own: a reader that stops reading (a full pipe,
    // a stalled journal) loses lines instead of stalling the checks. The guard flushes at exit.
    let (writer, _flush_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(writer)
        // Colours for a person at a terminal; plain text for files and journals.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        database_url: args.database,
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    // Every check and every API connection holds a file descriptor; the usual soft limit of
    // 1,024 would be reached long before the machine's.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    tokio::runtime::Runtime::new()?.block_on(async {
        let app = App::build(&config).await?;
        tracing::info!(
            address = %format!("http://{}", app.local_addr()?),
            database = %config.database_url,
            config = %config::describe_source(args.config.as_ref()),
            monitors = app.scheduled(),
            "upbeat is running"
        );
        let shutdown = CancellationToken::new();
        tokio::spawn(watch_signals(shutdown.clone()));
        app.run(shutdown).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// The first Ctrl-C or SIGTERM starts a graceful shutdown; a second one ends the process at once.
async fn watch_signals(shutdown: CancellationToken) {
    signal().await;
    tracing::info!("shutting down; signal again to stop at once");
    shutdown.cancel();
    signal().await;
    tracing::warn!("stopping at once");
    std::process::exit(130);
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
