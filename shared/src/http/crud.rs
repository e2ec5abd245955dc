//! The five routes of a collection, declared once: [`crate::crud`] over any module's functions,
//! [`crate::sector_crud`] for the sector-scoped records of the planner and the writer.

/// Declares `pub mod $name` with the handlers of a sector-scoped collection — `list` and `create`
/// on `$list`, `get`, `update` (PUT and PATCH) and `delete` on `$item` — over the domain module
/// `$domain` (its `LIST`, `list`, `create`, `update` and `delete`) and the record type `$record`, counted
/// in the throttle scope `$scope`, created from the typed body `$new`, changed by `$changes`, and
/// answered as `$answer` in the OpenAPI document. Add them to
/// a router with `routes!($name::list, $name::create)` and `routes!($name::get, $name::update,
/// $name::delete)`.
#[macro_export]
macro_rules! sector_crud {
    (
        $name:ident,
        list: $list:literal,
        item: $item:literal,
        record: $record:ty,
        domain: $($domain:ident)::+,
        scope: $scope:ty,
        create: $new:ty,
        update: $changes:ty,
        answer: $answer:ty $(,)?
    ) => {
        pub mod $name {
            use ::axum::extract::{Path, State};
            use $crate::ApiError;
            use $crate::http::openapi::{Data, Paged};
            use $crate::http::{AppState, Caller, Ctx, JsonBody, RawBody, Reply};
            use $crate::planner::{SectorRecord, scope};

            #[allow(unused_imports)]
            use super::*;

            /// The list's query parameters: the domain module's `LIST`.
            pub struct Filters;

            impl ::utoipa::IntoParams for Filters {
                fn into_params(
                    _: impl Fn() -> Option<::utoipa::openapi::path::ParameterIn>,
                ) -> Vec<::utoipa::openapi::path::Parameter> {
                    $($domain)::+::LIST.params()
                }
            }

            #[utoipa::path(
                get, path = $list, operation_id = concat!("list_", stringify!($name)),
                params(Filters),
                responses((status = 200, description = "One page of the list", body = Paged<$answer>))
            )]
            pub async fn list(State(s): State<AppState>, caller: Caller<$scope>, ctx: Ctx) -> Result<Reply, ApiError> {
                ctx.page($($domain)::+::list(&s, &caller, ctx.query()).await?)
            }

            #[utoipa::path(
                post, path = $list, operation_id = concat!("create_", stringify!($name)),
                request_body = $new,
                responses((status = 201, description = "Created", body = Data<$answer>))
            )]
            pub async fn create(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                JsonBody(input): JsonBody<$new>,
            ) -> Result<Reply, ApiError> {
                Ok(Reply::created($($domain)::+::create(&s, &caller, input).await?))
            }

            #[utoipa::path(
                get, path = $item, operation_id = concat!("get_", stringify!($name)),
                responses((status = 200, description = "The record", body = Data<$answer>))
            )]
            pub async fn get(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                Path(id): Path<String>,
            ) -> Result<Reply, ApiError> {
                let record = scope::visible::<$record>(&s, &caller, &id).await?;
                Ok(Reply::ok(<$record as SectorRecord>::answer(&s, record).await?))
            }

            #[utoipa::path(
                method(put, patch), path = $item, operation_id = concat!("update_", stringify!($name)),
                request_body = $changes,
                responses((status = 200, description = "The record as saved", body = Data<$answer>))
            )]
            pub async fn update(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                Path(id): Path<String>,
                RawBody(body): RawBody,
            ) -> Result<Reply, ApiError> {
                // Another account's record is a 404 whatever the body says.
                let before = scope::writable::<$record>(&s, &caller, &id).await?;
                let input = <$changes as $crate::validation::FromBody>::from_body(&body)?;
                Ok(Reply::ok($($domain)::+::update(&s, &caller, before, input).await?))
            }

            #[utoipa::path(
                delete, path = $item, operation_id = concat!("delete_", stringify!($name)),
                responses((status = 204, description = "Deleted"))
            )]
            pub async fn delete(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                Path(id): Path<String>,
            ) -> Result<Reply, ApiError> {
                $($domain)::+::delete(&s, &caller, &id).await?;
                Ok(Reply::no_content())
            }
        }
    };
}

/// Declares `pub mod $name` with the five handlers of a collection — `list` and `create` on
/// `$list`; `get`, `update` (PUT and PATCH) and `delete` on `$item` — over the module's
/// functions, counted in the throttle scope `$scope` and answered as `$answer` in the OpenAPI
/// document:
///
/// - `index: f` — `f(&Services, &Caller, &query) -> Result<Vec<Value>, ApiError>`, one page of
///   which is answered;
/// - `create: New => f` — `f(&Services, &Caller, Submitted<New>)`, answered 201;
/// - `show: f` — `f(&Services, &Caller, id) -> Result<Value, ApiError>`;
/// - `update: New, Changes => f` — `f(&Services, &Caller, id, Submitted<Changes>)`: a PATCH body
///   is read as `Changes`, a PUT body as `New` (its required fields required) taken as a change;
/// - `remove: f` — `f(&Services, &Caller, id) -> Result<(), ApiError>`, answered 204.
///
/// The functions read the body only after finding the record and checking the caller's right,
/// so that a 404 or 403 comes before a 400. Add the handlers to a router with
/// `routes!($name::list, $name::create)` and `routes!($name::get, $name::update, $name::delete)`.
#[macro_export]
macro_rules! crud {
    (
        $name:ident,
        list: $list:literal,
        item: $item:literal,
        scope: $scope:ty,
        answer: $answer:ty,
        index: $index:path,
        create: $new:ty => $create:path,
        show: $show:path,
        update: $whole:ty, $changes:ty => $update:path,
        remove: $remove:path $(,)?
    ) => {
        pub mod $name {
            use ::axum::extract::{Path, State};
            use $crate::ApiError;
            use $crate::http::openapi::{Data, Paged};
            use $crate::http::{AppState, Caller, Ctx, Reply};
            use $crate::validation::Submitted;

            #[allow(unused_imports)]
            use super::*;

            #[utoipa::path(
                                get, path = $list, operation_id = concat!("list_", stringify!($name)),
                                responses((status = 200, description = "One page of the list", body = Paged<$answer>))
                            )]
            pub async fn list(State(s): State<AppState>, caller: Caller<$scope>, ctx: Ctx) -> Result<Reply, ApiError> {
                ctx.page($index(&s, &caller, ctx.query()).await?)
            }

            #[utoipa::path(
                                post, path = $list, operation_id = concat!("create_", stringify!($name)),
                                request_body = $new,
                                responses((status = 201, description = "Created", body = Data<$answer>))
                            )]
            pub async fn create(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                body: Submitted<$new>,
            ) -> Result<Reply, ApiError> {
                Ok(Reply::created($create(&s, &caller, body).await?))
            }

            #[utoipa::path(
                                get, path = $item, operation_id = concat!("get_", stringify!($name)),
                                responses((status = 200, description = "The record", body = Data<$answer>))
                            )]
            pub async fn get(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                Path(id): Path<String>,
            ) -> Result<Reply, ApiError> {
                Ok(Reply::ok($show(&s, &caller, &id).await?))
            }

            #[utoipa::path(
                                method(put, patch), path = $item, operation_id = concat!("update_", stringify!($name)),
                                request_body = $changes,
                                responses((status = 200, description = "The record as saved", body = Data<$answer>))
                            )]
            pub async fn update(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                method: ::http::Method,
                Path(id): Path<String>,
                body: Submitted<$changes>,
            ) -> Result<Reply, ApiError> {
                let body = if method == ::http::Method::PATCH { body } else { body.whole::<$whole>() };
                Ok(Reply::ok($update(&s, &caller, &id, body).await?))
            }

            #[utoipa::path(
                                delete, path = $item, operation_id = concat!("delete_", stringify!($name)),
                                responses((status = 204, description = "Deleted"))
                            )]
            pub async fn delete(
                State(s): State<AppState>,
                caller: Caller<$scope>,
                Path(id): Path<String>,
            ) -> Result<Reply, ApiError> {
                $remove(&s, &caller, &id).await?;
                Ok(Reply::no_content())
            }
        }
    };
}
