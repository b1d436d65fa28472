//! The command line: `serve` (the default), `fixtures load DIR`, `fixtures load-users`,
//! `admin promote EMAIL`.

use std::path::PathBuf;

use careernexus_actors::accounts::{promote_admin, Email};
use careernexus_actors::fixtures;
use careernexus_actors::store::Store;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(name = "careernexus", version, about = "Career Nexus server")]
pub struct Cli {
    /// Settings file; keys can be overridden with CN__SECTION__KEY variables.
    #[arg(long, global = true, default_value = "config.toml", env = "CN_CONFIG")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP and WebSocket server (the default).
    Serve,
    /// Load fixture data.
    #[command(subcommand)]
    Fixtures(FixturesCommand),
    /// Administer accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Load the JSON fixtures of DIR; documents that exist already are kept.
    Load {
        #[arg(default_value = "fixtures")]
        dir: PathBuf,
    },
    /// Create COUNT synthetic users PREFIXn@example.com, connected in pairs, for the load tool.
    LoadUsers {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[arg(long, default_value = "load")]
        prefix: String,
        #[arg(long, default_value = "Load#2026")]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make the account with EMAIL an admin.
    Promote { email: String },
}

/// Runs the parsed command.
///
/// # Errors
/// Any failure, with a message for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Fixtures(FixturesCommand::Load { dir }) => load_fixtures(settings, dir).await,
        Command::Fixtures(FixturesCommand::LoadUsers {
            count,
            prefix,
            password,
        }) => load_users(settings, count, &prefix, &password).await,
        Command::Admin(AdminCommand::Promote { email }) => promote(settings, &email).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    log::info!(
        "starting environment={:?} database={} media={}",
        settings.server.environment,
        settings.database.name,
        settings.media.endpoint_url
    );
    let application = Application::build(settings).await?;
    application.run_until_stopped().await?;
    log::info!("stopped");
    Ok(())
}

async fn connect(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(
        settings.database.uri.expose_secret(),
        &settings.database.name,
    )
    .await?;
    store.ensure_indexes().await?;
    Ok(store)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

async fn load_fixtures(settings: Settings, dir: PathBuf) -> anyhow::Result<()> {
    let store = connect(&settings).await?;
    let bar = progress_bar();
    let mut report_progress = |step: &str, done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(step.to_owned());
    };
    let report = fixtures::load_dir(
        &store,
        &dir,
        settings.auth.bcrypt_cost,
        &mut report_progress,
    )
    .await?;
    bar.finish_with_message("fixtures loaded");
    let mut collections: Vec<_> = report
        .inserted
        .keys()
        .chain(report.skipped.keys())
        .copied()
        .collect();
    collections.sort_unstable();
    collections.dedup();
    for collection in collections {
        println!(
            "{collection:>15}: {} inserted, {} already present",
            report.inserted.get(collection).copied().unwrap_or(0),
            report.skipped.get(collection).copied().unwrap_or(0)
        );
    }
    Ok(())
}

async fn load_users(
    settings: Settings,
    count: u64,
    prefix: &str,
    password: &str,
) -> anyhow::Result<()> {
    let store = connect(&settings).await?;
    let bar = progress_bar();
    let mut report_progress = |step: &str, done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(step.to_owned());
    };
    fixtures::seed_load_users(&store, prefix, count, password, &mut report_progress).await?;
    bar.finish_with_message(format!("{count} load users ready"));
    Ok(())
}

async fn promote(settings: Settings, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|message| anyhow::anyhow!("email: {message}"))?;
    let store = connect(&settings).await?;
    let user_id = promote_admin(&store, &email).await?;
    println!("{email} (user {user_id}) is now an admin");
    Ok(())
}
