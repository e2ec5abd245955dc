//! What a running AI function may use: its job, the account's model and prompts, the image
//! provider, progress, and calls in flight that follow the provider.
//!
//! The jobs of one SQS batch share a [`Batch`]: an account's provider settings and prompt
//! overrides are read once for the batch (one `BatchGetItem`), and each saved API key is fetched
//! from Secrets Manager at most once. Nothing is kept across batches, so a changed setting applies
//! from the next batch on.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use tokio::sync::OnceCell;

use super::images::{ImageProvider, put_image};
use super::model::{JobError, Model, store_err};
use super::prompts;
use super::provider::{ProviderClient, RetryPolicy};
use super::settings::{self, IntegrationSettings};
use crate::jobs::{self, Job, Phase};
use crate::store::{self, Key};
use crate::{ApiError, Services};

/// What the jobs of one batch share, per account.
#[derive(Default)]
pub struct Batch {
    accounts: Mutex<HashMap<String, Arc<AccountAi>>>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The account's shared reads (made on first use).
    pub fn account(&self, account_id: &str) -> Arc<AccountAi> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(accounts.entry(account_id.to_owned()).or_insert_with(|| Arc::new(AccountAi::new(account_id))))
    }
}

/// An account's provider settings and prompt overrides, and its API keys, read once.
pub struct AccountAi {
    account_id: String,
    profile: OnceCell<Profile>,
    keys: [OnceCell<String>; settings::TYPES.len()],
}

struct Profile {
    settings: HashMap<String, IntegrationSettings>,
    prompts: HashMap<String, String>,
}

impl AccountAi {
    fn new(account_id: &str) -> Self {
        Self { account_id: account_id.to_owned(), profile: OnceCell::new(), keys: Default::default() }
    }

    async fn profile(&self, services: &Services) -> Result<&Profile, ApiError> {
        self.profile
            .get_or_try_init(|| async {
                let account = &self.account_id;
                let keys: Vec<Key> = settings::TYPES
                    .iter()
                    .map(|t| settings::key(account, t))
                    .chain(prompts::TYPES.iter().map(|t| prompts::override_key(account, t)))
                    .collect();
                let mut items = services.store().await.get_many(&keys).await?.into_iter();
                let mut profile = Profile { settings: HashMap::new(), prompts: HashMap::new() };
                for item in items.by_ref().take(settings::TYPES.len()).flatten() {
                    let found: IntegrationSettings = store::decode(item)?;
                    profile.settings.insert(found.integration_type.clone(), found);
                }
                for item in items.flatten() {
                    let found: prompts::PromptOverride = store::decode(item)?;
                    profile.prompts.insert(found.prompt_type, found.prompt_value);
                }
                Ok(profile)
            })
            .await
    }

    /// The key saved for `integration_type` (whose settings say one is saved).
    async fn key(&self, services: &Services, integration_type: &str) -> Result<String, ApiError> {
        let index = settings::TYPES.iter().position(|t| *t == integration_type).ok_or_else(ApiError::not_found)?;
        self.keys[index]
            .get_or_try_init(|| settings::fetch_key(services, &self.account_id, integration_type))
            .await
            .cloned()
    }
}

/// One job's run: what an AI function is handed.
pub struct JobContext<'a> {
    pub services: &'a Services,
    pub job: &'a Job,
    retry: RetryPolicy,
    account: Arc<AccountAi>,
    /// The last progress written, in tens of percent.
    progress_mark: Mutex<u8>,
    /// When the delivery must have answered, if it must.
    deadline: Option<Instant>,
}

/// What a run keeps of its delivery's time for saving its output and settling.
pub const WRAP_UP: Duration = Duration::from_secs(10);

impl<'a> JobContext<'a> {
    pub fn new(services: &'a Services, job: &'a Job, retry: RetryPolicy, batch: &Batch) -> Self {
        let account = batch.account(&job.account_id);
        Self { services, job, retry, account, progress_mark: Mutex::new(0), deadline: None }
    }

    /// The run must stop by `deadline` (the delivery's), less the wrap-up.
    pub fn until(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn account_id(&self) -> &str {
        &self.job.account_id
    }

    /// The account's settings of `integration_type`, if saved and active.
    pub async fn settings(&self, integration_type: &str) -> Result<Option<&IntegrationSettings>, JobError> {
        let profile = self.account.profile(self.services).await.map_err(store_err)?;
        Ok(profile.settings.get(integration_type).filter(|s| s.is_active))
    }

    /// The key saved for `integration_type`, or why there is none.
    pub async fn api_key(&self, integration_type: &str) -> Result<String, JobError> {
        let profile = self.account.profile(self.services).await.map_err(store_err)?;
        let saved = profile.settings.get(integration_type).is_some_and(|s| s.api_key_hint.is_some());
        if !saved {
            return Err(JobError::fatal(format!("No API key is saved for {integration_type}."), "ConfigurationError"));
        }
        self.account.key(self.services, integration_type).await.map_err(store_err)
    }

    /// The account's prompt of `prompt_type`: its override, else the default.
    pub async fn prompt(&self, prompt_type: &str) -> Result<String, JobError> {
        let profile = self.account.profile(self.services).await.map_err(store_err)?;
        match profile.prompts.get(prompt_type) {
            Some(custom) => Ok(custom.clone()),
            None => prompts::default_prompt(prompt_type)
                .map(str::to_owned)
                .ok_or_else(|| JobError::fatal(format!("No prompt of type {prompt_type}."), "ConfigurationError")),
        }
    }

    /// The account's chat model.
    pub async fn model(&self) -> Result<Model, JobError> {
        let saved = self.settings("openai").await?;
        let config = settings::model_config_from(self.services, self.account_id(), saved, async || {
            self.account.key(self.services, "openai").await
        })
        .await
        .map_err(store_err)?
        .map_err(|e| JobError::fatal(e.0, "ConfigurationError"))?;
        let client =
            ProviderClient::new(self.services.http().await.clone(), &config.base_url, &config.api_key, self.retry);
        Ok(Model::new(client, config))
    }

    /// The account's image provider.
    pub async fn image_provider(&self) -> Result<ImageProvider, JobError> {
        let saved = self.settings("image_generation").await?;
        super::images::image_provider(self.services, self.account_id(), self.retry, saved, async |provider| {
            self.api_key(provider).await
        })
        .await
    }

    /// Stores an image's bytes under `key` in the images bucket.
    pub async fn put_image(&self, key: &str, bytes: Vec<u8>) -> Result<(), JobError> {
        let bucket = self
            .services
            .config
            .images_bucket
            .as_deref()
            .ok_or_else(|| JobError::fatal("No images bucket is configured.", "ConfigurationError"))?;
        put_image(self.services, bucket, key, bytes).await
    }

    /// Records that `done` of `total` parts are done. Written only when it moves the job into a
    /// new tenth, and never for the last part (saving the output, which follows at once, says
    /// more): a job writes its progress a few times however many parts it has.
    pub async fn progress(&self, done: u32, total: u32, message: &str) -> Result<(), JobError> {
        if done >= total {
            return Ok(());
        }
        let percentage = 25 + (50 * done / total.max(1)) as u8;
        {
            let mut mark = self.progress_mark.lock().unwrap_or_else(PoisonError::into_inner);
            if percentage / 10 <= *mark {
                return Ok(());
            }
            *mark = percentage / 10;
        }
        jobs::progress(self.services, self.job, Phase::AiCall, percentage, message, done).await.map_err(store_err)
    }

    /// Asks `ask` for every item, as many at once as `pace` allows; a 429 from the provider
    /// halves that for the rest of the job. Answers in item order; the first error ends the run.
    /// `message(done, total)` describes the progress after each wave.
    ///
    /// A run that may outlast its delivery is resumable: each wave's answers but the last are
    /// saved (`jobs::save_parts`), a later delivery of the job asks only for the items without
    /// one, and no wave starts unless one call (its timeout) and the wrap-up fit before the
    /// delivery's deadline. A run stopped by the deadline with parts saved is
    /// [`JobError::OutOfTime`] (the job goes on in a new message); without any part saved, a
    /// retry.
    pub async fn each<'i, I, T, Fut>(
        &self,
        pace: &impl Pace,
        items: &'i [I],
        ask: impl Fn(&'i I) -> Fut,
        message: impl Fn(usize, usize) -> String,
    ) -> Result<Vec<T>, JobError>
    where
        Fut: Future<Output = Result<T, JobError>>,
        T: Serialize + DeserializeOwned,
    {
        let total = items.len();
        let mut answers: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
        // Only a job delivered before can have saved parts.
        if self.job.attempts > 1 {
            for (index, saved) in jobs::saved_parts(self.services, self.job).await.map_err(store_err)? {
                if let Some(slot) = answers.get_mut(index) {
                    // A saved part that no longer reads is asked again.
                    *slot = serde_json::from_value(saved).ok();
                }
            }
        }
        let mut limit = pace.concurrency().max(1);
        let mut saved_here = 0;
        loop {
            let missing: Vec<usize> = (0..total).filter(|&i| answers[i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            let done = total - missing.len();
            if !self.time_for_a_call() {
                return Err(self.out_of_time(saved_here, done, total));
            }
            let wave = &missing[..limit.min(missing.len())];
            let throttled = pace.throttled();
            let results = futures_util::future::join_all(wave.iter().map(|&i| self.in_time(ask(&items[i])))).await;
            let mut stopped = None;
            let mut fresh = Vec::new();
            for (&i, result) in wave.iter().zip(results) {
                match result {
                    Ok(answer) => {
                        fresh.push((i, serde_json::to_value(&answer).ok()));
                        answers[i] = Some(answer);
                    }
                    Err(err) => {
                        stopped.get_or_insert(err);
                    }
                }
            }
            let done = done + fresh.len();
            // The last wave is not saved: the output, saved next, holds it all.
            let parts: Vec<(usize, Value)> = fresh.into_iter().filter_map(|(i, v)| Some((i, v?))).collect();
            if done < total && !parts.is_empty() {
                saved_here += parts.len();
                jobs::save_parts(self.services, self.job, parts).await.map_err(store_err)?;
            }
            match stopped {
                Some(JobError::OutOfTime { .. }) => return Err(self.out_of_time(saved_here, done, total)),
                Some(err) => return Err(err),
                None => {}
            }
            if pace.throttled() > throttled && limit > 1 {
                limit /= 2;
                tracing::info!(job_id = %self.job.id, limit, "the provider throttled: fewer calls at once");
            }
            self.progress(done as u32, total as u32, &message(done, total)).await?;
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Whether one call (its whole timeout) and the wrap-up still fit before the deadline.
    fn time_for_a_call(&self) -> bool {
        self.deadline.is_none_or(|deadline| Instant::now() + self.retry.timeout + WRAP_UP <= deadline)
    }

    /// `call`, stopped when only the wrap-up is left before the deadline (its retries included).
    async fn in_time<T>(&self, call: impl Future<Output = Result<T, JobError>>) -> Result<T, JobError> {
        match self.deadline {
            None => call.await,
            Some(deadline) => tokio::time::timeout_at((deadline - WRAP_UP).into(), call)
                .await
                .unwrap_or(Err(JobError::OutOfTime { done: 0, total: 0 })),
        }
    }

    /// Stopped by the deadline: the job goes on in a new delivery if this one saved something,
    /// else this delivery counts as a failed one (a run that never gets a part done ends in the DLQ).
    fn out_of_time(&self, saved_here: usize, done: usize, total: usize) -> JobError {
        if saved_here > 0 {
            JobError::OutOfTime { done, total }
        } else {
            JobError::Retry { message: "The delivery's time ran out before a part was done.".into(), kind: "Timeout" }
        }
    }
}

/// What paces a run's calls: how many may be in flight, and how many 429s were met so far.
pub trait Pace {
    fn concurrency(&self) -> usize;
    fn throttled(&self) -> u32;
}

impl Pace for Model {
    fn concurrency(&self) -> usize {
        Model::concurrency(self)
    }

    fn throttled(&self) -> u32 {
        Model::throttled(self)
    }
}

impl Pace for ImageProvider {
    /// One image at a time: an image call is long and the providers rate-limit them hard.
    fn concurrency(&self) -> usize {
        1
    }

    fn throttled(&self) -> u32 {
        ImageProvider::throttled(self)
    }
}
