//! The planner's AI functions: `auto_cluster` (keywords into clusters) and `generate_ideas`
//! (content ideas for clusters).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::membership::{self, KeywordChange, Refused};
use super::{Cluster, Idea, Keyword, SectorRecord};
use crate::ai::JobContext;
use crate::ai::model::{JobError, store_err};
use crate::ai::plugin::{AiFunction, Applied, Estimate, Run};
use crate::credits::{CreditCosts, Operation};
use crate::records::counts::{self, Step, Tally};
use crate::store::{self, Condition, Key, StoreError, Write};
use crate::validation::max;
use crate::{ApiError, ids, usage};

/// Keywords per clustering call: what the model's context handles well.
pub const CLUSTER_BATCH: usize = 20;
/// Clusters created in one transaction (two writes each: the cluster and its name guard).
const CLUSTERS_PER_TRANSACTION: usize = 50;

use crate::ai::model::JSON_ONLY as SYSTEM;

fn norm(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `auto_cluster`: groups keywords of one sector into clusters, [`CLUSTER_BATCH`] keywords a call.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoCluster;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterInput {
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub keyword_ids: Vec<String>,
}

/// A cluster the model proposed, with the keywords (of those asked about) it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedCluster {
    pub id: String,
    pub name: String,
    pub description: String,
    pub keyword_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterOutput {
    pub clusters: Vec<ProposedCluster>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clustered {
    /// The clusters the keywords went to (new, or the sector's of the same name).
    pub cluster_ids: Vec<String>,
    pub clusters_created: i64,
    pub keywords_clustered: usize,
}

/// Parses one clustering answer: `{"clusters": [{"name", "description", "keywords": [..]}]}`.
fn parse_clusters(answer: &serde_json::Value) -> Result<Vec<(String, String, Vec<String>)>, JobError> {
    let clusters = answer["clusters"].as_array().ok_or_else(|| JobError::malformed("no \"clusters\" list"))?;
    clusters
        .iter()
        .map(|c| {
            let name = c["name"]
                .as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| JobError::malformed("a cluster without a name"))?;
            let keywords =
                c["keywords"].as_array().ok_or_else(|| JobError::malformed("a cluster without a keywords list"))?;
            let keywords = keywords
                .iter()
                .map(|k| {
                    k.as_str().map(str::to_owned).ok_or_else(|| JobError::malformed("a keyword that is not a string"))
                })
                .collect::<Result<_, _>>()?;
            Ok((
                name.chars().take(200).collect(),
                c["description"].as_str().unwrap_or_default().chars().take(2000).collect(),
                keywords,
            ))
        })
        .collect()
}

impl AiFunction for AutoCluster {
    const NAME: &'static str = "auto_cluster";
    const MODULE: &'static str = "planner";
    const OPERATION: Operation = Operation::Clustering;
    type Input = ClusterInput;
    type Output = ClusterOutput;
    type Result = Clustered;

    fn estimate(&self, costs: &CreditCosts, input: &ClusterInput) -> Estimate {
        let parts = input.keyword_ids.len().div_ceil(CLUSTER_BATCH).max(1) as u32;
        Estimate { credits: costs.cost(Self::OPERATION, u64::from(parts)), parts }
    }

    async fn run(&self, job: &JobContext<'_>, input: &ClusterInput) -> Result<Run<ClusterOutput>, JobError> {
        let keywords: Vec<Keyword> =
            super::by_ids(job.services, job.account_id(), &input.sector_id, &input.keyword_ids)
                .await
                .map_err(store_err)?;
        if keywords.is_empty() {
            return Err(JobError::fatal("None of the keywords exist any more.", "InvalidInput"));
        }
        let model = job.model().await?;
        let instructions = job.prompt("clustering").await?;
        let batches: Vec<&[Keyword]> = keywords.chunks(CLUSTER_BATCH).collect();
        // Merged in batch order, so that the result is deterministic.
        let answers = job
            .each(
                &model,
                &batches,
                |batch| {
                    let input = json!({"task": "auto_cluster", "keywords": batch.iter().map(|k| k.keyword.as_str()).collect::<Vec<_>>()});
                    let (model, instructions) = (&model, &instructions);
                    async move { model.ask(SYSTEM, instructions, &input).await }
                },
                |done, total| format!("Clustered {done} of {total} parts"),
            )
            .await?;

        // Merge: one cluster per name, each keyword in at most one cluster, only keywords asked about.
        let mut clusters: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        let mut calls = Vec::new();
        for ((answer, call), batch) in answers.into_iter().zip(&batches) {
            calls.push(call);
            let by_text: HashMap<String, &Keyword> = batch.iter().map(|k| (norm(&k.keyword), k)).collect();
            for (name, description, members) in parse_clusters(&answer)? {
                let ids: Vec<String> = members
                    .iter()
                    .filter_map(|m| by_text.get(&norm(m)))
                    .filter(|k| taken.insert(k.id.clone()))
                    .map(|k| k.id.clone())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                match clusters.iter_mut().find(|(n, _, _)| norm(n) == norm(&name)) {
                    Some((_, _, existing)) => existing.extend(ids),
                    None => clusters.push((name, description, ids)),
                }
            }
        }
        if clusters.is_empty() {
            return Err(JobError::malformed("no cluster holds any of the keywords"));
        }
        let clusters = clusters
            .into_iter()
            .map(|(name, description, keyword_ids)| ProposedCluster {
                id: ids::new_id(),
                name,
                description,
                keyword_ids,
            })
            .collect();
        Ok(Run { output: ClusterOutput { clusters }, calls, parts: batches.len() as u32 })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &ClusterInput,
        output: &ClusterOutput,
    ) -> Result<Applied<Clustered>, ApiError> {
        let account_id = job.account_id();
        let now = OffsetDateTime::now_utc();
        let proposed: Vec<Cluster> = output
            .clusters
            .iter()
            .map(|c| Cluster {
                id: c.id.clone(),
                account_id: account_id.to_owned(),
                site_id: input.site_id.clone(),
                sector_id: input.sector_id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                status: "active".into(),
                keywords_count: 0,
                volume: 0,
                difficulty_sum: 0,
                created_at: now,
            })
            .collect();
        let (created, cluster_ids) = create_clusters(job, &proposed).await?;
        let mut target: HashMap<String, String> = HashMap::new();
        let mut touched: Vec<String> = Vec::new();
        for (proposal, cluster_id) in output.clusters.iter().zip(cluster_ids) {
            for keyword_id in &proposal.keyword_ids {
                target.insert(keyword_id.clone(), cluster_id.clone());
            }
            if !touched.contains(&cluster_id) {
                touched.push(cluster_id);
            }
        }
        // Moves go through the membership writes, so the clusters' counts stay exact; a keyword
        // changed meanwhile is read again.
        let mut wanted: Vec<String> = target.keys().cloned().collect();
        for _ in 0..3 {
            let keywords: Vec<Keyword> = super::by_ids(job.services, account_id, &input.sector_id, &wanted).await?;
            let changes: Vec<KeywordChange> = keywords
                .into_iter()
                .filter_map(|k| {
                    let cluster = target.get(&k.id)?;
                    (k.cluster_id.as_ref() != Some(cluster)).then(|| {
                        let mut after = k.clone();
                        after.cluster_id = Some(cluster.clone());
                        KeywordChange::update(k, after)
                    })
                })
                .collect();
            let committed = membership::commit(job.services, &changes).await?;
            if committed.refused.iter().any(|(_, why)| *why == Refused::SectorGone) {
                return Err(ApiError::not_found());
            }
            wanted = committed
                .refused
                .iter()
                .filter(|(_, why)| *why == Refused::Changed)
                .filter_map(|(i, _)| changes[*i].after.as_ref().map(|k| k.id.clone()))
                .collect();
            if wanted.is_empty() {
                break;
            }
        }
        let once = if created > 0 { vec![usage::count_write(account_id, "clusters", created, now)] } else { vec![] };
        let result = Clustered { cluster_ids: touched, clusters_created: created, keywords_clustered: target.len() };
        Ok(Applied { result, once })
    }
}

/// Creates the proposed clusters with their name guards, [`CLUSTERS_PER_TRANSACTION`] a
/// transaction. Answers how many are this job's and, per proposal, the cluster its keywords go to.
/// A cancelled transaction says which writes failed: a cluster already there is this job's own (a
/// replay, since the id is the job's); a name guard already there is the sector's cluster of that
/// name, which is reused (its guards read in one request); the rest go again together.
async fn create_clusters(job: &JobContext<'_>, proposed: &[Cluster]) -> Result<(i64, Vec<String>), ApiError> {
    let store = job.services.store().await;
    let mut created = 0;
    let mut resolved: Vec<Option<String>> = vec![None; proposed.len()];
    // Two names with one guard cannot go in one transaction: the later ones go one by one.
    let mut names = HashSet::new();
    let (mut pending, mut alone): (Vec<usize>, Vec<usize>) =
        (0..proposed.len()).partition(|&i| names.insert(super::normalise(&proposed[i].name)));
    for _ in 0..3 {
        let mut next = Vec::new();
        for chunk in pending.chunks(CLUSTERS_PER_TRANSACTION) {
            let mut writes: Vec<Write> = Vec::with_capacity(chunk.len() * 2 + 1);
            let mut tally = Tally::of(&proposed[chunk[0]]);
            for &i in chunk {
                writes.extend(proposed[i].create_writes()?);
                tally.created(&proposed[i]);
            }
            writes.push(tally.write());
            let failed = match store.transact(writes).await {
                Ok(()) => Vec::new(),
                Err(err) if counts::sector_refused(&err, 2 * chunk.len()) => return Err(ApiError::not_found()),
                Err(StoreError::TransactionCancelled { failed }) if !failed.is_empty() => failed,
                // A conflict with another write: these go one by one.
                Err(StoreError::TransactionCancelled { .. }) => {
                    alone.extend(chunk);
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            if failed.is_empty() {
                created += chunk.len() as i64;
                chunk.iter().for_each(|&i| resolved[i] = Some(proposed[i].id.clone()));
                continue;
            }
            let mut taken = Vec::new();
            for (n, &i) in chunk.iter().enumerate() {
                if failed.contains(&(2 * n)) {
                    created += 1;
                    resolved[i] = Some(proposed[i].id.clone());
                } else if failed.contains(&(2 * n + 1)) {
                    taken.push(i);
                } else {
                    next.push(i);
                }
            }
            if taken.is_empty() {
                continue;
            }
            let guards: Vec<Key> = taken.iter().map(|&i| proposed[i].name_guard()).collect();
            for (&i, guard) in taken.iter().zip(store.get_many(&guards).await?) {
                match guard.map(store::decode::<serde_json::Value>).transpose()? {
                    Some(guard) => resolved[i] = guard["cluster_id"].as_str().map(str::to_owned),
                    // The name was freed meanwhile: the proposal goes again.
                    None => next.push(i),
                }
            }
        }
        pending = next;
        if pending.is_empty() {
            break;
        }
    }
    alone.extend(pending);
    for i in alone {
        let cluster = &proposed[i];
        let mut writes = cluster.create_writes()?;
        writes.push(Tally::of(cluster).created(cluster).write());
        resolved[i] = Some(match store.transact(writes).await {
            Err(err) if counts::sector_refused(&err, 2) => return Err(ApiError::not_found()),
            Ok(()) => {
                created += 1;
                cluster.id.clone()
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
                created += 1;
                cluster.id.clone()
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => {
                let guard: Option<serde_json::Value> = store.get(&cluster.name_guard()).await?;
                guard
                    .and_then(|g| g["cluster_id"].as_str().map(str::to_owned))
                    .ok_or_else(|| ApiError::internal("cluster name guard without a cluster"))?
            }
            Err(err) => return Err(err.into()),
        });
    }
    let ids = resolved.into_iter().collect::<Option<Vec<String>>>();
    Ok((created, ids.ok_or_else(|| ApiError::internal("a proposed cluster was left unresolved"))?))
}

/// `generate_ideas`: content ideas for clusters, one call per cluster.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateIdeas;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdeasInput {
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub cluster_ids: Vec<String>,
}

/// An idea the model proposed for a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedIdea {
    pub id: String,
    pub cluster_id: String,
    pub title: String,
    pub description: String,
    pub content_type: String,
    pub content_structure: String,
    pub target_keywords: Vec<String>,
    pub estimated_word_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdeasOutput {
    pub ideas: Vec<ProposedIdea>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdeasWritten {
    pub idea_ids: Vec<String>,
    pub ideas_created: i64,
}

impl AiFunction for GenerateIdeas {
    const NAME: &'static str = "generate_ideas";
    const MODULE: &'static str = "planner";
    const OPERATION: Operation = Operation::IdeaGeneration;
    type Input = IdeasInput;
    type Output = IdeasOutput;
    type Result = IdeasWritten;

    fn estimate(&self, costs: &CreditCosts, input: &IdeasInput) -> Estimate {
        let clusters = input.cluster_ids.len().max(1) as u32;
        Estimate { credits: costs.cost(Self::OPERATION, u64::from(clusters)), parts: clusters }
    }

    async fn run(&self, job: &JobContext<'_>, input: &IdeasInput) -> Result<Run<IdeasOutput>, JobError> {
        let clusters: Vec<Cluster> =
            super::in_sector::<Cluster>(job.services, job.account_id(), &input.sector_id, super::CLUSTER_PREFIX)
                .await
                .map_err(store_err)?
                .into_iter()
                .filter(|c| input.cluster_ids.contains(&c.id))
                .collect();
        if clusters.is_empty() {
            return Err(JobError::fatal("None of the clusters exist any more.", "InvalidInput"));
        }
        let model = job.model().await?;
        let instructions = job.prompt("ideas").await?;
        // One call per cluster, checkpointed (a resumed job keeps the ideas, and ids, it had).
        let answers = job
            .each(
                &model,
                &clusters,
                |cluster| {
                    let (model, instructions) = (&model, &instructions);
                    async move {
                        let mut proposed = Vec::new();
                        let keywords =
                            super::cluster_keywords(job.services, job.account_id(), &cluster.id).await.map_err(store_err)?;
                        let members: Vec<&str> = keywords.iter().map(|k| k.keyword.as_str()).collect();
                        let asked = json!({"task": "generate_ideas", "cluster": {"name": cluster.name, "description": cluster.description, "keywords": members}});
                        let (answer, call) = model.ask(SYSTEM, instructions, &asked).await?;
                                    let list = answer["ideas"].as_array().ok_or_else(|| JobError::malformed("no \"ideas\" list"))?;
                        for idea in list {
                            let title = idea["title"]
                                .as_str()
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .ok_or_else(|| JobError::malformed("an idea without a title"))?;
                            let target_keywords: Vec<String> = idea["target_keywords"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|k| k.as_str().map(|k| k.chars().take(max::KEYWORD).collect()))
                                        .take(50)
                                        .collect()
                                })
                                .unwrap_or_default();
                            proposed.push(ProposedIdea {
                                id: ids::new_id(),
                                cluster_id: cluster.id.clone(),
                                title: title.chars().take(max::TITLE).collect(),
                                description: idea["description"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .chars()
                                    .take(max::DESCRIPTION)
                                    .collect(),
                                content_type: super::ideas::content_type_of(idea["content_type"].as_str().unwrap_or_default()),
                                content_structure: super::ideas::content_structure_of(
                                    idea["content_structure"].as_str().unwrap_or_default(),
                                ),
                                target_keywords,
                                estimated_word_count: idea["estimated_word_count"].as_u64().unwrap_or(1000).clamp(100, 10_000)
                                    as u32,
                            });
                        }
                        Ok((proposed, call))
                    }
                },
                |done, total| format!("Ideas for {done} of {total} clusters"),
            )
            .await?;
        let (ideas, calls): (Vec<Vec<ProposedIdea>>, Vec<_>) = answers.into_iter().unzip();
        let ideas: Vec<ProposedIdea> = ideas.into_iter().flatten().collect();
        if ideas.is_empty() {
            return Err(JobError::malformed("no ideas"));
        }
        Ok(Run { output: IdeasOutput { ideas }, calls, parts: clusters.len() as u32 })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        input: &IdeasInput,
        output: &IdeasOutput,
    ) -> Result<Applied<IdeasWritten>, ApiError> {
        let now = OffsetDateTime::now_utc();
        let account_id = job.account_id();
        let mut ideas = Vec::new();
        for proposed in &output.ideas {
            let idea = Idea {
                id: proposed.id.clone(),
                account_id: account_id.to_owned(),
                site_id: input.site_id.clone(),
                sector_id: input.sector_id.clone(),
                cluster_id: Some(proposed.cluster_id.clone()),
                idea_title: proposed.title.clone(),
                description: proposed.description.clone(),
                content_type: proposed.content_type.clone(),
                content_structure: proposed.content_structure.clone(),
                target_keywords: proposed.target_keywords.clone(),
                estimated_word_count: proposed.estimated_word_count,
                status: "new".into(),
                task_id: None,
                created_at: now,
            };
            ideas.push(idea);
        }
        // Ids are fixed in the saved output: on a replay the ideas already written are refused
        // as being there, and count as written.
        let steps = ideas
            .iter()
            .map(|idea| Ok(Step::created(idea, vec![Write::Put(idea.item()?, Some(Condition::not_exists()))])))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let done = counts::commit(job.services.store().await, &steps, |_| Vec::new()).await?;
        if !done.sector_gone.is_empty() {
            return Err(ApiError::not_found());
        }
        let idea_ids: Vec<String> = ideas.iter().map(|i| i.id.clone()).collect();
        let count = idea_ids.len() as i64;
        Ok(Applied {
            result: IdeasWritten { idea_ids, ideas_created: count },
            once: vec![usage::count_write(account_id, "ideas", count, now)],
        })
    }
}
