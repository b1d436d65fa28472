//! The WebSocket wire format: frames clients send, frames the server sends, and the
//! error codes of rejected frames. All frames are JSON text; unknown fields are ignored.

use bytestring::ByteString;
use serde::Serialize;
use serde_json::Value;

use crate::ids::{ChatId, MessageId, NotificationId, UserId};

/// A frame a client sent, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// `{"message": "…"}` or `{"type": "chat_message", "message": "…"}`.
    ChatMessage {
        text: String,
    },
    Ping,
    Typing,
    /// Marks messages up to `message_id` from the other participant as read.
    Read {
        message_id: MessageId,
    },
    /// Replays stored messages with ids greater than `after`.
    Sync {
        after: MessageId,
    },
}

/// A rejected frame: `code` is stable snake_case for programs, `detail` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameError {
    pub code: &'static str,
    pub detail: String,
}

impl FrameError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// The `{"type": "error", …}` frame sent back to the client.
    pub fn to_frame(&self) -> ByteString {
        encode(&ServerFrame::Error {
            code: self.code,
            detail: &self.detail,
        })
    }
}

/// Parses a text frame. `max_message_chars` bounds chat messages, counted in Unicode
/// characters.
///
/// # Errors
/// A [`FrameError`] with code `invalid_json`, `unknown_type`, `missing_message`,
/// `message_too_long` or `invalid_message_id`.
pub fn parse_client_frame(text: &str, max_message_chars: usize) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        FrameError::new("invalid_json", format!("The frame is not valid JSON: {e}."))
    })?;
    let Value::Object(object) = value else {
        return Err(FrameError::new(
            "invalid_json",
            "The frame must be a JSON object.",
        ));
    };
    let frame_type = match object.get("type") {
        None | Some(Value::Null) => "chat_message",
        Some(Value::String(name)) => name.as_str(),
        Some(_) => {
            return Err(FrameError::new(
                "unknown_type",
                "The field type must be a string.",
            ))
        }
    };
    match frame_type {
        "chat_message" => parse_chat_message(object.get("message"), max_message_chars),
        "ping" => Ok(ClientFrame::Ping),
        "typing" => Ok(ClientFrame::Typing),
        "read" => Ok(ClientFrame::Read {
            message_id: MessageId(read_id(object.get("message_id"), "message_id")?),
        }),
        "sync" => Ok(ClientFrame::Sync {
            after: MessageId(read_id(object.get("after"), "after")?),
        }),
        other => Err(FrameError::new(
            "unknown_type",
            format!("Unknown frame type '{other}'. Valid types: chat_message, ping, typing, read, sync."),
        )),
    }
}

fn parse_chat_message(
    message: Option<&Value>,
    max_chars: usize,
) -> Result<ClientFrame, FrameError> {
    let text = match message {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(FrameError::new(
                "missing_message",
                "The field message is required and may not be blank.",
            ))
        }
        Some(_) => {
            return Err(FrameError::new(
                "missing_message",
                "The field message must be a string.",
            ))
        }
    };
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(FrameError::new(
            "message_too_long",
            format!("The message has {chars} characters; the maximum is {max_chars}."),
        ));
    }
    Ok(ClientFrame::ChatMessage { text: text.clone() })
}

/// Reads a non-negative id given as a JSON number or a numeric string.
fn read_id(value: Option<&Value>, field: &str) -> Result<i64, FrameError> {
    let id = match value {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    id.filter(|id| *id >= 0).ok_or_else(|| {
        FrameError::new(
            "invalid_message_id",
            format!("The field {field} is required and must be a non-negative integer."),
        )
    })
}

/// Frames the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    ChatMessage {
        user_id: UserId,
        email: &'a str,
        message: &'a str,
        timestamp: &'a str,
        message_id: MessageId,
        chat_id: ChatId,
    },
    Notification {
        message: &'a str,
        id: NotificationId,
        page: &'a str,
        route: &'a str,
        obj_id: &'a str,
        timestamp: &'a str,
    },
    JobAlert {
        message: &'a str,
        job_id: i64,
    },
    Pong,
    Typing {
        user_id: UserId,
    },
    Read {
        user_id: UserId,
        message_id: MessageId,
    },
    Synced {
        last_message_id: MessageId,
    },
    Presence {
        user_id: UserId,
        online: bool,
        last_seen: Option<&'a str>,
    },
    Error {
        code: &'a str,
        detail: &'a str,
    },
}

/// Serializes a frame once; the bytes are then shared by every recipient.
pub fn encode(frame: &ServerFrame<'_>) -> ByteString {
    // NOTE: serializing these plain structs to a string cannot fail.
    ByteString::from(serde_json::to_string(frame).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_both_chat_shapes() {
        let expected = ClientFrame::ChatMessage {
            text: "Hello".into(),
        };
        assert_eq!(
            parse_client_frame(r#"{"message": "Hello"}"#, 10),
            Ok(expected.clone())
        );
        assert_eq!(
            parse_client_frame(
                r#"{"type": "chat_message", "message": "Hello", "x": 1}"#,
                10
            ),
            Ok(expected)
        );
    }

    #[test]
    fn parse_counts_characters_not_bytes() {
        assert!(parse_client_frame(r#"{"message": "ééééé"}"#, 5).is_ok());
        let error = parse_client_frame(r#"{"message": "éééééé"}"#, 5).expect_err("too long");
        assert_eq!(error.code, "message_too_long");
    }

    #[test]
    fn parse_rejects_bad_frames_with_codes() {
        let cases = [
            ("not json", "invalid_json"),
            ("[1, 2]", "invalid_json"),
            (r#"{"type": "dance"}"#, "unknown_type"),
            (r#"{"type": 5}"#, "unknown_type"),
            (r#"{"type": "chat_message"}"#, "missing_message"),
            (r#"{"message": "   "}"#, "missing_message"),
            (r#"{"message": 42}"#, "missing_message"),
            (r#"{"type": "read"}"#, "invalid_message_id"),
            (r#"{"type": "sync", "after": -1}"#, "invalid_message_id"),
        ];
        for (text, code) in cases {
            let error = parse_client_frame(text, 100).expect_err(text);
            assert_eq!(error.code, code, "{text}");
        }
    }

    #[test]
    fn parse_reads_ids_from_numbers_and_strings() {
        assert_eq!(
            parse_client_frame(r#"{"type": "sync", "after": "12"}"#, 10),
            Ok(ClientFrame::Sync {
                after: MessageId(12)
            })
        );
        assert_eq!(
            parse_client_frame(r#"{"type": "read", "message_id": 7}"#, 10),
            Ok(ClientFrame::Read {
                message_id: MessageId(7)
            })
        );
    }

    #[test]
    fn encode_writes_type_tag() {
        let frame = encode(&ServerFrame::Typing { user_id: UserId(3) });
        assert_eq!(&*frame, r#"{"type":"typing","user_id":3}"#);
        assert_eq!(&*encode(&ServerFrame::Pong), r#"{"type":"pong"}"#);
    }
}
