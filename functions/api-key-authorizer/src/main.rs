//! The API-key authorizer: resolves the plugin's `Authorization: Bearer igny8_...` key to its
//! account and site (`igny8_domain::integration::authorizer`). A store failure fails the
//! invocation, which API Gateway answers 500 and does not cache.

use aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, request: ApiGatewayV2CustomAuthorizerV2Request, _| async move {
        Ok(igny8_domain::integration::authorizer::authorize(&services, request).await?)
    })
    .await
}
