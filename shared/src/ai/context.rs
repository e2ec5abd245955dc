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
}

impl<'a> JobContext<'a> {
    pub fn new(services: &'a Services, job: &'a Job, retry: RetryPolicy, batch: &Batch) -> Self {
        Self { services, job, retry, account: batch.account(&job.account_id), progress_mark: Mutex::new(0) }
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

    /// Asks `ask` for every item, as many at once as the account's setting allows; a 429 from
    /// the provider halves that for the rest of the job. Answers in item order; the first error
    /// ends the run. `message(done, total)` describes the progress after each wave.
    pub async fn each<'i, I, T, Fut>(
        &self,
        model: &Model,
        items: &'i [I],
        ask: impl Fn(&'i I) -> Fut,
        message: impl Fn(usize, usize) -> String,
    ) -> Result<Vec<T>, JobError>
    where
        Fut: Future<Output = Result<T, JobError>>,
    {
        let mut limit = model.concurrency().max(1);
        let mut answers = Vec::with_capacity(items.len());
        let mut rest = items;
        while !rest.is_empty() {
            let (wave, tail) = rest.split_at(limit.min(rest.len()));
            let throttled = model.throttled();
            for answer in futures_util::future::join_all(wave.iter().map(&ask)).await {
                answers.push(answer?);
            }
            rest = tail;
            if model.throttled() > throttled && limit > 1 {
                limit /= 2;
                tracing::info!(job_id = %self.job.id, limit, "the provider throttled: fewer calls at once");
            }
            let done = answers.len();
            self.progress(done as u32, items.len() as u32, &message(done, items.len())).await?;
        }
        Ok(answers)
    }
}
