//! `loadgen chat`: every user opens one chat socket to its partner and sends messages at
//! a fixed rate. Each message text starts with its send time, so every `chat_message`
//! frame that comes back gives a latency: "echo" on the sender's own socket (the message
//! is stored and acknowledged) and "delivery" on the partner's socket.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{stream, SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{
    check_open_files_limit, count, describe_close, describe_ws_error, Connector, Socket,
};
use crate::report::{
    latency_histogram, print_json_line, read_rss_kib, round3, sample_rss, LatencySummary, RssSeries,
};
use crate::signin::{sign_in_all, SignedInUser};
use crate::CommonArgs;

/// Read buffer per chat socket; frames are a few hundred bytes.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// SO_RCVBUF of the sockets that never read (the kernel doubles it).
const SLOW_RECV_BUFFER_BYTES: u32 = 4096;

/// Number of independently locked statistics shards; socket i uses shard i % SHARDS.
const SHARDS: usize = 16;

/// Digits of the send time at the start of each message: nanoseconds since the run's
/// origin, zero-padded so that every message has the same length.
const SEND_TIME_DIGITS: usize = 20;

/// Time between the end of the setup and the first send, so that every sender task is
/// waiting on its first tick before the run starts.
const START_DELAY: Duration = Duration::from_millis(500);

/// The drain ends early when no chat frame arrived for this long.
const DRAIN_QUIET: Duration = Duration::from_secs(2);

/// Time allowed for closing all sockets at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// The server's default `realtime.messages_per_second` per socket.
const SERVER_DEFAULT_FRAMES_PER_SECOND: f64 = 20.0;

#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Chat messages per second sent by all users together; each user sends RATE/USERS
    /// per second on its own socket. The server accepts 20 frames per second per socket
    /// by default, so keep RATE/USERS below that.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds of measured sending, after the warmup.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Seconds of sending before the measurement; messages sent then are not counted.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Length of each message text in bytes: a 20-digit send time, then padding.
    #[arg(long, default_value_t = 100)]
    message_bytes: usize,
    /// Extra chat sockets, a second one for each of users 1 to K, that set a 4 KiB
    /// receive buffer and never read. They are read after the run to see whether the
    /// server closed them as too slow (close code 1013).
    #[arg(long, default_value_t = 0)]
    slow: usize,
    /// Maximum seconds to wait after the last send for frames still on their way.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
    /// Seconds to read the slow sockets at the end while looking for a close frame.
    #[arg(long, default_value_t = 10)]
    slow_read_secs: u64,
}

impl ChatArgs {
    fn check(&self) -> anyhow::Result<()> {
        self.common.check()?;
        let users = self.common.users;
        anyhow::ensure!(
            users >= 2 && users.is_multiple_of(2),
            "--users must be an even number of at least 2 (users chat in pairs); got {users}"
        );
        anyhow::ensure!(
            self.rate > 0,
            "--rate must be at least 1 message per second"
        );
        anyhow::ensure!(self.duration_secs > 0, "--duration-secs must be at least 1");
        anyhow::ensure!(
            (SEND_TIME_DIGITS + 1..=4000).contains(&self.message_bytes),
            "--message-bytes must be from {} to 4000 (the server's maximum message length); got {}",
            SEND_TIME_DIGITS + 1,
            self.message_bytes
        );
        anyhow::ensure!(
            self.slow <= users,
            "--slow {} is more than --users {users}",
            self.slow
        );
        Ok(())
    }
}

/// The JSON text of a chat frame with a placeholder for the send time.
struct MessageTemplate {
    frame: String,
    /// Byte offset of the send-time digits in `frame`.
    digits_at: usize,
}

impl MessageTemplate {
    fn new(message_bytes: usize) -> Self {
        let prefix = r#"{"message":""#;
        let mut frame = String::with_capacity(prefix.len() + message_bytes + 2);
        frame.push_str(prefix);
        frame.push_str(&"0".repeat(SEND_TIME_DIGITS));
        frame.push_str(&"x".repeat(message_bytes - SEND_TIME_DIGITS));
        frame.push_str(r#""}"#);
        Self {
            frame,
            digits_at: prefix.len(),
        }
    }

    /// Renders the frame text for a message sent `sent_ns` after the origin. It
    /// allocates once, for the copy of the template.
    fn render(&self, sent_ns: u64) -> String {
        let mut digits = [b'0'; SEND_TIME_DIGITS];
        let mut rest = sent_ns;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let mut frame = self.frame.clone();
        let digits = std::str::from_utf8(&digits).expect("ASCII digits are valid UTF-8");
        frame.replace_range(self.digits_at..self.digits_at + SEND_TIME_DIGITS, digits);
        frame
    }
}

/// Reads the send time from the start of a message text written by [`MessageTemplate`].
fn parse_send_time(text: &str) -> Option<u64> {
    let digits = text.get(..SEND_TIME_DIGITS)?;
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The fields of a server frame that the tool reads; the rest are ignored.
#[derive(Deserialize)]
struct IncomingFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default, borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<std::borrow::Cow<'a, str>>,
}

/// Statistics of a group of sockets, behind one lock.
struct Shard {
    delivery: Histogram<u64>,
    echo: Histogram<u64>,
    /// How late each send was against its schedule, in microseconds.
    send_lag: Histogram<u64>,
    sent_in_window: u64,
    echoes_in_window: u64,
    deliveries_in_window: u64,
}

impl Shard {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            delivery: latency_histogram()?,
            echo: latency_histogram()?,
            send_lag: latency_histogram()?,
            sent_in_window: 0,
            echoes_in_window: 0,
            deliveries_in_window: 0,
        })
    }
}

/// State shared by every socket task of a run. Times are nanoseconds since `origin`.
struct RunState {
    origin: Instant,
    /// Messages sent from `window_start` up to `window_end` count in the statistics;
    /// before is the warmup. Both are `u64::MAX` until the sockets are open.
    window_start: AtomicU64,
    window_end: AtomicU64,
    /// Set once the tool starts closing sockets; closes after that are expected.
    closing: AtomicBool,
    shards: Vec<Mutex<Shard>>,
    sent_total: AtomicU64,
    echoes_total: AtomicU64,
    deliveries_total: AtomicU64,
    /// `chat_message` frames without a send time or from a user outside the pair.
    foreign_frames: AtomicU64,
    /// Frames other than `chat_message` and `error`, or not JSON.
    other_frames: AtomicU64,
    error_frames: Mutex<BTreeMap<String, u64>>,
    unexpected_closes: Mutex<BTreeMap<String, u64>>,
    send_failures: Mutex<BTreeMap<String, u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn micros(nanos: u64) -> u64 {
    nanos / 1000
}

impl RunState {
    fn new(origin: Instant) -> anyhow::Result<Self> {
        let shards = (0..SHARDS)
            .map(|_| Shard::new().map(Mutex::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            origin,
            window_start: AtomicU64::new(u64::MAX),
            window_end: AtomicU64::new(u64::MAX),
            closing: AtomicBool::new(false),
            shards,
            sent_total: AtomicU64::new(0),
            echoes_total: AtomicU64::new(0),
            deliveries_total: AtomicU64::new(0),
            foreign_frames: AtomicU64::new(0),
            other_frames: AtomicU64::new(0),
            error_frames: Mutex::new(BTreeMap::new()),
            unexpected_closes: Mutex::new(BTreeMap::new()),
            send_failures: Mutex::new(BTreeMap::new()),
        })
    }

    fn set_window(&self, start_ns: u64, end_ns: u64) {
        self.window_start.store(start_ns, Ordering::Release);
        self.window_end.store(end_ns, Ordering::Release);
    }

    fn in_window(&self, sent_ns: u64) -> bool {
        sent_ns >= self.window_start.load(Ordering::Acquire)
            && sent_ns < self.window_end.load(Ordering::Acquire)
    }

    fn nanos_since_origin(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn record_unexpected_close(&self, reason: String) {
        if !self.is_closing() {
            count(&mut lock(&self.unexpected_closes), reason);
        }
    }

    fn received_chat_frames(&self) -> u64 {
        self.echoes_total.load(Ordering::Relaxed) + self.deliveries_total.load(Ordering::Relaxed)
    }

    fn handle_text(&self, me: &Identity, text: &str) {
        let received_ns = self.nanos_since_origin(Instant::now());
        let Ok(frame) = serde_json::from_str::<IncomingFrame<'_>>(text) else {
            self.other_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match frame.kind.as_ref() {
            "chat_message" => self.handle_chat_message(me, &frame, received_ns),
            "error" => {
                let code = frame.code.as_deref().unwrap_or("(no code)");
                count(&mut lock(&self.error_frames), code);
            }
            _ => {
                self.other_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn handle_chat_message(&self, me: &Identity, frame: &IncomingFrame<'_>, received_ns: u64) {
        let sent_ns = frame.message.as_deref().and_then(parse_send_time);
        let (Some(sender), Some(sent_ns)) = (frame.user_id, sent_ns) else {
            self.foreign_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let is_echo = if sender == me.user_id {
            true
        } else if sender == me.partner_id {
            false
        } else {
            self.foreign_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if is_echo {
            self.echoes_total.fetch_add(1, Ordering::Relaxed);
        } else {
            self.deliveries_total.fetch_add(1, Ordering::Relaxed);
        }
        if !self.in_window(sent_ns) {
            return;
        }
        let latency = micros(received_ns.saturating_sub(sent_ns));
        let mut shard = lock(&self.shards[me.shard]);
        if is_echo {
            shard.echoes_in_window += 1;
            shard.echo.saturating_record(latency);
        } else {
            shard.deliveries_in_window += 1;
            shard.delivery.saturating_record(latency);
        }
    }
}

/// The owner of a chat socket and the owner's partner.
struct Identity {
    user_id: i64,
    partner_id: i64,
    shard: usize,
}

/// When one socket sends.
struct Schedule {
    first: tokio::time::Instant,
    period: Duration,
    /// Ticks at or after this instant are not sent.
    end: tokio::time::Instant,
}

#[derive(Debug, Serialize)]
struct SlowSocketsReport {
    sockets: usize,
    /// Slow sockets that the server closed (a close frame or the end of the connection).
    closed_by_server: u64,
    closed_with_1013: u64,
    /// Outcome of reading each slow socket after the run: `close 1013`, `still open …`, ….
    outcomes: BTreeMap<String, u64>,
    /// Frames read from the slow sockets before their outcome.
    frames_read: u64,
}

#[derive(Debug, Serialize)]
struct ChatReport {
    scenario: &'static str,
    users: usize,
    /// Handshakes retried after HTTP 503.
    open_retries: u64,
    rate_requested: u64,
    rate_per_socket: f64,
    warmup_secs: u64,
    duration_secs: u64,
    message_bytes: usize,
    /// Every message sent, warmup and drain included.
    messages_sent_total: u64,
    /// Messages sent in the measured window; the counts and rates below are about them.
    messages_sent: u64,
    sent_per_sec: f64,
    echoes_received: u64,
    /// Echoes per second: messages stored and acknowledged to their sender.
    echoes_per_sec: f64,
    deliveries_received: u64,
    deliveries_per_sec: f64,
    /// Echoes plus deliveries per second.
    chat_frames_per_sec: f64,
    echoes_missing: u64,
    deliveries_missing: u64,
    delivery_latency: LatencySummary,
    echo_latency: LatencySummary,
    /// How late sends left against their schedule; large values mean the tool could not
    /// keep up.
    send_lag: LatencySummary,
    error_frames_total: u64,
    error_frames: BTreeMap<String, u64>,
    send_failures: BTreeMap<String, u64>,
    closed_unexpectedly: u64,
    close_reasons: BTreeMap<String, u64>,
    foreign_frames: u64,
    other_frames: u64,
    drain_secs: f64,
    slow: SlowSocketsReport,
    server_rss_before_kib: Option<u64>,
    server_rss: Option<RssSeries>,
}

/// Runs the chat scenario and prints its report.
///
/// # Errors
/// Invalid options, a failed sign-in or any chat socket that fails to open.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    args.check()?;
    check_open_files_limit(args.common.users + args.slow)?;
    let rate_per_socket = args.rate as f64 / args.common.users as f64;
    if rate_per_socket > SERVER_DEFAULT_FRAMES_PER_SECOND {
        eprintln!(
            "warning: each socket sends {rate_per_socket:.1} messages per second, above the server's default limit of \
             {SERVER_DEFAULT_FRAMES_PER_SECOND} per socket; expect rate_limited errors or use more --users"
        );
    }
    let users = sign_in_all(&args.common).await?;
    let connector = Connector::new(&args.common, READ_BUFFER_BYTES)?;
    // Sending starts only once every socket is open, but each socket is read from the
    // moment it opens, so that the server's pings get their pongs meanwhile.
    let run = Arc::new(RunState::new(Instant::now())?);
    let (sinks, mut tasks) = open_chat_sockets(&args, &connector, &users, &run).await?;
    let slow_sockets = open_slow_sockets(&args, &connector, &users).await?;
    let server_pid = args.common.server_pid;
    let rss_before = server_pid.map(read_rss_kib).transpose()?;

    let start = Instant::now() + START_DELAY;
    let warmup = Duration::from_secs(args.warmup_secs);
    let measured = Duration::from_secs(args.duration_secs);
    let start_ns = run.nanos_since_origin(start);
    run.set_window(
        start_ns + nanos(warmup),
        start_ns + nanos(warmup + measured),
    );
    let template = Arc::new(MessageTemplate::new(args.message_bytes));
    let (shutdown, shutdown_signal) = watch::channel(false);
    let (stop_sampling, sampling_signal) = watch::channel(false);
    let sampler = server_pid.map(|pid| tokio::spawn(sample_rss(pid, sampling_signal)));

    let tokio_start = tokio::time::Instant::from_std(start);
    let send_end = tokio_start + warmup + measured;
    let period = Duration::from_secs_f64(args.common.users as f64 / args.rate as f64);
    for (index, sink) in sinks.into_iter().enumerate() {
        // Socket i starts i/RATE seconds after the start, so that the sends of all
        // sockets spread evenly over each period instead of leaving together.
        let schedule = Schedule {
            first: tokio_start + Duration::from_secs_f64(index as f64 / args.rate as f64),
            period,
            end: send_end,
        };
        let shard = index % SHARDS;
        tasks.push(tokio::spawn(send_messages(
            sink,
            schedule,
            run.clone(),
            shard,
            template.clone(),
            shutdown_signal.clone(),
        )));
    }
    eprintln!(
        "sending {} messages/s from {} users ({rate_per_socket:.2}/s each) for {} s warmup + {} s measured",
        args.rate,
        users.len(),
        args.warmup_secs,
        args.duration_secs
    );

    tokio::time::sleep_until(send_end).await;
    let drain_elapsed = drain(&run, Duration::from_secs(args.drain_secs)).await;
    let _ = stop_sampling.send(true);
    let server_rss = match sampler {
        Some(task) => Some(task.await.unwrap_or_default()),
        None => None,
    };

    eprintln!("closing the chat sockets");
    run.closing.store(true, Ordering::Release);
    let _ = shutdown.send(true);
    close_all(tasks).await;
    let slow = read_slow_sockets(slow_sockets, Duration::from_secs(args.slow_read_secs)).await;

    let context = ReportContext {
        rate_per_socket,
        open_retries: connector.retries_done(),
        drain_elapsed,
        slow,
        rss_before,
        server_rss,
    };
    let report = build_report(&args, &run, context)?;
    print_summary(&report);
    print_json_line(&report)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

type ChatSink = SplitSink<Socket, Message>;

/// Opens one chat socket per user, to its partner, and starts reading each as soon as it
/// is open. Returns the sending halves in user order and the reader tasks.
async fn open_chat_sockets(
    args: &ChatArgs,
    connector: &Connector,
    users: &[SignedInUser],
    run: &Arc<RunState>,
) -> anyhow::Result<(Vec<ChatSink>, Vec<JoinHandle<()>>)> {
    eprintln!("opening {} chat sockets", users.len());
    let started = Instant::now();
    let progress_step = (users.len() / 10).max(1);
    let mut attempts = stream::iter(users.iter().enumerate())
        .map(|(index, user)| {
            let partner_id = users[index ^ 1].user_id;
            let path = format!("/ws/chat/{partner_id}/?token={}", user.access);
            let identity = Identity {
                user_id: user.user_id,
                partner_id,
                shard: index % SHARDS,
            };
            async move {
                let socket = connector.open(&path, index, None).await?;
                let (sink, frames) = socket.split();
                let reader = tokio::spawn(receive_frames(frames, identity, run.clone()));
                Ok::<_, String>((sink, reader))
            }
        })
        .buffered(args.common.connect_concurrency);
    let mut results = Vec::with_capacity(users.len());
    while let Some(result) = attempts.next().await {
        results.push(result);
        if results.len() % progress_step == 0 {
            eprintln!("  {}/{} attempted", results.len(), users.len());
        }
    }
    let opened = collect_or_fail(results, "chat sockets")?;
    eprintln!(
        "opened {} chat sockets in {:.1} s",
        opened.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(opened.into_iter().unzip())
}

/// Opens a second chat socket for each of the first `args.slow` users, with a small
/// receive buffer. These sockets are never read until the end of the run.
async fn open_slow_sockets(
    args: &ChatArgs,
    connector: &Connector,
    users: &[SignedInUser],
) -> anyhow::Result<Vec<Socket>> {
    if args.slow == 0 {
        return Ok(Vec::new());
    }
    let mut results = Vec::with_capacity(args.slow);
    for (index, user) in users.iter().enumerate().take(args.slow) {
        let path = format!(
            "/ws/chat/{}/?token={}",
            users[index ^ 1].user_id,
            user.access
        );
        results.push(
            connector
                .open(&path, index, Some(SLOW_RECV_BUFFER_BYTES))
                .await,
        );
    }
    let sockets = collect_or_fail(results, "slow sockets")?;
    eprintln!("opened {} slow sockets", sockets.len());
    Ok(sockets)
}

fn collect_or_fail<T>(
    results: Vec<Result<T, String>>,
    socket_kind: &str,
) -> anyhow::Result<Vec<T>> {
    let total = results.len();
    let mut sockets = Vec::with_capacity(total);
    let mut failures = BTreeMap::new();
    for result in results {
        match result {
            Ok(socket) => sockets.push(socket),
            Err(reason) => count(&mut failures, reason),
        }
    }
    if !failures.is_empty() {
        let reasons = failures
            .iter()
            .map(|(reason, n)| format!("{reason} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        bail!(
            "{} of {total} {socket_kind} failed to open: {reasons}",
            total - sockets.len()
        );
    }
    Ok(sockets)
}

/// Sends one message per tick of the socket's schedule, then waits for shutdown and
/// starts the close handshake.
async fn send_messages(
    mut sink: SplitSink<Socket, Message>,
    schedule: Schedule,
    run: Arc<RunState>,
    shard: usize,
    template: Arc<MessageTemplate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(schedule.first, schedule.period);
    // Burst: after a stall (a busy runtime or a socket that pushes back) the missed
    // messages leave at once, so the load offered over the run stays at --rate instead
    // of quietly dropping. Each message still carries its real send time, and the delay
    // against the schedule is reported as send lag.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        let scheduled = ticks.tick().await;
        if scheduled >= schedule.end {
            break;
        }
        let now = Instant::now();
        let sent_ns = run.nanos_since_origin(now);
        let frame = template.render(sent_ns);
        if let Err(error) = sink.send(Message::Text(frame.into())).await {
            count(&mut lock(&run.send_failures), describe_ws_error(&error));
            return;
        }
        run.sent_total.fetch_add(1, Ordering::Relaxed);
        if run.in_window(sent_ns) {
            let lag = now.saturating_duration_since(scheduled.into_std());
            let mut shard = lock(&run.shards[shard]);
            shard.sent_in_window += 1;
            shard.send_lag.saturating_record(micros(nanos(lag)));
        }
    }
    let _ = shutdown.wait_for(|stop| *stop).await;
    let _ = sink.close().await;
}

/// Reads frames until the socket closes. After a close frame it keeps reading until the
/// server ends the TCP connection, so that TIME_WAIT stays on the server's side.
async fn receive_frames(mut frames: SplitStream<Socket>, me: Identity, run: Arc<RunState>) {
    while let Some(message) = frames.next().await {
        match message {
            Ok(Message::Text(text)) => run.handle_text(&me, text.as_str()),
            Ok(Message::Close(frame)) => {
                run.record_unexpected_close(describe_close(frame.as_ref()));
                while let Some(Ok(_)) = frames.next().await {}
                return;
            }
            // tungstenite replies to pings with pongs by itself while this loop polls.
            Ok(_) => {}
            Err(error) => {
                run.record_unexpected_close(describe_ws_error(&error));
                return;
            }
        }
    }
    run.record_unexpected_close("connection ended without a close frame".to_owned());
}

/// Waits after the last scheduled send until every sent message came back as an echo
/// and a delivery, no frame arrived for [`DRAIN_QUIET`], or `limit` passed. Returns the
/// time spent.
async fn drain(run: &RunState, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut last_received = run.received_chat_frames();
    let mut last_change = started;
    loop {
        let sent = run.sent_total.load(Ordering::Relaxed);
        let echoes = run.echoes_total.load(Ordering::Relaxed);
        let deliveries = run.deliveries_total.load(Ordering::Relaxed);
        if echoes >= sent && deliveries >= sent {
            break;
        }
        let received = echoes + deliveries;
        if received != last_received {
            last_received = received;
            last_change = Instant::now();
        }
        if last_change.elapsed() >= DRAIN_QUIET || started.elapsed() >= limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

async fn close_all(tasks: Vec<JoinHandle<()>>) {
    let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
    let joined = tokio::time::timeout(CLOSE_TIMEOUT, futures_util::future::join_all(tasks)).await;
    if joined.is_err() {
        eprintln!(
            "warning: some sockets did not finish closing within {} s; dropping them",
            CLOSE_TIMEOUT.as_secs()
        );
        for abort in aborts {
            abort.abort();
        }
    }
}

/// Reads every slow socket until a close frame, the end of the connection or `limit`.
async fn read_slow_sockets(sockets: Vec<Socket>, limit: Duration) -> SlowSocketsReport {
    let count_sockets = sockets.len();
    let deadline = tokio::time::Instant::now() + limit;
    let reads = sockets
        .into_iter()
        .map(|socket| read_slow_socket(socket, deadline, limit));
    let results = futures_util::future::join_all(reads).await;
    let mut outcomes = BTreeMap::new();
    let mut frames_read = 0;
    let mut closed_by_server = 0;
    let mut closed_with_1013 = 0;
    for (outcome, frames) in results {
        frames_read += frames;
        if outcome.starts_with("close") || outcome.starts_with("connection ended") {
            closed_by_server += 1;
        }
        if outcome == "close 1013" {
            closed_with_1013 += 1;
        }
        count(&mut outcomes, outcome);
    }
    SlowSocketsReport {
        sockets: count_sockets,
        closed_by_server,
        closed_with_1013,
        outcomes,
        frames_read,
    }
}

/// Returns the outcome of reading one slow socket and the frames read before it.
async fn read_slow_socket(
    mut socket: Socket,
    deadline: tokio::time::Instant,
    limit: Duration,
) -> (String, u64) {
    let mut frames = 0;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => {
                return (
                    format!("still open after reading for {} s", limit.as_secs()),
                    frames,
                )
            }
            Ok(None) => return ("connection ended without a close frame".to_owned(), frames),
            Ok(Some(Err(error))) => return (describe_ws_error(&error), frames),
            Ok(Some(Ok(Message::Close(frame)))) => return (describe_close(frame.as_ref()), frames),
            Ok(Some(Ok(_))) => frames += 1,
        }
    }
}

/// Inputs of the report besides the arguments and the run's counters.
struct ReportContext {
    rate_per_socket: f64,
    open_retries: u64,
    drain_elapsed: Duration,
    slow: SlowSocketsReport,
    rss_before: Option<u64>,
    server_rss: Option<RssSeries>,
}

fn build_report(
    args: &ChatArgs,
    run: &RunState,
    context: ReportContext,
) -> anyhow::Result<ChatReport> {
    let mut delivery = latency_histogram()?;
    let mut echo = latency_histogram()?;
    let mut send_lag = latency_histogram()?;
    let (mut sent, mut echoes, mut deliveries) = (0, 0, 0);
    for shard in &run.shards {
        let shard = lock(shard);
        delivery.add(&shard.delivery)?;
        echo.add(&shard.echo)?;
        send_lag.add(&shard.send_lag)?;
        sent += shard.sent_in_window;
        echoes += shard.echoes_in_window;
        deliveries += shard.deliveries_in_window;
    }
    let seconds = args.duration_secs as f64;
    let per_sec = |n: u64| round3(n as f64 / seconds);
    let error_frames = lock(&run.error_frames).clone();
    let close_reasons = lock(&run.unexpected_closes).clone();
    Ok(ChatReport {
        scenario: "chat",
        users: args.common.users,
        open_retries: context.open_retries,
        rate_requested: args.rate,
        rate_per_socket: round3(context.rate_per_socket),
        warmup_secs: args.warmup_secs,
        duration_secs: args.duration_secs,
        message_bytes: args.message_bytes,
        messages_sent_total: run.sent_total.load(Ordering::Relaxed),
        messages_sent: sent,
        sent_per_sec: per_sec(sent),
        echoes_received: echoes,
        echoes_per_sec: per_sec(echoes),
        deliveries_received: deliveries,
        deliveries_per_sec: per_sec(deliveries),
        chat_frames_per_sec: per_sec(echoes + deliveries),
        echoes_missing: sent.saturating_sub(echoes),
        deliveries_missing: sent.saturating_sub(deliveries),
        delivery_latency: LatencySummary::from_histogram(&delivery),
        echo_latency: LatencySummary::from_histogram(&echo),
        send_lag: LatencySummary::from_histogram(&send_lag),
        error_frames_total: error_frames.values().sum(),
        error_frames,
        send_failures: lock(&run.send_failures).clone(),
        closed_unexpectedly: close_reasons.values().sum(),
        close_reasons,
        foreign_frames: run.foreign_frames.load(Ordering::Relaxed),
        other_frames: run.other_frames.load(Ordering::Relaxed),
        drain_secs: round3(context.drain_elapsed.as_secs_f64()),
        slow: context.slow,
        server_rss_before_kib: context.rss_before,
        server_rss: context.server_rss,
    })
}

fn print_map(label: &str, map: &BTreeMap<String, u64>) {
    for (key, value) in map {
        println!("    {label}: {key} ({value})");
    }
}

fn print_summary(report: &ChatReport) {
    println!("chat");
    println!(
        "  load                   {} users, {} messages/s requested ({:.2}/s per socket), {} B messages",
        report.users, report.rate_requested, report.rate_per_socket, report.message_bytes
    );
    if report.open_retries > 0 {
        println!("  retries after HTTP 503 {}", report.open_retries);
    }
    println!(
        "  measured window        {} s after {} s warmup; drain took {:.1} s",
        report.duration_secs, report.warmup_secs, report.drain_secs
    );

    println!(
        "  messages sent          {} in the window ({:.0}/s), {} in total",
        report.messages_sent, report.sent_per_sec, report.messages_sent_total
    );
    println!(
        "  echoes (stored)        {} ({:.0}/s), {} missing",
        report.echoes_received, report.echoes_per_sec, report.echoes_missing
    );
    println!(
        "  deliveries to partner  {} ({:.0}/s), {} missing",
        report.deliveries_received, report.deliveries_per_sec, report.deliveries_missing
    );
    println!(
        "  chat frames received   {:.0}/s",
        report.chat_frames_per_sec
    );

    println!(
        "  delivery latency       {}",
        report.delivery_latency.describe()
    );
    println!(
        "  echo latency           {}",
        report.echo_latency.describe()
    );
    println!("  send lag               {}", report.send_lag.describe());

    println!("  error frames           {}", report.error_frames_total);
    print_map("error", &report.error_frames);
    print_map("send failed", &report.send_failures);
    println!("  closed unexpectedly    {}", report.closed_unexpectedly);
    print_map("closed", &report.close_reasons);
    if report.foreign_frames > 0 || report.other_frames > 0 {
        println!(
            "  other frames           {} chat frames not from this tool, {} of other types",
            report.foreign_frames, report.other_frames
        );
    }

    if report.slow.sockets > 0 {
        println!(
            "  slow sockets           {}: {} closed by the server, {} with 1013; {} frames read from them afterwards",
            report.slow.sockets, report.slow.closed_by_server, report.slow.closed_with_1013, report.slow.frames_read
        );
        print_map("slow socket", &report.slow.outcomes);
    }

    if let Some(rss) = &report.server_rss {
        let show = |kib: Option<u64>| kib.map_or_else(|| "-".to_owned(), |kib| format!("{kib}"));
        println!(
            "  server RSS             first {} / min {} / max {} / last {} KiB ({} samples; {} KiB before the run)",
            show(rss.first_kib),
            show(rss.min_kib),
            show(rss.max_kib),
            show(rss.last_kib),
            rss.samples,
            show(report.server_rss_before_kib)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_has_requested_length() {
        let template = MessageTemplate::new(100);
        let frame = template.render(42);
        let value: serde_json::Value = serde_json::from_str(&frame).expect("frame is JSON");
        let text = value["message"].as_str().expect("message is a string");
        assert_eq!(text.len(), 100);
    }

    #[test]
    fn send_time_round_trips() {
        let template = MessageTemplate::new(30);
        for sent_ns in [0, 1, 987_654_321, u64::MAX] {
            let frame = template.render(sent_ns);
            let value: serde_json::Value = serde_json::from_str(&frame).expect("frame is JSON");
            let text = value["message"].as_str().expect("message is a string");
            assert_eq!(parse_send_time(text), Some(sent_ns));
        }
    }

    #[test]
    fn send_time_rejects_foreign_text() {
        assert_eq!(parse_send_time("hello"), None);
        assert_eq!(parse_send_time("0000000000000000000x and more"), None);
    }

    #[test]
    fn frame_classified_as_echo_or_delivery() {
        let run = RunState::new(Instant::now()).expect("run state");
        run.set_window(0, u64::MAX);
        let me = Identity {
            user_id: 1,
            partner_id: 2,
            shard: 0,
        };
        let own = r#"{"type":"chat_message","user_id":1,"email":"a","message":"00000000000000000001xx","timestamp":"t","message_id":1,"chat_id":1}"#;
        let partner = own.replace(r#""user_id":1"#, r#""user_id":2"#);
        let stranger = own.replace(r#""user_id":1"#, r#""user_id":3"#);
        run.handle_text(&me, own);
        run.handle_text(&me, &partner);
        run.handle_text(&me, &stranger);
        run.handle_text(
            &me,
            r#"{"type":"error","code":"rate_limited","detail":"slow down"}"#,
        );
        run.handle_text(&me, r#"{"type":"pong"}"#);

        let shard = lock(&run.shards[0]);
        assert_eq!(shard.echoes_in_window, 1);
        assert_eq!(shard.deliveries_in_window, 1);
        assert_eq!(run.foreign_frames.load(Ordering::Relaxed), 1);
        assert_eq!(run.other_frames.load(Ordering::Relaxed), 1);
        assert_eq!(lock(&run.error_frames).get("rate_limited"), Some(&1));
    }

    #[test]
    fn warmup_messages_not_in_statistics() {
        let run = RunState::new(Instant::now()).expect("run state");
        run.set_window(1_000, 2_000);
        let me = Identity {
            user_id: 1,
            partner_id: 2,
            shard: 3,
        };
        run.handle_text(
            &me,
            r#"{"type":"chat_message","user_id":2,"message":"00000000000000000500xx"}"#,
        );
        assert_eq!(run.deliveries_total.load(Ordering::Relaxed), 1);
        assert_eq!(lock(&run.shards[3]).deliveries_in_window, 0);
    }
}
