//! The WordPress REST API as the integration module uses it, through the guarded outbound client
//! (a deployment refuses loopback, private, link-local and metadata addresses, also after
//! redirects). Authentication is HTTP basic with a user's application password.

use std::time::Duration;

use serde_json::Value;

use crate::outbound::{OutboundError, OutboundRequest, OutboundResponse};
use crate::{ApiError, Services};

/// How long one call to a WordPress site may take, unless configured (`Config::wordpress_timeout`).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Where and as whom to reach a site. The password is never printed (`Debug` masks it).
#[derive(Clone)]
pub struct Credentials {
    pub site_url: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("site_url", &self.site_url)
            .field("username", &self.username)
            .field("password", &"…")
            .finish()
    }
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Probe {
    pub connected: bool,
    /// The site's name (its REST index).
    pub site_name: String,
    /// WordPress's version, when the site tells it (its feed's generator).
    pub wordpress_version: Option<String>,
    /// The user the application password belongs to.
    pub user: ProbedUser,
    /// Whether that user may publish posts, upload media and create categories.
    pub can_publish: bool,
    pub can_upload: bool,
    pub can_create_categories: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ProbedUser {
    pub id: i64,
    pub name: String,
    pub roles: Vec<String>,
}

fn api(site_url: &str, path: &str) -> String {
    format!("{}/wp-json/{path}", site_url.trim_end_matches('/'))
}

fn unreachable(err: &OutboundError) -> ApiError {
    ApiError::BadRequest(format!("The WordPress site could not be reached: {err}."))
}

fn json(answer: &OutboundResponse) -> Option<Value> {
    serde_json::from_slice(&answer.body).ok()
}

/// The version in a feed's `<generator>https://wordpress.org/?v=6.1.9</generator>`.
fn generator_version(feed: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(feed);
    let start = text.find("wordpress.org/?v=")? + "wordpress.org/?v=".len();
    let version: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
    (!version.is_empty()).then_some(version)
}

/// Reaches the site's REST API with `credentials`: its index, the user (with what it may do) and
/// its version, at once. A site that cannot be reached, that is not WordPress, or that refuses the
/// credentials is a 400 saying which.
pub async fn probe(services: &Services, credentials: &Credentials) -> Result<Probe, ApiError> {
    let http = services.http().await;
    let timeout = services.config.wordpress_timeout;
    let index_url = api(&credentials.site_url, "");
    let me_url = api(&credentials.site_url, "wp/v2/users/me?context=edit");
    let feed_url = format!("{}/feed/", credentials.site_url.trim_end_matches('/'));
    let (index, me, feed) = tokio::join!(
        http.send(OutboundRequest::get(&index_url, timeout)),
        http.send(OutboundRequest::get(&me_url, timeout).basic(&credentials.username, &credentials.password)),
        http.send(OutboundRequest::get(&feed_url, timeout)),
    );
    let index = index.map_err(|e| unreachable(&e))?;
    let index = json(&index)
        .filter(|i| index.status == 200 && i["namespaces"].as_array().is_some_and(|n| n.iter().any(|n| n == "wp/v2")))
        .ok_or_else(|| {
            ApiError::BadRequest("The site does not answer as WordPress (no REST API at /wp-json/).".into())
        })?;
    let me = me.map_err(|e| unreachable(&e))?;
    if me.status == 401 || me.status == 403 {
        return Err(ApiError::BadRequest("WordPress refused the username or application password.".into()));
    }
    let me = json(&me)
        .filter(|_| me.status == 200)
        .ok_or_else(|| ApiError::BadRequest(format!("WordPress answered {} for the user.", me.status)))?;
    let capability = |name: &str| me["capabilities"][name].as_bool().unwrap_or(false);
    Ok(Probe {
        connected: true,
        site_name: index["name"].as_str().unwrap_or_default().to_owned(),
        wordpress_version: feed.ok().filter(|f| f.status == 200).and_then(|f| generator_version(&f.body)),
        user: ProbedUser {
            id: me["id"].as_i64().unwrap_or_default(),
            name: me["name"].as_str().unwrap_or_default().to_owned(),
            roles: me["roles"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_owned)).collect(),
        },
        can_publish: capability("publish_posts"),
        can_upload: capability("upload_files"),
        can_create_categories: capability("manage_categories"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_from_a_feeds_generator() {
        let feed = b"<channel><generator>https://wordpress.org/?v=6.1.9</generator></channel>";
        assert_eq!(generator_version(feed).as_deref(), Some("6.1.9"));
        assert_eq!(generator_version(b"<generator>Hugo</generator>"), None);
        assert_eq!(generator_version(b""), None);
    }

    #[test]
    fn credentials_never_print_their_password() {
        let c = Credentials {
            site_url: "https://example.com".into(),
            username: "admin".into(),
            password: "abcd efgh ijkl".into(),
        };
        assert!(!format!("{c:?}").contains("abcd"));
    }
}
