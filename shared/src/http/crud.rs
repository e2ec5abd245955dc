//! The five routes of a collection, declared once: [`crate::crud`] over any module's functions,
//! [`crate::sector_crud`] for the sector-scoped records of the planner and the writer (which
//! builds those functions from the record type and hands them to `crud!`).

/// Declares `pub mod $name` with the five handlers of a collection — `list` and `create` on
/// `$list`; `get`, `update` (PUT and PATCH) and `delete` on `$item` — over the module's
/// functions, counted in the throttle scope `$scope` and answered as `$answer` in the OpenAPI
/// document:
///
/// - `index: f` — `f(&Services, &Caller, &query) -> Result<Vec<Value>, ApiError>`, one page of
///   which is answered (its query parameters documented by `params: P`, an `IntoParams`, when
///   given);
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
        $(params: $params:ty,)?
        index: $index:path,
        create: $new:ty => $create:path,
        show: $show:path,
        update: $whole:ty, $changes:ty => $update:path,
        remove: $remove:path $(,)?
    ) => {
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::crud!(@handlers $name, $list, $item, $scope, $answer, [$($params)?],
                $index, $new => $create, $show, $whole, $changes => $update, $remove);
        }
    };
    (@handlers $name:ident, $list:literal, $item:literal, $scope:ty, $answer:ty, [$($params:ty)?],
        $index:path, $new:ty => $create:path, $show:path, $whole:ty, $changes:ty => $update:path, $remove:path) => {
        $crate::crud!(@imports);

        #[utoipa::path(
            get, path = $list, operation_id = concat!("list_", stringify!($name)),
            $(params($params),)?
            responses((status = 200, description = "One page of the list", body = Paged<$answer>))
        )]
        pub async fn list(State(s): State<AppState>, caller: Caller<$scope>, ctx: Ctx) -> Result<Reply, ApiError> {
            ctx.page($index(&s, &caller, ctx.query()).await?)
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

        $crate::crud!(@writes $name, $list, $item, $scope, $answer, $new => $create, $whole, $changes => $update, $remove);
    };
    (@imports) => {
        #[allow(unused_imports)]
        use ::axum::extract::{Path, State};
        #[allow(unused_imports)]
        use $crate::ApiError;
        #[allow(unused_imports)]
        use $crate::http::openapi::{Data, Paged};
        #[allow(unused_imports)]
        use $crate::http::{AppState, Caller, Ctx, Reading, Reply};
        #[allow(unused_imports)]
        use $crate::validation::Submitted;
    };
    (@writes $name:ident, $list:literal, $item:literal, $scope:ty, $answer:ty,
        $new:ty => $create:path, $whole:ty, $changes:ty => $update:path, $remove:path) => {
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
    };
}

/// Declares `pub mod $name` with the handlers of a sector-scoped collection (see [`crate::crud`])
/// over the domain module `$domain` (its `LIST`, `list`, `create`, `update` and `delete`) and the
/// record type `$record`: created from the typed body `$new`, changed by `$changes` (PUT and
/// PATCH alike), found with [`crate::planner::scope::visible`] and answered by its
/// [`SectorRecord::answer`](crate::planner::SectorRecord::answer), updated after
/// [`crate::planner::scope::writable`] has found it.
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
            #[allow(unused_imports)]
            use super::*;
            use $crate::records::{SectorRecord, scope};

            /// The list's query parameters: the domain module's `LIST`.
            pub struct Filters;

            impl ::utoipa::IntoParams for Filters {
                fn into_params(
                    _: impl Fn() -> Option<::utoipa::openapi::path::ParameterIn>,
                ) -> Vec<::utoipa::openapi::path::Parameter> {
                    $($domain)::+::LIST.params()
                }
            }

            async fn new(
                s: &$crate::Services,
                caller: &$crate::access::Caller,
                body: $crate::validation::Submitted<$new>,
            ) -> Result<::serde_json::Value, $crate::ApiError> {
                $($domain)::+::create(s, caller, body.read()?).await
            }

            async fn change(
                s: &$crate::Services,
                caller: &$crate::access::Caller,
                id: &str,
                body: $crate::validation::Submitted<$changes>,
            ) -> Result<::serde_json::Value, $crate::ApiError> {
                // Another account's record is a 404 whatever the body says.
                let before = scope::writable::<$record>(s, caller, id).await?;
                $($domain)::+::update(s, caller, before, body.read()?).await
            }

            $crate::crud!(@imports);

            #[utoipa::path(
                get, path = $list, operation_id = concat!("list_", stringify!($name)),
                params(Filters),
                responses((status = 200, description = "One page of the list", body = Paged<$answer>))
            )]
            pub async fn list(
                State(s): State<AppState>,
                reading: Reading<$scope>,
                ctx: Ctx,
            ) -> Result<Reply, ApiError> {
                let (services, query) = (&*s, ctx.query());
                // One sector in its default order, at most narrowed by status: a page of an index.
                if let Some(plan) = $crate::records::pages::keyed::<$record>(query, &$($domain)::+::LIST)? {
                    let plan = &plan;
                    let read = move |account: String| async move {
                        $crate::records::pages::read_keyed::<$record>(services, &account, plan).await
                    };
                    let (caller, read) = reading.read(read).await?;
                    let site = query.get("site_id").map(|s| s.trim()).filter(|s| !s.is_empty());
                    let page = $crate::records::pages::keyed_page(
                        |site| caller.can_read_site(site), plan, read, site, &ctx.links(),
                    )?;
                    let results = <$record as SectorRecord>::answers(services, page.results).await?;
                    return Ok(Reply::page($crate::pagination::Page {
                        count: page.count,
                        next: page.next,
                        previous: page.previous,
                        results,
                    }));
                }
                let read = move |account: String| async move {
                    scope::read_list::<$record>(services, &account, query).await
                };
                let (caller, read) = reading.read(read).await?;
                let records = scope::visible_list(&caller, read, query)?;
                ctx.page($($domain)::+::list(services, records, query).await?)
            }

            #[utoipa::path(
                get, path = $item, operation_id = concat!("get_", stringify!($name)),
                responses((status = 200, description = "The record", body = Data<$answer>))
            )]
            pub async fn get(
                State(s): State<AppState>,
                reading: Reading<$scope>,
                Path(id): Path<String>,
            ) -> Result<Reply, ApiError> {
                let (services, id) = (&*s, id.as_str());
                let find = move |account: String| async move {
                    $crate::planner::find::<$record>(services, &account, id).await
                };
                let (caller, found) = reading.read(find).await?;
                let record = scope::visible_found(&caller, found)?;
                Ok(Reply::ok(<$record as SectorRecord>::answer(services, record).await?))
            }

            $crate::crud!(@writes $name, $list, $item, $scope, $answer,
                $new => new, $changes, $changes => change, $($domain)::+::delete);
        }
    };
}
