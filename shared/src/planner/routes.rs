//! `/api/v1/planner/`: the planner's routes and their part of the OpenAPI document. The
//! collections' five routes are declared by [`crate::sector_crud`]; every other handler is the
//! domain function itself, in [`super::keywords`], [`super::clusters`] and [`super::ideas`].

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Cluster, ClusterAnswer, Idea, IdeaAnswer, Keyword, KeywordAnswer, clusters, ideas, keywords};
use crate::http::{AppState, Module};
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

/// The planner's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(keyword::list, keyword::create))
        .routes(routes!(keyword::get, keyword::update, keyword::delete))
        .routes(routes!(keywords::bulk_delete))
        .routes(routes!(keywords::bulk_update_status))
        .routes(routes!(keywords::bulk_update))
        .routes(routes!(keywords::bulk_add_from_seed))
        .routes(routes!(keywords::export))
        .routes(routes!(keywords::import_keywords))
        .routes(routes!(keywords::auto_cluster))
        .routes(routes!(cluster::list, cluster::create))
        .routes(routes!(cluster::get, cluster::update, cluster::delete))
        .routes(routes!(clusters::bulk_delete))
        .routes(routes!(clusters::auto_generate_ideas))
        .routes(routes!(idea::list, idea::create))
        .routes(routes!(idea::get, idea::update, idea::delete))
        .routes(routes!(ideas::bulk_delete))
        .routes(routes!(ideas::bulk_queue_to_writer))
}

/// The planner function's part of the API.
pub const MODULE: Module = Module { tag: "planner", description: "Keywords, clusters and content ideas.", routes };
