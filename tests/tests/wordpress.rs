//! The real WordPress that the test command starts on loopback (`scripts/wordpress.sh`, Debian's
//! packages) answers the project's guarded outbound client the way publishing will use it: its
//! REST API, a user found by its application password with what it may do, a wrong password
//! refused. Without it these tests fail, saying how to start it; they are never skipped.

use std::time::Duration;

use api_tests::spawn_app;
use api_tests::wordpress::env;
use igny8_domain::outbound::{Outbound, OutboundRequest};
use serde_json::Value;

/// Whether WordPress says `user` may publish, asked as that user with `password`.
async fn may_publish(http: &Outbound, me: &str, user: &str, password: &str) -> bool {
    let answer = http.send(OutboundRequest::get(me, Duration::from_secs(20)).basic(user, password)).await;
    let answer = answer.expect("WordPress answers");
    assert_eq!(answer.status, 200, "{user}: {}", String::from_utf8_lossy(&answer.body));
    assert!(!String::from_utf8_lossy(&answer.body).contains(password));
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    body["capabilities"]["publish_posts"].as_bool().unwrap_or(false)
}

#[tokio::test]
async fn the_test_wordpress_answers_its_rest_api_to_an_application_password() {
    let app = spawn_app().await;
    let http = app.services.http().await;
    let base = env("WORDPRESS_URL");
    let timeout = Duration::from_secs(20);
    let json = |body: &[u8]| serde_json::from_slice::<Value>(body).expect("JSON");

    let index = http.send(OutboundRequest::get(&format!("{base}/wp-json/"), timeout)).await.expect("WordPress answers");
    assert_eq!(index.status, 200);
    let index = json(&index.body);
    assert!(index["namespaces"].as_array().unwrap().iter().any(|n| n == "wp/v2"), "{index}");

    let me = format!("{base}/wp-json/wp/v2/users/me?context=edit");
    assert!(may_publish(http, &me, &env("WORDPRESS_ADMIN_USER"), &env("WORDPRESS_ADMIN_APP_PASSWORD")).await);
    assert!(may_publish(http, &me, &env("WORDPRESS_AUTHOR_USER"), &env("WORDPRESS_AUTHOR_APP_PASSWORD")).await);
    assert!(
        !may_publish(http, &me, &env("WORDPRESS_CONTRIBUTOR_USER"), &env("WORDPRESS_CONTRIBUTOR_APP_PASSWORD")).await
    );

    let wrong = OutboundRequest::get(&me, timeout).basic("admin", "not the application password");
    assert_eq!(http.send(wrong).await.expect("WordPress answers").status, 401);
}
