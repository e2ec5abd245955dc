//! The use cases behind `/api/v1/auth/` register, login, refresh, change-password and me.

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Account, AccountStatus, Email, Role, User, UserAnswer, rfc3339};
use crate::auth::{Claims, IssuedToken, Password, PasswordHash, SigningKey, TokenError, TokenType};
use crate::credits::{LedgerEntry, TransactionType};
use crate::store::{self, Change, Condition, Item, Key, StoreError, Write, keys, n};
use crate::validation::input::{Bounded, Raw, Text};
use crate::validation::{given, max};
use crate::{ApiError, Services, ids};

pub const DEFAULT_PLAN_ID: &str = "free";
const INVALID_CREDENTIALS: &str = "Invalid credentials";
const INVALID_TOKEN: &str = "Invalid or expired token";
const INVALID_REFRESH: &str = "Invalid or expired refresh token";
const PASSWORDS_DIFFER: &str = "Passwords do not match.";

crate::input! {
    /// The body of `POST auth/register/` (and of `POST auth/accounts/`, by the platform).
    pub struct Registration {
        email: required Email = Email::RULE,
        password: required Password = Password::RULE,
        /// When sent, it must equal `password`.
        password_confirm: optional String = Raw(max::ANY_TEXT),
        /// Defaults to the email's local part.
        username: optional String = Text(max::PERSON_NAME),
        first_name: optional String = Text(max::PERSON_NAME),
        last_name: optional String = Text(max::PERSON_NAME),
        /// Defaults to "<first name>'s Account".
        account_name: optional String = Text(max::NAME),
        /// Defaults to the free plan.
        plan_id: optional String = Text(64),
    }
}

/// A validated registration.
#[derive(Debug)]
pub struct RegisterInput {
    pub email: Email,
    pub password: Password,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub account_name: Option<String>,
    pub plan_id: String,
}

impl crate::validation::FromBody for RegisterInput {
    fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        let r = Registration::from_body(body)?;
        if r.password_confirm.as_ref().is_some_and(|c| c != r.password.expose()) {
            return Err(ApiError::field("password_confirm", PASSWORDS_DIFFER));
        }
        Ok(Self {
            email: r.email,
            password: r.password,
            username: given(r.username),
            first_name: r.first_name.unwrap_or_default(),
            last_name: r.last_name.unwrap_or_default(),
            account_name: given(r.account_name),
            plan_id: given(r.plan_id).unwrap_or_else(|| DEFAULT_PLAN_ID.to_owned()),
        })
    }
}

/// Documented as the [`Registration`] it is read from.
impl utoipa::PartialSchema for RegisterInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        Registration::schema()
    }
}

impl utoipa::ToSchema for RegisterInput {}

crate::input! {
    /// A sign-in attempt (no password policy here: the stored hash decides).
    pub struct LoginInput {
        email: required String = Bounded(max::ANY_TEXT),
        password: required String = Raw(max::ANY_TEXT),
    }
}

crate::input! {
    /// The body of `POST auth/change-password/`.
    pub struct PasswordChange {
        old_password: required String = Raw(max::ANY_TEXT),
        new_password: required Password = Password::RULE,
        /// When sent, it must equal `new_password`.
        new_password_confirm: optional String = Raw(max::ANY_TEXT),
    }
}

/// A validated password change.
#[derive(Debug)]
pub struct ChangePassword {
    pub old_password: String,
    pub new_password: Password,
}

impl crate::validation::FromBody for ChangePassword {
    fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        let c = PasswordChange::from_body(body)?;
        if c.new_password_confirm.as_ref().is_some_and(|confirm| confirm != c.new_password.expose()) {
            return Err(ApiError::field("new_password_confirm", PASSWORDS_DIFFER));
        }
        Ok(Self { old_password: c.old_password, new_password: c.new_password })
    }
}

/// Documented as the [`PasswordChange`] it is read from.
impl utoipa::PartialSchema for ChangePassword {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        PasswordChange::schema()
    }
}

impl utoipa::ToSchema for ChangePassword {}

crate::input! {
    /// The body of `POST auth/refresh/`.
    pub struct RefreshInput {
        /// The refresh token that sign-in answered.
        refresh: required String = Bounded(max::ANY_TEXT),
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub account: Account,
}

/// Runs CPU-heavy password work off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
}

/// Loads a user and its account in one request.
async fn load_user(services: &Services, account_id: &str, user_id: &str) -> Result<Option<(User, Account)>, ApiError> {
    if !ids::is_valid_id(account_id) || !ids::is_valid_id(user_id) {
        return Ok(None);
    }
    let mut found =
        services.store().await.get_many(&[Key::user(account_id, user_id), Key::account(account_id)]).await?.into_iter();
    match (found.next().flatten(), found.next().flatten()) {
        (Some(user), Some(account)) => Ok(Some((store::decode(user)?, store::decode(account)?))),
        _ => Ok(None),
    }
}

fn issue(key: &SigningKey, token_type: TokenType, user: &User, now: OffsetDateTime) -> Result<IssuedToken, ApiError> {
    let role = crate::http::answer(user.role);
    key.issue(token_type, &user.id, &user.account_id, user.token_version, role.as_str().unwrap_or_default(), now)
        .map_err(ApiError::internal)
}

fn token_pair(key: &SigningKey, user: &User, now: OffsetDateTime) -> Result<Tokens, ApiError> {
    let access = issue(key, TokenType::Access, user, now)?;
    let refresh = issue(key, TokenType::Refresh, user, now)?;
    Ok(Tokens {
        access: access.token,
        refresh: refresh.token,
        access_expires_at: rfc3339(access.expires_at),
        refresh_expires_at: rfc3339(refresh.expires_at),
    })
}

/// A token pair: `access` for `Authorization: Bearer`, `refresh` for `auth/refresh/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub access_expires_at: String,
    pub refresh_expires_at: String,
}

/// A new access token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    pub access: String,
    pub access_expires_at: String,
}

/// The user just registered, with its account and plan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub user: UserAnswer,
}

/// A signed-in user and its tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub user: UserAnswer,
    pub access: String,
    pub refresh: String,
    pub access_expires_at: String,
    pub refresh_expires_at: String,
}

/// The caller (`auth/me/`): with its account, plan, and the sites it may work on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: UserAnswer,
}

/// Who opens an account: a person registering, or the platform (an operator, or billing after a
/// confirmed payment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenedBy {
    /// `POST auth/register/`: free plans only; a paid plan starts through billing.
    SelfRegistration,
    /// `POST auth/accounts/` by a platform role: any active plan.
    Platform,
}

pub const PAID_PLAN_AT_REGISTRATION: &str =
    "Registration is on the free plan; a paid plan starts with its purchase (billing) or through the platform.";

/// Creates the account, its owner and its starting credits (with their ledger entry) in one
/// transaction. A taken email is a 400 on `email` and writes nothing; so is a paid plan asked for
/// by self-registration.
pub async fn register(services: &Services, input: RegisterInput, opened_by: OpenedBy) -> Result<Value, ApiError> {
    let plan = match crate::reference::any_plan(&input.plan_id)? {
        Some(plan) if plan.is_active => plan,
        _ => return Err(ApiError::field("plan_id", "Invalid plan.")),
    };
    if opened_by == OpenedBy::SelfRegistration && plan.is_paid() {
        return Err(ApiError::field("plan_id", PAID_PLAN_AT_REGISTRATION));
    }
    let password = input.password;
    let password_hash = PasswordHash::new_blocking(password).await?;

    let now = OffsetDateTime::now_utc();
    let account_id = ids::new_id();
    let user_id = ids::new_id();
    let display =
        if input.first_name.is_empty() { input.email.local_part().to_owned() } else { input.first_name.clone() };
    let account_name = input.account_name.unwrap_or_else(|| format!("{display}'s Account"));
    let slug = format!("{}-{}", ids::slugify(&account_name), &account_id[account_id.len() - 6..]);
    let account = Account {
        id: account_id.clone(),
        name: account_name,
        slug,
        owner_id: user_id.clone(),
        plan_id: plan.id.clone(),
        status: AccountStatus::Active,
        credits: plan.included_credits,
        site_count: 0,
        user_count: 1,
        author_profile_count: 0,
        disabled_modules: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let user = User {
        id: user_id.clone(),
        account_id: account_id.clone(),
        email: input.email.as_str().to_owned(),
        username: input.username.unwrap_or_else(|| input.email.local_part().to_owned()),
        first_name: input.first_name,
        last_name: input.last_name,
        role: Role::Owner,
        is_active: true,
        password_hash,
        token_version: 0,
        date_joined: now,
        last_login: None,
        invited: false,
    };

    let email_item =
        Item::new(&Key::email(input.email.as_str()), "Email", &json!({"user_id": user_id, "account_id": account_id}))?;
    let mut writes = vec![
        Write::Put(email_item, Some(Condition::not_exists())),
        Write::Put(
            Item::new(&Key::account(&account_id), "Account", &account)?.gsi1(keys::accounts_gsi1(&account_id)),
            Some(Condition::not_exists()),
        ),
        Write::Put(
            Item::new(&Key::user(&account_id, &user_id), "User", &user)?.gsi1(keys::user_gsi1(&user_id)),
            Some(Condition::not_exists()),
        ),
    ];
    writes.push(crate::subscriptions::Subscription::starting(&account_id, &plan.id, now).write()?);
    if plan.included_credits > 0 {
        let entry = LedgerEntry::new(
            &account_id,
            TransactionType::Subscription,
            plan.included_credits,
            Some(plan.included_credits),
            format!("Starting credits - {} plan", plan.name),
            now,
        );
        writes.push(entry.write()?);
    }
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Err(ApiError::field("email", "A user with this email already exists."));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(account_id = %account_id, user_id = %user_id, plan = %plan.id, "account registered");
    Ok(crate::http::answer(Registered { user: UserAnswer::new(&user, &account, Some(&plan)) }))
}

/// Checks the credentials and issues a token pair. An unknown email and a wrong password get the
/// same answer after the same amount of work.
pub async fn login(services: &Services, input: LoginInput) -> Result<Value, ApiError> {
    let store = services.store().await;
    let found = match Email::parse(&input.email) {
        Ok(email) => store.get::<Value>(&Key::email(email.as_str())).await?,
        Err(_) => None,
    };
    let pointer =
        found.and_then(|v| Some((v.get("account_id")?.as_str()?.to_owned(), v.get("user_id")?.as_str()?.to_owned())));
    let Some((account_id, user_id)) = pointer else {
        let password = input.password;
        blocking(move || PasswordHash::verify_dummy(&password)).await?;
        return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS.into()));
    };
    let Some((mut user, account)) = load_user(services, &account_id, &user_id).await? else {
        return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS.into()));
    };
    let (hash, password) = (user.password_hash.clone(), input.password);
    let matches = blocking(move || hash.verify(&password)).await?;
    if !matches || !user.is_active {
        return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS.into()));
    }

    let now = OffsetDateTime::now_utc();
    let key = services.signing_key().await?;
    let tokens = token_pair(key, &user, now)?;
    store
        .update(
            Change::new(Key::user(&account_id, &user_id), "SET last_login = :now")
                .value(":now", store::s(rfc3339(now))),
        )
        .await?;
    user.last_login = Some(now);
    let plan = crate::reference::any_plan(&account.plan_id)?;
    let user = UserAnswer::new(&user, &account, plan.as_ref());
    Ok(crate::http::answer(SignedIn {
        user,
        access: tokens.access,
        refresh: tokens.refresh,
        access_expires_at: tokens.access_expires_at,
        refresh_expires_at: tokens.refresh_expires_at,
    }))
}

/// Exchanges a refresh token for a new access token.
pub async fn refresh(services: &Services, input: RefreshInput) -> Result<Value, ApiError> {
    let token = input.refresh;
    let key = services.signing_key().await?;
    let claims = key.verify(&token, TokenType::Refresh).map_err(|e| match e {
        TokenError::WrongType => ApiError::BadRequest("Invalid token type".into()),
        _ => ApiError::Unauthenticated(INVALID_REFRESH.into()),
    })?;
    // A user deleted since is like any other invalid token: 401, and nothing said about why.
    let Some((user, _account)) = load_user(services, &claims.account_id, &claims.user_id).await? else {
        return Err(ApiError::Unauthenticated(INVALID_REFRESH.into()));
    };
    if !user.is_active || user.token_version != claims.ver {
        return Err(ApiError::Unauthenticated(INVALID_REFRESH.into()));
    }
    let access = issue(key, TokenType::Access, &user, OffsetDateTime::now_utc())?;
    Ok(crate::http::answer(AccessToken { access: access.token, access_expires_at: rfc3339(access.expires_at) }))
}

/// A bearer access token as a request brings it: its claims verified with the container's
/// signing key, or, in a container that has not fetched the key yet, read unverified so that the
/// caller's reads can start while the key is fetched ([`authenticate_token`] verifies them before
/// anything is used).
#[derive(Debug, Clone)]
pub struct Bearer {
    token: String,
    claims: Claims,
    verified: bool,
}

impl Bearer {
    /// Reads the token; a refresh, expired, tampered, foreign or malformed token is a 401.
    pub fn read(services: &Services, token: Option<&str>) -> Result<Self, ApiError> {
        let token = token.ok_or_else(ApiError::authentication_required)?;
        let invalid = |_| ApiError::Unauthenticated(INVALID_TOKEN.into());
        let (claims, verified) = match services.loaded_signing_key() {
            Some(key) => (key.verify(token, TokenType::Access).map_err(invalid)?, true),
            None => (crate::auth::unverified_claims(token).map_err(invalid)?, false),
        };
        Ok(Self { token: token.to_owned(), claims, verified })
    }

    /// The user the token names (verified or not: see [`Bearer`]).
    pub fn user_id(&self) -> &str {
        &self.claims.user_id
    }

    /// The account the token names (verified or not: see [`Bearer`]).
    pub fn account_id(&self) -> &str {
        &self.claims.account_id
    }

    /// The role the user had when the token was issued: a hint, never a right.
    pub fn role_hint(&self) -> Option<Role> {
        self.claims.role.as_deref().and_then(Role::parse)
    }

    /// Whether the claims were checked against the signing key.
    pub fn is_verified(&self) -> bool {
        self.verified
    }
}

/// Resolves a bearer access token to its user and account. Refresh tokens, expired, tampered or
/// foreign tokens, tokens of an inactive user and tokens older than the last password change are
/// all 401.
pub async fn authenticate(services: &Services, bearer: Option<&str>) -> Result<Principal, ApiError> {
    authenticate_token(services, &Bearer::read(services, bearer)?).await
}

/// [`authenticate`] of a token already read. With its claims verified that is one request (user
/// and account together); unverified, the signing key is fetched at the same time, and the token
/// verified before the user read is used.
pub async fn authenticate_token(services: &Services, bearer: &Bearer) -> Result<Principal, ApiError> {
    let invalid = || ApiError::Unauthenticated(INVALID_TOKEN.into());
    let found = if bearer.verified {
        load_user(services, &bearer.claims.account_id, &bearer.claims.user_id).await?
    } else {
        let (key, found) = tokio::join!(
            services.signing_key(),
            load_user(services, &bearer.claims.account_id, &bearer.claims.user_id)
        );
        let claims = key?.verify(&bearer.token, TokenType::Access).map_err(|_| invalid())?;
        if claims != bearer.claims {
            return Err(invalid());
        }
        found?
    };
    match found {
        Some((user, account)) if user.is_active && user.token_version == bearer.claims.ver => {
            Ok(Principal { user, account })
        }
        _ => Err(invalid()),
    }
}

/// The caller with its account and plan (the container's copy) and the sites it may work on.
pub fn me(user: &User, account: &Account, accessible_sites: Vec<Value>) -> Result<Value, ApiError> {
    let plan = crate::reference::any_plan(&account.plan_id)?;
    let user = UserAnswer { accessible_sites: Some(accessible_sites), ..UserAnswer::new(user, account, plan.as_ref()) };
    Ok(crate::http::answer(Me { user }))
}

/// Replaces the password after checking the current one. Every token issued before stops working;
/// the answer carries a fresh pair so the caller stays signed in.
pub async fn change_password(
    services: &Services,
    principal: &Principal,
    input: ChangePassword,
) -> Result<Value, ApiError> {
    let (hash, old) = (principal.user.password_hash.clone(), input.old_password);
    if !blocking(move || hash.verify(&old)).await? {
        return Err(ApiError::BadRequest("Current password is incorrect".into()));
    }
    let new_password = input.new_password;
    let new_hash = PasswordHash::new_blocking(new_password).await?;
    let mut user = principal.user.clone();
    let change = Change::new(Key::user(&user.account_id, &user.id), "SET password_hash = :hash, token_version = :next")
        .value(":hash", store::s(new_hash.as_str()))
        .value(":next", n(user.token_version + 1))
        .condition(Condition::new("token_version = :current").value(":current", n(user.token_version)));
    match services.store().await.update(change).await {
        Ok(_) => {}
        // Another change won the race; the caller's token is now stale.
        Err(StoreError::ConditionFailed) => {
            return Err(ApiError::Unauthenticated(INVALID_TOKEN.into()));
        }
        Err(err) => return Err(err.into()),
    }
    user.token_version += 1;
    user.password_hash = new_hash;
    token_pair(services.signing_key().await?, &user, OffsetDateTime::now_utc()).map(crate::http::answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::FromBody;

    #[test]
    fn register_input_reports_every_field() {
        let err =
            RegisterInput::from_body(br#"{"email":"nope","password":"short","password_confirm":"other"}"#).unwrap_err();
        let errors = err.field_errors().unwrap();
        assert!(errors.get("email").is_some());
        assert!(errors.get("password").is_some());
        let err =
            RegisterInput::from_body(br#"{"email":"a@b.co","password":"long enough","password_confirm":"other"}"#)
                .unwrap_err();
        assert_eq!(err.field_errors().unwrap().get("password_confirm").unwrap(), [PASSWORDS_DIFFER]);
        let ok = RegisterInput::from_body(br#"{"email":"A@B.co","password":"long enough"}"#).unwrap();
        assert_eq!((ok.email.as_str(), ok.plan_id.as_str()), ("a@b.co", DEFAULT_PLAN_ID));
    }
}
