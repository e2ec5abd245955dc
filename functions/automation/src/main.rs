#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::http::run(|services| automation_function::MODULE.router(services)).await
}
