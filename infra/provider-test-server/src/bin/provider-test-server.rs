//! `provider-test-server [--port 8089]`: the provider test server for offline development.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = args.windows(2).find(|w| w[0] == "--port").and_then(|w| w[1].parse().ok()).unwrap_or(8089);
    let server = provider_test_server::ProviderTestServer::start_on(port).await?;
    println!("provider TEST server (not a real AI provider) on {}", server.base_url());
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
