//! Opens WebSocket connections to the server from chosen source addresses.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use crate::CommonArgs;

pub type Socket = WebSocketStream<TcpStream>;

/// File descriptors kept free for the runtime, the HTTP client and stdio.
const SPARE_FILE_DESCRIPTORS: usize = 64;

/// The failure reason that [`Connector::open`] retries. The server returns 503 when an
/// actor did not reply in time, which passes once the actor's queue drains.
const RETRIED_REASON: &str = "HTTP 503 Service Unavailable";

/// Wait before the first retry; it doubles for each further retry.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);

/// Opens sockets to one server, spreading them over the source addresses.
pub struct Connector {
    server: SocketAddr,
    /// `ws://host:port`, the prefix of every socket URL.
    ws_base: String,
    local_addrs: Vec<IpAddr>,
    timeout: Duration,
    retries: u32,
    retries_done: AtomicU64,
    config: WebSocketConfig,
}

impl Connector {
    /// Resolves the server of `args.url`. `read_buffer_bytes` is the read buffer that
    /// tungstenite allocates up front for each socket (128 KiB by default, too much for
    /// thousands of sockets).
    ///
    /// # Errors
    /// An invalid or non-http URL, a host that does not resolve, or source addresses of
    /// another IP family than the server.
    pub fn new(args: &CommonArgs, read_buffer_bytes: usize) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&args.url)
            .with_context(|| format!("--url {} is not a valid URL", args.url))?;
        if url.scheme() != "http" {
            bail!(
                "--url must start with http:// because the tool opens plain ws:// sockets; got {}",
                args.url
            );
        }
        let host = url
            .host_str()
            .with_context(|| format!("--url {} has no host", args.url))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let server = url
            .socket_addrs(|| Some(80))
            .with_context(|| format!("failed to resolve the host of --url {}", args.url))?
            .into_iter()
            .next()
            .with_context(|| format!("the host of --url {} resolved to no address", args.url))?;
        if let Some(local) = args
            .local_addrs
            .iter()
            .find(|local| local.is_ipv4() != server.is_ipv4())
        {
            bail!("--local-addrs {local} is not of the same IP version as the server address {server}");
        }
        Ok(Self {
            server,
            ws_base: format!("ws://{host}:{port}"),
            local_addrs: args.local_addrs.clone(),
            timeout: args.connect_timeout(),
            retries: args.connect_retries,
            retries_done: AtomicU64::new(0),
            config: WebSocketConfig::default().read_buffer_size(read_buffer_bytes),
        })
    }

    /// Opens `path_and_query` (for example `/ws/notification/?token=…`). `slot` picks the
    /// source address round-robin. `recv_buffer_bytes` sets SO_RCVBUF before connecting.
    /// An HTTP 503 response is retried up to `--connect-retries` times with a doubling delay.
    ///
    /// # Errors
    /// A short reason, the same text for the same kind of failure so that failures can be
    /// counted by reason: `HTTP 401 Unauthorized`, `connect: Connection refused (os error 111)`, ….
    pub async fn open(
        &self,
        path_and_query: &str,
        slot: usize,
        recv_buffer_bytes: Option<u32>,
    ) -> Result<Socket, String> {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 0;
        loop {
            let opened = tokio::time::timeout(
                self.timeout,
                self.open_once(path_and_query, slot, recv_buffer_bytes),
            )
            .await;
            let reason = match opened {
                Ok(Ok(socket)) => return Ok(socket),
                Ok(Err(reason)) => reason,
                Err(_) => format!("timed out after {} s", self.timeout.as_secs()),
            };
            if reason != RETRIED_REASON || attempt >= self.retries {
                return Err(reason);
            }
            attempt += 1;
            self.retries_done.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }

    /// Number of retries made so far by [`Connector::open`].
    pub fn retries_done(&self) -> u64 {
        self.retries_done.load(Ordering::Relaxed)
    }

    async fn open_once(
        &self,
        path_and_query: &str,
        slot: usize,
        recv_buffer_bytes: Option<u32>,
    ) -> Result<Socket, String> {
        let socket = if self.server.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|error| format!("socket: {error}"))?;
        if let Some(size) = recv_buffer_bytes {
            socket
                .set_recv_buffer_size(size)
                .map_err(|error| format!("SO_RCVBUF: {error}"))?;
        }
        if !self.local_addrs.is_empty() {
            let local = self.local_addrs[slot % self.local_addrs.len()];
            socket
                .bind(SocketAddr::new(local, 0))
                .map_err(|error| format!("bind {local}: {error}"))?;
        }
        let stream = socket
            .connect(self.server)
            .await
            .map_err(|error| format!("connect: {error}"))?;
        // Small frames must leave at once; Nagle's algorithm would add delay to latency.
        stream
            .set_nodelay(true)
            .map_err(|error| format!("TCP_NODELAY: {error}"))?;

        let url = format!("{}{path_and_query}", self.ws_base);
        let (socket, _response) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(self.config))
                .await
                .map_err(|error| describe_ws_error(&error))?;
        Ok(socket)
    }
}

/// Describes a handshake or protocol error in a few words, without per-socket details.
pub fn describe_ws_error(error: &WsError) -> String {
    match error {
        WsError::Http(response) => format!("HTTP {}", response.status()),
        WsError::Io(error) => format!("I/O: {error}"),
        other => other.to_string(),
    }
}

/// Describes a received close frame, for example `close 1013`.
pub fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("close {}", u16::from(frame.code)),
        None => format!("close {} (no code)", u16::from(CloseCode::Status)),
    }
}

/// Adds one to `key` in a map of counts.
pub fn count(map: &mut BTreeMap<String, u64>, key: impl Into<String>) {
    *map.entry(key.into()).or_insert(0) += 1;
}

/// Fails early when `sockets` more descriptors would pass this process's soft limit
/// of open files, which would otherwise show up as thousands of failed connects.
///
/// # Errors
/// When the limit is too low, with what to do about it.
pub fn check_open_files_limit(sockets: usize) -> anyhow::Result<()> {
    let Some(limit) = open_files_limit() else {
        return Ok(());
    };
    let needed = sockets + SPARE_FILE_DESCRIPTORS;
    if needed > limit {
        bail!(
            "{sockets} sockets need about {needed} file descriptors but this process may open {limit}; \
             raise the soft limit with `ulimit -n` (up to the hard limit) or split the sockets over several processes"
        );
    }
    Ok(())
}

/// Reads the soft limit of open files from `/proc/self/limits` (Linux only).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_limit_parses_soft_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             95000                95000                processes\n\
                      Max open files            1024                 20000                files\n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
    }

    #[test]
    fn open_files_limit_unlimited_is_none() {
        let limits = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(limits), None);
    }

    #[test]
    fn close_description_shows_code() {
        let frame = CloseFrame {
            code: CloseCode::from(1013),
            reason: "client too slow".into(),
        };
        assert_eq!(describe_close(Some(&frame)), "close 1013");
        assert_eq!(describe_close(None), "close 1005 (no code)");
    }
}
