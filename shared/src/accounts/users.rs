//! Managing the users of an account (`/api/v1/auth/users/`, `/api/v1/account/team/`): owners and
//! admins only. The plan's `max_users` is enforced by a conditional count on the account, in the
//! same transaction as the new user and its email.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Email, Role, User};
use crate::access::Caller;
use crate::auth::{Password, PasswordHash};
use crate::store::{self, Change, Condition, Item, Key, Query, StoreError, Write, keys, n};
use crate::validation::input::{Boolean, Bounded, Text, Variant};
use crate::validation::{FieldErrors, Submitted, given, max};
use crate::{ApiError, Services, ids, sites};

/// Roles an account manager may give; the owner role is the account's creator's alone, and the
/// platform roles are given only by the platform.
fn assignable(caller: &Caller, role: Role) -> bool {
    match role {
        Role::Admin | Role::Editor | Role::Viewer => true,
        Role::Developer | Role::SystemBot => caller.crosses_accounts(),
        Role::Owner => false,
    }
}

/// The role a manager gives, checked against what `caller` may give.
fn check_role(caller: &Caller, role: Role, errors: &mut FieldErrors) {
    if !assignable(caller, role) {
        let name = serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        errors.add("role", format!("You cannot give the role \"{name}\"."));
    }
}

const ROLE: Variant<Role> = Variant::new();

crate::input! {
    /// A new user, who can sign in at once (`POST auth/users/`, `account/team/`).
    pub struct NewUser {
        email: required Email = Email::RULE,
        /// `admin`, `editor` or `viewer` (the platform roles are given by the platform only; the
        /// owner role by nobody).
        role: required Role = ROLE,
        password: required Password = Password::RULE,
        /// Defaults to the email's local part.
        username: optional String = Text(max::PERSON_NAME),
        first_name: optional String = Text(max::PERSON_NAME),
        last_name: optional String = Text(max::PERSON_NAME),
    }
}

crate::input! {
    /// An invitation: the user is created inactive, and sets a password when activated.
    pub struct Invitation {
        email: required Email = Email::RULE,
        /// `admin`, `editor` or `viewer`.
        role: required Role = ROLE,
        /// Defaults to the email's local part.
        username: optional String = Text(max::PERSON_NAME),
        first_name: optional String = Text(max::PERSON_NAME),
        last_name: optional String = Text(max::PERSON_NAME),
    }
}

crate::input! {
    /// A user as `PUT` sends it (the role required), or, as `UserChanges`, what `PATCH` changes.
    pub struct UserFields, changes UserChanges {
        role: required Role = ROLE,
        username: optional String = Bounded(max::PERSON_NAME),
        first_name: optional String = Text(max::PERSON_NAME),
        last_name: optional String = Text(max::PERSON_NAME),
        is_active: optional bool = Boolean,
        /// The email cannot change: it may only be sent as it is.
        email: optional String = Text(max::ANY_TEXT),
    }
}

crate::input! {
    /// The body of `POST users/{id}/activate/`: an invited user's password (required for them).
    pub struct Activation {
        password: optional Password = Password::RULE,
    }
}

async fn all_users(services: &Services, account_id: &str) -> Result<Vec<User>, ApiError> {
    let items = services
        .store()
        .await
        .query_all(Query::partition(keys::account_pk(account_id)).sk_prefix(keys::USER_PREFIX))
        .await?;
    Ok(items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// Users of the account; filters `role`, `is_active`, `search` (email, username, names).
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let search = query.get("search").map(|s| s.to_lowercase());
    Ok(all_users(services, caller.account_id())
        .await?
        .iter()
        .filter(|u| query.get("role").is_none_or(|r| Role::parse(r) == Some(u.role)))
        .filter(|u| query.get("is_active").is_none_or(|v| (v == "true") == u.is_active))
        .filter(|u| {
            search.as_ref().is_none_or(|q| {
                [&u.email, &u.username, &u.first_name, &u.last_name]
                    .iter()
                    .any(|f| f.to_lowercase().contains(q.as_str()))
            })
        })
        .map(User::summary_json)
        .collect())
}

/// A user of the acted-on account (managers only), else 404.
pub async fn get(services: &Services, caller: &Caller, user_id: &str) -> Result<User, ApiError> {
    caller.require_manager()?;
    services.store().await.by_id(user_id, |id| Key::user(caller.account_id(), id)).await
}

/// Creates a user who can sign in at once.
pub async fn create(services: &Services, caller: &Caller, body: Submitted<NewUser>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let NewUser { email, role, password, username, first_name, last_name } = body.read()?;
    let invitation = Invitation { email, role, username, first_name, last_name };
    add(services, caller, invitation, Some(password)).await
}

/// Creates an invited user: inactive, without a usable password until it is activated.
pub async fn invite(services: &Services, caller: &Caller, body: Submitted<Invitation>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    add(services, caller, body.read()?, None).await
}

async fn add(
    services: &Services,
    caller: &Caller,
    person: Invitation,
    password: Option<Password>,
) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    check_role(caller, person.role, &mut errors);
    errors.finish()?;
    let Invitation { email, role, username, first_name, last_name } = person;
    let username = given(username);
    let (first_name, last_name) = (first_name.unwrap_or_default(), last_name.unwrap_or_default());
    let invite = password.is_none();
    let password = match password {
        Some(p) => p,
        // An invited user gets a random password nobody knows; activation sets a real one.
        None => {
            Password::parse(format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4())).map_err(ApiError::internal)?
        }
    };
    let hash = PasswordHash::new_blocking(password).await?;
    let plan = crate::reference::any_plan(&caller.account.plan_id)?;
    let max_users = plan.map_or(1, |p| p.max_users);
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        email: email.as_str().to_owned(),
        username: username.unwrap_or_else(|| email.local_part().to_owned()),
        first_name,
        last_name,
        role,
        is_active: !invite,
        password_hash: hash,
        token_version: 0,
        date_joined: now,
        last_login: None,
        invited: invite,
    };
    let email_item =
        Item::new(&Key::email(email.as_str()), "Email", &json!({"user_id": user.id, "account_id": user.account_id}))?;
    let count = Change::new(Key::account(&user.account_id), "SET user_count = if_not_exists(user_count, :one) + :one")
        .value(":one", n(1))
        .condition(Condition::new("attribute_not_exists(user_count) OR user_count < :max").value(":max", n(max_users)));
    let writes = vec![
        Write::Put(email_item, Some(Condition::not_exists())),
        Write::Put(
            Item::new(&Key::user(&user.account_id, &user.id), "User", &user)?.gsi1(keys::user_gsi1(&user.id)),
            Some(Condition::not_exists()),
        ),
        Write::Update(count),
    ];
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(user.summary_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            Err(ApiError::field("email", "A user with this email already exists."))
        }
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&2) => Err(ApiError::field(
            "non_field_errors",
            format!("Your plan allows {max_users} user(s); remove one or upgrade the plan."),
        )),
        Err(err) => Err(err.into()),
    }
}

/// 403 when the caller may not change `target` (the owner, or a platform user, by an account
/// manager; nobody changes themselves through these endpoints).
fn require_may_change(caller: &Caller, target: &User) -> Result<(), ApiError> {
    if target.id == caller.user.id {
        return Err(ApiError::Forbidden("Use auth/me/ and change-password/ for your own user.".into()));
    }
    let protected = matches!(target.role, Role::Owner | Role::Developer | Role::SystemBot);
    if protected && !caller.crosses_accounts() {
        return Err(ApiError::permission_denied());
    }
    Ok(())
}

/// The user as the API shows it (managers only).
pub async fn show(services: &Services, caller: &Caller, user_id: &str) -> Result<Value, ApiError> {
    Ok(get(services, caller, user_id).await?.summary_json())
}

pub async fn update(
    services: &Services,
    caller: &Caller,
    user_id: &str,
    body: Submitted<UserChanges>,
) -> Result<Value, ApiError> {
    let mut user = get(services, caller, user_id).await?;
    require_may_change(caller, &user)?;
    let UserChanges { role, username, first_name, last_name, is_active, email } = body.read()?;
    let mut errors = FieldErrors::new();
    if let Some(role) = role {
        check_role(caller, role, &mut errors);
    }
    if email.is_some_and(|e| e != user.email) {
        errors.add("email", "The email cannot change.");
    }
    errors.finish()?;
    if let Some(role) = role {
        user.role = role;
    }
    if let Some(v) = username {
        user.username = v;
    }
    if let Some(v) = first_name {
        user.first_name = v;
    }
    if let Some(v) = last_name {
        user.last_name = v;
    }
    if let Some(active) = is_active {
        user.is_active = active;
    }
    let item = Item::new(&Key::user(&user.account_id, &user.id), "User", &user)?.gsi1(keys::user_gsi1(&user.id));
    // Only if nobody changed the password meanwhile (the hash is part of the item).
    let unchanged = Condition::new("token_version = :v").value(":v", n(user.token_version));
    services.store().await.put(item, Some(unchanged)).await.map_err(|e| match e {
        StoreError::ConditionFailed => ApiError::Conflict("The user changed meanwhile; try again.".into()),
        other => other.into(),
    })?;
    Ok(user.summary_json())
}

/// Activates a user; an invited user must be given its password here.
pub async fn activate(
    services: &Services,
    caller: &Caller,
    user_id: &str,
    body: Submitted<Activation>,
) -> Result<Value, ApiError> {
    let user = get(services, caller, user_id).await?;
    require_may_change(caller, &user)?;
    let Activation { password } = body.read()?;
    if user.invited && password.is_none() {
        return Err(ApiError::field("password", crate::validation::REQUIRED));
    }
    let mut change = Change::new(Key::user(&user.account_id, &user.id), "SET is_active = :yes, invited = :no")
        .value(":yes", store::boolean(true))
        .value(":no", store::boolean(false));
    if let Some(password) = password {
        let hash = PasswordHash::new_blocking(password).await?;
        change = Change::new(
            Key::user(&user.account_id, &user.id),
            "SET is_active = :yes, invited = :no, password_hash = :hash, token_version = token_version + :one",
        )
        .value(":yes", store::boolean(true))
        .value(":no", store::boolean(false))
        .value(":hash", store::s(hash.as_str()))
        .value(":one", n(1));
    }
    let updated = services.store().await.update(change.condition(Condition::exists())).await?;
    Ok(store::decode::<User>(updated)?.summary_json())
}

/// Removes a user, its email and its site grants.
pub async fn delete(services: &Services, caller: &Caller, user_id: &str) -> Result<(), ApiError> {
    let user = get(services, caller, user_id).await?;
    require_may_change(caller, &user)?;
    let mut writes = vec![
        Write::Delete(Key::user(&user.account_id, &user.id), Some(Condition::exists())),
        Write::Delete(Key::email(&user.email), None),
        Write::Update(
            Change::new(Key::account(&user.account_id), "SET user_count = user_count - :one")
                .value(":one", n(1))
                .condition(Condition::new("user_count > :one")),
        ),
    ];
    writes.extend(
        sites::grants_of(services, &caller.account, &user.id).await?.into_iter().map(|k| Write::Delete(k, None)),
    );
    services.store().await.transact(writes).await.map_err(StoreError::gone_is_not_found)
}
