//! WebSocket load generator for the Career Nexus server.
//!
//! `idle` keeps many notification sockets open and measures what they cost the server.
//! `chat` drives chat rooms at a fixed message rate and measures delivery latency. Each
//! prints a summary for people and, as its last line, one JSON object for scripts.

mod chat;
mod connect;
mod idle;
mod report;
mod signin;

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "WebSocket load generator for the Career Nexus server"
)]
struct Cli {
    /// Tokio worker threads; 0 means one per CPU core.
    #[arg(long, default_value_t = 0, global = true)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hold many idle notification sockets open and measure the server's memory per socket.
    ///
    /// One process here may open at most about 20,000 file descriptors (the hard limit
    /// of `ulimit -n`), so more sockets need several client processes. `--ready-file`
    /// lets a script tell when all of them are open.
    Idle(idle::IdleArgs),
    /// Send chat messages between pairs of users at a fixed rate and measure latency.
    Chat(chat::ChatArgs),
}

/// Options shared by every scenario: the server, the accounts and how sockets connect.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Base URL of the server's HTTP API (http:// only; sockets use the same host and port).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// Number of load users to sign in: PREFIX1@example.com to PREFIXn@example.com.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Email prefix of the load users (see `careernexus fixtures load-users --prefix`).
    #[arg(long, default_value = "load")]
    pub prefix: String,
    /// Password of every load user.
    #[arg(long, default_value = "Load#2026")]
    pub password: String,
    /// Concurrent sign-in requests.
    #[arg(long, default_value_t = 32)]
    pub signin_concurrency: usize,
    /// Source addresses to bind sockets to, used round-robin (for example
    /// 127.0.0.1,127.0.0.2); each address has its own range of ephemeral ports.
    /// Empty lets the kernel choose.
    #[arg(long, value_delimiter = ',')]
    pub local_addrs: Vec<IpAddr>,
    /// Sockets being opened at the same time.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Time limit for one socket's TCP connect plus WebSocket handshake, in seconds.
    #[arg(long, default_value_t = 30)]
    pub connect_timeout_secs: u64,
    /// Retries of a sign-in or a socket handshake that got HTTP 503 (the server's actors
    /// were busy), after 0.5 s, then 1 s, 2 s, …. The report counts the socket retries.
    #[arg(long, default_value_t = 3)]
    pub connect_retries: u32,
    /// Process id of the server; when given, its resident memory (VmRSS) is reported.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

impl CommonArgs {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.users > 0, "--users must be at least 1");
        anyhow::ensure!(
            self.signin_concurrency > 0,
            "--signin-concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.connect_timeout_secs > 0,
            "--connect-timeout-secs must be at least 1"
        );
        Ok(())
    }

    fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if cli.threads > 0 {
        builder.worker_threads(cli.threads);
    }
    let runtime = builder
        .build()
        .context("failed to start the Tokio runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Idle(args) => idle::run(args).await,
            Command::Chat(args) => chat::run(args).await,
        }
    })
}
