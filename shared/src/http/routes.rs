//! A module's route list, written once: [`crate::module_routes`] makes from it both the documented
//! router (for the OpenAPI document) and the plain one its Lambda serves, which does not build
//! the operations' descriptions at start-up.

/// Declares `pub fn routes()` (an `OpenApiRouter`: the routes with their documentation) and
/// `pub fn serve()` (an axum `Router` of the same routes, without building their documentation)
/// from one list of handler groups; a group is the handlers of one path, as `routes!` takes them.
///
/// ```ignore
/// igny8_domain::module_routes! {
///     [keyword::list, keyword::create],
///     [keyword::get, keyword::update, keyword::delete],
///     [keywords::export],
/// }
/// ```
#[macro_export]
macro_rules! module_routes {
    ( $( [ $($first:ident)::+ $(, $($handler:ident)::+)* $(,)? ] ),* $(,)? ) => {
        /// The module's routes and their documentation.
        pub fn routes() -> ::utoipa_axum::router::OpenApiRouter<$crate::http::AppState> {
            ::utoipa_axum::router::OpenApiRouter::new()
                $( .routes(::utoipa_axum::routes!($($first)::+ $(, $($handler)::+)*)) )*
        }

        /// The module's routes as its function serves them (their documentation is not built).
        pub fn serve() -> ::axum::Router<$crate::http::AppState> {
            #[allow(unused_imports)]
            use ::utoipa_axum::PathItemExt as _;
            let router = ::axum::Router::new();
            $(
                let router = {
                    let path: String = ::utoipa_axum::routes!(@path [path()] of $($first)::+);
                    let mut methods = ::axum::routing::MethodRouter::new();
                    for method in ::utoipa_axum::routes!(@path [methods()] of $($first)::+) {
                        methods = methods.on(method.to_method_filter(), $($first)::+);
                    }
                    $(
                        for method in ::utoipa_axum::routes!(@path [methods()] of $($handler)::+) {
                            methods = methods.on(method.to_method_filter(), $($handler)::+);
                        }
                    )*
                    router.route(&path, methods)
                };
            )*
            router
        }
    };
}
