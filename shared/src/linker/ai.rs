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
}

impl AiFunction for LinkContent {
    const NAME: &'static str = "link_content";
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
        for id in &input.content_ids {
            // Each content as it is now (the index may lag behind a change).
            let Some(content) = crate::records::find::<Content>(job.services, account, id).await.map_err(store_err)?
            else {
                continue;
            };
            if content.site_id != input.site_id {
                continue;
            }
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
        _: &LinkInput,
        output: &LinkOutput,
    ) -> Result<Applied<LinkResult>, ApiError> {
        let mut result = LinkResult { contents_linked: 0, links_added: 0 };
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
        Ok(Applied { result, once: Vec::new() })
    }
}
