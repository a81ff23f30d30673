//! `allervers-relay`: starts with no configuration at all (`127.0.0.1:8787`, data in
//! `./relay-data`), logs with tracing, stops gracefully on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use allervers_relay::{http, prepare, Config};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "allervers-relay",
    version,
    about = "allervers relay: stores and serves sealed envelopes it cannot read"
)]
struct Args {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "ALLERVERS_RELAY_ADDR", default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Folder of the relay database.
    #[arg(long, env = "ALLERVERS_RELAY_DATA", default_value = "relay-data")]
    data: PathBuf,
    /// Admin token (registers spaces). Without one, a token is generated and printed once.
    #[arg(long, env = "ALLERVERS_RELAY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "ALLERVERS_RELAY_MAX_BODY", default_value_t = 8 * 1024 * 1024)]
    max_body: usize,
}

/// Waits for Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called, not when
/// the future is first polled: a signal sent as soon as the relay says it listens must stop it
/// gracefully, not kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutting down");
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = Config {
        addr: args.addr,
        data: args.data,
        admin_token: args.admin_token,
        max_body: args.max_body,
    };
    let prepared = match prepare(&config) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(token) = &prepared.generated_token {
        println!("admin token (shown once, keep it): {token}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", config.addr);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let shutdown = shutdown_signal();
        // The first line on stdout after the token: tests and scripts read the address here.
        println!("listening on http://{addr}");
        tracing::info!(%addr, data = %config.data.display(), "relay started");
        let app = http::router(
            http::Relay::new(prepared.storage, prepared.admin_token_hash),
            config.max_body,
        );
        match axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
