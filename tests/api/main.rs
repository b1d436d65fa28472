//! Integration tests: the real app on a free port of 127.0.0.1 against a real
//! MongoDB-wire server, S3 server and SMTP sink. Run them with `bash scripts/test.sh`.

mod accounts;
mod chat;
mod helpers;
mod platform;
mod profiles;
mod realtime;
