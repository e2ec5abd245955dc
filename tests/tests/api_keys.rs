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
