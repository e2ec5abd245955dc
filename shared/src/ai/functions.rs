//! The AI functions the workers run. Each has two halves:
//! - [`run_model`] asks the provider and turns the answers into one validated output (ids of new
//!   records are assigned here and saved with the output);
//! - [`apply`] writes that output. Every write is idempotent (puts of known ids, sets of
//!   values), so a re-run after a crash replays it without duplicates.

use crate::validation::max;
use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

pub use super::images::image_key;
use super::images::{draw, image_provider, put_image};
pub use super::model::JobError;
use super::model::{model, store_err};
use super::prompts;
use super::provider::RetryPolicy;
use crate::credits::CreditCosts;
use crate::jobs::{self, AiFunction, Job, Phase};
use crate::planner::membership::{self, KeywordChange, Refused};
use crate::planner::{self, Cluster, Idea, Keyword, SectorRecord};
use crate::store::{Change, Condition, Key, StoreError, Write, s};
use crate::writer::{self, Content, ImageRecord, Task};
use crate::{ApiError, Services, ids, usage};

/// Keywords per clustering call: what the model's context handles well.
pub const CLUSTER_BATCH: usize = 20;
/// Clustering calls in flight at once for one job.
pub const CLUSTER_CONCURRENCY: usize = 4;
/// Article calls in flight at once for one job.
pub const CONTENT_CONCURRENCY: usize = 4;

/// How many credits to reserve for a job, and in how many parts it runs.
pub fn estimate(costs: &CreditCosts, function: AiFunction, input: &Value) -> (i64, u32) {
    let count = |field: &str| input[field].as_array().map_or(0, Vec::len);
    match function {
        AiFunction::AutoCluster => {
            let parts = count("keyword_ids").div_ceil(CLUSTER_BATCH).max(1) as u32;
            (costs.cost(function.operation(), parts as u64), parts)
        }
        AiFunction::GenerateIdeas => {
            let clusters = count("cluster_ids").max(1) as u32;
            (costs.cost(function.operation(), clusters as u64), clusters)
        }
        AiFunction::GenerateContent => {
            let tasks = count("task_ids").max(1) as u32;
            let words = input["estimated_word_count"].as_u64().unwrap_or(1000 * tasks as u64);
            (costs.cost(function.operation(), words), tasks)
        }
        AiFunction::GenerateImagePrompts => {
            let contents = count("content_ids").max(1) as u32;
            (costs.cost(function.operation(), contents as u64), contents)
        }
        AiFunction::GenerateImages => {
            let n = count("image_ids").max(1) as u32;
            (costs.cost(function.operation(), n as u64), n)
        }
    }
}

fn sector_of(job: &Job) -> Result<String, JobError> {
    job.input["sector_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| JobError::fatal("The job names no sector.", "InvalidInput"))
}

fn id_list(job: &Job, field: &str) -> Vec<String> {
    job.input[field]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Moves the writer tasks of a content job from `from` to `to` (each only if it is still in `from`).
async fn move_tasks(services: &Services, job: &Job, from: &str, to: &str) -> Result<(), ApiError> {
    if job.function != AiFunction::GenerateContent {
        return Ok(());
    }
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default();
    let store = services.store().await;
    for task_id in id_list(job, "task_ids") {
        let key = Key::new(planner::sector_pk(&job.account_id, sector_id), format!("{}{task_id}", writer::TASK_PREFIX));
        let change = Change::new(key, "SET #status = :to")
            .name("#status", "status")
            .value(":to", s(to))
            .condition(Condition::new("attribute_exists(PK) AND #status = :from").value(":from", s(from)));
        match store.update(change).await {
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Before the model is asked: a content job's queued tasks are `in_progress`.
pub async fn before_run(services: &Services, job: &Job) -> Result<(), ApiError> {
    move_tasks(services, job, "queued", "in_progress").await
}

/// After a job failed for good: its tasks still `in_progress` are `queued` again.
pub async fn after_failure(services: &Services, job: &Job) -> Result<(), ApiError> {
    move_tasks(services, job, "in_progress", "queued").await
}

/// Asks the model and returns the job's validated output.
pub async fn run_model(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    match job.function {
        AiFunction::AutoCluster => auto_cluster(services, job, retry).await,
        AiFunction::GenerateIdeas => generate_ideas(services, job, retry).await,
        AiFunction::GenerateContent => generate_content(services, job, retry).await,
        AiFunction::GenerateImagePrompts => generate_image_prompts(services, job, retry).await,
        AiFunction::GenerateImages => generate_images(services, job, retry).await,
    }
}

fn norm(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Parses one clustering answer: `{"clusters": [{"name", "description", "keywords": [..]}]}`.
fn parse_clusters(answer: &Value) -> Result<Vec<(String, String, Vec<String>)>, JobError> {
    let clusters = answer["clusters"].as_array().ok_or_else(|| JobError::malformed("no \"clusters\" list"))?;
    clusters
        .iter()
        .map(|c| {
            let name = c["name"]
                .as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| JobError::malformed("a cluster without a name"))?;
            let keywords =
                c["keywords"].as_array().ok_or_else(|| JobError::malformed("a cluster without a keywords list"))?;
            let keywords = keywords
                .iter()
                .map(|k| {
                    k.as_str().map(str::to_owned).ok_or_else(|| JobError::malformed("a keyword that is not a string"))
                })
                .collect::<Result<_, _>>()?;
            Ok((
                name.chars().take(200).collect(),
                c["description"].as_str().unwrap_or_default().chars().take(2000).collect(),
                keywords,
            ))
        })
        .collect()
}

async fn auto_cluster(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    let sector_id = sector_of(job)?;
    let wanted = id_list(job, "keyword_ids");
    let keywords: Vec<Keyword> =
        planner::by_ids(services, &job.account_id, &sector_id, planner::KEYWORD_PREFIX, &wanted)
            .await
            .map_err(store_err)?;
    if keywords.is_empty() {
        return Err(JobError::fatal("None of the keywords exist any more.", "InvalidInput"));
    }
    let model = model(services, &job.account_id, retry).await?;
    let instructions = prompts::prompt(services, &job.account_id, "clustering").await.map_err(store_err)?;
    let batches: Vec<&[Keyword]> = keywords.chunks(CLUSTER_BATCH).collect();
    let total = batches.len() as u32;

    // Batches run a few at a time; merged in batch order so that the result is deterministic.
    let mut answers = Vec::with_capacity(batches.len());
    for (wave_index, wave) in batches.chunks(CLUSTER_CONCURRENCY).enumerate() {
        let calls = wave.iter().map(|batch| {
            let input = json!({"task": "auto_cluster", "keywords": batch.iter().map(|k| k.keyword.clone()).collect::<Vec<_>>()});
            let model = &model;
            let instructions = &instructions;
            async move { model.ask("You answer only with JSON.", instructions, &input).await }
        });
        for answer in futures_util::future::join_all(calls).await {
            answers.push(answer?);
        }
        let done = ((wave_index + 1) * CLUSTER_CONCURRENCY).min(batches.len()) as u32;
        let pct = 25 + (50 * done / total.max(1)) as u8;
        jobs::progress(services, job, Phase::AiCall, pct, &format!("Clustered {done} of {total} parts"), done)
            .await
            .map_err(store_err)?;
    }

    // Merge: one cluster per name, each keyword in at most one cluster, only keywords asked about.
    let mut clusters: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut taken: HashMap<String, ()> = HashMap::new();
    let mut calls = Vec::new();
    for ((answer, call), batch) in answers.into_iter().zip(&batches) {
        calls.push(call);
        let by_text: HashMap<String, &Keyword> = batch.iter().map(|k| (norm(&k.keyword), k)).collect();
        for (name, description, members) in parse_clusters(&answer)? {
            let ids: Vec<String> = members
                .iter()
                .filter_map(|m| by_text.get(&norm(m)))
                .filter(|k| taken.insert(k.id.clone(), ()).is_none())
                .map(|k| k.id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            match clusters.iter_mut().find(|(n, _, _)| norm(n) == norm(&name)) {
                Some((_, _, existing)) => existing.extend(ids),
                None => clusters.push((name, description, ids)),
            }
        }
    }
    if clusters.is_empty() {
        return Err(JobError::malformed("no cluster holds any of the keywords"));
    }
    let clusters: Vec<Value> = clusters
        .into_iter()
        .map(|(name, description, keyword_ids)| json!({"id": ids::new_id(), "name": name, "description": description, "keyword_ids": keyword_ids}))
        .collect();
    Ok(json!({"clusters": clusters, "calls": calls, "parts": total}))
}

async fn generate_ideas(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    let sector_id = sector_of(job)?;
    let wanted = id_list(job, "cluster_ids");
    let clusters: Vec<Cluster> =
        planner::in_sector::<Cluster>(services, &job.account_id, &sector_id, planner::CLUSTER_PREFIX)
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|c| wanted.contains(&c.id))
            .collect();
    if clusters.is_empty() {
        return Err(JobError::fatal("None of the clusters exist any more.", "InvalidInput"));
    }
    let model = model(services, &job.account_id, retry).await?;
    let instructions = prompts::prompt(services, &job.account_id, "ideas").await.map_err(store_err)?;
    let mut ideas = Vec::new();
    let mut calls = Vec::new();
    for (done, cluster) in clusters.iter().enumerate() {
        let keywords = planner::cluster_keywords(services, &job.account_id, &cluster.id).await.map_err(store_err)?;
        let members: Vec<&str> = keywords.iter().map(|k| k.keyword.as_str()).collect();
        let input = json!({"task": "generate_ideas", "cluster": {"name": cluster.name, "description": cluster.description, "keywords": members}});
        let (answer, call) = model.ask("You answer only with JSON.", &instructions, &input).await?;
        calls.push(call);
        let list = answer["ideas"].as_array().ok_or_else(|| JobError::malformed("no \"ideas\" list"))?;
        for idea in list {
            let title = idea["title"]
                .as_str()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| JobError::malformed("an idea without a title"))?;
            let targets: Vec<String> = idea["target_keywords"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(|k| k.chars().take(max::KEYWORD).collect()))
                        .take(50)
                        .collect()
                })
                .unwrap_or_default();
            let description: String =
                idea["description"].as_str().unwrap_or_default().chars().take(max::DESCRIPTION).collect();
            ideas.push(json!({
                "id": ids::new_id(), "cluster_id": cluster.id, "title": title.chars().take(max::TITLE).collect::<String>(),
                "description": description,
                "content_type": planner::ideas::content_type_of(idea["content_type"].as_str().unwrap_or_default()),
                "content_structure": planner::ideas::content_structure_of(idea["content_structure"].as_str().unwrap_or_default()),
                "target_keywords": targets,
                "estimated_word_count": idea["estimated_word_count"].as_u64().unwrap_or(1000).clamp(100, 10_000),
            }));
        }
        let pct = 25 + (50 * (done as u32 + 1) / clusters.len() as u32) as u8;
        jobs::progress(
            services,
            job,
            Phase::AiCall,
            pct,
            &format!("Ideas for {} of {} clusters", done + 1, clusters.len()),
            done as u32 + 1,
        )
        .await
        .map_err(store_err)?;
    }
    if ideas.is_empty() {
        return Err(JobError::malformed("no ideas"));
    }
    Ok(json!({"ideas": ideas, "calls": calls, "parts": clusters.len()}))
}

/// What applying an output changed and costs.
pub struct Applied {
    pub result: Value,
    pub charged: i64,
    /// Writes that must happen exactly once, in the settlement transaction (usage counters).
    pub once: Vec<Write>,
}

/// Writes the output of a job (idempotently) and says what it costs.
pub async fn apply(services: &Services, job: &Job, output: &Value) -> Result<Applied, ApiError> {
    let costs = &services.config.credit_costs;
    // Content is charged by the words actually written (counted from the text); the rest by part.
    let units = match job.function {
        AiFunction::GenerateContent => {
            output["contents"].as_array().into_iter().flatten().filter_map(|c| c["word_count"].as_u64()).sum()
        }
        _ => output["parts"].as_u64().unwrap_or(1),
    };
    let charged = costs.cost(job.function.operation(), units);
    let now = OffsetDateTime::now_utc();
    let (result, once) = match job.function {
        AiFunction::AutoCluster => apply_clusters(services, job, output, now).await?,
        AiFunction::GenerateIdeas => apply_ideas(services, job, output, now).await?,
        AiFunction::GenerateContent => apply_contents(services, job, output, now).await?,
        AiFunction::GenerateImagePrompts => apply_image_prompts(services, job, output, now).await?,
        AiFunction::GenerateImages => apply_images(services, job, output).await?,
    };
    record_usage(services, job, output, charged, now).await?;
    Ok(Applied { result, charged, once })
}

/// One usage log item per model call (`ACCOUNT#<a>` / `USAGELOG#<call id>`), the charge spread over them.
async fn record_usage(
    services: &Services,
    job: &Job,
    output: &Value,
    charged: i64,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let calls = output["calls"].as_array().cloned().unwrap_or_default();
    let n = calls.len().max(1) as i64;
    let store = services.store().await;
    let mut items = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let share = charged / n + if (i as i64) < charged % n { 1 } else { 0 };
        let log = crate::credits::UsageLog {
            id: call["id"].as_str().unwrap_or_default().to_owned(),
            account_id: job.account_id.clone(),
            job_id: Some(job.id.clone()),
            operation_type: job.function.operation().as_str().to_owned(),
            credits_used: share,
            tokens_input: call["input_tokens"].as_u64().unwrap_or(0),
            tokens_output: call["output_tokens"].as_u64().unwrap_or(0),
            model_used: call["model"].as_str().unwrap_or_default().to_owned(),
            cost_usd: call["cost_usd"].as_f64().unwrap_or(0.0),
            duration_ms: call["duration_ms"].as_u64().unwrap_or(0),
            created_at: now,
        };
        items.push(log.item()?);
    }
    store.put_batch(items).await?;
    Ok(())
}

async fn apply_clusters(
    services: &Services,
    job: &Job,
    output: &Value,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Write>), ApiError> {
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default().to_owned();
    let site_id = job.input["site_id"].as_str().unwrap_or_default().to_owned();
    let store = services.store().await;
    let mut created = 0i64;
    let mut target: HashMap<String, String> = HashMap::new();
    let mut touched: Vec<String> = Vec::new();
    for c in output["clusters"].as_array().into_iter().flatten() {
        let proposed = Cluster {
            id: c["id"].as_str().unwrap_or_default().to_owned(),
            account_id: job.account_id.clone(),
            site_id: site_id.clone(),
            sector_id: sector_id.clone(),
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            description: c["description"].as_str().unwrap_or_default().to_owned(),
            status: "active".into(),
            keywords_count: 0,
            volume: 0,
            difficulty_sum: 0,
            created_at: now,
        };
        // Created with its name guard. The proposed id is this job's own, so finding it already
        // there means a replay; a taken name means the sector has that cluster: it is reused.
        let cluster_id = match store.transact(planner::clusters::create_writes(&proposed)?).await {
            Ok(()) => {
                created += 1;
                proposed.id.clone()
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
                created += 1;
                proposed.id.clone()
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => {
                let guard: Option<Value> = store.get(&proposed.name_guard()).await?;
                match guard.and_then(|g| g["cluster_id"].as_str().map(str::to_owned)) {
                    Some(existing) => existing,
                    None => return Err(ApiError::internal("cluster name guard without a cluster")),
                }
            }
            Err(err) => return Err(err.into()),
        };
        for keyword_id in c["keyword_ids"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            target.insert(keyword_id.to_owned(), cluster_id.clone());
        }
        if !touched.contains(&cluster_id) {
            touched.push(cluster_id);
        }
    }
    // Moves go through the membership writes, so the clusters' counts stay exact; a keyword
    // changed meanwhile is read again.
    let mut wanted: Vec<String> = target.keys().cloned().collect();
    for _ in 0..3 {
        let keywords: Vec<Keyword> =
            planner::by_ids(services, &job.account_id, &sector_id, planner::KEYWORD_PREFIX, &wanted).await?;
        let changes: Vec<KeywordChange> = keywords
            .into_iter()
            .filter_map(|k| {
                let cluster = target.get(&k.id)?;
                (k.cluster_id.as_ref() != Some(cluster)).then(|| {
                    let mut after = k.clone();
                    after.cluster_id = Some(cluster.clone());
                    KeywordChange::update(k, after)
                })
            })
            .collect();
        let committed = membership::commit(services, &changes).await?;
        wanted = committed
            .refused
            .iter()
            .filter(|(_, why)| *why == Refused::Changed)
            .filter_map(|(i, _)| changes[*i].after.as_ref().map(|k| k.id.clone()))
            .collect();
        if wanted.is_empty() {
            break;
        }
    }
    let result = json!({
        "cluster_ids": touched,
        "clusters_created": created,
        "keywords_clustered": target.len(),
    });
    let once = if created > 0 { vec![usage::count_write(&job.account_id, "clusters", created, now)] } else { vec![] };
    Ok((result, once))
}

async fn apply_ideas(
    services: &Services,
    job: &Job,
    output: &Value,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Write>), ApiError> {
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default().to_owned();
    let site_id = job.input["site_id"].as_str().unwrap_or_default().to_owned();
    let mut items = Vec::new();
    let mut ids_out = Vec::new();
    for i in output["ideas"].as_array().into_iter().flatten() {
        let idea = Idea {
            id: i["id"].as_str().unwrap_or_default().to_owned(),
            account_id: job.account_id.clone(),
            site_id: site_id.clone(),
            sector_id: sector_id.clone(),
            cluster_id: i["cluster_id"].as_str().map(str::to_owned),
            idea_title: i["title"].as_str().unwrap_or_default().to_owned(),
            description: i["description"].as_str().unwrap_or_default().to_owned(),
            content_type: i["content_type"].as_str().unwrap_or("blog_post").to_owned(),
            content_structure: i["content_structure"].as_str().unwrap_or("supporting_page").to_owned(),
            target_keywords: i["target_keywords"]
                .as_array()
                .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            estimated_word_count: i["estimated_word_count"].as_u64().unwrap_or(1000) as u32,
            status: "new".into(),
            task_id: None,
            created_at: now,
        };
        ids_out.push(idea.id.clone());
        items.push(idea.item()?);
    }
    let count = items.len() as i64;
    services.store().await.put_batch(items).await?;
    Ok((
        json!({"idea_ids": ids_out, "ideas_created": count}),
        vec![usage::count_write(&job.account_id, "ideas", count, now)],
    ))
}

fn text(value: &Value, field: &str, max: usize) -> Result<String, JobError> {
    let s = value[field]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JobError::malformed(format!("no \"{field}\"")))?;
    Ok(s.chars().take(max).collect())
}

async fn generate_content(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    let sector_id = sector_of(job)?;
    let tasks: Vec<Task> =
        planner::by_ids(services, &job.account_id, &sector_id, writer::TASK_PREFIX, &id_list(job, "task_ids"))
            .await
            .map_err(store_err)?;
    if tasks.is_empty() {
        return Err(JobError::fatal("None of the tasks exist any more.", "InvalidInput"));
    }
    let model = model(services, &job.account_id, retry).await?;
    let instructions = prompts::prompt(services, &job.account_id, "content_generation").await.map_err(store_err)?;
    let mut contents = Vec::new();
    let mut calls = Vec::new();
    // A few articles at a time, like clustering; written in task order.
    for (wave_index, wave) in tasks.chunks(CONTENT_CONCURRENCY).enumerate() {
        let asks = wave.iter().map(|task| {
            let input = json!({"task": "generate_content", "title": task.title, "description": task.description,
                               "keywords": task.keywords, "content_type": task.content_type,
                               "content_structure": task.content_structure, "word_count": task.word_count});
            let (model, instructions) = (&model, &instructions);
            async move { model.ask("You answer only with JSON.", instructions, &input).await }
        });
        let answers = futures_util::future::join_all(asks).await;
        for (task, answer) in wave.iter().zip(answers) {
            let (answer, call) = answer?;
            calls.push(call);
            let html = writer::sanitize_html(&text(&answer, "content_html", writer::content::MAX_HTML)?);
            if html.len() > writer::content::MAX_HTML_BYTES {
                return Err(JobError::malformed("an article longer than a content record may hold"));
            }
            let words = writer::word_count(&html);
            if words == 0 {
                return Err(JobError::malformed("an article without text"));
            }
            contents.push(json!({
                "id": ids::new_id(), "task_id": task.id, "title": text(&answer, "title", 300).unwrap_or_else(|_| task.title.clone()),
                "meta_title": answer["meta_title"].as_str().unwrap_or_default().chars().take(300).collect::<String>(),
                "meta_description": answer["meta_description"].as_str().unwrap_or_default().chars().take(500).collect::<String>(),
                "html": html, "word_count": words, "primary_keyword": task.keywords.first().cloned().unwrap_or_default(),
            }));
        }
        let done = ((wave_index + 1) * CONTENT_CONCURRENCY).min(tasks.len()) as u32;
        let pct = 25 + (50 * done / tasks.len() as u32) as u8;
        jobs::progress(services, job, Phase::AiCall, pct, &format!("Wrote {done} of {} articles", tasks.len()), done)
            .await
            .map_err(store_err)?;
    }
    Ok(json!({"contents": contents, "calls": calls, "parts": tasks.len()}))
}

async fn generate_image_prompts(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    let sector_id = sector_of(job)?;
    let contents: Vec<Content> =
        planner::by_ids(services, &job.account_id, &sector_id, writer::CONTENT_PREFIX, &id_list(job, "content_ids"))
            .await
            .map_err(store_err)?;
    if contents.is_empty() {
        return Err(JobError::fatal("None of the content exists any more.", "InvalidInput"));
    }
    let in_article = job.input["in_article_count"].as_u64().unwrap_or(2).min(10);
    let model = model(services, &job.account_id, retry).await?;
    let instructions =
        prompts::prompt(services, &job.account_id, "image_prompt_extraction").await.map_err(store_err)?;
    let mut images = Vec::new();
    let mut calls = Vec::new();
    for content in &contents {
        let excerpt: String = content.html.chars().take(6000).collect();
        let input = json!({"task": "generate_image_prompts", "title": content.title, "content_html": excerpt, "in_article_count": in_article});
        let (answer, call) = model.ask("You answer only with JSON.", &instructions, &input).await?;
        calls.push(call);
        let featured = text(&answer, "featured_prompt", 2000)?;
        let list = answer["in_article_prompts"]
            .as_array()
            .ok_or_else(|| JobError::malformed("no \"in_article_prompts\" list"))?;
        images.push(json!({"id": ids::new_id(), "content_id": content.id, "task_id": content.task_id, "image_type": "featured", "prompt": featured, "position": 0}));
        for (i, prompt) in list.iter().take(in_article as usize).enumerate() {
            let prompt = prompt
                .as_str()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| JobError::malformed("an empty image prompt"))?;
            images.push(json!({"id": ids::new_id(), "content_id": content.id, "task_id": content.task_id, "image_type": "in_article",
                               "prompt": prompt.chars().take(2000).collect::<String>(), "position": i + 1}));
        }
    }
    Ok(json!({"images": images, "calls": calls, "parts": contents.len()}))
}

async fn apply_contents(
    services: &Services,
    job: &Job,
    output: &Value,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Write>), ApiError> {
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default().to_owned();
    let site_id = job.input["site_id"].as_str().unwrap_or_default().to_owned();
    let store = services.store().await;
    let mut ids_out = Vec::new();
    for c in output["contents"].as_array().into_iter().flatten() {
        let content = Content {
            id: c["id"].as_str().unwrap_or_default().to_owned(),
            account_id: job.account_id.clone(),
            site_id: site_id.clone(),
            sector_id: sector_id.clone(),
            task_id: c["task_id"].as_str().map(str::to_owned),
            title: c["title"].as_str().unwrap_or_default().to_owned(),
            html: c["html"].as_str().unwrap_or_default().to_owned(),
            word_count: c["word_count"].as_u64().unwrap_or(0) as u32,
            meta_title: c["meta_title"].as_str().unwrap_or_default().to_owned(),
            meta_description: c["meta_description"].as_str().unwrap_or_default().to_owned(),
            primary_keyword: c["primary_keyword"].as_str().unwrap_or_default().to_owned(),
            status: "draft".into(),
            taxonomy_ids: Vec::new(),
            generated_at: now,
            updated_at: Some(now),
        };
        store.put(content.item()?, None).await?;
        if let Some(task_id) = &content.task_id {
            let key =
                Key::new(planner::sector_pk(&job.account_id, &sector_id), format!("{}{task_id}", writer::TASK_PREFIX));
            let change = Change::new(key, "SET #status = :draft, content_id = :content")
                .name("#status", "status")
                .value(":draft", s("draft"))
                .value(":content", s(&content.id))
                .condition(Condition::exists());
            match store.update(change).await {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(err) => return Err(err.into()),
            }
        }
        ids_out.push(content.id);
    }
    let count = ids_out.len() as i64;
    Ok((
        json!({"content_ids": ids_out, "contents_created": count}),
        vec![usage::count_write(&job.account_id, "content", count, now)],
    ))
}

async fn apply_image_prompts(
    services: &Services,
    job: &Job,
    output: &Value,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Write>), ApiError> {
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default().to_owned();
    let site_id = job.input["site_id"].as_str().unwrap_or_default().to_owned();
    let mut items = Vec::new();
    let mut ids_out = Vec::new();
    for i in output["images"].as_array().into_iter().flatten() {
        let image = ImageRecord {
            id: i["id"].as_str().unwrap_or_default().to_owned(),
            account_id: job.account_id.clone(),
            site_id: site_id.clone(),
            sector_id: sector_id.clone(),
            content_id: i["content_id"].as_str().map(str::to_owned),
            task_id: i["task_id"].as_str().map(str::to_owned),
            image_type: i["image_type"].as_str().unwrap_or("in_article").to_owned(),
            prompt: i["prompt"].as_str().unwrap_or_default().to_owned(),
            position: i["position"].as_u64().unwrap_or(0) as u32,
            status: "pending".into(),
            s3_key: None,
            created_at: now,
        };
        ids_out.push(image.id.clone());
        items.push(image.item()?);
    }
    services.store().await.put_batch(items).await?;
    Ok((json!({"image_ids": ids_out, "images_created": ids_out.len()}), vec![]))
}

async fn generate_images(services: &Services, job: &Job, retry: RetryPolicy) -> Result<Value, JobError> {
    let sector_id = sector_of(job)?;
    let bucket = services
        .config
        .images_bucket
        .clone()
        .ok_or_else(|| JobError::fatal("No images bucket is configured.", "ConfigurationError"))?;
    let records: Vec<ImageRecord> =
        planner::by_ids(services, &job.account_id, &sector_id, writer::IMAGE_PREFIX, &id_list(job, "image_ids"))
            .await
            .map_err(store_err)?;
    if records.is_empty() {
        return Err(JobError::fatal("None of the images exist any more.", "InvalidInput"));
    }
    let (client, provider, model) = image_provider(services, &job.account_id, retry).await?;
    let template = prompts::prompt(services, &job.account_id, "image_prompt_template").await.map_err(store_err)?;
    let negative = prompts::prompt(services, &job.account_id, "negative_prompt").await.map_err(store_err)?;
    let mut images = Vec::new();
    let mut calls = Vec::new();
    for (done, record) in records.iter().enumerate() {
        let request = super::images::ImageRequest {
            model: model.clone(),
            prompt: template.replace("{prompt}", &record.prompt),
            negative_prompt: Some(negative.clone()),
            width: 1024,
            height: if record.image_type == "featured" { 576 } else { 1024 },
        };
        let image = draw(&client, &provider, &request).await?;
        let key = image_key(&job.account_id, &record.id);
        put_image(services, &bucket, &key, image.bytes).await?;
        calls.push(json!({"id": ids::new_id(), "model": image.model, "input_tokens": 0, "output_tokens": 0,
                          "cost_usd": image.cost_usd, "duration_ms": image.duration_ms, "attempts": image.attempts}));
        images.push(json!({"id": record.id, "s3_key": key}));
        let pct = 25 + (50 * (done as u32 + 1) / records.len() as u32) as u8;
        jobs::progress(
            services,
            job,
            Phase::AiCall,
            pct,
            &format!("Generated {} of {} images", done + 1, records.len()),
            done as u32 + 1,
        )
        .await
        .map_err(store_err)?;
    }
    Ok(json!({"images": images, "calls": calls, "parts": records.len()}))
}

async fn apply_images(services: &Services, job: &Job, output: &Value) -> Result<(Value, Vec<Write>), ApiError> {
    let sector_id = job.input["sector_id"].as_str().unwrap_or_default().to_owned();
    let store = services.store().await;
    let mut done = Vec::new();
    for image in output["images"].as_array().into_iter().flatten() {
        let id = image["id"].as_str().unwrap_or_default();
        let key = Key::new(planner::sector_pk(&job.account_id, &sector_id), format!("{}{id}", writer::IMAGE_PREFIX));
        let change = Change::new(key, "SET #status = :generated, s3_key = :key")
            .name("#status", "status")
            .value(":generated", s("generated"))
            .value(":key", s(image["s3_key"].as_str().unwrap_or_default()))
            .condition(Condition::exists());
        match store.update(change).await {
            Ok(_) => done.push(id.to_owned()),
            Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let count = done.len() as i64;
    Ok((
        json!({"image_ids": done, "images_generated": count}),
        vec![usage::count_write(&job.account_id, "images", count, OffsetDateTime::now_utc())],
    ))
}
