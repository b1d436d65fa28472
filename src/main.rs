use careernexus::cli::{self, Cli};
use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match cli::run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Our error types already include their causes in their messages.
            log::error!("{error}");
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
