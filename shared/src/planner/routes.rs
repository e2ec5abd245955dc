//! `/api/v1/planner/`: the planner's routes and their part of the OpenAPI document. The
//! collections' five routes are declared by [`crate::sector_crud`]; every other handler is the
//! domain function itself, in [`super::keywords`], [`super::clusters`] and [`super::ideas`].

use super::{Cluster, ClusterAnswer, Idea, IdeaAnswer, Keyword, KeywordAnswer, clusters, ideas, keywords};
use crate::http::Module;
use crate::sector_crud;
use crate::throttle::scopes::Planner;

sector_crud!(
    keyword,
    list: "/api/v1/planner/keywords/",
    item: "/api/v1/planner/keywords/{id}/",
    record: Keyword,
    domain: crate::planner::keywords,
    scope: Planner,
    create: keywords::NewKeyword,
    update: keywords::KeywordChanges,
    answer: KeywordAnswer,
);
sector_crud!(
    cluster,
    list: "/api/v1/planner/clusters/",
    item: "/api/v1/planner/clusters/{id}/",
    record: Cluster,
    domain: crate::planner::clusters,
    scope: Planner,
    create: clusters::NewCluster,
    update: clusters::ClusterChanges,
    answer: ClusterAnswer,
);
sector_crud!(
    idea,
    list: "/api/v1/planner/ideas/",
    item: "/api/v1/planner/ideas/{id}/",
    record: Idea,
    domain: crate::planner::ideas,
    scope: Planner,
    create: ideas::NewIdea,
    update: ideas::IdeaChanges,
    answer: IdeaAnswer,
);

crate::module_routes! {
    [keyword::list, keyword::create],
    [keyword::get, keyword::update, keyword::delete],
    [keywords::bulk_delete],
    [keywords::bulk_update_status],
    [keywords::bulk_update],
    [keywords::bulk_add_from_seed],
    [keywords::export],
    [keywords::import_keywords],
    [keywords::auto_cluster],
    [cluster::list, cluster::create],
    [cluster::get, cluster::update, cluster::delete],
    [clusters::bulk_delete],
    [clusters::auto_generate_ideas],
    [idea::list, idea::create],
    [idea::get, idea::update, idea::delete],
    [ideas::bulk_delete],
    [ideas::bulk_queue_to_writer],
}

/// The planner function's part of the API.
pub const MODULE: Module = Module {
    tag: "planner",
    description: "Keywords, clusters and content ideas.",
    switch: Some("planner"),
    routes,
    serve,
};
