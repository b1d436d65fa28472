//! Uploaded media (photos, videos, résumés) on an S3-compatible store through
//! `aws-sdk-s3`. Documents keep the public URL of each object.

use std::path::Path;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use secrecy::ExposeSecret;

use crate::config::MediaConfig;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("could not read the uploaded file: {0}")]
    Read(String),
    #[error("S3 request failed: {0}")]
    S3(String),
}

/// Stores objects in one bucket; cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    client: Client,
    bucket: String,
    public_url: String,
}

impl MediaStore {
    /// Builds the client; `public_url` is the base of the URLs written into documents.
    pub fn new(config: &MediaConfig, public_url: &str) -> Self {
        let credentials = Credentials::new(
            config.access_key_id.expose_secret(),
            config.secret_access_key.expose_secret(),
            None,
            None,
            "careernexus-config",
        );
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.force_path_style);
        if !config.endpoint_url.is_empty() {
            builder = builder.endpoint_url(&config.endpoint_url);
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Creates the bucket when it does not exist yet (development and test servers start
    /// empty).
    ///
    /// # Errors
    /// [`MediaError::S3`] when the store cannot be reached or refuses.
    pub async fn ensure_bucket(&self) -> Result<(), MediaError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => {
                log::info!("created media bucket bucket={}", self.bucket);
                Ok(())
            }
            // Another server created it between the two requests.
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(error) => Err(MediaError::S3(format!(
                "create bucket {}: {}",
                self.bucket,
                aws_sdk_s3::error::DisplayErrorContext(error)
            ))),
        }
    }

    /// Uploads the file at `path` under `key` and returns its public URL.
    ///
    /// # Errors
    /// [`MediaError::Read`] when the file cannot be read, [`MediaError::S3`] when the upload
    /// fails.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<String, MediaError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| MediaError::Read(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                MediaError::S3(format!(
                    "put {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            })?;
        Ok(self.public_url(key))
    }

    pub fn public_url(&self, key: &str) -> String {
        format!("{}/{}", self.public_url, key)
    }

    /// Reads the object `key`: its content type, length and body, or `None` when it does
    /// not exist.
    ///
    /// # Errors
    /// [`MediaError::S3`] when the store fails.
    pub async fn get(&self, key: &str) -> Result<Option<StoredObject>, MediaError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(StoredObject {
                content_type: object
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                length: object.content_length,
                body: object.body,
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(MediaError::S3(format!(
                "get {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(error)
            ))),
        }
    }
}

/// An object read from the store; the body streams.
pub struct StoredObject {
    pub content_type: String,
    pub length: Option<i64>,
    pub body: ByteStream,
}
