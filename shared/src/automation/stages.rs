//! What each stage of a run takes and queues, over the site's live sectors: the items waiting at
//! the stage (at most its batch), as one AI job per sector through the job pipeline (same
//! reservations, same settlement). A job's id is made from the run, the stage and the sector, so
//! a replayed step queues nothing twice and reserves nothing twice ([`jobs::submit_once`]).

use std::collections::HashSet;

use crate::accounts::Account;
use crate::ai::plugin::submission;
use crate::jobs::{self, Job};
use crate::planner::ai::{AutoCluster, ClusterInput, GenerateIdeas, IdeasInput};
use crate::planner::{CLUSTER_PREFIX, Cluster, IDEA_PREFIX, Idea, KEYWORD_PREFIX, Keyword};
use crate::records::in_sector;
use crate::sites::{self, Sector};
use crate::writer::ai::{
    ContentInput, GenerateContent, GenerateImagePrompts, GenerateImages, ImagePromptsInput, ImagesInput,
};
use crate::writer::{CONTENT_PREFIX, Content, IMAGE_PREFIX, ImageRecord, TASK_PREFIX, Task};
use crate::{ApiError, Services};

use super::runs::Run;

/// What starting a stage did.
#[derive(Debug, Default)]
pub struct Started {
    /// The items it took.
    pub items: u64,
    /// The jobs it queued.
    pub jobs: Vec<Job>,
    /// Why it queued less than it found: `insufficient_credits` or `credit_ceiling`.
    pub blocked: Option<&'static str>,
}

/// The site's sectors a run works in (live ones, active or not), in the order it takes them.
pub async fn sectors_of_site(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Sector>, ApiError> {
    let all = sites::all_sectors(services, account_id).await?;
    let mut sectors: Vec<Sector> = all.into_iter().filter(|s| s.site_id == site_id).collect();
    sectors.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(sectors)
}

/// The ids waiting at stage `name` in one sector, oldest first.
pub async fn waiting(services: &Services, account_id: &str, sector: &str, name: &str) -> Result<Vec<String>, ApiError> {
    let mut ids: Vec<(String, String)> = match name {
        "clusters" => in_sector::<Keyword>(services, account_id, sector, KEYWORD_PREFIX)
            .await?
            .into_iter()
            .filter(|k| k.cluster_id.is_none() && k.status != "archived")
            .map(|k| (k.id, k.keyword))
            .collect(),
        "ideas" => {
            let ideas: Vec<Idea> = in_sector(services, account_id, sector, IDEA_PREFIX).await?;
            let with_ideas: HashSet<String> = ideas.into_iter().filter_map(|i| i.cluster_id).collect();
            in_sector::<Cluster>(services, account_id, sector, CLUSTER_PREFIX)
                .await?
                .into_iter()
                .filter(|c| c.status == "active" && c.keywords_count > 0 && !with_ideas.contains(&c.id))
                .map(|c| (c.id, c.name))
                .collect()
        }
        "tasks" => in_sector::<Idea>(services, account_id, sector, IDEA_PREFIX)
            .await?
            .into_iter()
            .filter(|i| i.task_id.is_none() && i.status == "new")
            .map(|i| (i.id, i.idea_title))
            .collect(),
        "content" => in_sector::<Task>(services, account_id, sector, TASK_PREFIX)
            .await?
            .into_iter()
            .filter(|t| t.status == "queued" && t.content_id.is_none())
            .map(|t| (t.id, t.title))
            .collect(),
        "image_prompts" => {
            let images: Vec<ImageRecord> = in_sector(services, account_id, sector, IMAGE_PREFIX).await?;
            let pictured: HashSet<String> = images.into_iter().filter_map(|i| i.content_id).collect();
            in_sector::<Content>(services, account_id, sector, CONTENT_PREFIX)
                .await?
                .into_iter()
                .filter(|c| !pictured.contains(&c.id) && c.status != "published")
                .map(|c| (c.id, c.title))
                .collect()
        }
        "publish" => in_sector::<Content>(services, account_id, sector, CONTENT_PREFIX)
            .await?
            .into_iter()
            .filter(|c| c.status != "published" && c.external.source == "igny8" && c.external.external_id.is_none())
            .map(|c| (c.id, c.title))
            .collect(),
        "images" => in_sector::<ImageRecord>(services, account_id, sector, IMAGE_PREFIX)
            .await?
            .into_iter()
            .filter(|i| i.status == "pending" && !i.prompt.trim().is_empty())
            .map(|i| (i.id, i.prompt))
            .collect(),
        _ => Vec::new(),
    };
    // Ids are time-ordered: oldest first.
    ids.sort();
    Ok(ids.into_iter().map(|(id, _)| id).collect())
}

fn job_id(run: &Run, stage: &str, sector: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a7b_1c3e_44d2_4f0a_9b1e_0c5d_7e8f_a001);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{}/{stage}/{sector}", run.id).as_bytes()).to_string()
}

/// Starts stage `index` of `run`: its items, queued as jobs (or, for `tasks`, turned into writer
/// tasks at once).
pub async fn start(services: &Services, run: &Run, account: &Account, index: usize) -> Result<Started, ApiError> {
    let stage = &run.stages[index];
    let costs = &services.config.credit_costs;
    let mut started = Started::default();
    let mut room = u64::from(stage.batch_size);
    let mut committed = run.committed();
    for sector in sectors_of_site(services, &run.account_id, &run.site_id).await? {
        if room == 0 || started.blocked.is_some() {
            break;
        }
        let mut ids = waiting(services, &run.account_id, &sector.id, &stage.name).await?;
        ids.truncate(room as usize);
        if ids.is_empty() {
            continue;
        }
        let (site_id, sector_id) = (sector.site_id.clone(), sector.id.clone());
        let count = ids.len();
        let planned = match stage.name.as_str() {
            "clusters" => submission(&AutoCluster, costs, &ClusterInput { site_id, sector_id, keyword_ids: ids })?,
            "ideas" => submission(&GenerateIdeas, costs, &IdeasInput { site_id, sector_id, cluster_ids: ids })?,
            "tasks" => {
                let ideas = crate::records::by_ids::<Idea>(services, &run.account_id, &sector.id, &ids).await?;
                let queued = crate::planner::ideas::queue_to_writer(
                    services,
                    &run.account_id,
                    ideas,
                    run.author_profile_id.as_deref(),
                )
                .await?;
                started.items += queued.created_count as u64;
                room = room.saturating_sub(count as u64);
                continue;
            }
            "publish" => {
                let contents = crate::records::by_ids::<Content>(services, &run.account_id, &sector.id, &ids).await?;
                let publish = Some("publish".to_owned());
                // A site without an active WordPress integration has nothing to publish to.
                match crate::publisher::request::queue_for(
                    services,
                    &run.account_id,
                    &run.user_id,
                    contents,
                    None,
                    publish,
                )
                .await
                {
                    Ok(records) => started.items += records.len() as u64,
                    Err(ApiError::Validation(_)) => {}
                    Err(err) => return Err(err),
                }
                room = room.saturating_sub(count as u64);
                continue;
            }
            "content" => submission(
                &GenerateContent,
                costs,
                &ContentInput { site_id, sector_id, task_ids: ids, estimated_word_count: None },
            )?,
            "image_prompts" => submission(
                &GenerateImagePrompts,
                costs,
                &ImagePromptsInput { site_id, sector_id, content_ids: ids, in_article_count: None },
            )?,
            "images" => submission(&GenerateImages, costs, &ImagesInput { site_id, sector_id, image_ids: ids })?,
            other => return Err(ApiError::internal(format!("no stage named {other}"))),
        };
        if run.credit_ceiling.is_some_and(|ceiling| committed + planned.reserve > ceiling) {
            started.blocked = Some("credit_ceiling");
            break;
        }
        let reserve = planned.reserve;
        let description = format!("Automation: {} ({count} items)", stage.title);
        let id = job_id(run, &stage.name, &sector.id);
        match jobs::submit_once(services, account, &run.user_id, planned, &description, id).await {
            Ok(job) => {
                committed += reserve;
                started.items += count as u64;
                room = room.saturating_sub(count as u64);
                started.jobs.push(job);
            }
            Err(ApiError::PaymentRequired(_)) => started.blocked = Some("insufficient_credits"),
            Err(err) => return Err(err),
        }
    }
    Ok(started)
}
