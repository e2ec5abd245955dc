//! `events/` holds one API Gateway (HTTP API, payload 2.0) event per route of `template.yaml`,
//! usable with `cargo lambda invoke --data-file`; each one reaches its function and is answered in
//! the envelope.

use std::collections::BTreeSet;

use api_tests::spawn_app;
use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use local_stack::bootstrap::local_sdk_config;
use local_stack::names::workspace_root;
use local_stack::template::Template;
use serde_json::Value;

#[tokio::test]
async fn every_route_has_an_event_that_its_function_answers() {
    let template = Template::load_default().unwrap();
    let dir = workspace_root().join("events");
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        events.push((path, json));
    }
    let event_routes: BTreeSet<String> =
        events.iter().filter_map(|(_, e)| e["routeKey"].as_str().map(str::to_owned)).collect();
    for route in &template.routes {
        let key = format!("{} {}", route.method, route.path);
        assert!(event_routes.contains(&key), "no event in events/ for {key}");
    }

    let app = spawn_app().await;
    let sdk = local_sdk_config(&api_tests::endpoint()).await;
    let handlers = local_stack::functions::handlers(&app.provisioned.config, &sdk);
    for (path, event) in events {
        if event["detail-type"] == "Scheduled Event" {
            // The EventBridge schedule's event: the replenisher reads its period from it.
            let report = credit_replenisher::handle(&app.services, &event).await.unwrap();
            assert_eq!(report.period, "2026-12", "{}", path.display());
            continue;
        }
        let route_key = event["routeKey"].as_str().unwrap_or_default().to_owned();
        let route = template
            .routes
            .iter()
            .find(|r| format!("{} {}", r.method, r.path) == route_key)
            .unwrap_or_else(|| panic!("{}: routeKey {route_key} is not a template route", path.display()));
        let request: LambdaRequest = serde_json::from_value(event).unwrap();
        let response = handlers[route.binary.as_str()](lambda_http::Request::from(request)).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        if route.binary == "docs" && !route.path.contains('+') {
            // The contract's document and pages, not envelopes.
            assert_eq!(status, 200, "{}", path.display());
            continue;
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(body["success"].is_boolean() && body["request_id"].is_string(), "{}: {body}", path.display());
    }
}
