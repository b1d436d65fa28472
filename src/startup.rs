//! The app factory: connects the store, starts the actors, binds the listener and builds
//! the HTTP server. Tests build exactly this app on port 0.

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;

use actix::{Actor, Addr};
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlers, Logger};
use actix_web::{web, App, HttpServer};
use careernexus_actors::accounts::auth::Authenticator;
use careernexus_actors::accounts::tokens::TokenKeys;
use careernexus_actors::accounts::AccountsActor;
use careernexus_actors::chat::writer::ChatWriter;
use careernexus_actors::chat::ChatActor;
use careernexus_actors::clients::mail::Mailer;
use careernexus_actors::clients::media::MediaStore;
use careernexus_actors::notifications::Notifier;
use careernexus_actors::profiles::ProfilesActor;
use careernexus_actors::realtime::presence::Presence;
use careernexus_actors::realtime::registry::{AttachRegistry, ChatRegistry};
use careernexus_actors::store::Store;
use careernexus_actors::users::MediaDefaults;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::forms::UploadLimits;
use crate::http;

/// What every handler can reach: the settings, the authenticator and the actors.
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub media: MediaStore,
    pub authenticator: Authenticator,
    pub accounts: Addr<AccountsActor>,
    pub profiles: Addr<ProfilesActor>,
    pub chat: Addr<ChatActor>,
    pub writer: Addr<ChatWriter>,
    pub registry: Addr<ChatRegistry>,
    pub presence: Addr<Presence>,
    pub notifier: Addr<Notifier>,
}

impl AppState {
    pub fn actor_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.server.actor_timeout_ms)
    }
}

/// A built server, bound but not yet awaited.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Failures while building the application.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MongoDB at the configured database.uri is not usable: {0}")]
    Database(#[from] careernexus_actors::store::StoreError),
    #[error("media store at {endpoint} is not usable: {cause}")]
    Media { endpoint: String, cause: String },
    #[error("mail settings are not usable: {0}")]
    Mail(#[from] careernexus_actors::clients::mail::MailError),
    #[error("could not bind {address}: {cause}")]
    Bind {
        address: String,
        cause: std::io::Error,
    },
}

impl Application {
    /// Connects to MongoDB (creating indexes) and the media store, starts the actors on
    /// the current actix system and binds the HTTP listener.
    ///
    /// # Errors
    /// A [`StartupError`] naming the dependency that failed.
    pub async fn build(mut settings: Settings) -> Result<Self, StartupError> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let bind_error = |cause| StartupError::Bind {
            address: address.clone(),
            cause,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        if settings.server.public_base_url.is_empty() {
            settings.server.public_base_url = format!("http://{}:{port}", settings.server.host);
        }

        let store = Store::connect(
            settings.database.uri.expose_secret(),
            &settings.database.name,
        )
        .await?;
        store.ensure_indexes().await?;
        let media_url = match settings.media.public_url.as_str() {
            "" => format!(
                "{}/media",
                settings.server.public_base_url.trim_end_matches('/')
            ),
            url => url.to_owned(),
        };
        let media = MediaStore::new(&settings.media, &media_url);
        media
            .ensure_bucket()
            .await
            .map_err(|e| StartupError::Media {
                endpoint: settings.media.endpoint_url.clone(),
                cause: e.to_string(),
            })?;
        let state = web::Data::new(start_actors(settings, store, media)?);
        let server = build_server(state.clone(), listener).map_err(bind_error)?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the server is stopped (Ctrl-C or SIGTERM in the binary).
    ///
    /// # Errors
    /// An I/O error from the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn start_actors(
    settings: Settings,
    store: Store,
    media: MediaStore,
) -> Result<AppState, StartupError> {
    let defaults = MediaDefaults {
        profile_photo: format!(
            "{}/static/default-profile-photo.png",
            settings.server.public_base_url.trim_end_matches('/')
        ),
        cover_photo: format!(
            "{}/static/default-cover-photo.png",
            settings.server.public_base_url.trim_end_matches('/')
        ),
    };
    let keys = TokenKeys::new(
        &settings.auth.jwt_secret,
        settings.auth.access_token_lifetime_secs,
        settings.auth.refresh_token_lifetime_secs,
    );
    let mailer = Mailer::new(&settings.mail)?;

    // The registry needs the presence and notifier addresses, and they need the
    // registry's, so the two are attached once all three exist.
    let presence = Presence::new(store.clone()).start();
    let notifier = Notifier::new(store.clone()).start();
    let registry = ChatRegistry::new(
        presence.clone().recipient(),
        notifier.clone().recipient(),
        settings.realtime.max_queued_frames,
    )
    .start();
    presence.do_send(AttachRegistry(registry.clone().recipient()));
    notifier.do_send(AttachRegistry(registry.clone().recipient()));

    let writer = ChatWriter::new(store.clone(), registry.clone(), &settings.realtime).start();
    let chat = ChatActor::new(
        store.clone(),
        defaults.clone(),
        settings.realtime.clone(),
        presence.clone(),
        presence.clone().recipient(),
        writer.clone(),
    )
    .start();
    let accounts = AccountsActor::new(
        store.clone(),
        keys.clone(),
        mailer,
        settings.auth.clone(),
        registry.clone().recipient(),
    )
    .start();
    let profiles = ProfilesActor::new(store.clone(), media.clone(), defaults).start();

    Ok(AppState {
        authenticator: Authenticator::new(store.clone(), keys),
        settings,
        store,
        media,
        accounts,
        profiles,
        chat,
        writer,
        registry,
        presence,
        notifier,
    })
}

fn build_server(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<Server> {
    let upload_limits = web::Data::new(UploadLimits(HashMap::from([
        ("profile_photo", state.settings.media.max_image_bytes),
        ("cover_photo", state.settings.media.max_image_bytes),
        ("resume", state.settings.media.max_document_bytes),
        ("intro_video", state.settings.media.max_video_bytes),
    ])));
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    log::info!(
        "listening address={} workers={workers}",
        listener.local_addr()?
    );
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                ErrorHandlers::new()
                    .handler(StatusCode::NOT_FOUND, http::json_error_body)
                    .handler(StatusCode::METHOD_NOT_ALLOWED, http::json_error_body),
            )
            .wrap(cors(&state.settings.server.cors_allowed_origins))
            // The path only: query strings can hold socket tokens.
            .wrap(
                Logger::new("%a \"%{method}xi %U\" %s %b %Dms")
                    .custom_request_replace("method", |req| req.method().to_string()),
            )
            .app_data(state.clone())
            .app_data(upload_limits.clone())
            .configure(http::configure)
            .configure(crate::ws::configure)
            .configure(crate::docs::configure)
            .default_service(web::to(http::not_found))
    })
    .workers(workers)
    // Chat frames are small and latency matters more than packet count.
    .tcp_nodelay(true)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

fn cors(allowed: &[String]) -> Cors {
    let allowed: Vec<String> = allowed.to_vec();
    Cors::default()
        .allowed_origin_fn(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|origin| allowed.iter().any(|a| a == origin))
        })
        .supports_credentials()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .max_age(3600)
}
