use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent, deadline| async move {
        Ok(ai_worker::handle(&services, event, deadline).await)
    })
    .await
}
