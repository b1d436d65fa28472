//! `spawn_app()` and the request helpers every test uses. Each app is the production app
//! on a free port of 127.0.0.1 with a fresh database `test_<uuid>` on the MongoDB-wire
//! server named by `CN_TEST_MONGODB_URI`, media on the S3 server named by
//! `CN_TEST_S3_ENDPOINT`, and mail sent to an SMTP sink started here. `scripts/test.sh`
//! starts both servers and sets both variables.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::web;
use careernexus::config::Settings;
use careernexus::startup::{AppState, Application};
use careernexus_actors::config::{MailTransportKind, SmtpSecurity};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Password of every fixture account.
pub const FIXTURE_PASSWORD: &str = "Nexus#2026";
pub const ADA: &str = "ada.okafor@example.com";
pub const ADA_ID: i64 = 1;
pub const TUNDE: &str = "tunde.bello@example.com";
pub const TUNDE_ID: i64 = 2;
pub const KEMI: &str = "kemi.adeyemi@example.com";
pub const KEMI_ID: i64 = 3;
pub const CHINEDU: &str = "chinedu.eze@example.com";
pub const CHINEDU_ID: i64 = 4;
pub const ADMIN: &str = "admin@example.com";

/// One mail the sink received.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    pub to: Vec<String>,
    pub data: String,
}

/// The SMTP sink shared by all tests of this binary; tests tell their mails apart by
/// recipient, because every test signs up unique addresses.
struct MailSink {
    port: u16,
    mails: Arc<Mutex<Vec<CapturedMail>>>,
}

#[derive(Clone)]
struct SinkHandler {
    mails: Arc<Mutex<Vec<CapturedMail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for SinkHandler {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let mail = CapturedMail {
            to: self.to.iter().map(|to| to.to_lowercase()).collect(),
            data: String::from_utf8_lossy(&self.data).into_owned(),
        };
        self.mails.lock().expect("mail lock").push(mail);
        mailin_embedded::response::OK
    }
}

fn mail_sink() -> &'static MailSink {
    static SINK: OnceLock<MailSink> = OnceLock::new();
    SINK.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let handler = SinkHandler {
            mails: mails.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = mailin_embedded::Server::new(handler);
            server
                .with_name("sink.test")
                .with_num_threads(4)
                .with_tcp_listener(listener);
            server.serve().expect("SMTP sink stopped");
        });
        MailSink { port, mails }
    })
}

/// A running app and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
}

/// Signed-in tokens of one user.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: i64,
}

fn test_settings() -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::load(&root.join("config.toml")).expect("config.toml loads");
    let mongodb_uri = std::env::var("CN_TEST_MONGODB_URI").expect(
        "CN_TEST_MONGODB_URI is not set: run the tests with `bash scripts/test.sh`, which starts FerretDB and sets it",
    );
    let s3 = std::env::var("CN_TEST_S3_ENDPOINT")
        .expect("CN_TEST_S3_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts s3s-fs and sets it");
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.database.uri = mongodb_uri.into();
    settings.database.name = format!("test_{}", uuid::Uuid::new_v4().simple());
    settings.media.endpoint_url = s3.clone();
    settings.media.bucket = "test-media".to_owned();
    settings.media.public_url = String::new();
    settings.server.public_base_url = String::new();
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp_host = "127.0.0.1".to_owned();
    settings.mail.smtp_port = mail_sink().port;
    settings.mail.smtp_security = SmtpSecurity::None;
    settings.auth.bcrypt_cost = 4;
    settings.auth.otp_resend_interval_secs = 0;
    settings.realtime.heartbeat_interval_ms = 500;
    settings.realtime.client_timeout_ms = 5_000;
    settings
}

/// The app with fixtures loaded.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with fixtures loaded and settings changed by `customize` first.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut settings = test_settings();
    customize(&mut settings);
    let application = Application::build(settings)
        .await
        .expect("app builds against the test services");
    let state = application.state();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    careernexus_actors::fixtures::load_dir(&state.store, &fixtures, 4, &mut |_, _, _| {})
        .await
        .expect("fixtures load");
    let port = application.port();
    actix_rt::spawn(application.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        state,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.get(self.url(path)), token).await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).json(body), token)
            .await
    }

    pub async fn put(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.put(self.url(path)).json(body), token)
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.patch(self.url(path)).json(body), token)
            .await
    }

    pub async fn delete(
        &self,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.delete(self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request, token).await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::Response {
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request reaches the app")
    }

    /// Signs in and returns the tokens.
    pub async fn sign_in(&self, email: &str, password: &str) -> Session {
        let response = self
            .post(
                "/user/signin/",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(response.status(), 200, "sign-in of {email} failed");
        session_from(&response.json::<Value>().await.expect("json"))
    }

    /// Signs in a fixture account.
    pub async fn sign_in_fixture(&self, email: &str) -> Session {
        self.sign_in(email, FIXTURE_PASSWORD).await
    }

    /// Signs up a new account through both stages, reading the code from the mail.
    /// `industry` makes it a mentor.
    pub async fn sign_up(&self, email: &str, password: &str, industry: Option<&str>) -> Session {
        let mut form = json!({"email": email, "password1": password, "password2": password});
        if let Some(industry) = industry {
            form["industry"] = json!(industry);
        }
        let response = self.post("/user/signup/", &form, None).await;
        assert_eq!(
            response.status(),
            200,
            "sign-up stage 1 failed: {}",
            response.text().await.unwrap_or_default()
        );
        form["otp"] = json!(latest_code(email).await);
        let response = self.post("/user/signup/", &form, None).await;
        assert_eq!(response.status(), 201, "sign-up stage 2 failed");
        session_from(&response.json::<Value>().await.expect("json"))
    }

    /// Opens a WebSocket on `path` (which carries its own `?token=`).
    pub async fn ws(&self, path: &str) -> WsClient {
        self.try_ws(path).await.expect("socket opens")
    }

    /// Opens a WebSocket, returning the HTTP status when the upgrade is refused.
    pub async fn try_ws(&self, path: &str) -> Result<WsClient, u16> {
        let url = format!("ws://127.0.0.1:{}{}", self.port, path);
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("socket failed without an HTTP status: {error}"),
        }
    }
}

fn session_from(body: &Value) -> Session {
    Session {
        access: body["access"].as_str().expect("access token").to_owned(),
        refresh: body["refresh"].as_str().expect("refresh token").to_owned(),
        user_id: body["user_id"].as_i64().expect("user_id"),
    }
}

/// Mails the sink received for `address`, oldest first.
pub fn mails_to(address: &str) -> Vec<CapturedMail> {
    let address = address.to_lowercase();
    mail_sink()
        .mails
        .lock()
        .expect("mail lock")
        .iter()
        .filter(|mail| mail.to.iter().any(|to| to == &address))
        .cloned()
        .collect()
}

/// Waits for a mail to `address` and returns the six-digit code of the newest one.
pub async fn latest_code(address: &str) -> String {
    latest_mail_field(address, "code is ").await
}

/// Waits for a mail to `address` and returns the link hash of the newest one.
pub async fn latest_hash(address: &str) -> String {
    latest_mail_field(address, "hash instead, use: ").await
}

async fn latest_mail_field(address: &str, marker: &str) -> String {
    for _ in 0..50 {
        if let Some(mail) = mails_to(address).last() {
            let text = mail.data.replace("=\r\n", "").replace("\r\n", "\n");
            if let Some(start) = text.find(marker) {
                let value: String = text[start + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                return value;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail with '{marker}' reached {address}");
}

/// A unique address for a test's new account.
pub fn unique_email(label: &str) -> String {
    format!(
        "{label}.{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A WebSocket client that reads JSON text frames and skips protocol pings.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// What a socket yielded next.
#[derive(Debug)]
pub enum WsEvent {
    Json(Value),
    Closed(Option<CloseFrame>),
    TimedOut,
}

impl WsClient {
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("frame sent");
    }

    /// The next JSON frame, close, or nothing within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> WsEvent {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            match next {
                Err(_) => return WsEvent::TimedOut,
                Ok(None) => return WsEvent::Closed(None),
                Ok(Some(Err(_))) => return WsEvent::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return WsEvent::Json(
                        serde_json::from_str(text.as_str()).expect("server frames are JSON"),
                    )
                }
                Ok(Some(Ok(Message::Close(frame)))) => return WsEvent::Closed(frame),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame; panics on close or timeout.
    pub async fn next_json(&mut self) -> Value {
        match self.next_event(Duration::from_secs(5)).await {
            WsEvent::Json(value) => value,
            other => panic!("expected a JSON frame, got {other:?}"),
        }
    }

    /// The next JSON frame whose `type` is `kind`, skipping others (presence, typing…).
    pub async fn next_of_type(&mut self, kind: &str) -> Value {
        for _ in 0..200 {
            let frame = self.next_json().await;
            if frame["type"] == kind {
                return frame;
            }
        }
        panic!("no {kind} frame among the next 200 frames");
    }

    /// Asserts that no frame of type `kind` arrives within `wait`.
    pub async fn assert_no_frame_of_type(&mut self, kind: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                WsEvent::TimedOut => return,
                WsEvent::Json(frame) if frame["type"] == kind => {
                    panic!("unexpected {kind} frame: {frame}")
                }
                WsEvent::Json(_) => continue,
                WsEvent::Closed(frame) => panic!("socket closed while waiting: {frame:?}"),
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn expect_close(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                WsEvent::Json(_) => continue,
                WsEvent::Closed(frame) => return frame.map(|frame| u16::from(frame.code)),
                WsEvent::TimedOut => panic!("socket still open after {wait:?}"),
            }
        }
    }

    /// The underlying stream, for tests that read and write from separate tasks.
    pub fn into_inner(
        self,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        self.stream
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Creates a confirmed connection between two users directly in the store, for tests of
/// areas that need one before the connection endpoints exist.
pub async fn connect_users(app: &TestApp, a: i64, b: i64) {
    let connections = app
        .state
        .store
        .database()
        .collection::<bson::Document>("connections");
    let id = app
        .state
        .store
        .ids()
        .next(careernexus_actors::ids::Sequence::Connections)
        .await
        .expect("connection id");
    connections
        .insert_one(bson::doc! {
            "_id": careernexus_actors::graph::pair_key(
                careernexus_actors::ids::UserId(a),
                careernexus_actors::ids::UserId(b),
            ),
            "id": id, "user": a, "connection": b, "status": "CONFIRMED",
            "created_at": bson::DateTime::now(),
        })
        .await
        .expect("connection stored");
}

/// Reads a JSON body, failing the test with the status when it is not JSON.
pub async fn json_body(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"))
}

/// Asserts the DRF field-error shape with a message for `field`.
pub fn assert_field_error(body: &Value, field: &str) {
    let messages = body[field]
        .as_array()
        .unwrap_or_else(|| panic!("no errors for {field} in {body}"));
    assert!(!messages.is_empty(), "empty error list for {field}");
    assert!(
        messages.iter().all(Value::is_string),
        "messages must be strings: {body}"
    );
}
