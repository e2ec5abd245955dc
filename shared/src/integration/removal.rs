//! Deleting integrations with all they leave behind: the password in Secrets Manager, the site's
//! structure, the posts' links, the syncs. Above the module's other parts (it knows them all;
//! none of them knows it).

use super::integrations::{self, Integration};
use crate::access::Caller;
use crate::store::{Condition, StoreError, Write};
use crate::{ApiError, Services, secrets};

/// Deletes an integration and what it leaves behind (owners and admins).
pub async fn delete(services: &Services, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let integration = integrations::visible(services, caller, id).await?;
    caller.require_manager()?;
    let key = Integration::key(&integration.account_id, &integration.id);
    services
        .store()
        .await
        .transact(vec![Write::Delete(key, Some(Condition::exists()))])
        .await
        .map_err(StoreError::gone_is_not_found)?;
    secrets::delete(services, &integration.secret(services)).await?;
    delete_remains(services, &integration).await
}

/// What an integration leaves behind: its structure, its posts' links, its syncs.
async fn delete_remains(services: &Services, integration: &Integration) -> Result<(), ApiError> {
    let mut remains = super::posts::keys_of(services, &integration.account_id, &integration.id).await?;
    remains.extend(super::sync::keys_of(services, integration).await?);
    remains.push(super::plugin::structure_key(&integration.account_id, &integration.id));
    services.store().await.delete_batch(&remains).await?;
    Ok(())
}

/// Removes a deleted site's integrations and what they leave behind (the module's part of a
/// site's purge, [`crate::purge::SitePurgeHook`]).
pub fn purge_site<'a>(
    services: &'a Services,
    account_id: &'a str,
    site_id: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(async move {
        for integration in integrations::of_site(services, account_id, site_id).await? {
            secrets::delete(services, &integration.secret(services)).await?;
            delete_remains(services, &integration).await?;
            let key = Integration::key(account_id, &integration.id);
            services.store().await.delete_batch(&[key]).await?;
        }
        Ok(())
    })
}
