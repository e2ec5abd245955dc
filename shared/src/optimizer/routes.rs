//! `/api/v1/optimizer/`.

use axum::extract::State;

use super::analyzer::Scores;
use crate::ApiError;
use crate::http::openapi::Data;
use crate::http::{AppState, Caller, JsonBody, Module, Reply};
use crate::records::scope;
use crate::throttle::scopes::Writer;
use crate::validation::input::Id;
use crate::writer::Content;

crate::input! {
    /// The content to score.
    pub struct Analyze {
        content_id: required String = Id,
    }
}

/// Scores a content (each dimension 0–100 with its reason, and the total): nothing changes,
/// nothing is charged. Everyone who reads the content's site may.
#[utoipa::path(post, path = "/api/v1/optimizer/analyze/", request_body = Analyze,
    responses((status = 200, description = "The scores", body = Data<Scores>)))]
async fn analyze(
    State(s): State<AppState>,
    caller: Caller<Writer>,
    JsonBody(input): JsonBody<Analyze>,
) -> Result<Reply, ApiError> {
    let content = scope::visible::<Content>(&s, &caller, &input.content_id).await?;
    Reply::data(&super::scores(&s, &content).await?)
}

crate::module_routes! {
    [analyze],
}

/// The optimizer function's part of the API.
pub const MODULE: Module =
    Module { tag: "optimizer", description: "Scores of a content's quality, and its AI optimisation.", routes, serve };
