//! Whether the deployment's parts answer this function: the table, each configured queue and the
//! images bucket, asked at once, each within [`WAIT`]. A healthy report is kept for [`KEEP`] per
//! container, so that a monitor polling a public endpoint costs a few AWS requests a second at
//! most; a failing one is never kept.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::Services;
use crate::store::Key;

/// How long one component may take to answer.
pub const WAIT: Duration = Duration::from_secs(3);
/// How long a healthy report is answered again.
pub const KEEP: Duration = Duration::from_secs(5);

/// What each component answered: `connected`, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub components: BTreeMap<String, String>,
}

pub const CONNECTED: &str = "connected";

impl Report {
    pub fn healthy(&self) -> bool {
        self.components.values().all(|state| state == CONNECTED)
    }
}

/// The last healthy report of a container, and when it was made.
#[derive(Debug, Default)]
pub struct Memo(std::sync::Mutex<Option<(Instant, Report)>>);

async fn within<T, E: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, E>>,
    missing: impl Fn(&E) -> bool,
) -> String {
    match tokio::time::timeout(WAIT, call).await {
        Ok(Ok(_)) => CONNECTED.into(),
        Ok(Err(err)) if missing(&err) => "not found".into(),
        Ok(Err(err)) => {
            tracing::warn!(error = ?err, "a health check failed");
            "not answering".into()
        }
        Err(_) => "timed out".into(),
    }
}

/// Asks every component (or answers the container's healthy report of the last [`KEEP`]).
pub async fn check(services: &Services) -> Report {
    if let Ok(memo) = services.health.0.lock()
        && let Some((at, report)) = memo.as_ref()
        && at.elapsed() < KEEP
    {
        return report.clone();
    }
    let config = &services.config;
    let table = async {
        let store = services.store().await;
        let probe = Key::new("HEALTH", "HEALTH");
        ("table".to_owned(), within(store.get_raw(&probe), |_| false).await)
    };
    let queues = [
        ("ai_jobs", &config.ai_jobs_queue_url),
        ("image_jobs", &config.image_jobs_queue_url),
        ("purge", &config.purge_queue_url),
        ("publish", &config.publish_queue_url),
    ];
    let queues = futures_util::future::join_all(
        queues.into_iter().filter_map(|(name, url)| url.as_ref().map(|u| (name, u))).map(|(name, url)| async move {
            let sqs = services.sqs().await;
            let call = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .send();
            let missing = |e: &aws_sdk_sqs::error::SdkError<_, _>| {
                let code = aws_sdk_sqs::error::ProvideErrorMetadata::code(e).unwrap_or_default();
                code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist")
            };
            (format!("queue.{name}"), within(call, missing).await)
        }),
    );
    let bucket = async {
        match &config.images_bucket {
            Some(bucket) => {
                let s3 = services.s3().await;
                let missing = |e: &aws_sdk_s3::error::SdkError<
                    aws_sdk_s3::operation::head_bucket::HeadBucketError,
                    _,
                >| { e.as_service_error().is_some_and(|e| e.is_not_found()) };
                Some(("bucket".to_owned(), within(s3.head_bucket().bucket(bucket).send(), missing).await))
            }
            None => None,
        }
    };
    let (table, queues, bucket) = tokio::join!(table, queues, bucket);
    let report = Report { components: std::iter::once(table).chain(queues).chain(bucket).collect() };
    if report.healthy()
        && let Ok(mut memo) = services.health.0.lock()
    {
        *memo = Some((Instant::now(), report.clone()));
    }
    report
}
