//! API keys of a site, for its WordPress plugin: created by an owner or admin, shown once, stored
//! only as a hash, resolved by the API-key authorizer to the account and site they belong to.
//!
//! A key reads `igny8_<key id>_<secret>`: the id (a UUID) names the stored item, so a key is
//! resolved with one `GetItem`; the secret is 32 random bytes (base64url), kept as its SHA-256
//! (a random secret needs no slow hash: nothing can be guessed from it) and compared in constant
//! time. An item is `APIKEY#<id>` / `APIKEY`, on GSI1 under its account
//! (`ACCOUNT#<a>#APIKEY` / `APIKEY#<id>`) for the list. Revoking deletes it; an authorizer's
//! cached answer lives at most its cache window.

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::store::{Condition, Item, Key, Query, Write, keys};
use crate::{ApiError, Services, ids};

/// What every key starts with (so that a leaked one is recognised by secret scanners).
pub const KEY_PREFIX: &str = "igny8_";
const ENTITY: &str = "ApiKey";

/// A stored key: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub name: String,
    /// SHA-256 of the secret, hex.
    secret_sha256: String,
    /// The key's first characters, to tell keys apart in a list.
    pub hint: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Who a key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIdentity {
    pub key_id: String,
    pub account_id: String,
    pub site_id: String,
}

fn item_key(key_id: &str) -> Key {
    Key::new(format!("APIKEY#{key_id}"), "APIKEY")
}

fn list_gsi1(account_id: &str, key_id: &str) -> (String, String) {
    (format!("{}#APIKEY", keys::account_pk(account_id)), format!("APIKEY#{key_id}"))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A key as presented: its id and secret, if it reads as one of ours.
fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.trim().strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (ids::is_valid_id(id) && secret.len() == 43).then_some((id, secret))
}

impl ApiKey {
    fn item(&self) -> Result<Item, ApiError> {
        Ok(Item::new(&item_key(&self.id), ENTITY, self)?.gsi1(list_gsi1(&self.account_id, &self.id)))
    }
}

/// Creates a key for `site_id` (of `account_id`: the caller checks both) and answers it with the
/// key itself, which is never seen again.
pub async fn create(
    services: &Services,
    account_id: &str,
    site_id: &str,
    name: &str,
    created_by: &str,
) -> Result<(ApiKey, String), ApiError> {
    let id = ids::new_id();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let key = format!("{KEY_PREFIX}{id}_{secret}");
    let stored = ApiKey {
        id: id.clone(),
        account_id: account_id.to_owned(),
        site_id: site_id.to_owned(),
        name: name.to_owned(),
        secret_sha256: sha256_hex(&secret),
        hint: key.chars().take(KEY_PREFIX.len() + 8).collect(),
        created_by: created_by.to_owned(),
        created_at: OffsetDateTime::now_utc(),
    };
    services.store().await.put(stored.item()?, Some(Condition::not_exists())).await?;
    Ok((stored, key))
}

/// The account's keys (GSI1), newest first.
pub async fn list(services: &Services, account_id: &str) -> Result<Vec<ApiKey>, ApiError> {
    let (pk, _) = list_gsi1(account_id, "");
    let items = services.store().await.query_all(Query::index(keys::GSI1, pk).newest_first()).await?;
    Ok(items.into_iter().map(crate::store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// One key of the account (read from the table itself).
pub async fn get(services: &Services, account_id: &str, key_id: &str) -> Result<Option<ApiKey>, ApiError> {
    if !ids::is_valid_id(key_id) {
        return Ok(None);
    }
    let found: Option<ApiKey> = services.store().await.get(&item_key(key_id)).await?;
    Ok(found.filter(|k| k.account_id == account_id))
}

/// Revokes a key of the account: it resolves to nothing from now on (an authorizer's cached
/// answer, for its cache window).
pub async fn revoke(services: &Services, account_id: &str, key_id: &str) -> Result<(), ApiError> {
    if get(services, account_id, key_id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let condition = Condition::new("account_id = :account").value(":account", crate::store::s(account_id));
    let delete = Write::Delete(item_key(key_id), Some(condition));
    services.store().await.transact(vec![delete]).await.map_err(|e| e.gone_is_not_found())
}

/// Whom a presented key speaks for, if it is a live key: one `GetItem`, the secret compared in
/// constant time. Anything else (malformed, unknown, revoked, wrong secret) is `None`.
pub async fn resolve(services: &Services, presented: &str) -> Result<Option<KeyIdentity>, ApiError> {
    let Some((id, secret)) = parse(presented) else { return Ok(None) };
    let Some(stored) = services.store().await.get::<ApiKey>(&item_key(id)).await? else { return Ok(None) };
    if !same(&stored.secret_sha256, &sha256_hex(secret)) {
        return Ok(None);
    }
    Ok(Some(KeyIdentity { key_id: stored.id, account_id: stored.account_id, site_id: stored.site_id }))
}

/// A key as the API answers it: never the key (but at its creation, [`CreatedKey`]).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyAnswer {
    pub id: String,
    pub site_id: String,
    pub name: String,
    /// The key's first characters.
    pub hint: String,
    pub created_by: String,
    pub created_at: String,
}

/// A key just created: the only answer that holds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub api_key: ApiKeyAnswer,
    /// The key: shown once, kept nowhere (give it to the site's WordPress plugin).
    pub key: String,
}

impl ApiKey {
    pub fn answer(&self) -> ApiKeyAnswer {
        ApiKeyAnswer {
            id: self.id.clone(),
            site_id: self.site_id.clone(),
            name: self.name.clone(),
            hint: self.hint.clone(),
            created_by: self.created_by.clone(),
            created_at: crate::accounts::rfc3339(self.created_at),
        }
    }
}

crate::input! {
    /// A new key: the site it opens, and a name to recognise it by.
    pub struct NewApiKey {
        site_id: required String = crate::validation::input::Id,
        name: required String = crate::validation::input::Bounded(crate::validation::max::NAME),
    }
}

/// `api-keys/`: the account's keys, newest first, `site_id` filtering (owners and admins).
pub async fn list_keys(
    services: &Services,
    caller: &crate::access::Caller,
    query: &std::collections::HashMap<String, String>,
) -> Result<Vec<serde_json::Value>, ApiError> {
    caller.require_manager()?;
    let site = query.get("site_id").map(|s| s.trim()).filter(|s| !s.is_empty());
    Ok(list(services, caller.account_id())
        .await?
        .iter()
        .filter(|k| site.is_none_or(|s| s == k.site_id))
        .map(|k| crate::http::answer(k.answer()))
        .collect())
}

/// `POST api-keys/` (owners and admins): the key, once.
pub async fn create_key(
    services: &Services,
    caller: &crate::access::Caller,
    body: crate::validation::Submitted<NewApiKey>,
) -> Result<CreatedKey, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    if crate::sites::visible_site(services, caller, &input.site_id).await.is_err() {
        return Err(ApiError::field("site_id", format!("Invalid pk \"{}\" - object does not exist.", input.site_id)));
    }
    let name = input.name.trim().to_owned();
    let (stored, key) = create(services, caller.account_id(), &input.site_id, &name, &caller.user.id).await?;
    tracing::info!(key_id = %stored.id, site_id = %stored.site_id, "API key created");
    Ok(CreatedKey { api_key: stored.answer(), key })
}

/// `DELETE api-keys/{id}/` (owners and admins).
pub async fn revoke_key(services: &Services, caller: &crate::access::Caller, key_id: &str) -> Result<(), ApiError> {
    // Another account's key is a 404 for everyone; a member's 403 comes after finding it.
    if get(services, caller.account_id(), key_id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    caller.require_manager()?;
    revoke(services, caller.account_id(), key_id).await?;
    tracing::info!(key_id = %key_id, "API key revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_parses_only_in_its_own_shape() {
        let id = ids::new_id();
        let secret = "a".repeat(43);
        assert_eq!(parse(&format!("igny8_{id}_{secret}")), Some((id.as_str(), secret.as_str())));
        assert_eq!(parse(&format!(" igny8_{id}_{secret}\n")), Some((id.as_str(), secret.as_str())));
        for bad in [
            format!("igny8_{id}_{}", "a".repeat(42)),
            format!("other_{id}_{secret}"),
            format!("igny8_not-an-id_{secret}"),
            format!("igny8_{id}"),
            String::new(),
            "igny8_".repeat(1000),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        let h = sha256_hex("secret");
        assert_eq!(h.len(), 64);
        assert!(same(&h, &sha256_hex("secret")));
        assert!(!same(&h, &sha256_hex("secreT")));
        assert!(!same(&h, &h[..63]));
    }
}
