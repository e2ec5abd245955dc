//! The permission model, applied by every function:
//!
//! - `developer` and `system_bot` may act on any account (name it with `?account_id=`);
//! - `owner` and `admin` manage their account: users, billing, and all of its sites;
//! - `editor` works on the sites granted to it; `viewer` only reads the sites granted to it.
//!
//! A record of another account, or a site the caller was not granted, is answered 404 (not 403) so
//! that its existence does not leak; a known record the caller may see but not change is 403.

use std::collections::{BTreeSet, HashMap};

use crate::accounts::{Account, Principal, Role, User};
use crate::store::{self, Key, Query, keys};
use crate::{ApiError, Services, ids};

/// The authenticated caller and the account its request acts on.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The account the request acts on (the caller's own, or another for cross-account roles).
    pub account: Account,
    /// Sites granted to an editor or viewer; `None` means every site of the account.
    grants: Option<BTreeSet<String>>,
}

impl Caller {
    /// Resolves the account the request acts on and, for editors and viewers, their site grants.
    pub async fn resolve(
        services: &Services,
        principal: Principal,
        query: &HashMap<String, String>,
    ) -> Result<Self, ApiError> {
        Self::resolve_with(services, principal, query, None).await
    }

    /// [`Self::resolve`] with the user's grants in its own account when they were read already
    /// (at the same time as the user, for a token whose role hint was editor or viewer).
    pub async fn resolve_with(
        services: &Services,
        principal: Principal,
        query: &HashMap<String, String>,
        grants_read: Option<BTreeSet<String>>,
    ) -> Result<Self, ApiError> {
        let Principal { user, account } = principal;
        let crosses = crosses_accounts(user.role);
        let account = match query.get("account_id").filter(|id| crosses && **id != account.id) {
            Some(other) if ids::is_valid_id(other) => {
                services.store().await.get::<Account>(&Key::account(other)).await?.ok_or_else(ApiError::not_found)?
            }
            Some(_) => return Err(ApiError::not_found()),
            None => account,
        };
        let grants = match (user.role, grants_read) {
            (role, Some(read)) if sees_granted_sites_only(role) && account.id == user.account_id => Some(read),
            (role, _) if sees_granted_sites_only(role) => Some(granted_sites(services, &account.id, &user.id).await?),
            _ => None,
        };
        Ok(Self { user, account, grants })
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn account_id(&self) -> &str {
        &self.account.id
    }

    /// Owner, admin, or a cross-account role.
    pub fn is_manager(&self) -> bool {
        matches!(self.role(), Role::Owner | Role::Admin) || crosses_accounts(self.role())
    }

    pub fn crosses_accounts(&self) -> bool {
        crosses_accounts(self.role())
    }

    /// 403 unless the caller manages the account.
    pub fn require_manager(&self) -> Result<(), ApiError> {
        if self.is_manager() { Ok(()) } else { Err(ApiError::permission_denied()) }
    }

    /// 403 unless the caller is a cross-account role.
    pub fn require_platform(&self) -> Result<(), ApiError> {
        if self.crosses_accounts() { Ok(()) } else { Err(ApiError::permission_denied()) }
    }

    /// Whether the caller may see `site_id` (of the acted-on account).
    pub fn can_read_site(&self, site_id: &str) -> bool {
        self.grants.as_ref().is_none_or(|g| g.contains(site_id))
    }

    /// Whether the caller may change `site_id` and its contents.
    pub fn can_write_site(&self, site_id: &str) -> bool {
        match self.role() {
            Role::Viewer => false,
            _ => self.can_read_site(site_id),
        }
    }

    /// 404 if the caller may not see the site, 403 if it may see but not change it.
    pub fn require_site_write(&self, site_id: &str) -> Result<(), ApiError> {
        if !self.can_read_site(site_id) {
            Err(ApiError::not_found())
        } else if !self.can_write_site(site_id) {
            Err(ApiError::permission_denied())
        } else {
            Ok(())
        }
    }
}

/// Whether a user of `role` sees only the sites granted to it.
pub fn sees_granted_sites_only(role: Role) -> bool {
    matches!(role, Role::Editor | Role::Viewer)
}

fn crosses_accounts(role: Role) -> bool {
    matches!(role, Role::Developer | Role::SystemBot)
}

/// The site ids granted to a user (`SITEACCESS#<user>#` items of the account).
pub async fn granted_sites(services: &Services, account_id: &str, user_id: &str) -> Result<BTreeSet<String>, ApiError> {
    let items = services
        .store()
        .await
        .query_all(
            Query::partition(keys::account_pk(account_id)).sk_prefix(format!("{}{user_id}#", keys::SITE_ACCESS_PREFIX)),
        )
        .await?;
    Ok(items
        .into_iter()
        .filter_map(|item| store::decode::<crate::sites::SiteAccess>(item).ok().map(|a| a.site_id))
        .collect())
}

/// The roles (`/api/v1/auth/groups/`), with what each may do.
pub fn roles() -> Vec<RoleAnswer> {
    [
        (Role::Owner, "Owner", "Created the account; manages its users, billing and every site."),
        (Role::Admin, "Admin", "Manages the account's users, billing and every site."),
        (Role::Editor, "Editor", "Works on the sites granted to it: keywords, content, publishing."),
        (Role::Viewer, "Viewer", "Reads the sites granted to it."),
        (Role::Developer, "Developer", "Platform operator: may act on any account."),
        (Role::SystemBot, "System bot", "Platform automation: may act on any account."),
    ]
    .into_iter()
    .map(|(id, name, description)| RoleAnswer { id, name, description })
    .collect()
}

/// A role a user may have (`auth/groups/`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RoleAnswer {
    pub id: Role,
    pub name: &'static str,
    pub description: &'static str,
}
