//! `/api/v1/writer/content/`: CRUD (HTML sanitised and its words counted on every write),
//! taxonomy assignment, and AI image prompt generation.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::ai::{GenerateImagePrompts, ImagePromptsInput};
use super::{Content, Task, sanitize_html, word_count};
use crate::access::Caller;
use crate::http::openapi::Queued;
use crate::http::{self, AppState, JsonBody, Reply};
use crate::jobs::JobQueued;
use crate::records::counts::{self, Step, Tally};
use crate::records::listing::{ListSpec, Match};
use crate::records::{SectorRecord, scope};
use crate::store::{Change, Condition, StoreError, Write, s};
use crate::throttle::scopes::WriterAi;
use crate::validation::input::{Bounded, Choice, Id, Ids, Integer, Json, Raw, Text, Texts};
use crate::validation::{FieldErrors, max};
use crate::{ApiError, Services, ids, usage};
use axum::extract::State;

/// `draft` → `linked` → `optimized` → `review` → `published` (a step may be skipped).
pub const STATUSES: &[&str] = &["draft", "linked", "optimized", "review", "published"];
pub use super::{MAX_HTML, MAX_HTML_BYTES};

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("status", "status", Match::Eq),
        ("task_id", "task_id", Match::Eq),
        ("source", "source", Match::Eq),
        ("sync_status", "sync_status", Match::Eq),
        ("external_id", "external_id", Match::Eq),
        ("linking_status", "linking_status", Match::Eq),
        ("optimization_status", "optimization_status", Match::Eq),
    ],
    search: &["title", "meta_title", "primary_keyword"],
    orderings: &[
        ("generated_at", "generated_at"),
        ("updated_at", "updated_at"),
        ("title", "title"),
        ("word_count", "word_count"),
        ("status", "status"),
    ],
    default_ordering: "-generated_at",
};

/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    mut records: Vec<Content>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    if let Some(taxonomy) = query.get("taxonomy_id").filter(|t| !t.is_empty()) {
        records.retain(|c| c.taxonomy_ids.contains(taxonomy));
    }
    LIST.apply(Content::answers(services, records).await?, query)
}

crate::input! {
    /// Content written by hand, optionally for a task of the same sector without content yet.
    pub struct NewContent, changes ContentChanges {
        /// The sector's site (optional; it must be the sector's). Fixed once created.
        site_id: optional String = Id,
        /// Fixed once created.
        sector_id: required String = Id,
        /// A task of the sector without content yet. Fixed once created.
        task_id: optional String = Id,
        title: required String = Bounded(max::TITLE),
        /// HTML (at most 200,000 characters); it is sanitised, and its words counted.
        html_content: required String = Raw(MAX_HTML),
        meta_title: optional String = Text(max::TITLE),
        meta_description: optional String = Text(500),
        primary_keyword: optional String = Text(max::KEYWORD),
        status: optional String = Choice(STATUSES),
        /// Counted from the text: may not be sent.
        word_count: nullable Value = Json,
        /// Categories and tags of the content's site (at most 50).
        taxonomy_ids: optional Vec<String> = Texts(50, max::ANY_TEXT),
    }
}

async fn apply(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    content: &mut Content,
    input: ContentChanges,
) -> Result<(), ApiError> {
    content.title = input.title.unwrap_or(std::mem::take(&mut content.title));
    if let Some(html) = input.html_content {
        let clean = sanitize_html(&html);
        if clean.len() > MAX_HTML_BYTES {
            errors
                .add("html_content", format!("Ensure the HTML has no more than {MAX_HTML_BYTES} bytes once cleaned."));
        } else {
            content.word_count = word_count(&clean);
            content.html = clean;
        }
    }
    content.meta_title = input.meta_title.unwrap_or(std::mem::take(&mut content.meta_title));
    content.meta_description = input.meta_description.unwrap_or(std::mem::take(&mut content.meta_description));
    content.primary_keyword = input.primary_keyword.unwrap_or(std::mem::take(&mut content.primary_keyword));
    content.status = input.status.unwrap_or(std::mem::take(&mut content.status));
    if input.word_count.is_some() {
        errors.add("word_count", "The word count is counted from the text.");
    }
    if let Some(wanted) = input.taxonomy_ids {
        let site_taxonomies = super::taxonomies::of_site(services, caller.account_id(), &content.site_id).await?;
        let unknown: Vec<&str> =
            wanted.iter().filter(|t| !site_taxonomies.iter().any(|x| &x.id == *t)).map(String::as_str).collect();
        if unknown.is_empty() {
            let mut unique = Vec::new();
            for t in wanted {
                if !unique.contains(&t) {
                    unique.push(t);
                }
            }
            content.taxonomy_ids = unique;
        } else {
            errors.add("taxonomy_ids", format!("Invalid pk \"{}\" - not a taxonomy of this site.", unknown.join(", ")));
        }
    }
    Ok(())
}

/// `POST content/`.
pub async fn create(services: &Services, caller: &Caller, input: NewContent) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    let mut content = Content {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: sector.as_ref().map(|s| s.site_id.clone()).unwrap_or_default(),
        sector_id: sector.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        task_id: None,
        title: String::new(),
        html: String::new(),
        word_count: 0,
        meta_title: String::new(),
        meta_description: String::new(),
        primary_keyword: String::new(),
        status: "draft".into(),
        taxonomy_ids: Vec::new(),
        generated_at: OffsetDateTime::now_utc(),
        updated_at: None,
        external: Default::default(),
        pipeline: Default::default(),
    };
    content.updated_at = Some(content.generated_at);
    let task = match &input.task_id {
        Some(task_id) => match crate::planner::find::<Task>(services, caller.account_id(), task_id).await? {
            Some(task) if task.sector_id == content.sector_id && task.content_id.is_none() => Some(task),
            Some(task) if task.sector_id == content.sector_id => {
                errors.add("task_id", "This task has content already.");
                None
            }
            _ => {
                errors.add("task_id", format!("Invalid pk \"{task_id}\" - object does not exist."));
                None
            }
        },
        None => None,
    };
    apply(services, caller, &mut errors, &mut content, input.into()).await?;
    errors.finish()?;
    content.task_id = task.as_ref().map(|t| t.id.clone());
    let mut writes = vec![
        Write::Put(content.item()?, Some(Condition::not_exists())),
        usage::count_write(&content.account_id, "content", 1, content.generated_at),
    ];
    if let Some(task) = &task {
        let link = Change::new(task.key(), "SET content_id = :content").value(":content", s(&content.id)).condition(
            Condition::new("attribute_exists(PK) AND (attribute_not_exists(content_id) OR content_id = :null)")
                .value(":null", crate::store::null()),
        );
        writes.push(Write::Update(link));
    }
    let tally_at = writes.len();
    writes.push(Tally::of(&content).created(&content).write());
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(content.to_json()),
        Err(err) if counts::sector_refused(&err, tally_at) => Err(ApiError::not_found()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&2) => {
            Err(ApiError::field("task_id", "This task has content already."))
        }
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH content/{id}/`.
pub async fn update(
    services: &Services,
    caller: &Caller,
    before: Content,
    input: ContentChanges,
) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    for (fixed, sent, now) in [
        ("task_id", &input.task_id, before.task_id.as_deref()),
        ("site_id", &input.site_id, Some(before.site_id.as_str())),
        ("sector_id", &input.sector_id, Some(before.sector_id.as_str())),
    ] {
        if sent.is_some() && sent.as_deref() != now {
            errors.add(fixed, "This field cannot be changed.");
        }
    }
    let mut after = before.clone();
    apply(services, caller, &mut errors, &mut after, input).await?;
    errors.finish()?;
    let after = save(services, &before, after, Vec::new()).await?;
    Content::answer(services, after).await
}

/// Writes `after` over `before` as it was read (409 if it changed meanwhile, 404 if its sector
/// is gone), with `also` in the same transaction: its status moves the sector's counts.
pub async fn save(
    services: &Services,
    before: &Content,
    mut after: Content,
    also: Vec<Write>,
) -> Result<Content, ApiError> {
    after.updated_at = Some(OffsetDateTime::now_utc());
    let unchanged = Condition::new("attribute_exists(PK) AND #status = :was")
        .name("#status", "status")
        .value(":was", s(&before.status));
    let mut writes = vec![Write::Put(after.item()?, Some(unchanged))];
    writes.extend(also);
    let step = Step::changed(before, &after, writes);
    let done = counts::commit(services.store().await, &[step], |_| Vec::new()).await?;
    if !done.sector_gone.is_empty() {
        return Err(ApiError::not_found());
    }
    if !done.refused.is_empty() {
        return Err(ApiError::Conflict("The content was changed meanwhile; reload it and try again.".into()));
    }
    Ok(after)
}

/// `DELETE content/{id}/`: with its images.
pub async fn delete(services: &Services, caller: &Caller, content_id: &str) -> Result<(), ApiError> {
    let content = scope::writable::<Content>(services, caller, content_id).await?;
    super::removal::remove_content(services, &content).await
}

crate::input! {
    /// Content of one sector to write image prompts for.
    pub struct PromptsFor {
        /// The content (at most 50).
        ids: required Vec<String> = Ids(super::tasks::GENERATE_MAX),
        /// In-article images per content, besides the featured one (2 unless asked).
        in_article_count: optional i64 = Integer(0, 10),
    }
}

/// Writes image prompts for content with the AI (a job): a featured and `in_article_count`
/// in-article prompts per content.
#[utoipa::path(post, path = "/api/v1/writer/content/generate_image_prompts/", request_body = PromptsFor,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn generate_image_prompts(
    State(services): State<AppState>,
    caller: http::Caller<WriterAi>,
    JsonBody(PromptsFor { ids, in_article_count }): JsonBody<PromptsFor>,
) -> Result<Reply, ApiError> {
    let contents = scope::writable_many::<Content>(&services, &caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&contents)?;
    let description = format!("Image prompts for {} contents", ids.len());
    let input = ImagePromptsInput {
        site_id: first.site_id.clone(),
        sector_id: first.sector_id.clone(),
        content_ids: ids,
        in_article_count: Some(in_article_count.unwrap_or(2).max(0) as u64),
    };
    Ok(Reply::job(&crate::ai::plugin::start(&services, &caller, &GenerateImagePrompts, input, &description).await?))
}
