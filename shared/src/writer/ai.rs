//! The writer's AI functions: `generate_content` (articles for writer tasks, charged by the words
//! written), `generate_image_prompts` (a featured and in-article prompts per content) and
//! `generate_images` (on the image queue; the pictures go to S3).

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::{Content, ImageRecord, Task};
use crate::ai::JobContext;
use crate::ai::images::ImageRequest;
use crate::ai::model::{CallRecord, JobError, store_err};
use crate::ai::plugin::{AiFunction, Applied, Estimate, Run};
use crate::credits::{CreditCosts, Operation};
use crate::jobs::Queue;
use crate::planner::{self, SectorRecord};
use crate::records::counts::{self, Step, Tally};
use crate::records::pages::status_gsi3;
use crate::store::{Change, Condition, Write, s};
use crate::{ApiError, ids, usage};

use crate::ai::model::{JSON_ONLY as SYSTEM, answer_text as text};

/// The S3 key of an image: under the account's prefix, so that a bucket policy or a listing can
/// never mix tenants.
pub fn image_key(account_id: &str, image_id: &str) -> String {
    format!("accounts/{account_id}/images/{image_id}.png")
}

/// The article of `task` in the model's `answer`: sanitised, its words counted from the text.
fn article(task: &Task, answer: &serde_json::Value) -> Result<Article, JobError> {
    let html = super::sanitize_html(&text(answer, "content_html", super::MAX_HTML)?);
    if html.len() > super::MAX_HTML_BYTES {
        return Err(JobError::malformed("an article longer than a content record may hold"));
    }
    let word_count = super::word_count(&html);
    if word_count == 0 {
        return Err(JobError::malformed("an article without text"));
    }
    Ok(Article {
        id: ids::new_id(),
        task_id: task.id.clone(),
        title: text(answer, "title", 300).unwrap_or_else(|_| task.title.clone()),
        meta_title: answer["meta_title"].as_str().unwrap_or_default().chars().take(300).collect(),
        meta_description: answer["meta_description"].as_str().unwrap_or_default().chars().take(500).collect(),
        html,
        word_count,
        primary_keyword: task.keywords.first().cloned().unwrap_or_default(),
    })
}

/// `generate_content`: one article per writer task, a few at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateContent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentInput {
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub task_ids: Vec<String>,
    /// The words asked for in all (1,000 per task unless given): what is reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_word_count: Option<u64>,
}

/// An article the model wrote, sanitised, its words counted from the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub task_id: String,
    pub title: String,
    pub meta_title: String,
    pub meta_description: String,
    pub html: String,
    pub word_count: u32,
    pub primary_keyword: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentOutput {
    pub contents: Vec<Article>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentWritten {
    pub content_ids: Vec<String>,
    pub contents_created: i64,
}

impl GenerateContent {
    /// Moves the job's tasks from `from` to `to` (each only if it is still in `from`).
    async fn move_tasks(
        &self,
        job: &JobContext<'_>,
        input: &ContentInput,
        from: &str,
        to: &str,
    ) -> Result<(), ApiError> {
        let steps: Vec<Step> = input
            .task_ids
            .iter()
            .map(|task_id| {
                let (g3, _) = status_gsi3::<Task>(job.account_id(), &input.sector_id, to, task_id);
                let change = Change::new(
                    planner::record_key::<Task>(job.account_id(), task_id),
                    "SET #status = :to, GSI3PK = :g3",
                )
                .name("#status", "status")
                .value(":to", s(to))
                .value(":g3", s(g3))
                .condition(Condition::new("attribute_exists(PK) AND #status = :from").value(":from", s(from)));
                let mut tally = Tally::new(job.account_id(), &input.sector_id);
                tally.moved::<Task>(from, to);
                Step { writes: vec![Write::Update(change)], tally }
            })
            .collect();
        // A task not in `from` any more is left as it is.
        counts::commit(job.services.store().await, &steps, |_| Vec::new()).await?;
        Ok(())
    }
}

impl AiFunction for GenerateContent {
    const NAME: &'static str = "generate_content";
    const MODULE: &'static str = "writer";
    const OPERATION: Operation = Operation::ContentGeneration;
    type Input = ContentInput;
    type Output = ContentOutput;
    type Result = ContentWritten;

    fn estimate(&self, costs: &CreditCosts, input: &ContentInput) -> Estimate {
        let tasks = input.task_ids.len().max(1) as u32;
        let words = input.estimated_word_count.unwrap_or(1000 * u64::from(tasks));
        Estimate { credits: costs.cost(Self::OPERATION, words), parts: tasks }
    }

    /// The queued tasks are `in_progress` while the model writes.
    async fn before_run(&self, job: &JobContext<'_>, input: &ContentInput) -> Result<(), ApiError> {
        self.move_tasks(job, input, "queued", "in_progress").await
    }

    async fn run(&self, job: &JobContext<'_>, input: &ContentInput) -> Result<Run<ContentOutput>, JobError> {
        let tasks: Vec<Task> = planner::by_ids(job.services, job.account_id(), &input.sector_id, &input.task_ids)
            .await
            .map_err(store_err)?;
        if tasks.is_empty() {
            return Err(JobError::fatal("None of the tasks exist any more.", "InvalidInput"));
        }
        let model = job.model().await?;
        let instructions = job.prompt("content_generation").await?;
        // The voices the tasks name (a profile deleted since is left out).
        let named: Vec<String> = tasks.iter().filter_map(|t| t.author_profile_id.clone()).collect();
        let voices = match named.is_empty() {
            true => Default::default(),
            false => crate::thinker::author_profiles::by_ids(job.services, job.account_id(), &named)
                .await
                .map_err(store_err)?,
        };
        // Written in task order; an article that is not usable ends the run after its wave.
        let written = job
            .each(
                &model,
                &tasks,
                |task| {
                    let mut asked = json!({"task": "generate_content", "title": task.title, "description": task.description,
                                       "keywords": task.keywords, "content_type": task.content_type,
                                       "content_structure": task.content_structure, "word_count": task.word_count});
                    if let Some(voice) = task.author_profile_id.as_ref().and_then(|id| voices.get(id)) {
                        // Written in the profile's voice: its tone, its language, its sections.
                        asked["author_profile"] = voice.for_prompt();
                        asked["instructions"] = json!(format!(
                            "Write in a {} tone, in {}, following the structure template's sections.",
                            voice.tone, voice.language
                        ));
                    }
                    let (model, instructions) = (&model, &instructions);
                    async move {
                        let (answer, call) = model.ask(SYSTEM, instructions, &asked).await?;
                        Ok((article(task, &answer)?, call))
                    }
                },
                |done, total| format!("Wrote {done} of {total} articles"),
            )
            .await?;
        let (contents, calls) = written.into_iter().unzip();
        Ok(Run { output: ContentOutput { contents }, calls, parts: tasks.len() as u32 })
    }

    /// Charged by the words written, counted from the text.
    fn units(&self, run: &Run<ContentOutput>) -> u64 {
        run.output.contents.iter().map(|c| u64::from(c.word_count)).sum()
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &ContentInput,
        output: &ContentOutput,
    ) -> Result<Applied<ContentWritten>, ApiError> {
        let now = OffsetDateTime::now_utc();
        let account_id = job.account_id();
        let store = job.services.store().await;
        let tasks: Vec<Task> = planner::by_ids(job.services, account_id, &input.sector_id, &input.task_ids).await?;
        let mut contents = Vec::new();
        for article in &output.contents {
            let content = Content {
                id: article.id.clone(),
                account_id: account_id.to_owned(),
                site_id: input.site_id.clone(),
                sector_id: input.sector_id.clone(),
                task_id: Some(article.task_id.clone()),
                title: article.title.clone(),
                html: article.html.clone(),
                word_count: article.word_count,
                meta_title: article.meta_title.clone(),
                meta_description: article.meta_description.clone(),
                primary_keyword: article.primary_keyword.clone(),
                status: "draft".into(),
                taxonomy_ids: Vec::new(),
                generated_at: now,
                updated_at: Some(now),
                external: Default::default(),
                pipeline: Default::default(),
            };
            contents.push(content);
        }
        // Ids are fixed in the saved output: on a replay the contents already written are refused
        // as being there, and the tasks already linked move from `draft` to `draft`.
        let mut steps = Vec::with_capacity(contents.len() * 2);
        for content in &contents {
            steps.push(Step::created(content, vec![Write::Put(content.item()?, Some(Condition::not_exists()))]));
            let task = tasks.iter().find(|t| Some(&t.id) == content.task_id.as_ref());
            if let Some(task) = task {
                let link = Change::new(task.key(), "SET content_id = :content").value(":content", s(&content.id));
                steps.push(Step::status(task, "draft", Some(link)));
            }
        }
        let done = counts::commit(store, &steps, |_| Vec::new()).await?;
        if !done.sector_gone.is_empty() {
            return Err(ApiError::not_found());
        }
        let content_ids: Vec<String> = contents.into_iter().map(|c| c.id).collect();
        let count = content_ids.len() as i64;
        Ok(Applied {
            result: ContentWritten { content_ids, contents_created: count },
            once: vec![usage::count_write(account_id, "content", count, now)],
        })
    }

    /// The tasks still `in_progress` are `queued` again.
    async fn after_failure(&self, job: &JobContext<'_>, input: &ContentInput) -> Result<(), ApiError> {
        self.move_tasks(job, input, "in_progress", "queued").await
    }
}

/// `generate_image_prompts`: a featured and `in_article_count` in-article prompts per content.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateImagePrompts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePromptsInput {
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub content_ids: Vec<String>,
    /// In-article images per content (2 unless given; at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_article_count: Option<u64>,
}

/// An image a content needs, described for the image model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePrompt {
    pub id: String,
    pub content_id: String,
    pub task_id: Option<String>,
    pub image_type: String,
    pub prompt: String,
    pub position: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePromptsOutput {
    pub images: Vec<ImagePrompt>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImagesPlanned {
    pub image_ids: Vec<String>,
    pub images_created: usize,
}

impl AiFunction for GenerateImagePrompts {
    const NAME: &'static str = "generate_image_prompts";
    const MODULE: &'static str = "writer";
    const OPERATION: Operation = Operation::ImagePromptExtraction;
    type Input = ImagePromptsInput;
    type Output = ImagePromptsOutput;
    type Result = ImagesPlanned;

    fn estimate(&self, costs: &CreditCosts, input: &ImagePromptsInput) -> Estimate {
        let contents = input.content_ids.len().max(1) as u32;
        Estimate { credits: costs.cost(Self::OPERATION, u64::from(contents)), parts: contents }
    }

    async fn run(&self, job: &JobContext<'_>, input: &ImagePromptsInput) -> Result<Run<ImagePromptsOutput>, JobError> {
        let contents: Vec<Content> =
            planner::by_ids(job.services, job.account_id(), &input.sector_id, &input.content_ids)
                .await
                .map_err(store_err)?;
        if contents.is_empty() {
            return Err(JobError::fatal("None of the content exists any more.", "InvalidInput"));
        }
        let in_article = input.in_article_count.unwrap_or(2).min(10);
        let model = job.model().await?;
        let instructions = job.prompt("image_prompt_extraction").await?;
        // One call per content, checkpointed (a resumed job keeps the prompts, and ids, it had).
        let answers = job
            .each(
                &model,
                &contents,
                |content| {
                    let (model, instructions) = (&model, &instructions);
                    async move {
                        let mut images = Vec::new();
                        let excerpt: String = content.html.chars().take(6000).collect();
                        let asked = json!({"task": "generate_image_prompts", "title": content.title, "content_html": excerpt, "in_article_count": in_article});
                        let (answer, call) = model.ask(SYSTEM, instructions, &asked).await?;
                        let featured = text(&answer, "featured_prompt", 2000)?;
                        let list = answer["in_article_prompts"]
                            .as_array()
                            .ok_or_else(|| JobError::malformed("no \"in_article_prompts\" list"))?;
                        let image = |image_type: &str, prompt: String, position: u32| ImagePrompt {
                            id: ids::new_id(),
                            content_id: content.id.clone(),
                            task_id: content.task_id.clone(),
                            image_type: image_type.to_owned(),
                            prompt,
                            position,
                        };
                        images.push(image("featured", featured, 0));
                        for (i, prompt) in list.iter().take(in_article as usize).enumerate() {
                            let prompt = prompt
                                .as_str()
                                .map(str::trim)
                                .filter(|p| !p.is_empty())
                                .ok_or_else(|| JobError::malformed("an empty image prompt"))?;
                            images.push(image("in_article", prompt.chars().take(2000).collect(), i as u32 + 1));
                        }
                        Ok((images, call))
                    }
                },
                |done, total| format!("Image prompts for {done} of {total} contents"),
            )
            .await?;
        let (images, calls): (Vec<Vec<ImagePrompt>>, Vec<_>) = answers.into_iter().unzip();
        let images: Vec<ImagePrompt> = images.into_iter().flatten().collect();
        Ok(Run { output: ImagePromptsOutput { images }, calls, parts: contents.len() as u32 })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &ImagePromptsInput,
        output: &ImagePromptsOutput,
    ) -> Result<Applied<ImagesPlanned>, ApiError> {
        let now = OffsetDateTime::now_utc();
        let mut steps = Vec::new();
        let mut image_ids = Vec::new();
        for planned in &output.images {
            let image = ImageRecord {
                id: planned.id.clone(),
                account_id: job.account_id().to_owned(),
                site_id: input.site_id.clone(),
                sector_id: input.sector_id.clone(),
                content_id: Some(planned.content_id.clone()),
                task_id: planned.task_id.clone(),
                image_type: planned.image_type.clone(),
                prompt: planned.prompt.clone(),
                position: planned.position,
                status: "pending".into(),
                s3_key: None,
                created_at: now,
            };
            image_ids.push(image.id.clone());
            steps.push(Step::created(&image, vec![Write::Put(image.item()?, Some(Condition::not_exists()))]));
        }
        // On a replay the images already written are refused as being there.
        let done = counts::commit(job.services.store().await, &steps, |_| Vec::new()).await?;
        if !done.sector_gone.is_empty() {
            return Err(ApiError::not_found());
        }
        let images_created = image_ids.len();
        Ok(Applied { result: ImagesPlanned { image_ids, images_created }, once: vec![] })
    }
}

/// `generate_images`: the pictures of image records, stored in S3, one call each.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateImages;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagesInput {
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub image_ids: Vec<String>,
}

/// An image drawn and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImage {
    pub id: String,
    pub s3_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagesOutput {
    pub images: Vec<StoredImage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImagesGenerated {
    pub image_ids: Vec<String>,
    pub images_generated: i64,
}

impl AiFunction for GenerateImages {
    const NAME: &'static str = "generate_images";
    const MODULE: &'static str = "writer";
    const OPERATION: Operation = Operation::ImageGeneration;
    const QUEUE: Queue = Queue::Image;
    type Input = ImagesInput;
    type Output = ImagesOutput;
    type Result = ImagesGenerated;

    fn estimate(&self, costs: &CreditCosts, input: &ImagesInput) -> Estimate {
        let n = input.image_ids.len().max(1) as u32;
        Estimate { credits: costs.cost(Self::OPERATION, u64::from(n)), parts: n }
    }

    async fn run(&self, job: &JobContext<'_>, input: &ImagesInput) -> Result<Run<ImagesOutput>, JobError> {
        if job.services.config.images_bucket.is_none() {
            return Err(JobError::fatal("No images bucket is configured.", "ConfigurationError"));
        }
        let records: Vec<ImageRecord> =
            planner::by_ids(job.services, job.account_id(), &input.sector_id, &input.image_ids)
                .await
                .map_err(store_err)?;
        if records.is_empty() {
            return Err(JobError::fatal("None of the images exist any more.", "InvalidInput"));
        }
        let provider = job.image_provider().await?;
        let template = job.prompt("image_prompt_template").await?;
        let negative = job.prompt("negative_prompt").await?;
        // One image at a time, checkpointed: a resumed job draws only the images it has not stored.
        let drawn = job
            .each(
                &provider,
                &records,
                |record| {
                    let request = ImageRequest {
                        model: provider.model.clone(),
                        prompt: template.replace("{prompt}", &record.prompt),
                        negative_prompt: Some(negative.clone()),
                        width: 1024,
                        height: if record.image_type == "featured" { 576 } else { 1024 },
                    };
                    let provider = &provider;
                    async move {
                        let image = provider.draw(&request).await?;
                        let key = image_key(job.account_id(), &record.id);
                        job.put_image(&key, image.bytes).await?;
                        let call = CallRecord {
                            id: ids::new_id(),
                            model: image.model,
                            input_tokens: 0,
                            output_tokens: 0,
                            cost_usd: image.cost_usd,
                            duration_ms: image.duration_ms,
                            attempts: image.attempts,
                        };
                        Ok((StoredImage { id: record.id.clone(), s3_key: key }, call))
                    }
                },
                |done, total| format!("Generated {done} of {total} images"),
            )
            .await?;
        let (images, calls): (Vec<StoredImage>, Vec<CallRecord>) = drawn.into_iter().unzip();
        Ok(Run { output: ImagesOutput { images }, calls, parts: records.len() as u32 })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &ImagesInput,
        output: &ImagesOutput,
    ) -> Result<Applied<ImagesGenerated>, ApiError> {
        let store = job.services.store().await;
        let ids: Vec<String> = output.images.iter().map(|i| i.id.clone()).collect();
        let records: Vec<ImageRecord> = planner::by_ids(job.services, job.account_id(), &input.sector_id, &ids).await?;
        // Each image as read moves to `generated` with its file (an image deleted meanwhile is
        // left out; on a replay, `generated` to `generated`).
        let mut steps = Vec::new();
        let mut stepped = Vec::new();
        for image in &output.images {
            let Some(record) = records.iter().find(|r| r.id == image.id) else { continue };
            let file = Change::new(record.key(), "SET s3_key = :key").value(":key", s(&image.s3_key));
            steps.push(Step::status(record, "generated", Some(file)));
            stepped.push(image.id.clone());
        }
        let done = counts::commit(store, &steps, |_| Vec::new()).await?;
        if !done.sector_gone.is_empty() {
            return Err(ApiError::not_found());
        }
        let image_ids: Vec<String> = done.done.iter().map(|&i| stepped[i].clone()).collect();
        let count = image_ids.len() as i64;
        Ok(Applied {
            result: ImagesGenerated { image_ids, images_generated: count },
            once: vec![usage::count_write(job.account_id(), "images", count, OffsetDateTime::now_utc())],
        })
    }
}
