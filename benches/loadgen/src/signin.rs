//! Signs in the load users over the REST API to get their access tokens and user ids.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::CommonArgs;

/// One signed-in load user.
#[derive(Debug, Clone)]
pub struct SignedInUser {
    pub user_id: i64,
    /// Access token for the `token` query parameter of the sockets.
    pub access: String,
}

#[derive(Deserialize)]
struct SignInResponse {
    access: String,
    user_id: i64,
}

/// Signs in users 1 to `args.users`, at most `args.signin_concurrency` at a time, and
/// returns them in order (user n at index n - 1).
///
/// # Errors
/// The first sign-in that fails, with the email and the server's reply.
pub async fn sign_in_all(args: &CommonArgs) -> anyhow::Result<Vec<SignedInUser>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.signin_concurrency)
        .build()
        .context("failed to build the HTTP client")?;
    let endpoint = format!("{}/user/signin/", args.url.trim_end_matches('/'));
    let started = Instant::now();
    eprintln!("signing in {} users at {endpoint}", args.users);

    let users = stream::iter(1..=args.users)
        .map(|n| {
            sign_in(
                &client,
                &endpoint,
                format!("{}{n}@example.com", args.prefix),
                &args.password,
                args.connect_retries,
            )
        })
        .buffered(args.signin_concurrency)
        .try_collect::<Vec<_>>()
        .await?;

    eprintln!(
        "signed in {} users in {:.1} s",
        users.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(users)
}

/// Signs in one user. A reply of HTTP 503 (the server's actors were busy) is retried up to
/// `retries` times, after 0.5 s, then 1 s, 2 s, and so on.
async fn sign_in(
    client: &reqwest::Client,
    endpoint: &str,
    email: String,
    password: &str,
    retries: u32,
) -> anyhow::Result<SignedInUser> {
    let body = serde_json::json!({ "email": email, "password": password });
    let mut backoff = Duration::from_millis(500);
    let mut attempt = 0;
    let response = loop {
        let response = client
            .post(endpoint)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("sign-in request for {email} failed"))?;
        if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || attempt == retries {
            break response;
        }
        attempt += 1;
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    };
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!(
            "sign-in of {email} failed with HTTP {status}: {text}; seed the load users first with \
             `careernexus fixtures load-users --count N --prefix P --password W` using the same prefix and password"
        );
    }
    let reply: SignInResponse = response.json().await.with_context(|| {
        format!("sign-in reply for {email} is not the expected JSON with access and user_id")
    })?;
    Ok(SignedInUser {
        user_id: reply.user_id,
        access: reply.access,
    })
}
