#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    igny8_domain::http::run(|services, request| async move { billing_function::handle(&services, request).await }).await
}
