//! The baseline of the auth benchmarks: a Lambda that answers `GET auth/me/` with the least work
//! that can be called the same job, written the plain way of the runtime's examples: verify the
//! bearer JWT (HS256, key from Secrets Manager on first use), read the user with one `GetItem`,
//! answer its email. No routing, no envelope, no rate limit, no logs. Configured like the
//! project's functions (`TABLE_NAME`, `JWT_SECRET_ID`, `AWS_ENDPOINT_URL`).

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

#[derive(Deserialize)]
struct Claims {
    user_id: String,
    account_id: String,
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    secrets: aws_sdk_secretsmanager::Client,
    table: String,
    secret_id: String,
}

static CLIENTS: OnceCell<Clients> = OnceCell::const_new();
static KEY: OnceCell<DecodingKey> = OnceCell::const_new();

async fn clients() -> &'static Clients {
    CLIENTS
        .get_or_init(|| async {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                loader = loader.endpoint_url(endpoint);
            }
            let sdk = loader.load().await;
            Clients {
                dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
                secrets: aws_sdk_secretsmanager::Client::new(&sdk),
                table: std::env::var("TABLE_NAME").unwrap_or_default(),
                secret_id: std::env::var("JWT_SECRET_ID").unwrap_or_default(),
            }
        })
        .await
}

async fn key(clients: &Clients) -> Result<&'static DecodingKey, Error> {
    KEY.get_or_try_init(|| async {
        let out = clients.secrets.get_secret_value().secret_id(&clients.secret_id).send().await?;
        let secret = out.secret_string().unwrap_or_default().trim().to_owned();
        let bytes = base64::engine::general_purpose::STANDARD.decode(&secret).unwrap_or_else(|_| secret.into_bytes());
        Ok::<_, Error>(DecodingKey::from_secret(&bytes))
    })
    .await
}

fn answer(status: u16, body: Value) -> Value {
    json!({"statusCode": status, "headers": {"content-type": "application/json"}, "body": body.to_string()})
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let header = event.payload["headers"]["authorization"].as_str().unwrap_or_default();
    let Some(token) = header.strip_prefix("Bearer ") else {
        return Ok(answer(401, json!({"detail": "unauthenticated"})));
    };
    let clients = clients().await;
    let Ok(jsonwebtoken::TokenData { claims, .. }) =
        jsonwebtoken::decode::<Claims>(token, key(clients).await?, &Validation::new(Algorithm::HS256))
    else {
        return Ok(answer(401, json!({"detail": "unauthenticated"})));
    };
    let found = clients
        .dynamodb
        .get_item()
        .table_name(&clients.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#{}", claims.account_id)))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", claims.user_id)))
        .consistent_read(true)
        .send()
        .await?;
    match found.item.as_ref().and_then(|item| item.get("email")).and_then(|email| email.as_s().ok()) {
        Some(email) => Ok(answer(200, json!({"id": claims.user_id, "email": email}))),
        None => Ok(answer(401, json!({"detail": "unauthenticated"}))),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
