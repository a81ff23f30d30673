//! `allervers-relay`: starts with no configuration at all (`127.0.0.1:8787`, data in
//! `./relay-data`), or over a PostgreSQL database shared by several instances (`--database`);
//! logs with tracing, stops gracefully on SIGTERM or Ctrl-C. `allervers-relay migrate` moves a
//! relay's SQLite data into PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use allervers_relay::storage::postgres::PostgresOptions;
use allervers_relay::{http, migrate, prepare, Config};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "allervers-relay",
    version,
    about = "allervers relay: stores and serves sealed envelopes it cannot read",
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "ALLERVERS_RELAY_ADDR", default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Folder of the relay's SQLite database (when no --database is given).
    #[arg(long, env = "ALLERVERS_RELAY_DATA", default_value = "relay-data")]
    data: PathBuf,
    /// A PostgreSQL database shared by every instance of the relay
    /// (postgres://USER:PASSWORD@HOST:PORT/DATABASE); SQLite in --data without it.
    #[arg(long, env = "ALLERVERS_RELAY_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Connections to PostgreSQL this instance holds at most.
    #[arg(long, env = "ALLERVERS_RELAY_DB_CONNECTIONS", default_value_t = 16)]
    db_connections: u32,
    /// Seconds a start waits for PostgreSQL to answer before it gives up.
    #[arg(long, env = "ALLERVERS_RELAY_DB_WAIT", default_value_t = 60)]
    db_wait: u64,
    /// The CA certificate (PEM) that signed the PostgreSQL server's, when the URL says
    /// sslmode=require and the server's certificate is not from a public CA.
    #[arg(long, env = "ALLERVERS_RELAY_DB_CA_FILE")]
    db_ca_file: Option<PathBuf>,
    /// Admin token (registers spaces). Without one, a token is generated and printed once.
    #[arg(long, env = "ALLERVERS_RELAY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "ALLERVERS_RELAY_MAX_BODY", default_value_t = 8 * 1024 * 1024)]
    max_body: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Copies a relay's SQLite data (spaces, devices with their token hashes, invites and space
    /// invites, envelopes and control items with their sequence numbers) into an empty PostgreSQL database, so that
    /// devices continue where they were. Stop the relay first.
    Migrate {
        /// The relay's data folder (the one holding relay.db).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to fill (postgres://...); it must hold no relay data yet.
        #[arg(long, env = "ALLERVERS_RELAY_DATABASE_URL", hide_env_values = true)]
        to: String,
        /// The CA certificate (PEM) of the PostgreSQL server, with sslmode=require.
        #[arg(long, env = "ALLERVERS_RELAY_DB_CA_FILE")]
        db_ca_file: Option<PathBuf>,
    },
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
    let postgres = PostgresOptions {
        max_connections: args.db_connections,
        wait: Duration::from_secs(args.db_wait),
        ca_file: args.db_ca_file,
        ..PostgresOptions::default()
    };
    if let Some(Cmd::Migrate {
        from,
        to,
        db_ca_file,
    }) = args.command
    {
        let options = PostgresOptions {
            ca_file: db_ca_file,
            ..postgres
        };
        return match migrate::sqlite_to_postgres(&from, &to, &options) {
            Ok(moved) => {
                println!("{moved}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = Config {
        addr: args.addr,
        data: args.data,
        database: args.database,
        postgres,
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
    // The storage is dropped here, after the runtime: PostgreSQL's blocking client closes its
    // connections with a runtime of its own, which cannot start inside the relay's.
    let storage = prepared.storage.clone();
    let code = runtime.block_on(async move {
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
        match &config.database {
            Some(_) => tracing::info!(%addr, "relay started on PostgreSQL"),
            None => tracing::info!(%addr, data = %config.data.display(), "relay started"),
        }
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
    });
    drop(runtime);
    drop(storage);
    code
}
