//! A site's link graph: its content as nodes, the linker's links as edges, and the orphans
//! (content nothing links to).

use std::collections::HashMap;

use serde::Serialize;

use crate::access::Caller;
use crate::{ApiError, Services};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub url: String,
    pub status: String,
    pub links_out: usize,
    pub links_in: usize,
}

#[derive(Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub anchor: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Graph {
    pub site_id: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Content nothing links to.
    pub orphans: Vec<String>,
}

/// `graph/?site_id=`: everyone who reads the site.
pub async fn of_site(services: &Services, caller: &Caller, site_id: Option<&str>) -> Result<Graph, ApiError> {
    let site_id = site_id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::field("site_id", "This field is required."))?;
    if crate::sites::visible_site(services, caller, site_id).await.is_err() {
        return Err(ApiError::field("site_id", format!("Invalid pk \"{site_id}\" - object does not exist.")));
    }
    let mut contents = super::site_contents(services, caller.account_id(), site_id).await?;
    contents.sort_by_key(|c| c.generated_at);
    let known: HashMap<&str, usize> = contents.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let mut edges = Vec::new();
    let mut links_in = vec![0usize; contents.len()];
    for content in &contents {
        for link in &content.pipeline.internal_links {
            if let Some(&target) = known.get(link.target_id.as_str()) {
                links_in[target] += 1;
                edges.push(Edge {
                    source: content.id.clone(),
                    target: link.target_id.clone(),
                    anchor: link.anchor.clone(),
                });
            }
        }
    }
    let nodes: Vec<Node> = contents
        .iter()
        .zip(&links_in)
        .map(|(c, n)| Node {
            id: c.id.clone(),
            title: c.title.clone(),
            url: super::url_of(c),
            status: c.status.clone(),
            links_out: c.pipeline.internal_links.iter().filter(|l| known.contains_key(l.target_id.as_str())).count(),
            links_in: *n,
        })
        .collect();
    let orphans = nodes.iter().filter(|n| n.links_in == 0).map(|n| n.id.clone()).collect();
    Ok(Graph { site_id: site_id.to_owned(), nodes, edges, orphans })
}
