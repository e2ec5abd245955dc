//! The WordPress plugin's API keys (domain, before their routes and the authorizer): a key is
//! answered once and resolves to its account and site; what is stored and listed never holds it;
//! a wrong secret, a key of no one, anything malformed or a revoked key resolves to nothing; and
//! only the key's own account can revoke it.

use api_tests::spawn_app;
use igny8_domain::integration::api_keys::{self, KEY_PREFIX, KeyIdentity};

#[tokio::test]
async fn a_key_resolves_to_its_site_until_revoked_and_is_never_stored() {
    let app = spawn_app().await;
    let a = app.tenant("keys-a@integration.example", "starter").await;
    let b = app.tenant("keys-b@integration.example", "starter").await;
    let s = &app.services;

    let (stored, key) = api_keys::create(s, &a.account_id, &a.site, "Plugin on example.com", &a.user_id).await.unwrap();
    assert!(key.starts_with(KEY_PREFIX), "{key}");
    let secret = key.rsplit('_').next().unwrap().to_owned();
    let identity = api_keys::resolve(s, &key).await.unwrap();
    assert_eq!(
        identity,
        Some(KeyIdentity { key_id: stored.id.clone(), account_id: a.account_id.clone(), site_id: a.site.clone() })
    );

    // Neither the stored item nor the list holds the key or its secret.
    let items = app.partitions(&[format!("APIKEY#{}", stored.id)]).await;
    assert_eq!(items.len(), 1);
    let raw = format!("{:?}", items[0]);
    assert!(!raw.contains(&secret) && !raw.contains(&key), "{raw}");
    let listed = api_keys::list(s, &a.account_id).await.unwrap();
    assert_eq!(listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), [stored.id.as_str()]);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret));
    assert!(api_keys::list(s, &b.account_id).await.unwrap().is_empty(), "another account lists none of it");

    // A wrong secret, a key of no one, and anything malformed resolve to nothing.
    let mut wrong = key.clone();
    wrong.pop();
    wrong.push(if key.ends_with('A') { 'B' } else { 'A' });
    let nobody = format!("{KEY_PREFIX}{}_{secret}", igny8_domain::ids::new_id());
    for presented in [wrong, nobody, String::new(), "x".repeat(100_000), format!("{key}\u{0}"), key.to_uppercase()] {
        assert_eq!(api_keys::resolve(s, &presented).await.unwrap(), None, "{}", &presented[..presented.len().min(80)]);
    }

    // Only its own account revokes it; then it resolves to nothing.
    let foreign = api_keys::revoke(s, &b.account_id, &stored.id).await.unwrap_err();
    assert_eq!(foreign.status().as_u16(), 404);
    assert!(api_keys::resolve(s, &key).await.unwrap().is_some(), "still live");
    api_keys::revoke(s, &a.account_id, &stored.id).await.unwrap();
    assert_eq!(api_keys::resolve(s, &key).await.unwrap(), None);
    assert_eq!(api_keys::revoke(s, &a.account_id, &stored.id).await.unwrap_err().status().as_u16(), 404);
}

#[tokio::test]
async fn owners_and_admins_create_list_and_revoke_keys_through_the_api_and_the_key_is_answered_once() {
    let app = spawn_app().await;
    let a = app.tenant("keys-api@integration.example", "agency").await;
    let b = app.tenant("keys-api-b@integration.example", "agency").await;
    let owner = Some(a.token.as_str());
    const KEYS: &str = "/api/v1/integration/api-keys/";

    let bad = app.post(KEYS, &serde_json::json!({"site_id": b.site, "name": ""}), owner).await;
    assert!(!bad.field_errors("name").is_empty(), "{}", bad.body);
    let foreign = app.post(KEYS, &serde_json::json!({"site_id": b.site, "name": "Plugin"}), owner).await;
    assert!(!foreign.field_errors("site_id").is_empty(), "{}", foreign.body);
    assert_eq!(app.get(KEYS, owner).await.body["count"], serde_json::json!(0));

    let created = app.post(KEYS, &serde_json::json!({"site_id": a.site, "name": "Plugin on example.com"}), owner).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.data()["key"].as_str().unwrap().to_owned();
    let id = created.data()["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(KEY_PREFIX) && key.starts_with(created.data()["hint"].as_str().unwrap()));
    let listed = app.get(KEYS, owner).await;
    assert_eq!(listed.body["count"], serde_json::json!(1));
    assert!(!listed.body.to_string().contains(&key), "the list holds the key");
    assert!(listed.body["results"][0].get("key").is_none());
    assert_eq!(app.get(KEYS, Some(&b.token)).await.body["count"], serde_json::json!(0));
    assert_eq!(app.call("DELETE", &format!("{KEYS}{id}/"), None, Some(&b.token)).await.status, 404);

    let resolved = api_keys::resolve(&app.services, &key).await.unwrap().expect("a live key");
    assert_eq!((resolved.account_id, resolved.site_id), (a.account_id.clone(), a.site.clone()));
    assert_eq!(app.call("DELETE", &format!("{KEYS}{id}/"), None, owner).await.status, 204);
    assert_eq!(api_keys::resolve(&app.services, &key).await.unwrap(), None);
    assert_eq!(app.call("DELETE", &format!("{KEYS}{id}/"), None, owner).await.status, 404);
}
