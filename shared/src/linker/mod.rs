//! The linker: internal links between a site's content.
//!
//! - [`inject`]: links put into HTML where a target's phrase occurs in running text;
//! - [`ai`]: the `link_content` job (8 credits per content, through the reservation model);
//! - [`routes`]: `process/`, `batch_process/`, `graph/`, and the writer's `content/{id}/link/`.
//!
//! Candidates for a content are the same site's other content, read once per job (the site's
//! sectors' content and tasks from their indexes), each with the phrases that may become its
//! anchor (its primary keyword, then its title) and a score: sharing the content's cluster (3),
//! its primary keyword's words in the content's text (2 for all of them), its title's words (1 for
//! half or more). A target's URL is its post's address when it has one, else the site-relative
//! `/<slug of its title>/` WordPress gives a post of that title.

pub mod ai;
pub mod graph;
pub mod inject;
pub mod routes;

use std::collections::{HashMap, HashSet};

use crate::writer::{Content, Task, taxonomies::slugify};
use crate::{ApiError, Services};

/// Links a content gets from the linker unless the request says otherwise.
pub const DEFAULT_MAX_LINKS: u32 = 5;
/// Shortest phrase that may become an anchor.
const MIN_PHRASE: usize = 4;

/// Every content of the site (its live sectors' indexes, read at once).
pub async fn site_contents(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Content>, ApiError> {
    let sectors: Vec<_> =
        crate::sites::all_sectors(services, account_id).await?.into_iter().filter(|s| s.site_id == site_id).collect();
    let reads = sectors
        .iter()
        .map(|s| crate::records::in_sector::<Content>(services, account_id, &s.id, crate::writer::CONTENT_PREFIX));
    let found = futures_util::future::try_join_all(reads).await?;
    Ok(found.into_iter().flatten().filter(|c| c.site_id == site_id).collect())
}

/// The cluster of each task of the site (by task id).
pub async fn site_clusters(
    services: &Services,
    account_id: &str,
    site_id: &str,
) -> Result<HashMap<String, String>, ApiError> {
    let sectors: Vec<_> =
        crate::sites::all_sectors(services, account_id).await?.into_iter().filter(|s| s.site_id == site_id).collect();
    let reads = sectors
        .iter()
        .map(|s| crate::records::in_sector::<Task>(services, account_id, &s.id, crate::writer::TASK_PREFIX));
    let tasks = futures_util::future::try_join_all(reads).await?;
    Ok(tasks.into_iter().flatten().filter_map(|t| Some((t.id.clone(), t.cluster_id?))).collect())
}

/// Where a content is linked to.
pub fn url_of(content: &Content) -> String {
    content.external.external_url.clone().unwrap_or_else(|| format!("/{}/", slugify(&content.title)))
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_owned).collect()
}

/// The targets of `content` among `site` (best first): never itself, never one it links to
/// already, never by a phrase that is its own title or keyword.
pub fn targets(content: &Content, site: &[Content], clusters: &HashMap<String, String>) -> Vec<inject::Target> {
    let cluster = content.task_id.as_ref().and_then(|t| clusters.get(t));
    let own: HashSet<String> =
        [&content.title, &content.primary_keyword].iter().map(|p| p.trim().to_lowercase()).collect();
    let linked: HashSet<&str> = content.pipeline.internal_links.iter().map(|l| l.target_id.as_str()).collect();
    let hrefs: HashSet<String> = inject::existing_hrefs(&content.html).into_iter().collect();
    let text: HashSet<String> = words(&crate::writer::word_text(&content.html)).into_iter().collect();
    let mut scored: Vec<(u32, inject::Target)> = site
        .iter()
        .filter(|t| t.id != content.id && t.account_id == content.account_id && t.site_id == content.site_id)
        .filter(|t| !linked.contains(t.id.as_str()) && !hrefs.contains(&url_of(t)))
        .filter_map(|t| {
            let phrases: Vec<String> = [&t.primary_keyword, &t.title]
                .iter()
                .map(|p| p.trim().to_lowercase())
                .filter(|p| p.len() >= MIN_PHRASE && !own.contains(p))
                .fold(Vec::new(), |mut acc, p| {
                    if !acc.contains(&p) {
                        acc.push(p);
                    }
                    acc
                });
            if phrases.is_empty() {
                return None;
            }
            let mut score = 0;
            if cluster.is_some() && t.task_id.as_ref().and_then(|id| clusters.get(id)) == cluster {
                score += 3;
            }
            let keyword = words(&t.primary_keyword);
            if !keyword.is_empty() && keyword.iter().all(|w| text.contains(w)) {
                score += 2;
            }
            let title = words(&t.title);
            if !title.is_empty() && title.iter().filter(|w| text.contains(*w)).count() * 2 >= title.len() {
                score += 1;
            }
            Some((score, inject::Target { id: t.id.clone(), url: url_of(t), phrases }))
        })
        .collect();
    scored.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| x.id.cmp(&y.id)));
    scored.into_iter().map(|(_, t)| t).collect()
}
