//! The one HTTP client for URLs a user can set (provider base URLs, WordPress sites).
//!
//! Every request it makes is guarded:
//! - the scheme is `https` (plain `http` only in a local deployment);
//! - the host may not be an internal name (`localhost`, `*.internal`, `metadata.*`, ...);
//! - every address the host resolves to (every A and AAAA record, checked by the resolver at
//!   connect time, so a DNS answer cannot change between the check and the connection) and every
//!   IP literal (checked before the request and at each redirect) must be a public address: not
//!   loopback, private, shared (CGNAT), link-local, unique-local, multicast, unspecified,
//!   documentation, benchmark or reserved, and not a cloud metadata address. Odd spellings
//!   (`0x7f000001`, `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`) are caught because the URL
//!   parser normalises them to addresses and the check is on the address;
//! - redirects are followed at most [`MAX_REDIRECTS`] times, each hop checked like the first;
//! - timeouts apply (connect and whole request), and the answer is read up to a size cap;
//! - no proxy from the environment is used (a proxy would resolve the name itself).
//!
//! Loopback is allowed only when the deployment says it is a local one (the local stack and the
//! tests, where the provider test server and WordPress run on loopback). Errors name what was
//! refused; they never carry the upstream body.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// Default cap on an answer's body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Connect timeout of every request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the deployment allows beyond the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Loopback addresses and `localhost` (a local deployment: the local stack and the tests).
    pub allow_loopback: bool,
    /// Plain `http` (a local deployment only).
    pub allow_http: bool,
}

impl Policy {
    /// A deployment in AWS: https to public addresses only.
    pub const DEPLOYED: Self = Self { allow_loopback: false, allow_http: false };
    /// A local deployment: loopback and plain http too. Private and metadata addresses stay refused.
    pub const LOCAL: Self = Self { allow_loopback: true, allow_http: true };
}

/// Why a URL or an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the URL is not a valid absolute URL")]
    Invalid,
    #[error("the URL scheme \"{0}\" is not allowed: use https")]
    Scheme(String),
    #[error("URLs with a user name or password are not allowed")]
    Credentials,
    #[error("the host \"{0}\" is an internal name")]
    InternalName(String),
    #[error("the address {addr} of \"{host}\" is {kind}, which outbound requests may not reach")]
    Address { host: String, addr: IpAddr, kind: &'static str },
    #[error("the host \"{0}\" could not be resolved")]
    Unresolved(String),
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooManyRedirects,
}

/// Why an outbound request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("refused: {0}")]
    Refused(Refused),
    #[error("timed out")]
    Timeout,
    #[error("connection failed")]
    Connect,
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request failed")]
    Failed,
}

/// The kind of address `ip` is, when it is not a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([169, 254, 169, 254], 32, "a cloud metadata address"),
        ([100, 100, 100, 200], 32, "a cloud metadata address"),
        ([192, 0, 0, 192], 32, "a cloud metadata address"),
        ([0, 0, 0, 0], 8, "an unspecified address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([100, 64, 0, 0], 10, "a shared (carrier-grade NAT) address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([192, 0, 0, 0], 24, "an IETF protocol address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([192, 88, 99, 0], 24, "a relay address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
    ];
    RANGES.iter().find(|(net, bits, _)| in_v4(ip, *net, *bits)).map(|(_, _, kind)| *kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // Addresses that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let seg = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
        return classify_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        // 6to4 (2002::/16) carries the IPv4 address in the next 32 bits.
        return classify_v4(embedded(seg[1], seg[2]));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some("a cloud metadata address");
    }
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if seg[..6] == [0, 0, 0, 0, 0, 0] {
        // The deprecated IPv4-compatible form (::a.b.c.d).
        return Some("an IPv4-compatible address");
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Some("a unique-local address"),
        s if s & 0xffc0 == 0xfe80 => Some("a link-local address"),
        s if s & 0xffc0 == 0xfec0 => Some("a site-local address"),
        s if s & 0xff00 == 0xff00 => Some("a multicast address"),
        0x2001 if seg[1] == 0x0db8 => Some("a documentation address"),
        0x2001 if seg[1] < 0x0200 => Some("an IETF protocol address"),
        0x0100 if seg[1..4] == [0, 0, 0] => Some("a discard address"),
        _ => None,
    }
}

/// Host names that name the machine itself or the cloud's internal services.
fn internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "metadata"
        || host.starts_with("metadata.")
        || host.ends_with(".internal")
        || host.ends_with(".local")
        || host.ends_with(".localdomain")
        || host == "instance-data"
        || host.starts_with("instance-data.")
        || !host.contains('.')
}

impl Policy {
    /// Whether an address of `kind` may be reached.
    fn allows(&self, ip: IpAddr) -> Result<(), &'static str> {
        match classify(ip) {
            None => Ok(()),
            Some("a loopback address") if self.allow_loopback => Ok(()),
            Some(kind) => Err(kind),
        }
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        self.allows(ip).map_err(|kind| Refused::Address { host: host.to_owned(), addr: ip, kind })
    }

    /// The checks that need no DNS: scheme, credentials, internal names, IP literals. A URL that
    /// passes may still be refused at connect time for what its name resolves to.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refused> {
        let url = Url::parse(raw.trim()).map_err(|_| Refused::Invalid)?;
        self.check_parsed(&url)?;
        Ok(url)
    }

    fn check_parsed(&self, url: &Url) -> Result<(), Refused> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => return Err(Refused::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        match url.host() {
            None => Err(Refused::Invalid),
            Some(Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                let local_name = name.trim_end_matches('.') == "localhost" || name.ends_with(".localhost");
                if internal_name(&name) && !(self.allow_loopback && local_name) {
                    return Err(Refused::InternalName(name));
                }
                Ok(())
            }
        }
    }
}

/// Resolves names for the client and refuses any name that has a forbidden address among its
/// records. reqwest connects only to the addresses answered here.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    policy: Policy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(Refused::Unresolved(host.clone())) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused::Unresolved(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            for addr in &addrs {
                policy
                    .check_ip(&host, addr.ip())
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Headers of a raw body: `(name, value)`.
pub type Headers<'a> = &'a [(&'a str, &'a str)];

/// One outbound request.
#[derive(Debug, Clone)]
pub struct OutboundRequest<'a> {
    pub method: http::Method,
    pub url: &'a str,
    /// Sent as `Authorization: Bearer ...`; never logged.
    pub bearer: Option<&'a str>,
    /// Sent as HTTP basic authentication (user, password); never logged.
    pub basic: Option<(&'a str, &'a str)>,
    pub json: Option<&'a serde_json::Value>,
    /// A raw body and its headers (`Content-Type`, and more such as `Content-Disposition`).
    pub raw: Option<(&'a [u8], Headers<'a>)>,
    pub timeout: Duration,
}

impl<'a> OutboundRequest<'a> {
    pub fn get(url: &'a str, timeout: Duration) -> Self {
        Self { method: http::Method::GET, url, bearer: None, basic: None, json: None, raw: None, timeout }
    }

    pub fn post_json(url: &'a str, body: &'a serde_json::Value, timeout: Duration) -> Self {
        Self { method: http::Method::POST, url, bearer: None, basic: None, json: Some(body), raw: None, timeout }
    }

    /// A `POST` of `body` as it is, with `headers`.
    pub fn post_raw(url: &'a str, body: &'a [u8], headers: Headers<'a>, timeout: Duration) -> Self {
        Self {
            method: http::Method::POST,
            url,
            bearer: None,
            basic: None,
            json: None,
            raw: Some((body, headers)),
            timeout,
        }
    }

    pub fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    pub fn basic(mut self, user: &'a str, password: &'a str) -> Self {
        self.basic = Some((user, password));
        self
    }
}

/// An answer, read whole (up to the cap).
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// The guarded client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Outbound {
    /// `None` when the guarded client could not be built: every request then fails, rather than
    /// going out unguarded.
    client: Option<reqwest::Client>,
    policy: Policy,
    max_response_bytes: usize,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// The refusal inside a reqwest error (from the resolver or the redirect policy), if any.
fn refusal(err: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        source = e.source();
    }
    None
}

impl Outbound {
    pub fn new(policy: Policy) -> Self {
        Self::with_limit(policy, DEFAULT_MAX_RESPONSE_BYTES)
    }

    pub fn with_limit(policy: Policy, max_response_bytes: usize) -> Self {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(Refused::TooManyRedirects);
            }
            match policy.check_parsed(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(redirects)
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .build();
        if let Err(err) = &client {
            tracing::error!(error = %err, "the guarded HTTP client could not be built; outbound requests will fail");
        }
        Self { client: client.ok(), policy, max_response_bytes }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Sends `request` through the guard and reads the answer up to the size cap.
    pub async fn send(&self, request: OutboundRequest<'_>) -> Result<OutboundResponse, OutboundError> {
        let url = self.policy.check_url(request.url).map_err(OutboundError::Refused)?;
        let client = self.client.as_ref().ok_or(OutboundError::Failed)?;
        let mut builder = client.request(request.method, url).timeout(request.timeout);
        if let Some(token) = request.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some((user, password)) = request.basic {
            builder = builder.basic_auth(user, Some(password));
        }
        if let Some(body) = request.json {
            builder = builder.json(body);
        }
        if let Some((body, headers)) = request.raw {
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder = builder.body(body.to_vec());
        }
        let mut response = builder.send().await.map_err(|e| self.error(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response.content_length().is_some_and(|n| n > self.max_response_bytes as u64) {
            return Err(OutboundError::TooLarge { limit: self.max_response_bytes });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.error(&e))? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(OutboundError::TooLarge { limit: self.max_response_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse { status, headers, body })
    }

    fn error(&self, err: &reqwest::Error) -> OutboundError {
        if let Some(refused) = refusal(err) {
            tracing::warn!(reason = %refused, "outbound request refused");
            return OutboundError::Refused(refused);
        }
        if err.is_timeout() {
            OutboundError::Timeout
        } else if err.is_connect() {
            OutboundError::Connect
        } else {
            OutboundError::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_kind(policy: Policy, url: &str) -> Option<String> {
        policy.check_url(url).err().map(|e| e.to_string())
    }

    #[test]
    fn addresses_are_classified() {
        let forbidden = [
            "127.0.0.1",
            "127.255.0.1",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ];
        for ip in forbidden {
            assert!(classify(ip.parse().unwrap()).is_some(), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "2a00:1450::1"] {
            assert_eq!(classify(ip.parse().unwrap()), None, "{ip} is public");
        }
        assert_eq!(classify("169.254.169.254".parse().unwrap()), Some("a cloud metadata address"));
    }

    #[test]
    fn odd_spellings_are_normalised_before_the_check() {
        for url in [
            "https://0x7f000001/v1",
            "https://2130706433/v1",
            "https://0177.0.0.1/v1",
            "https://127.1/v1",
            "https://[::ffff:7f00:1]/v1",
            "https://[0:0:0:0:0:ffff:127.0.0.1]/v1",
            "https://0xa9.0xfe.0xa9.0xfe/latest",
        ] {
            let refused = refused_kind(Policy::DEPLOYED, url).unwrap_or_default();
            assert!(refused.contains("address"), "{url}: {refused}");
        }
    }

    #[test]
    fn deployed_policy_refuses_internal_targets() {
        let p = Policy::DEPLOYED;
        assert!(p.check_url("https://api.openai.com/v1").is_ok());
        assert!(p.check_url("https://api.runware.ai/v1").is_ok());
        assert_eq!(p.check_url("http://api.openai.com/v1"), Err(Refused::Scheme("http".into())));
        assert_eq!(p.check_url("ftp://api.openai.com/"), Err(Refused::Scheme("ftp".into())));
        assert_eq!(p.check_url("file:///etc/passwd"), Err(Refused::Scheme("file".into())));
        assert_eq!(p.check_url("not a url"), Err(Refused::Invalid));
        assert_eq!(p.check_url("https://user:pw@api.openai.com/"), Err(Refused::Credentials));
        for url in [
            "https://localhost/v1",
            "https://LOCALHOST./v1",
            "https://metadata.google.internal/",
            "https://metadata/",
            "https://foo.internal/",
            "https://printer.local/",
            "https://intranet/",
        ] {
            assert!(matches!(p.check_url(url), Err(Refused::InternalName(_))), "{url}");
        }
        assert!(matches!(p.check_url("https://[::1]/v1"), Err(Refused::Address { .. })));
    }

    #[test]
    fn local_policy_allows_loopback_only() {
        let p = Policy::LOCAL;
        assert!(p.check_url("http://127.0.0.1:4010/v1").is_ok());
        assert!(p.check_url("http://localhost:8080/").is_ok());
        assert!(p.check_url("https://[::1]/v1").is_ok());
        assert!(p.check_url("https://10.0.0.1/v1").is_err());
        assert!(p.check_url("https://169.254.169.254/latest").is_err());
        assert!(p.check_url("https://metadata.google.internal/").is_err());
    }

    /// A loopback HTTP server that answers every request with `response` and counts requests.
    async fn server(response: String) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        (port, hits)
    }

    fn ok(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
    }

    const SECOND: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn the_resolver_refuses_names_with_a_forbidden_record() {
        use reqwest::dns::Resolve;
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        let deployed = GuardedResolver { policy: Policy::DEPLOYED };
        let err = deployed.resolve(name("localhost")).await.err().expect("refused");
        let refused = err.downcast_ref::<Refused>().expect("a refusal");
        assert!(matches!(refused, Refused::Address { kind: "a loopback address", .. }), "{refused}");
        let local = GuardedResolver { policy: Policy::LOCAL };
        assert!(local.resolve(name("localhost")).await.is_ok());
        let err = local.resolve(name("no-such-host.invalid")).await.err().expect("unresolved");
        assert!(matches!(err.downcast_ref::<Refused>(), Some(Refused::Unresolved(_))));
    }

    #[tokio::test]
    async fn loopback_is_reached_only_by_a_local_deployment() {
        let (port, hits) = server(ok("{}")).await;
        let url = format!("http://127.0.0.1:{port}/v1");
        let local = Outbound::new(Policy::LOCAL).send(OutboundRequest::get(&url, SECOND)).await.unwrap();
        assert_eq!((local.status, local.body.as_slice()), (200, &b"{}"[..]));
        for url in [
            format!("http://127.0.0.1:{port}/v1"),
            format!("https://127.0.0.1:{port}/v1"),
            format!("https://0x7f000001:{port}/v1"),
            format!("https://[::ffff:127.0.0.1]:{port}/v1"),
            format!("https://localhost:{port}/v1"),
        ] {
            let err = Outbound::new(Policy::DEPLOYED).send(OutboundRequest::get(&url, SECOND)).await.unwrap_err();
            assert!(matches!(err, OutboundError::Refused(_)), "{url}: {err}");
        }
        let http_only = Policy { allow_loopback: false, allow_http: true };
        let err = Outbound::new(http_only)
            .send(OutboundRequest::get(&format!("http://127.0.0.1:{port}/"), SECOND))
            .await
            .unwrap_err();
        assert!(matches!(err, OutboundError::Refused(Refused::Address { .. })), "{err}");
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "only the local call connected");
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked() {
        // The second server stands for an internal service: 0.0.0.0 reaches this machine.
        let (inner, inner_hits) = server(ok("secret")).await;
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://0.0.0.0:{inner}/latest\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let (outer, _) = server(redirect).await;
        let err = Outbound::new(Policy::LOCAL)
            .send(OutboundRequest::get(&format!("http://127.0.0.1:{outer}/"), SECOND))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, OutboundError::Refused(Refused::Address { kind: "an unspecified address", .. })),
            "{err}"
        );
        assert_eq!(inner_hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was not followed");

        let (target, _) = server(ok("fine")).await;
        let hop = format!(
            "HTTP/1.1 301 Moved\r\nlocation: http://127.0.0.1:{target}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let (first, _) = server(hop).await;
        let answer = Outbound::new(Policy::LOCAL)
            .send(OutboundRequest::get(&format!("http://127.0.0.1:{first}/"), SECOND))
            .await
            .unwrap();
        assert_eq!(answer.body, b"fine");
    }

    #[tokio::test]
    async fn answers_over_the_cap_and_slow_answers_fail() {
        let (port, _) = server(ok(&"x".repeat(2048))).await;
        let url = format!("http://127.0.0.1:{port}/");
        let err = Outbound::with_limit(Policy::LOCAL, 1024).send(OutboundRequest::get(&url, SECOND)).await.unwrap_err();
        assert_eq!(err, OutboundError::TooLarge { limit: 1024 });
        let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n400\r\n".to_owned()
            + &"y".repeat(1024)
            + "\r\n400\r\n"
            + &"y".repeat(1024)
            + "\r\n0\r\n\r\n";
        let (port, _) = server(chunked).await;
        let url = format!("http://127.0.0.1:{port}/");
        let err = Outbound::with_limit(Policy::LOCAL, 1500).send(OutboundRequest::get(&url, SECOND)).await.unwrap_err();
        assert_eq!(err, OutboundError::TooLarge { limit: 1500 });

        // A server that accepts and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", silent.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                open.push(stream);
            }
        });
        let err = Outbound::new(Policy::LOCAL)
            .send(OutboundRequest::get(&url, Duration::from_millis(300)))
            .await
            .unwrap_err();
        assert_eq!(err, OutboundError::Timeout);
        held.abort();
    }
}
