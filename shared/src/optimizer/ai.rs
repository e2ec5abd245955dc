//! `optimize_content`: the optimizer's AI rewrite, 1 credit per 200 words of the content as it
//! was. The run scores each content, asks the model for a better version (sanitised), scores that,
//! and keeps both; the apply writes an `OptimizationTask` (the HTML before and after, the scores
//! before and after) and the content (the new HTML, `optimizer_version + 1`, the new scores, a
//! `draft` or `linked` content becomes `optimized`), each content only over the version it was
//! optimised from, so a replay writes nothing twice. A failed job changes nothing and is refunded.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::analyzer::Scores;
use super::tasks::{self, OptimizationTask};
use crate::ApiError;
use crate::ai::context::JobContext;
use crate::ai::model::{JobError, store_err};
use crate::ai::plugin::{AiFunction, Applied, Estimate, Run};
use crate::credits::{CreditCosts, Operation};
use crate::writer::{Content, MAX_HTML, MAX_HTML_BYTES, sanitize_html, word_count};

pub struct OptimizeContent;

use crate::ai::model::{JSON_ONLY as SYSTEM, answer_text as text};

/// Content of one site to optimise, and its words (what the reservation is for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizeInput {
    pub site_id: String,
    pub content_ids: Vec<String>,
    pub words: u64,
}

/// One content's rewrite, computed over `from_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimized {
    pub content_id: String,
    /// The `OptimizationTask` it makes (fixed here: a replay writes the same one).
    pub task_id: String,
    pub from_version: u32,
    pub html_before: String,
    pub html_after: String,
    pub meta_title: String,
    pub meta_description: String,
    pub scores_before: Scores,
    pub scores_after: Scores,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizeOutput {
    pub contents: Vec<Optimized>,
}

/// What `task_progress` shows when it ends.
#[derive(Debug, Serialize)]
pub struct OptimizeResult {
    pub contents_optimized: usize,
    /// The optimisation tasks (each revertible).
    pub task_ids: Vec<String>,
}

impl AiFunction for OptimizeContent {
    const NAME: &'static str = "optimize_content";
    const MODULE: &'static str = "optimizer";
    const OPERATION: Operation = Operation::Optimization;
    type Input = OptimizeInput;
    type Output = OptimizeOutput;
    type Result = OptimizeResult;

    fn estimate(&self, costs: &CreditCosts, input: &OptimizeInput) -> Estimate {
        Estimate { credits: costs.cost(Self::OPERATION, input.words), parts: input.content_ids.len().max(1) as u32 }
    }

    async fn run(&self, job: &JobContext<'_>, input: &OptimizeInput) -> Result<Run<OptimizeOutput>, JobError> {
        let contents = crate::records::find_each::<Content>(job.services, job.account_id(), &input.content_ids)
            .await
            .map_err(store_err)?;
        if contents.is_empty() {
            return Err(JobError::fatal("None of the content exists any more.", "InvalidInput"));
        }
        let model = job.model().await?;
        let instructions = job.prompt("optimization").await?;
        let answers = job
            .each(
                &model,
                &contents,
                |content| {
                    let (model, instructions) = (&model, &instructions);
                    async move {
                        let scores_before = super::scores(job.services, content).await.map_err(store_err)?;
                        let asked = json!({
                            "task": "optimize_content", "title": content.title, "primary_keyword": content.primary_keyword,
                            "meta_title": content.meta_title, "meta_description": content.meta_description,
                            "content_html": content.html, "scores": scores_before,
                        });
                        let (answer, call) = model.ask(SYSTEM, instructions, &asked).await?;
                        let html = sanitize_html(&text(&answer, "html_content", MAX_HTML)?);
                        if html.len() > MAX_HTML_BYTES {
                            return Err(JobError::malformed("the optimised HTML is too large"));
                        }
                        let meta_title = answer["meta_title"].as_str().map(str::trim).filter(|t| !t.is_empty());
                        let meta_description =
                            answer["meta_description"].as_str().map(str::trim).filter(|t| !t.is_empty());
                        let mut after = content.clone();
                        after.html = html;
                        after.meta_title = meta_title.map_or(after.meta_title, |t| t.chars().take(300).collect());
                        after.meta_description =
                            meta_description.map_or(after.meta_description, |d| d.chars().take(500).collect());
                        let scores_after = super::scores(job.services, &after).await.map_err(store_err)?;
                        let optimized = Optimized {
                            content_id: content.id.clone(),
                            task_id: crate::ids::new_id(),
                            from_version: content.pipeline.optimizer_version,
                            html_before: content.html.clone(),
                            html_after: after.html,
                            meta_title: after.meta_title,
                            meta_description: after.meta_description,
                            scores_before,
                            scores_after,
                        };
                        Ok((optimized, call))
                    }
                },
                |done, total| format!("Optimised {done} of {total} contents"),
            )
            .await?;
        let (contents, calls): (Vec<Optimized>, Vec<_>) = answers.into_iter().unzip();
        let parts = contents.len() as u32;
        Ok(Run { output: OptimizeOutput { contents }, calls, parts })
    }

    /// Charged by the words of the content as it was.
    fn units(&self, run: &Run<OptimizeOutput>) -> u64 {
        run.output.contents.iter().map(|c| u64::from(word_count(&c.html_before))).sum()
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        _: &OptimizeInput,
        output: &OptimizeOutput,
    ) -> Result<Applied<OptimizeResult>, ApiError> {
        let mut result = OptimizeResult { contents_optimized: 0, task_ids: Vec::new() };
        for optimized in &output.contents {
            let Some(before) =
                crate::records::find::<Content>(job.services, job.account_id(), &optimized.content_id).await?
            else {
                continue;
            };
            if before.pipeline.optimizer_version != optimized.from_version {
                continue; // applied already (a replay), or optimised again since
            }
            let task = OptimizationTask {
                id: optimized.task_id.clone(),
                account_id: before.account_id.clone(),
                site_id: before.site_id.clone(),
                sector_id: before.sector_id.clone(),
                content_id: before.id.clone(),
                status: "applied".into(),
                meta_title_before: before.meta_title.clone(),
                meta_description_before: before.meta_description.clone(),
                scores_before: optimized.scores_before.clone(),
                scores_after: optimized.scores_after.clone(),
                created_at: OffsetDateTime::now_utc(),
                reverted_at: None,
            };
            tasks::put(job.services, &task, &optimized.html_before, &optimized.html_after).await?;
            let mut after = before.clone();
            after.html = optimized.html_after.clone();
            after.word_count = word_count(&after.html);
            after.meta_title = optimized.meta_title.clone();
            after.meta_description = optimized.meta_description.clone();
            after.pipeline.optimizer_version += 1;
            after.pipeline.optimization_scores = optimized.scores_after.to_map();
            if matches!(after.status.as_str(), "draft" | "linked") {
                after.status = "optimized".into();
            }
            match crate::writer::content::save(job.services, &before, after, Vec::new()).await {
                Ok(_) => {
                    result.contents_optimized += 1;
                    result.task_ids.push(task.id);
                }
                Err(ApiError::Conflict(_) | ApiError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(Applied { result, once: Vec::new() })
    }
}
