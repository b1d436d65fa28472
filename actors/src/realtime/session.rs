//! The session actor: one per WebSocket. It parses and checks client frames, hands chat
//! messages to the chat writer, relays typing and read receipts through the registry,
//! replays missed messages on `sync`, and writes the frames the registry sends it.
//!
//! Reading and writing frames happens only in this module (the upgrade itself is in the
//! server's `ws` module), so that moving from `actix-web-actors`, which is deprecated in
//! favour of `actix-ws`, changes little else.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::frames::{encode, parse_client_frame, ClientFrame, FrameError, ServerFrame};
use super::registry::{
    Channel, ChatRegistry, OutFrame, RelayToRoom, SessionStarted, SessionStopped, SocketHandle,
    SocketId, ToSocket, CLOSE_TOO_SLOW,
};
use crate::accounts::auth::Principal;
use crate::chat::writer::{ChatWriter, PostChatMessage};
use crate::chat::{ChatActor, ChatError, MarkRead, MessagesAfter, OpenedChat};
use crate::config::RealtimeConfig;
use crate::ids::MessageId;

static NEXT_SOCKET_ID: AtomicU64 = AtomicU64::new(1);

/// Mailbox capacity of a session, in messages (each may carry several frames).
const SESSION_MAILBOX_CAPACITY: usize = 256;

/// Everything a session needs besides its socket.
pub struct SessionSetup {
    pub principal: Principal,
    pub channel: Channel,
    /// The room of a chat socket; `None` for notification and job-alert sockets.
    pub room: Option<OpenedChat>,
    pub registry: Addr<ChatRegistry>,
    pub chat: Addr<ChatActor>,
    pub writer: Addr<ChatWriter>,
    pub config: RealtimeConfig,
}

/// See the module docs.
pub struct SocketSession {
    socket_id: SocketId,
    setup: SessionSetup,
    rate: DefaultDirectRateLimiter,
    queued: Arc<AtomicUsize>,
    evicted: Arc<AtomicBool>,
    last_heard: Instant,
    syncing: bool,
    held_messages: HeldMessages,
}

/// Live chat messages that arrive while `sync` replays the backlog. They are written
/// after the replay, without those the replay already wrote, so the client sees each
/// message once and in id order.
#[derive(Debug, Default)]
struct HeldMessages {
    frames: Vec<OutFrame>,
}

impl HeldMessages {
    fn hold(&mut self, frame: OutFrame) {
        self.frames.push(frame);
    }

    /// Empties the hold and returns the frames to write, in arrival order, with the
    /// number of frames it contained. Chat messages up to `replayed_through` are left out.
    fn release(&mut self, replayed_through: MessageId) -> (Vec<OutFrame>, usize) {
        let frames = std::mem::take(&mut self.frames);
        let count = frames.len();
        let fresh = frames
            .into_iter()
            .filter(|frame| frame.message_id.is_none_or(|id| id > replayed_through))
            .collect();
        (fresh, count)
    }
}

impl SocketSession {
    pub fn new(setup: SessionSetup) -> Self {
        let per_second =
            NonZeroU32::new(setup.config.messages_per_second).unwrap_or(NonZeroU32::MIN);
        Self {
            socket_id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            rate: RateLimiter::direct(Quota::per_second(per_second)),
            queued: Arc::new(AtomicUsize::new(0)),
            evicted: Arc::new(AtomicBool::new(false)),
            last_heard: Instant::now(),
            syncing: false,
            held_messages: HeldMessages::default(),
            setup,
        }
    }

    fn user_id(&self) -> crate::ids::UserId {
        self.setup.principal.user_id
    }

    fn send_error(&self, ctx: &mut ws::WebsocketContext<Self>, error: &FrameError) {
        ctx.text(error.to_frame());
    }

    fn close(&self, ctx: &mut ws::WebsocketContext<Self>, code: u16, reason: &str) {
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Other(code),
            description: Some(reason.to_owned()),
        }));
        ctx.stop();
    }

    /// Closes the socket if the registry evicted it; returns whether it did.
    fn stop_if_evicted(&self, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        if self.evicted.load(Ordering::Acquire) {
            self.close(ctx, CLOSE_TOO_SLOW, "client too slow; reconnect and sync");
            return true;
        }
        false
    }

    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        let interval = Duration::from_millis(self.setup.config.heartbeat_interval_ms);
        let timeout = Duration::from_millis(self.setup.config.client_timeout_ms);
        ctx.run_interval(interval, move |session, ctx| {
            if session.stop_if_evicted(ctx) {
                return;
            }
            if session.last_heard.elapsed() > timeout {
                log::debug!(
                    "socket timed out socket_id={} user_id={}",
                    session.socket_id,
                    session.user_id()
                );
                session.close(ctx, 1001, "no pong within the timeout");
                return;
            }
            ctx.ping(b"");
        });
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let frame = match parse_client_frame(text, self.setup.config.max_message_chars) {
            Ok(frame) => frame,
            Err(error) => return self.send_error(ctx, &error),
        };
        if frame == ClientFrame::Ping {
            ctx.text(encode(&ServerFrame::Pong));
            return;
        }
        if self.rate.check().is_err() {
            let detail = format!(
                "More than {} frames per second; this one was dropped.",
                self.setup.config.messages_per_second
            );
            return self.send_error(ctx, &FrameError::new("rate_limited", detail));
        }
        let Some(room) = self.setup.room.clone() else {
            let error = FrameError::new(
                "unknown_type",
                "Only ping frames are accepted on this socket.",
            );
            return self.send_error(ctx, &error);
        };
        match frame {
            ClientFrame::ChatMessage { text } => self.post_message(room, text, ctx),
            ClientFrame::Typing => self.relay(
                &room,
                encode(&ServerFrame::Typing {
                    user_id: self.user_id(),
                }),
            ),
            ClientFrame::Read { message_id } => self.mark_read(room, message_id, ctx),
            ClientFrame::Sync { after } => {
                if self.syncing {
                    let error = FrameError::new(
                        "sync_in_progress",
                        "Wait for the synced frame before syncing again.",
                    );
                    return self.send_error(ctx, &error);
                }
                self.syncing = true;
                self.sync_page(room, after, ctx);
            }
            ClientFrame::Ping => {}
        }
    }

    fn post_message(&self, room: OpenedChat, text: String, ctx: &mut ws::WebsocketContext<Self>) {
        let post = PostChatMessage {
            chat_id: room.chat_id,
            sender: self.user_id(),
            sender_email: room.email,
            sender_name: room.display_name,
            recipient: room.other,
            text,
        };
        let sent = self.setup.writer.send(post);
        ctx.spawn(
            actix::fut::wrap_future(sent).map(|reply, session: &mut Self, ctx| {
                let error = match reply {
                    Ok(Ok(_)) => return,
                    Ok(Err(ChatError::Busy)) | Err(_) => FrameError::new(
                        "server_busy",
                        "The server is busy; the message was not stored. Send it again.",
                    ),
                    Ok(Err(error)) => {
                        log::error!(
                            "chat message not stored socket_id={} user_id={}: {error}",
                            session.socket_id,
                            session.user_id()
                        );
                        FrameError::new(
                            "not_stored",
                            "The message could not be stored and was not delivered. Send it again.",
                        )
                    }
                };
                session.send_error(ctx, &error);
            }),
        );
    }

    fn relay(&self, room: &OpenedChat, frame: bytestring::ByteString) {
        let relay = RelayToRoom {
            chat_id: room.chat_id,
            from_user: self.user_id(),
            frame,
        };
        if let Err(error) = self.setup.registry.try_send(relay) {
            log::warn!("relay dropped socket_id={}: {error}", self.socket_id);
        }
    }

    fn mark_read(
        &self,
        room: OpenedChat,
        message_id: MessageId,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let request = MarkRead {
            chat_id: room.chat_id,
            reader: self.user_id(),
            message_id,
        };
        let sent = self.setup.chat.send(request);
        ctx.spawn(
            actix::fut::wrap_future(sent).map(move |reply, session: &mut Self, ctx| match reply {
                Ok(Ok(marker)) => {
                    let frame = encode(&ServerFrame::Read {
                        user_id: session.user_id(),
                        message_id: marker,
                    });
                    session.relay(&room, frame);
                }
                other => {
                    log::error!(
                        "read marker not stored socket_id={}: {other:?}",
                        session.socket_id
                    );
                    let error = FrameError::new(
                        "not_stored",
                        "The read marker could not be stored. Send it again.",
                    );
                    session.send_error(ctx, &error);
                }
            }),
        );
    }

    /// Replays one page of stored messages after `after`, then the next page, until a
    /// page is not full; then sends `synced`. Each page waits for the socket to take the
    /// previous one, because the actor runs only while the socket is writable.
    fn sync_page(&self, room: OpenedChat, after: MessageId, ctx: &mut ws::WebsocketContext<Self>) {
        let request = MessagesAfter {
            chat_id: room.chat_id,
            after,
        };
        let sent = self.setup.chat.send(request);
        ctx.spawn(
            actix::fut::wrap_future(sent).map(move |reply, session: &mut Self, ctx| match reply {
                Ok(Ok(page)) => {
                    for frame in page.frames {
                        ctx.text(frame);
                    }
                    if page.full {
                        session.sync_page(room, page.last_message_id, ctx);
                    } else {
                        ctx.text(encode(&ServerFrame::Synced {
                            last_message_id: page.last_message_id,
                        }));
                        session.end_sync(page.last_message_id, ctx);
                    }
                }
                other => {
                    log::error!("sync failed socket_id={}: {other:?}", session.socket_id);
                    let error = FrameError::new(
                        "sync_failed",
                        "Stored messages could not be read. Send sync again.",
                    );
                    session.send_error(ctx, &error);
                    session.end_sync(after, ctx);
                }
            }),
        );
    }

    /// Writes the live messages held during a replay that went up to
    /// `replayed_through`.
    fn end_sync(&mut self, replayed_through: MessageId, ctx: &mut ws::WebsocketContext<Self>) {
        self.syncing = false;
        let (frames, count) = self.held_messages.release(replayed_through);
        self.queued.fetch_sub(count, Ordering::AcqRel);
        for frame in frames {
            ctx.text(frame.text);
        }
    }
}

impl Actor for SocketSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The registry bounds what waits here by counting frames; this only stops a flood
        // of control messages.
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        let handle = SocketHandle {
            recipient: ctx.address().recipient(),
            queued: self.queued.clone(),
            evicted: self.evicted.clone(),
        };
        // `do_send` toward the registry, not a session: one start and one stop per socket,
        // so this queue is bounded by the number of sockets.
        self.setup.registry.do_send(SessionStarted {
            socket_id: self.socket_id,
            user_id: self.user_id(),
            session_id: self.setup.principal.session_id.clone(),
            channel: self.setup.channel,
            handle,
        });
        self.heartbeat(ctx);
        log::debug!(
            "socket opened socket_id={} user_id={} channel={:?}",
            self.socket_id,
            self.user_id(),
            self.setup.channel
        );
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.setup.registry.do_send(SessionStopped {
            socket_id: self.socket_id,
        });
        log::debug!(
            "socket closed socket_id={} user_id={}",
            self.socket_id,
            self.user_id()
        );
        Running::Stop
    }
}

impl Handler<ToSocket> for SocketSession {
    type Result = ();

    fn handle(&mut self, message: ToSocket, ctx: &mut Self::Context) {
        if self.stop_if_evicted(ctx) {
            return;
        }
        match message {
            ToSocket::Frames(frames) => {
                let mut written = 0;
                for frame in frames {
                    // Held frames stay counted as queued, so the slow-client guard
                    // bounds the hold too.
                    if self.syncing && frame.message_id.is_some() {
                        self.held_messages.hold(frame);
                    } else {
                        written += 1;
                        ctx.text(frame.text);
                    }
                }
                self.queued.fetch_sub(written, Ordering::AcqRel);
            }
            ToSocket::Close { code, reason } => self.close(ctx, code, reason),
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for SocketSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        if self.stop_if_evicted(ctx) {
            return;
        }
        self.last_heard = Instant::now();
        match item {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Binary(_)) | Ok(ws::Message::Continuation(_)) => {
                let error = FrameError::new(
                    "unsupported_frame",
                    "Send whole JSON text frames; binary and fragmented frames are not supported.",
                );
                self.send_error(ctx, &error);
            }
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(ws::ProtocolError::Overflow) => {
                log::info!(
                    "frame too large socket_id={} user_id={}",
                    self.socket_id,
                    self.user_id()
                );
                self.close(ctx, 1009, "frame too large");
            }
            // NOTE: actix-web-actors reports a text frame with invalid UTF-8 as an I/O
            // error whose text names UTF-8, after consuming the frame; the socket can go on.
            Err(ws::ProtocolError::Io(error))
                if error.to_string().to_lowercase().contains("utf-8") =>
            {
                let error = FrameError::new(
                    "invalid_utf8",
                    "Text frames must be valid UTF-8; the frame was dropped.",
                );
                self.send_error(ctx, &error);
            }
            Err(error) => {
                log::debug!(
                    "socket protocol error socket_id={}: {error}",
                    self.socket_id
                );
                ctx.stop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: i64) -> OutFrame {
        OutFrame {
            text: format!("message {id}").into(),
            message_id: Some(MessageId(id)),
        }
    }

    fn texts(frames: &[OutFrame]) -> Vec<&str> {
        frames.iter().map(|frame| &*frame.text).collect()
    }

    #[test]
    fn release_drops_replayed_messages() {
        let mut hold = HeldMessages::default();
        for id in [7, 8, 9] {
            hold.hold(chat(id));
        }
        let (fresh, count) = hold.release(MessageId(8));
        assert_eq!(texts(&fresh), ["message 9"]);
        assert_eq!(count, 3, "dropped frames still leave the queue count");
        assert!(hold.frames.is_empty());
    }

    #[test]
    fn release_keeps_frames_without_ids() {
        let mut hold = HeldMessages::default();
        hold.hold(chat(3));
        hold.hold(OutFrame::plain("typing".into()));
        hold.hold(chat(12));
        let (fresh, count) = hold.release(MessageId(5));
        assert_eq!(texts(&fresh), ["typing", "message 12"]);
        assert_eq!(count, 3);
    }
}
