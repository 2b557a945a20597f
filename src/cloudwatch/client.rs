//! Building the CloudWatch client: aws-config's default chain (environment,
//! profile, web identity from GitHub's OIDC, ECS, EC2 instance metadata), the
//! region and endpoint from matrix.yaml or the environment, bounded credential
//! resolution, retries with backoff, and SDK errors turned into
//! [`CloudWatchError`]s that say what to do.
//!
//! The one place that configures the AWS SDK; `fetch` and `publish` only call it.

use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::config::{Credentials, ProvideCredentials};
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::CloudWatchError;

/// Longest wait for credentials. The default chain ends with the EC2
/// instance-metadata lookup, which can hang off EC2; this bounds it.
pub const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts per call, throttling included (standard retry: exponential
/// backoff with jitter).
const MAX_ATTEMPTS: u32 = 6;

/// How to reach CloudWatch.
#[derive(Clone, Default)]
pub struct Connect {
    /// Region; `None` uses `AWS_REGION` / `AWS_DEFAULT_REGION` / the profile.
    pub region: Option<String>,
    /// Endpoint; `None` uses `AWS_ENDPOINT_URL` or the AWS default.
    pub endpoint_url: Option<String>,
    /// Fixed keys instead of the default chain (tests).
    pub static_keys: Option<StaticKeys>,
}

/// An access key pair; `Debug` never shows the secret.
#[derive(Clone)]
pub struct StaticKeys {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("static_keys", &self.static_keys.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A connected client.
#[derive(Clone, Debug)]
pub struct CloudWatch {
    pub(crate) client: aws_sdk_cloudwatch::Client,
}

impl CloudWatch {
    /// Loads the AWS configuration and checks that credentials resolve,
    /// within [`CREDENTIALS_TIMEOUT`].
    pub async fn connect(connect: &Connect) -> Result<CloudWatch, CloudWatchError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .identity_cache(
                IdentityCache::lazy()
                    .load_timeout(CREDENTIALS_TIMEOUT)
                    .build(),
            );
        if let Some(region) = &connect.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &connect.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let Some(keys) = &connect.static_keys {
            loader = loader.credentials_provider(Credentials::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.clone(),
                None,
                None,
                "msgperf-static",
            ));
        }
        // Region and profile lookups read files and env only; bounded anyway.
        let config = tokio::time::timeout(CREDENTIALS_TIMEOUT * 2, loader.load())
            .await
            .map_err(|_| CloudWatchError::NoCredentials {
                detail: "loading the AWS configuration timed out".into(),
            })?;
        if config.region().is_none() {
            return Err(CloudWatchError::NoRegion);
        }
        let Some(provider) = config.credentials_provider() else {
            return Err(CloudWatchError::NoCredentials {
                detail: "no credentials provider is configured".into(),
            });
        };
        match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(CloudWatchError::NoCredentials {
                    detail: DisplayErrorContext(&e).to_string(),
                })
            }
            Err(_) => {
                return Err(CloudWatchError::NoCredentials {
                    detail: format!(
                        "no credentials found within {} s (the last source, EC2 instance metadata, did not answer)",
                        CREDENTIALS_TIMEOUT.as_secs()
                    ),
                })
            }
        }
        Ok(CloudWatch {
            client: aws_sdk_cloudwatch::Client::new(&config),
        })
    }
}

/// Classifies an SDK error of `operation` into a [`CloudWatchError`].
pub(crate) fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> CloudWatchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let detail = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(_) => {
            if code.contains("AccessDenied")
                || code.contains("UnauthorizedOperation")
                || code == "UnrecognizedClientException"
                || code == "InvalidClientTokenId"
                || code == "ExpiredToken"
            {
                CloudWatchError::AccessDenied {
                    operation,
                    message: if message.is_empty() {
                        code
                    } else {
                        format!("{code}: {message}")
                    },
                }
            } else {
                CloudWatchError::Service {
                    operation,
                    code,
                    message,
                }
            }
        }
        _ if detail.contains("credentials") || detail.contains("identity") => {
            CloudWatchError::NoCredentials { detail }
        }
        _ => CloudWatchError::Transport { operation, detail },
    }
}
