//! `/api/v1/writer/content/`: CRUD (HTML sanitised and its words counted on every write),
//! taxonomy assignment, and AI image prompt generation.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Content, Task, sanitize_html, word_count};
use crate::access::Caller;
use crate::jobs::{self, AiFunction, Job};
use crate::planner::listing::{ListSpec, Match};
use crate::planner::{SectorRecord, scope};
use crate::store::{Change, Condition, StoreError, Write, s};
use crate::validation::{Fields, bounded, choice, id, id_list, integer};
use crate::{ApiError, Services, ids, usage};

pub const STATUSES: &[&str] = &["draft", "review", "published"];
/// Largest HTML body accepted (characters).
pub const MAX_HTML: usize = 200_000;
/// Largest HTML kept once sanitised (UTF-8 bytes): with the other fields, a content item stays
/// well under DynamoDB's 400 KB.
pub const MAX_HTML_BYTES: usize = 300_000;

pub const LIST: ListSpec = ListSpec {
    filters: &[("status", "status", Match::Eq), ("task_id", "task_id", Match::Eq)],
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

pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let mut records = scope::list::<Content>(services, caller, query).await?;
    if let Some(taxonomy) = query.get("taxonomy_id").filter(|t| !t.is_empty()) {
        records.retain(|c| c.taxonomy_ids.contains(taxonomy));
    }
    LIST.apply(Content::answers(services, records).await?, query)
}

async fn read_fields(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
    content: &mut Content,
    creating: bool,
) -> Result<(), ApiError> {
    if let Some(title) = f.field(creating, "title", bounded(crate::validation::max::TITLE)) {
        content.title = title;
    }
    if let Some(html) = f.field(creating, "html_content", crate::validation::raw_text(MAX_HTML)) {
        let clean = sanitize_html(&html);
        if clean.len() > MAX_HTML_BYTES {
            f.error("html_content", format!("Ensure the HTML has no more than {MAX_HTML_BYTES} bytes once cleaned."));
        } else {
            content.word_count = word_count(&clean);
            content.html = clean;
        }
    }
    for (field, max, slot) in [
        ("meta_title", crate::validation::max::TITLE, &mut content.meta_title),
        ("meta_description", 500, &mut content.meta_description),
        ("primary_keyword", crate::validation::max::KEYWORD, &mut content.primary_keyword),
    ] {
        if let Some(value) = f.optional(field, crate::validation::string) {
            if value.chars().count() > max {
                f.error(field, format!("Ensure this field has no more than {max} characters."));
            } else {
                *slot = value;
            }
        }
    }
    if let Some(status) = f.optional("status", choice(STATUSES)) {
        content.status = status;
    }
    if f.sent("word_count") {
        f.error("word_count", "The word count is counted from the text.");
    }
    if let Some(wanted) = f.optional("taxonomy_ids", |v| {
        let list = crate::validation::string_list(v)?;
        if list.len() > 50 { Err("Ensure this list has no more than 50 items.".to_owned()) } else { Ok(list) }
    }) {
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
            f.error("taxonomy_ids", format!("Invalid pk \"{}\" - not a taxonomy of this site.", unknown.join(", ")));
        }
    }
    Ok(())
}

/// `POST content/`: content written by hand, optionally for a task without content yet.
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
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
    };
    content.updated_at = Some(content.generated_at);
    let task = match f.optional("task_id", id) {
        Some(task_id) => match crate::planner::find::<Task>(services, caller.account_id(), &task_id).await? {
            Some(task) if task.sector_id == content.sector_id && task.content_id.is_none() => Some(task),
            Some(task) if task.sector_id == content.sector_id => {
                f.error("task_id", "This task has content already.");
                None
            }
            _ => {
                f.error("task_id", format!("Invalid pk \"{task_id}\" - object does not exist."));
                None
            }
        },
        None => None,
    };
    read_fields(services, caller, &mut f, &mut content, true).await?;
    f.finish()?;
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
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(content.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&2) => {
            Err(ApiError::field("task_id", "This task has content already."))
        }
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH content/{id}/`.
pub async fn update(services: &Services, caller: &Caller, content_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = scope::writable::<Content>(services, caller, content_id).await?;
    let mut f = Fields::parse(body)?;
    let mut after = before.clone();
    read_fields(services, caller, &mut f, &mut after, false).await?;
    for fixed in ["task_id", "site_id", "sector_id"] {
        if f.sent(fixed) && f.optional(fixed, |v| Ok::<_, String>(v.clone())) != Some(before.to_json()[fixed].clone()) {
            f.error(fixed, "This field cannot be changed.");
        }
    }
    f.finish()?;
    after.updated_at = Some(OffsetDateTime::now_utc());
    services.store().await.put(after.item()?, Some(Condition::exists())).await.map_err(|e| e.gone_is_not_found())?;
    Content::answer(services, after).await
}

/// `DELETE content/{id}/`: with its images.
pub async fn delete(services: &Services, caller: &Caller, content_id: &str) -> Result<(), ApiError> {
    let content = scope::writable::<Content>(services, caller, content_id).await?;
    super::removal::remove_content(services, &content).await
}

/// `POST content/generate_image_prompts/` `{ids, in_article_count?}`: a featured and
/// `in_article_count` (default 2, at most 10) in-article image prompts per content.
pub async fn generate_image_prompts(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(super::tasks::GENERATE_MAX));
    let in_article = f.optional("in_article_count", integer(0, 10)).unwrap_or(2);
    f.finish()?;
    let ids = ids.unwrap_or_default();
    let contents = scope::writable_many::<Content>(services, caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&contents)?;
    let input = json!({"site_id": first.site_id, "sector_id": first.sector_id, "content_ids": ids, "in_article_count": in_article});
    jobs::start(
        services,
        caller,
        AiFunction::GenerateImagePrompts,
        input,
        &format!("Image prompts for {} contents", ids.len()),
    )
    .await
}
