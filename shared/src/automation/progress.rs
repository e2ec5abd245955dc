//! What a site's automation would do and is doing: the items waiting at each stage
//! (`pipeline_overview/`), what a run would take and cost now (`estimate/`), and the stage and
//! jobs in flight (`current_processing/`).
//!
//! **How `estimate/` estimates.** Each stage takes what waits at it now plus what the stages
//! before it would make, at most its batch. What a stage makes is the model's to decide, so the
//! estimate assumes: a cluster per [`KEYWORDS_PER_CLUSTER`] keywords, [`IDEAS_PER_CLUSTER`]
//! ideas per cluster, a task per idea, a content per task, [`IMAGES_PER_CONTENT`] images per
//! content (a featured and two in-article, the image prompts' default). Its credits are the
//! reservations the stage's jobs would make (each AI function's own estimate, per sector as the
//! run queues them): the charges equal them where the price is per call, cluster, content or
//! image, and differ by the words actually written for content, and by how many clusters and
//! ideas the model makes.

use serde::Serialize;

use super::config::{self, STAGE_TITLES, STAGES};
use super::runs::Run;
use super::stages::{self, sectors_of_site};
use crate::access::Caller;
use crate::ai::AiFunction;
use crate::credits::CreditCosts;
use crate::planner::ai::{AutoCluster, ClusterInput, GenerateIdeas, IdeasInput};
use crate::writer::ai::{
    ContentInput, GenerateContent, GenerateImagePrompts, GenerateImages, ImagePromptsInput, ImagesInput,
};
use crate::{ApiError, Services, jobs, sites};

/// The estimate's assumptions of what the model makes.
pub const KEYWORDS_PER_CLUSTER: u64 = 10;
pub const IDEAS_PER_CLUSTER: u64 = 3;
pub const IMAGES_PER_CONTENT: u64 = 3;

/// One stage of the pipeline, as it stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StageOverview {
    pub stage: String,
    pub title: String,
    pub enabled: bool,
    pub batch_size: u32,
    /// Items waiting at it now.
    pub waiting: u64,
}

/// One stage of an estimate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StageEstimate {
    pub stage: String,
    pub title: String,
    pub enabled: bool,
    /// Items waiting at it now.
    pub waiting: u64,
    /// Items the stages before it would make.
    pub made_upstream: u64,
    /// Items it would take (at most its batch).
    pub items: u64,
    /// What its jobs would reserve.
    pub credits: i64,
}

/// What a run would do now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    pub stages: Vec<StageEstimate>,
    pub total_credits: i64,
    pub balance: i64,
    /// Whether the balance covers it.
    pub enough_credits: bool,
    pub credit_ceiling: Option<i64>,
    /// Whether the run's credit ceiling lets every stage run.
    pub within_ceiling: bool,
    /// The estimate's assumptions (see the module documentation).
    pub keywords_per_cluster: u64,
    pub ideas_per_cluster: u64,
    pub images_per_content: u64,
}

/// A job of the stage in flight.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobInFlight {
    pub task_id: String,
    pub function: String,
    pub state: String,
    pub percentage: u8,
    pub parts_done: u32,
    pub parts_total: u32,
    pub message: String,
}

/// The stage and jobs in flight.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Processing {
    pub run_id: String,
    pub status: String,
    /// `null` between stages or when the run is paused before its next one.
    pub stage: Option<String>,
    pub title: Option<String>,
    pub items: u64,
    pub jobs: Vec<JobInFlight>,
    /// The stage's progress, 0 to 100 (its jobs' parts done over their parts).
    pub percentage: u8,
}

/// Waiting items per stage and sector: `[stage][sector]`.
async fn waiting_by_sector(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Vec<u64>>, ApiError> {
    let sectors = sectors_of_site(services, account_id, site_id).await?;
    let mut counts = vec![Vec::new(); STAGES.len()];
    for sector in &sectors {
        let all = futures_util::future::try_join_all(
            STAGES.iter().map(|stage| stages::waiting(services, account_id, &sector.id, stage)),
        )
        .await?;
        for (i, ids) in all.into_iter().enumerate() {
            counts[i].push(ids.len() as u64);
        }
    }
    Ok(counts)
}

/// `pipeline_overview/`: the items waiting at each stage of the site.
pub async fn overview(services: &Services, caller: &Caller, site_id: &str) -> Result<Vec<StageOverview>, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    let config = config::load(services, caller.account_id(), &site.id).await?;
    let waiting = waiting_by_sector(services, caller.account_id(), &site.id).await?;
    Ok(STAGES
        .iter()
        .zip(STAGE_TITLES)
        .zip(waiting)
        .map(|((stage, title), counts)| {
            let settings = config.stage(stage);
            StageOverview {
                stage: (*stage).to_owned(),
                title: title.to_owned(),
                enabled: settings.enabled,
                batch_size: settings.batch_size,
                waiting: counts.iter().sum(),
            }
        })
        .collect())
}

/// The credits stage `index`'s jobs would reserve for `per_sector` items in each sector.
fn credits(costs: &CreditCosts, index: usize, per_sector: &[u64]) -> i64 {
    let ids = |n: u64| vec![String::new(); n as usize];
    let (site_id, sector_id) = (String::new(), String::new());
    per_sector
        .iter()
        .filter(|n| **n > 0)
        .map(|&n| match STAGES[index] {
            "clusters" => {
                AutoCluster
                    .estimate(
                        costs,
                        &ClusterInput { site_id: site_id.clone(), sector_id: sector_id.clone(), keyword_ids: ids(n) },
                    )
                    .credits
            }
            "ideas" => {
                GenerateIdeas
                    .estimate(
                        costs,
                        &IdeasInput { site_id: site_id.clone(), sector_id: sector_id.clone(), cluster_ids: ids(n) },
                    )
                    .credits
            }
            "content" => {
                GenerateContent
                    .estimate(
                        costs,
                        &ContentInput {
                            site_id: site_id.clone(),
                            sector_id: sector_id.clone(),
                            task_ids: ids(n),
                            estimated_word_count: None,
                        },
                    )
                    .credits
            }
            "image_prompts" => {
                GenerateImagePrompts
                    .estimate(
                        costs,
                        &ImagePromptsInput {
                            site_id: site_id.clone(),
                            sector_id: sector_id.clone(),
                            content_ids: ids(n),
                            in_article_count: None,
                        },
                    )
                    .credits
            }
            "images" => {
                GenerateImages
                    .estimate(
                        costs,
                        &ImagesInput { site_id: site_id.clone(), sector_id: sector_id.clone(), image_ids: ids(n) },
                    )
                    .credits
            }
            _ => 0,
        })
        .sum()
}

/// Takes at most `room` items, sector by sector, as a run does.
fn take(per_sector: &[u64], mut room: u64) -> Vec<u64> {
    per_sector
        .iter()
        .map(|&n| {
            let taken = n.min(room);
            room -= taken;
            taken
        })
        .collect()
}

/// `estimate/`: what a run of the site would take and reserve now, stage by stage.
pub async fn estimate(services: &Services, caller: &Caller, site_id: &str) -> Result<Estimate, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    let config = config::load(services, caller.account_id(), &site.id).await?;
    let waiting = waiting_by_sector(services, caller.account_id(), &site.id).await?;
    let costs = &services.config.credit_costs;
    let mut made = 0u64;
    let mut content_made = 0u64;
    let mut stages_out = Vec::new();
    for (i, (stage, title)) in STAGES.iter().zip(STAGE_TITLES).enumerate() {
        let settings = config.stage(stage);
        let now: u64 = waiting[i].iter().sum();
        let (items, credits_of) = if settings.enabled {
            // What waits now, sector by sector, then what the stages before made (in the last
            // sector a run reaches, as one job).
            let mut per_sector = take(&waiting[i], u64::from(settings.batch_size));
            let room = u64::from(settings.batch_size) - per_sector.iter().sum::<u64>();
            per_sector.push(made.min(room));
            (per_sector.iter().sum::<u64>(), credits(costs, i, &per_sector))
        } else {
            (0, 0)
        };
        stages_out.push(StageEstimate {
            stage: (*stage).to_owned(),
            title: title.to_owned(),
            enabled: settings.enabled,
            waiting: now,
            made_upstream: made,
            items,
            credits: credits_of,
        });
        if *stage == "content" {
            content_made = items;
        }
        made = match *stage {
            "clusters" => items.div_ceil(KEYWORDS_PER_CLUSTER),
            // Publishing takes the content written, whatever its images.
            "images" => content_made,
            "ideas" => items * IDEAS_PER_CLUSTER,
            "image_prompts" => items * IMAGES_PER_CONTENT,
            "publish" => 0,
            _ => items,
        };
    }
    let total: i64 = stages_out.iter().map(|s| s.credits).sum();
    Ok(Estimate {
        stages: stages_out,
        total_credits: total,
        balance: caller.account.credits,
        enough_credits: caller.account.credits >= total,
        credit_ceiling: config.credit_ceiling,
        within_ceiling: config.credit_ceiling.is_none_or(|c| total <= c),
        keywords_per_cluster: KEYWORDS_PER_CLUSTER,
        ideas_per_cluster: IDEAS_PER_CLUSTER,
        images_per_content: IMAGES_PER_CONTENT,
    })
}

/// `current_processing/`: the active run's stage and its jobs (`null` without an active run).
pub async fn processing(services: &Services, caller: &Caller, site_id: &str) -> Result<Option<Processing>, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    let Some(run) = super::runs::active(services, caller.account_id(), &site.id).await? else {
        return Ok(None);
    };
    Ok(Some(in_flight(services, &run).await?))
}

async fn in_flight(services: &Services, run: &Run) -> Result<Processing, ApiError> {
    let stage = run.stages.get(run.stage_index).filter(|s| s.status == "running");
    let ids = stage.map(|s| s.jobs.clone()).unwrap_or_default();
    let found =
        futures_util::future::try_join_all(ids.iter().map(|id| jobs::load(services, &run.account_id, id))).await?;
    let jobs: Vec<JobInFlight> = found
        .into_iter()
        .flatten()
        .map(|job| {
            let progress = job.progress_json();
            JobInFlight {
                task_id: job.id.clone(),
                function: job.function.clone(),
                state: progress["state"].as_str().unwrap_or_default().to_owned(),
                percentage: job.percentage,
                parts_done: job.parts_done,
                parts_total: job.parts_total,
                message: job.message.clone(),
            }
        })
        .collect();
    let (done, total) =
        jobs.iter().fold((0u64, 0u64), |(d, t), j| (d + u64::from(j.parts_done), t + u64::from(j.parts_total)));
    Ok(Processing {
        run_id: run.id.clone(),
        status: run.status.clone(),
        stage: stage.map(|s| s.name.clone()),
        title: stage.map(|s| s.title.clone()),
        items: stage.map_or(0, |s| s.items),
        jobs,
        percentage: (done * 100).checked_div(total).unwrap_or(0).min(100) as u8,
    })
}
