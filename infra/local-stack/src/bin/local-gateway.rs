//! `local-gateway [--port 8000] [--prefix igny8-local] [--provider-port 8089 | --no-provider-test-server]`:
//! bootstraps the local resources on `AWS_ENDPOINT_URL`, then serves the whole `/api/v1` by the
//! routes of `template.yaml` until Ctrl-C (or SIGTERM).

use std::sync::Arc;

use local_stack::bootstrap::{bootstrap, local_sdk_config};
use local_stack::gateway::{Gateway, serve};
use local_stack::template::{Template, routes_by_function};
use local_stack::{LocalNames, functions};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    igny8_domain::telemetry::init();
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").map(|p| p.parse()).transpose()?.unwrap_or(8000);
    let prefix = arg(&args, "--prefix").unwrap_or_else(|| "igny8-local".into());
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL must name the local endpoint")?;

    let template = Template::load_default()?;
    let mut provisioned = bootstrap(&endpoint, &LocalNames::new(prefix), &template).await?;
    // Accounts without their own provider settings use the provider TEST server, here only.
    let provider = if args.iter().any(|a| a == "--no-provider-test-server") {
        None
    } else {
        let provider_port: u16 = arg(&args, "--provider-port").map(|p| p.parse()).transpose()?.unwrap_or(8089);
        let server = provider_test_server::ProviderTestServer::start_on(provider_port).await?;
        provisioned.config.provider_test_server_url = Some(server.base_url());
        Some(server)
    };
    // Pagination links point at this gateway, as they would at the API's domain in AWS.
    let base = format!("http://localhost:{port}");
    provisioned.config.public_base_url = Some(base.clone());
    // A failed job comes back after 5 s (doubling), not the queue's visibility timeout.
    provisioned.config.retry_delay = std::time::Duration::from_secs(5);
    let sdk = local_sdk_config(&endpoint).await;
    let handlers = functions::handlers(&provisioned.config, &sdk);
    let workers = functions::sqs_handlers(&provisioned.config, &sdk, igny8_domain::modules::ai_functions());
    local_stack::workers::start_all(&template, &provisioned.queue_urls, &workers, &aws_sdk_sqs::Client::new(&sdk))?;
    let gateway = Gateway::new(&template, handlers, functions::authorizer_handlers(&provisioned.config, &sdk))?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("IGNY8 API on {base}/api/v1/  (AWS endpoint {endpoint}, table {})", provisioned.config.table_name);
    for (function, routes) in routes_by_function(gateway.routes()) {
        println!(
            "  {function}: {}",
            routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>().join(", ")
        );
    }
    for worker in &template.sqs_workers {
        println!("  {} polls {}", worker.binary, worker.queue);
    }
    if let Some(server) = &provider {
        println!(
            "AI calls of accounts without provider settings go to the provider TEST server on {}",
            server.base_url()
        );
    }
    println!("Register the first user:");
    println!("  curl -s -X POST {base}/api/v1/auth/register/ -H 'content-type: application/json' \\");
    println!("       -d '{{\"email\":\"owner@example.com\",\"password\":\"change-me-please\"}}'");
    println!("Press Ctrl-C to stop.");

    serve(listener, Arc::new(gateway), async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
    })
    .await;
    println!("local gateway stopped");
    Ok(())
}
