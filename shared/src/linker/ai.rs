//! `link_content`: the linker as a job, charged 8 credits per content through the reservation
//! model (reserved when queued, taken when it ends, refunded when it fails). No model is asked:
//! the run computes each content's new HTML and links (saved on the job before anything is
//! written), and the apply writes them, each only over the version it was computed from, so a
//! replay writes nothing twice.

use serde::{Deserialize, Serialize};

use super::inject;
use crate::ApiError;
use crate::ai::context::JobContext;
use crate::ai::model::{JobError, store_err};
use crate::ai::plugin::{AiFunction, Applied, Estimate, Run};
use crate::credits::{CreditCosts, Operation};
use crate::writer::{Content, InternalLink};

pub struct LinkContent;

/// Content of one site to link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInput {
    pub site_id: String,
    pub content_ids: Vec<String>,
    /// The most internal links a content holds (the linker's earlier links count).
    pub max_links: Option<u32>,
    /// "Link & optimize": once linked, the content is optimised by a follow-up job.
    #[serde(default)]
    pub then_optimize: bool,
}

/// One content's new HTML and the links it gained, computed over `from_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linked {
    pub content_id: String,
    pub from_version: u32,
    pub html: String,
    pub links: Vec<InternalLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkOutput {
    pub contents: Vec<Linked>,
}

/// What `task_progress` shows when it ends.
#[derive(Debug, Serialize)]
pub struct LinkResult {
    pub contents_linked: usize,
    pub links_added: usize,
    /// "Link & optimize": the optimisation job queued after the links (follow it at
    /// `task_progress/`), or why it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimize_task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimize_error: Option<String>,
}

/// The id of the optimisation job a link job queues: one per link job, however often its apply
/// is replayed.
fn follow_up_id(link_job_id: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x3b6e_91d2_7c4a_4f0e_8a15_2d9c_6e7b_0a31);
    uuid::Uuid::new_v5(&NAMESPACE, link_job_id.as_bytes()).to_string()
}

/// Queues the optimisation of `contents` after their links (reserved now: a short balance says
/// so in the result and leaves the links).
async fn optimize_next(
    job: &JobContext<'_>,
    input: &LinkInput,
    output: &LinkOutput,
    result: &mut LinkResult,
) -> Result<(), ApiError> {
    let wanted: Vec<String> = output.contents.iter().map(|l| l.content_id.clone()).collect();
    let contents = crate::records::find_each::<Content>(job.services, job.account_id(), &wanted).await?;
    let words = contents.iter().map(|c| u64::from(c.word_count)).sum();
    let ids: Vec<String> = contents.into_iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let Some(account) = job
        .services
        .store()
        .await
        .get::<crate::accounts::Account>(&crate::store::Key::account(job.account_id()))
        .await?
    else {
        return Ok(());
    };
    let optimize = crate::optimizer::ai::OptimizeInput { site_id: input.site_id.clone(), content_ids: ids, words };
    let submission = crate::ai::plugin::submission(
        &crate::optimizer::ai::OptimizeContent,
        &job.services.config.credit_costs,
        &optimize,
    )?;
    let description = format!("Optimising {} linked contents", optimize.content_ids.len());
    match crate::jobs::submit_once(
        job.services,
        &account,
        &job.job.user_id,
        submission,
        &description,
        follow_up_id(&job.job.id),
    )
    .await
    {
        Ok(next) => result.optimize_task_id = Some(next.id),
        Err(ApiError::PaymentRequired(why)) => result.optimize_error = Some(why),
        Err(err) => return Err(err),
    }
    Ok(())
}

impl AiFunction for LinkContent {
    const NAME: &'static str = "link_content";
    const MODULE: &'static str = "linker";
    const OPERATION: Operation = Operation::Linking;
    type Input = LinkInput;
    type Output = LinkOutput;
    type Result = LinkResult;

    fn estimate(&self, costs: &CreditCosts, input: &LinkInput) -> Estimate {
        let contents = input.content_ids.len().max(1) as u32;
        Estimate { credits: costs.cost(Self::OPERATION, u64::from(contents)), parts: contents }
    }

    async fn run(&self, job: &JobContext<'_>, input: &LinkInput) -> Result<Run<LinkOutput>, JobError> {
        let account = job.account_id();
        let (site, clusters) = tokio::join!(
            super::site_contents(job.services, account, &input.site_id),
            super::site_clusters(job.services, account, &input.site_id),
        );
        let (site, clusters) = (site.map_err(store_err)?, clusters.map_err(store_err)?);
        let max = input.max_links.unwrap_or(super::DEFAULT_MAX_LINKS) as usize;
        let mut contents = Vec::new();
        // Each content as it is now (the index may lag behind a change).
        let wanted =
            crate::records::find_each::<Content>(job.services, account, &input.content_ids).await.map_err(store_err)?;
        for content in wanted.into_iter().filter(|c| c.site_id == input.site_id) {
            let targets = super::targets(&content, &site, &clusters);
            let room = max.saturating_sub(content.pipeline.internal_links.len());
            let (html, links) = inject::inject(&content.html, &targets, room);
            let html = crate::writer::sanitize_html(&html);
            let html = if html.len() > crate::writer::MAX_HTML_BYTES { content.html.clone() } else { html };
            let links = if html == content.html { Vec::new() } else { links };
            contents.push(Linked {
                content_id: content.id,
                from_version: content.pipeline.linker_version,
                html,
                links,
            });
        }
        if contents.is_empty() {
            return Err(JobError::fatal("None of the content exists any more.", "InvalidInput"));
        }
        let parts = contents.len() as u32;
        Ok(Run { output: LinkOutput { contents }, calls: Vec::new(), parts })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &LinkInput,
        output: &LinkOutput,
    ) -> Result<Applied<LinkResult>, ApiError> {
        let mut result =
            LinkResult { contents_linked: 0, links_added: 0, optimize_task_id: None, optimize_error: None };
        for linked in &output.contents {
            let Some(before) =
                crate::records::find::<Content>(job.services, job.account_id(), &linked.content_id).await?
            else {
                continue;
            };
            // Written once, over the version the links were computed from.
            if before.pipeline.linker_version != linked.from_version {
                continue;
            }
            let mut after = before.clone();
            after.word_count = crate::writer::word_count(&linked.html);
            after.html = linked.html.clone();
            after.pipeline.internal_links.extend(linked.links.iter().cloned());
            after.pipeline.linker_version += 1;
            if after.status == "draft" {
                after.status = "linked".into();
            }
            match crate::writer::content::save(job.services, &before, after, Vec::new()).await {
                Ok(_) => {
                    result.contents_linked += 1;
                    result.links_added += linked.links.len();
                }
                // Changed or gone meanwhile: left as it is now.
                Err(ApiError::Conflict(_) | ApiError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        if input.then_optimize {
            optimize_next(job, input, output, &mut result).await?;
        }
        Ok(Applied { result, once: Vec::new() })
    }
}
