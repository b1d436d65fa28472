//! `loadgen idle`: opens many notification sockets, keeps them open and reads them so
//! that the server's pings get their pongs, then reports what they cost the server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{
    check_open_files_limit, count, describe_close, describe_ws_error, Connector, Socket,
};
use crate::report::{print_json_line, read_rss_kib, round3};
use crate::signin::sign_in_all;
use crate::CommonArgs;

/// Read buffer per socket. Idle sockets receive only pings and the odd notification.
const READ_BUFFER_BYTES: usize = 4096;

/// Time allowed for the close handshake of each socket at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Notification sockets to open, spread round-robin over the users and the source
    /// addresses. One process here may hold at most about 20,000 file descriptors
    /// (the hard limit of `ulimit -n`), so more sockets need several loadgen processes.
    #[arg(long, default_value_t = 5000)]
    sockets: usize,
    /// Seconds to hold the sockets after the last one was opened. The server pings every
    /// 20 s by default, so a hold longer than that checks that pongs get back.
    #[arg(long, default_value_t = 30)]
    hold_secs: u64,
    /// File created once every socket was attempted, containing `{"sockets_open": N}`;
    /// lets a script that runs several processes measure the server when all are open.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

/// Counters that the socket tasks update while their sockets are open.
#[derive(Default)]
struct HoldCounters {
    pings: AtomicU64,
    other_frames: AtomicU64,
    /// Sockets that ended before the hold was over, by close code or error.
    unexpected_closes: Mutex<BTreeMap<String, u64>>,
}

impl HoldCounters {
    fn record_close(&self, reason: String) {
        let mut closes = self
            .unexpected_closes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        count(&mut closes, reason);
    }

    fn closed_count(&self) -> u64 {
        let closes = self
            .unexpected_closes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        closes.values().sum()
    }
}

#[derive(Debug, Serialize)]
struct IdleReport {
    scenario: &'static str,
    users: usize,
    local_addrs: usize,
    sockets_requested: usize,
    sockets_open: usize,
    sockets_failed: usize,
    failure_reasons: BTreeMap<String, u64>,
    /// Handshakes retried after HTTP 503.
    open_retries: u64,
    open_secs: f64,
    opened_per_sec: f64,
    hold_secs: u64,
    /// Sockets still open when the server's memory was sampled at the end of the hold.
    sockets_open_at_end: u64,
    closed_unexpectedly: u64,
    close_reasons: BTreeMap<String, u64>,
    pings_received: u64,
    other_frames_received: u64,
    server_rss_before_kib: Option<u64>,
    server_rss_after_open_kib: Option<u64>,
    server_rss_end_of_hold_kib: Option<u64>,
    /// (RSS at the end of the hold − RSS before) / sockets open at the end.
    server_bytes_per_socket: Option<f64>,
}

/// Runs the idle scenario and prints its report.
///
/// # Errors
/// Invalid options, a failed sign-in or an unreadable server process; failed sockets
/// are counted in the report instead.
pub async fn run(args: IdleArgs) -> anyhow::Result<()> {
    args.common.check()?;
    anyhow::ensure!(args.sockets > 0, "--sockets must be at least 1");
    check_open_files_limit(args.sockets)?;
    let users = sign_in_all(&args.common).await?;
    let connector = Connector::new(&args.common, READ_BUFFER_BYTES)?;
    let server_pid = args.common.server_pid;
    let rss_before = server_pid.map(read_rss_kib).transpose()?;

    let counters = Arc::new(HoldCounters::default());
    let (shutdown, shutdown_signal) = watch::channel(false);
    let mut tasks: Vec<JoinHandle<()>> = Vec::with_capacity(args.sockets);
    let mut failures = BTreeMap::new();
    let progress_step = (args.sockets / 10).max(1);
    eprintln!("opening {} notification sockets", args.sockets);

    let started = Instant::now();
    let mut attempts = stream::iter(0..args.sockets)
        .map(|slot| {
            let user = &users[slot % users.len()];
            let path = format!("/ws/notification/?token={}", user.access);
            let connector = &connector;
            async move { connector.open(&path, slot, None).await }
        })
        .buffer_unordered(args.common.connect_concurrency);
    let mut attempted = 0;
    while let Some(result) = attempts.next().await {
        attempted += 1;
        match result {
            Ok(socket) => tasks.push(tokio::spawn(hold_socket(
                socket,
                shutdown_signal.clone(),
                counters.clone(),
            ))),
            Err(reason) => count(&mut failures, reason),
        }
        if attempted % progress_step == 0 {
            eprintln!(
                "  {attempted}/{} attempted, {} open",
                args.sockets,
                tasks.len()
            );
        }
    }
    drop(attempts);
    let open_elapsed = started.elapsed();
    let sockets_open = tasks.len();
    eprintln!(
        "{sockets_open} of {} sockets open after {:.1} s",
        args.sockets,
        open_elapsed.as_secs_f64()
    );

    if let Some(path) = &args.ready_file {
        let content = serde_json::json!({ "sockets_open": sockets_open }).to_string();
        std::fs::write(path, content)
            .with_context(|| format!("failed to write --ready-file {}", path.display()))?;
    }
    let rss_after_open = server_pid.map(read_rss_kib).transpose()?;

    eprintln!("holding them for {} s", args.hold_secs);
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    let closed_unexpectedly = counters.closed_count();
    let rss_end = server_pid.map(read_rss_kib).transpose()?;

    eprintln!("closing the sockets");
    let _ = shutdown.send(true);
    for task in tasks {
        // A task that panicked has nothing left to close.
        let _ = task.await;
    }

    let sockets_open_at_end = (sockets_open as u64).saturating_sub(closed_unexpectedly);
    let bytes_per_socket = match (rss_before, rss_end) {
        (Some(before), Some(end)) if sockets_open_at_end > 0 => Some(round3(
            (end as f64 - before as f64) * 1024.0 / sockets_open_at_end as f64,
        )),
        _ => None,
    };
    let close_reasons = counters
        .unexpected_closes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let report = IdleReport {
        scenario: "idle",
        users: users.len(),
        local_addrs: args.common.local_addrs.len().max(1),
        sockets_requested: args.sockets,
        sockets_open,
        sockets_failed: args.sockets - sockets_open,
        failure_reasons: failures,
        open_retries: connector.retries_done(),
        open_secs: round3(open_elapsed.as_secs_f64()),
        opened_per_sec: round3(sockets_open as f64 / open_elapsed.as_secs_f64().max(1e-9)),
        hold_secs: args.hold_secs,
        sockets_open_at_end,
        closed_unexpectedly: close_reasons.values().sum(),
        close_reasons,
        pings_received: counters.pings.load(Ordering::Relaxed),
        other_frames_received: counters.other_frames.load(Ordering::Relaxed),
        server_rss_before_kib: rss_before,
        server_rss_after_open_kib: rss_after_open,
        server_rss_end_of_hold_kib: rss_end,
        server_bytes_per_socket: bytes_per_socket,
    };
    print_summary(&report);
    print_json_line(&report)
}

/// Reads the socket until shutdown, so that tungstenite replies to the server's pings,
/// then closes it and waits for the server to close the connection.
async fn hold_socket(
    mut socket: Socket,
    mut shutdown: watch::Receiver<bool>,
    counters: Arc<HoldCounters>,
) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            message = socket.next() => match message {
                Some(Ok(Message::Ping(_))) => {
                    counters.pings.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(frame))) => {
                    counters.record_close(describe_close(frame.as_ref()));
                    return;
                }
                Some(Ok(_)) => {
                    counters.other_frames.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(error)) => {
                    counters.record_close(describe_ws_error(&error));
                    return;
                }
                None => {
                    counters.record_close("connection ended without a close frame".to_owned());
                    return;
                }
            }
        }
    }
    // Waiting for the server's side of the handshake lets the server close the TCP
    // connection first, so TIME_WAIT does not hold this side's source port.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.close(None).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}

fn print_summary(report: &IdleReport) {
    println!("idle sockets");
    println!("  users signed in        {}", report.users);
    println!("  source addresses       {}", report.local_addrs);
    println!(
        "  sockets                {} requested, {} open, {} failed",
        report.sockets_requested, report.sockets_open, report.sockets_failed
    );
    for (reason, count) in &report.failure_reasons {
        println!("    failed: {reason} ({count})");
    }
    if report.open_retries > 0 {
        println!("  retries after HTTP 503 {}", report.open_retries);
    }
    println!(
        "  time to open           {:.2} s ({:.0} sockets/s)",
        report.open_secs, report.opened_per_sec
    );

    println!(
        "  held                   {} s, {} closed by the server or network during the run",
        report.hold_secs, report.closed_unexpectedly
    );
    for (reason, count) in &report.close_reasons {
        println!("    closed: {reason} ({count})");
    }
    println!(
        "  frames received        {} pings, {} other",
        report.pings_received, report.other_frames_received
    );

    if let (Some(before), Some(after_open), Some(end)) = (
        report.server_rss_before_kib,
        report.server_rss_after_open_kib,
        report.server_rss_end_of_hold_kib,
    ) {
        println!("  server RSS             {before} KiB before, {after_open} KiB after opening, {end} KiB at the end of the hold");
    }
    if let Some(bytes) = report.server_bytes_per_socket {
        println!(
            "  server memory          {:.0} bytes per open socket ({} open at the end)",
            bytes, report.sockets_open_at_end
        );
    }
}
