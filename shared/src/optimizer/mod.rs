//! The optimizer: scores of a content's quality ([`analyzer`], deterministic, free, served by
//! [`routes`] as `analyze/`), its AI rewrite ([`ai`]: `optimize_content`, 1 credit per 200
//! words), and the [`tasks`] that keep each original and put it back.

pub mod ai;
pub mod analyzer;
pub mod routes;
pub mod tasks;

use crate::writer::{Content, Task};
use crate::{ApiError, Services};

/// The scores of `content` (its task's target length read when it has one).
pub async fn scores(services: &Services, content: &Content) -> Result<analyzer::Scores, ApiError> {
    let target = match &content.task_id {
        Some(task) => crate::records::find::<Task>(services, &content.account_id, task).await?.map(|t| t.word_count),
        None => None,
    };
    Ok(analyzer::analyze(&analyzer::Input {
        title: &content.title,
        meta_title: &content.meta_title,
        meta_description: &content.meta_description,
        html: &content.html,
        keyword: &content.primary_keyword,
        target_words: target,
        internal_links: content.pipeline.internal_links.len(),
    }))
}
