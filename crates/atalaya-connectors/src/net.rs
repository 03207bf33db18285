//! `SafeHttpClient`: the only way connectors reach the network.
//!
//! Feed URLs are typed by users and webhooks and feeds are written by strangers,
//! so every request is treated as an SSRF attempt until proven otherwise:
//!
//! ```text
//! URL ──► scheme http(s)? ──► IP literal? classify ──► request ──► resolver: lookup_host,
//!  ▲                                                        │      keep only permitted addresses,
//!  │                                                        │      connect to exactly those
//!  └──── redirect (max 5): Location re-checked from the top ◄┘      (no DNS rebinding window)
//! ```
//!
//! Addresses are refused when they are loopback, private (RFC 1918, CGNAT
//! 100.64/10, ULA fc00::/7), link-local (169.254/16 including the cloud metadata
//! address 169.254.169.254, fe80::/10), unspecified, multicast, broadcast,
//! documentation or otherwise reserved — also when wrapped in IPv4-mapped,
//! NAT64 or 6to4 IPv6 forms. An admin allow-list of CIDRs and host names admits
//! exceptions (an intranet feed; the tests' 127.0.0.1). Environment proxies are
//! ignored, because a proxy would resolve names where this guard cannot see.
//! Bodies stream through a byte cap (counted after decompression, so a gzip
//! bomb stops at the cap too), and connect, read and total timeouts bound slow servers.

use crate::error::SourceError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Default cap on a response body: 10 MB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// The `User-Agent` every request sends, so publishers can identify us.
pub const USER_AGENT: &str = concat!(
    "Atalaya/",
    env!("CARGO_PKG_VERSION"),
    " (+self-hosted listening)"
);

/// What kind of address an IP is, for the SSRF guard. Only `Public` is reachable
/// without an allow-list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    /// RFC 1918, CGNAT shared space (100.64/10), IPv6 unique-local and site-local.
    Private,
    /// 169.254/16 (including cloud metadata) and fe80::/10.
    LinkLocal,
    Unspecified,
    Multicast,
    Broadcast,
    Documentation,
    /// Benchmarking, protocol assignments, future use, discard-only.
    Reserved,
}

impl AddressClass {
    /// A short English description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private network address",
            AddressClass::LinkLocal => "a link-local or cloud metadata address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// Classifies an address for the SSRF guard.
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) | (100, 64..=127, _) => {
            AddressClass::Private
        }
        (127, _, _) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (192, 0, 0) | (198, 18..=19, _) | (240..=255, _, _) => AddressClass::Reserved,
        (224..=239, _, _) => AddressClass::Multicast,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let segments = ip.segments();
    let embedded_v4 =
        |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    match segments {
        // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d).
        [0, 0, 0, 0, 0, 0xffff | 0, high, low] => classify_v4(embedded_v4(high, low)),
        // NAT64 (64:ff9b::/96): the gateway would connect to the embedded address.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => classify_v4(embedded_v4(high, low)),
        // 6to4 (2002::/16) embeds an IPv4 address in bits 16..48.
        [0x2002, high, low, ..] => match classify_v4(embedded_v4(high, low)) {
            AddressClass::Public => AddressClass::Public,
            _ => AddressClass::Private,
        },
        [0x2001, 0x0db8, ..] => AddressClass::Documentation,
        [0x0100, 0, 0, 0, ..] => AddressClass::Reserved,
        [first, ..] if first & 0xfe00 == 0xfc00 => AddressClass::Private,
        [first, ..] if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => AddressClass::Private,
        [first, ..] if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        _ => AddressClass::Public,
    }
}

/// An error in an allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allow-list entry {entry:?}: {reason}")]
pub struct AllowListError {
    pub entry: String,
    pub reason: String,
}

/// One CIDR block, e.g. `10.20.0.0/16` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix`, or a bare address as a single-host block.
    pub fn parse(text: &str) -> Result<Cidr, AllowListError> {
        let error = |reason: &str| AllowListError {
            entry: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| error("not an IP address"))?;
        let network = network.to_canonical();
        let max_prefix = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .map_err(|_| error("prefix is not a number"))?,
            None => max_prefix,
        };
        if prefix > max_prefix {
            return Err(error("prefix too long for the address family"));
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Admin exceptions to the SSRF guard: CIDR blocks and exact host names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    cidrs: Vec<Cidr>,
    hosts: Vec<String>,
}

impl AllowList {
    /// No exceptions: only public addresses are reachable.
    pub fn none() -> AllowList {
        AllowList::default()
    }

    /// Parses settings entries: each is a CIDR (`10.0.0.0/8`), an address
    /// (`127.0.0.1`), or a host name (`intranet.example`, matched exactly,
    /// case-insensitively, and then allowed to resolve anywhere).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, AllowListError> {
        let mut allow_list = AllowList::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let looks_like_address =
                entry.contains('/') || entry.contains(':') || entry.parse::<IpAddr>().is_ok();
            if looks_like_address {
                allow_list.cidrs.push(Cidr::parse(entry)?);
            } else if entry.chars().all(|character| {
                character.is_ascii_alphanumeric() || matches!(character, '-' | '.')
            }) {
                allow_list
                    .hosts
                    .push(entry.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(AllowListError {
                    entry: entry.to_owned(),
                    reason: "neither a CIDR nor a host name".to_owned(),
                });
            }
        }
        Ok(allow_list)
    }

    pub fn permits_ip(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|cidr| cidr.contains(ip))
    }

    pub fn permits_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// `Ok` when the guard lets this address through, else why not.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AddressClass> {
        let ip = ip.to_canonical();
        match classify_ip(ip) {
            AddressClass::Public => Ok(()),
            _ if self.permits_ip(ip) => Ok(()),
            class => Err(class),
        }
    }
}

/// Limits and exceptions for a [`SafeHttpClient`]; comes from the binary's config.
#[derive(Debug, Clone)]
pub struct SafeHttpConfig {
    pub allow_list: AllowList,
    pub max_body_bytes: u64,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Longest time for the whole fetch, redirects and body included.
    pub total_timeout: Duration,
    pub max_redirects: u8,
}

impl Default for SafeHttpConfig {
    fn default() -> Self {
        SafeHttpConfig {
            allow_list: AllowList::none(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(60),
            max_redirects: 5,
        }
    }
}

/// A fetched response: 2xx with its body, or 304 Not Modified with an empty body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// The URL after redirects: relative links in the body resolve against it.
    pub final_url: Url,
    pub headers: HeaderMap,
    /// Decompressed body, at most `max_body_bytes`.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header as text, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The body of an [`ApiRequest`].
#[derive(Debug, Clone)]
pub enum ApiBody<'a> {
    /// Serialized JSON, sent as `application/json`.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` pairs (OAuth token requests).
    Form(&'a [(&'a str, &'a str)]),
    /// Raw bytes with their content type (media uploads).
    Bytes {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
}

/// One request to a network API, sent by [`SafeHttpClient::send`].
#[derive(Debug, Clone)]
pub struct ApiRequest<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub body: Option<ApiBody<'a>>,
}

impl<'a> ApiRequest<'a> {
    pub fn get(url: &'a str, headers: &'a [(HeaderName, HeaderValue)]) -> ApiRequest<'a> {
        ApiRequest {
            method: reqwest::Method::GET,
            url,
            headers,
            body: None,
        }
    }

    pub fn post(
        url: &'a str,
        headers: &'a [(HeaderName, HeaderValue)],
        body: ApiBody<'a>,
    ) -> ApiRequest<'a> {
        ApiRequest {
            method: reqwest::Method::POST,
            url,
            headers,
            body: Some(body),
        }
    }
}

/// Why [`SafeHttpClient::open_stream`] did not return an open stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamOpenError {
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The server answered, but not with 2xx (the capped response, for its status and headers).
    #[error("server answered HTTP {}", .0.status)]
    Status(HttpResponse),
}

/// Raised inside the resolver; recognized again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({reason})")]
struct GuardRefusal {
    host: String,
    reason: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{host}: {reason}")]
struct LookupFailure {
    host: String,
    reason: String,
}

/// A DNS resolver that drops refused addresses, so the connection goes to an
/// address that was checked — a second lookup cannot swap it (DNS rebinding).
struct GuardedResolver {
    allow_list: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_list = Arc::clone(&self.allow_list);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| LookupFailure {
                    host: host.clone(),
                    reason: error.to_string(),
                })?
                .collect();
            if found.is_empty() {
                return Err(Box::new(LookupFailure {
                    host,
                    reason: "no addresses".to_owned(),
                }) as _);
            }
            if allow_list.permits_host(&host) {
                return Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs);
            }
            let mut refused = None;
            let permitted: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match allow_list.check_ip(address.ip()) {
                    Ok(()) => true,
                    Err(class) => {
                        refused = Some(format!("{} is {}", address.ip(), class.describe()));
                        false
                    }
                })
                .collect();
            if permitted.is_empty() {
                let reason = refused.unwrap_or_default();
                return Err(Box::new(GuardRefusal { host, reason }) as _);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client that refuses internal addresses, caps bodies and bounds time.
/// Cheap to clone; build one per process and share it.
#[derive(Debug, Clone)]
pub struct SafeHttpClient {
    inner: reqwest::Client,
    config: Arc<SafeHttpConfig>,
}

impl SafeHttpClient {
    pub fn new(config: SafeHttpConfig) -> Result<SafeHttpClient, SourceError> {
        let resolver = GuardedResolver {
            allow_list: Arc::new(config.allow_list.clone()),
        };
        let inner = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(|error| SourceError::Tls {
                reason: format!("building the HTTP client: {error}"),
            })?;
        Ok(SafeHttpClient {
            inner,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &SafeHttpConfig {
        &self.config
    }

    /// GETs `url` with extra request headers, following up to `max_redirects`
    /// redirects (each re-checked). Returns 2xx and 304 responses; any other
    /// final status is [`SourceError::HttpStatus`].
    pub async fn get(
        &self,
        url: &str,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<HttpResponse, SourceError> {
        let total = self.config.total_timeout;
        tokio::time::timeout(total, self.get_following_redirects(url, extra_headers))
            .await
            .unwrap_or(Err(SourceError::Timeout { after: total }))
    }

    async fn get_following_redirects(
        &self,
        url: &str,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<HttpResponse, SourceError> {
        let mut current = parse_http_url(url)?;
        let origin = current.origin();
        let mut redirects = 0_u8;
        loop {
            self.check_literal_host(&current)?;
            let mut request = self.inner.get(current.clone());
            // Credentials go only to the origin they were configured for: a
            // redirect to another host must not receive the feed's password or
            // a network token.
            let same_origin = current.origin() == origin;
            for (name, value) in extra_headers {
                if same_origin || !is_credential_header(name) {
                    request = request.header(name, value);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|error| self.map_error(&error, &current))?;
            let status = response.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(SourceError::Redirect {
                        reason: format!("more than {} redirects", self.config.max_redirects),
                    });
                }
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| SourceError::Redirect {
                        reason: format!("HTTP {} without a Location", status.as_u16()),
                    })?;
                let next = current
                    .join(location)
                    .map_err(|error| SourceError::Redirect {
                        reason: format!("bad Location {location:?}: {error}"),
                    })?;
                current = parse_http_url(next.as_str())?;
                continue;
            }
            if !(status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED) {
                return Err(SourceError::HttpStatus {
                    status: status.as_u16(),
                });
            }
            let headers = response.headers().clone();
            let body = if status == reqwest::StatusCode::NOT_MODIFIED {
                Vec::new()
            } else {
                self.read_capped(response, &current).await?
            };
            return Ok(HttpResponse {
                status: status.as_u16(),
                final_url: current,
                headers,
                body,
            });
        }
    }

    /// Sends one API request (network clients: Mastodon, Bluesky) and returns the
    /// response **whatever its status**, body capped, so the caller can read the
    /// API's error body and rate-limit headers. Redirects are not followed: an API
    /// that redirects a POST is misconfigured, and a 3xx comes back as a response.
    /// The URL goes through the same SSRF guard as every fetch.
    pub async fn send(&self, request: ApiRequest<'_>) -> Result<HttpResponse, SourceError> {
        let total = self.config.total_timeout;
        tokio::time::timeout(total, self.send_once(request))
            .await
            .unwrap_or(Err(SourceError::Timeout { after: total }))
    }

    async fn send_once(&self, request: ApiRequest<'_>) -> Result<HttpResponse, SourceError> {
        let url = parse_http_url(request.url)?;
        self.check_literal_host(&url)?;
        let mut builder = self.inner.request(request.method.clone(), url.clone());
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        builder = match request.body {
            None => builder,
            Some(ApiBody::Json(bytes)) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes),
            Some(ApiBody::Form(pairs)) => builder.form(pairs),
            Some(ApiBody::Bytes {
                content_type,
                bytes,
            }) => builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        };
        let response = builder
            .send()
            .await
            .map_err(|error| self.map_error(&error, &url))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = self.read_capped(response, &url).await?;
        Ok(HttpResponse {
            status,
            final_url: url,
            headers,
            body,
        })
    }

    /// Opens a long-lived GET (Server-Sent Events: Mastodon's streaming API) behind
    /// the same SSRF guard. There is no total timeout — the caller reads chunks
    /// with its own idle timeout and reconnects; a non-2xx answer is returned as a
    /// capped [`HttpResponse`] in the `Err` side so the caller can read the status.
    pub async fn open_stream(
        &self,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<reqwest::Response, StreamOpenError> {
        let url = parse_http_url(url)?;
        self.check_literal_host(&url)?;
        let mut builder = self.inner.get(url.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let response = tokio::time::timeout(self.config.connect_timeout * 2, builder.send())
            .await
            .map_err(|_| SourceError::Timeout {
                after: self.config.connect_timeout * 2,
            })?
            .map_err(|error| self.map_error(&error, &url))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        let body = self.read_capped(response, &url).await?;
        Err(StreamOpenError::Status(HttpResponse {
            status,
            final_url: url,
            headers: response_headers,
            body,
        }))
    }

    /// Maps a transport error met while reading a stream opened by [`Self::open_stream`].
    pub fn stream_error(&self, error: &reqwest::Error, url: &Url) -> SourceError {
        self.map_error(error, url)
    }

    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        url: &Url,
    ) -> Result<Vec<u8>, SourceError> {
        let limit = self.config.max_body_bytes;
        // A declared length over the cap fails before reading anything (only
        // meaningful when the body is not compressed; the stream check below is the real guard).
        if response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_none()
            && response
                .content_length()
                .is_some_and(|length| length > limit)
        {
            return Err(SourceError::TooLarge { limit_bytes: limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.map_error(&error, url))?
        {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(SourceError::TooLarge { limit_bytes: limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// IP-literal hosts never reach the resolver, so they are checked here.
    fn check_literal_host(&self, url: &Url) -> Result<(), SourceError> {
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(_)) => return Ok(()),
            None => {
                return Err(SourceError::InvalidUrl {
                    url: url.to_string(),
                    reason: "no host".to_owned(),
                });
            }
        };
        self.config
            .allow_list
            .check_ip(ip)
            .map_err(|class| SourceError::SsrfRefused {
                host: ip.to_string(),
                reason: format!("{ip} is {}", class.describe()),
            })
    }

    fn map_error(&self, error: &reqwest::Error, url: &Url) -> SourceError {
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
        let mut chain = String::new();
        while let Some(current) = cause {
            if let Some(refusal) = current.downcast_ref::<GuardRefusal>() {
                return SourceError::SsrfRefused {
                    host: refusal.host.clone(),
                    reason: refusal.reason.clone(),
                };
            }
            if let Some(failure) = current.downcast_ref::<LookupFailure>() {
                return SourceError::Dns {
                    host: failure.host.clone(),
                    reason: failure.reason.clone(),
                };
            }
            chain.push_str(&current.to_string().to_ascii_lowercase());
            chain.push(' ');
            cause = current.source();
        }
        let reason = innermost_message(error);
        if error.is_timeout() {
            SourceError::Timeout {
                after: self.config.read_timeout,
            }
        } else if error.is_decode() {
            SourceError::BadCompression { reason }
        } else if chain.contains("certificate")
            || chain.contains("tls")
            || chain.contains("handshake")
        {
            // rustls errors are not reachable as types through reqwest's public
            // API; their messages are stable enough to classify.
            SourceError::Tls { reason }
        } else if error.is_connect() {
            SourceError::Connect {
                reason: format!("{host}: {reason}"),
            }
        } else {
            SourceError::Network { reason }
        }
    }
}

fn is_credential_header(name: &HeaderName) -> bool {
    *name == reqwest::header::AUTHORIZATION
        || *name == reqwest::header::COOKIE
        || *name == reqwest::header::PROXY_AUTHORIZATION
}

fn innermost_message(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        message = current.to_string();
        cause = current.source();
    }
    message
}

fn parse_http_url(raw: &str) -> Result<Url, SourceError> {
    let invalid = |reason: String| SourceError::InvalidUrl {
        url: raw.to_owned(),
        reason,
    };
    let url = Url::parse(raw.trim()).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn address_classifier() {
        fn check(address: &str, expected: AddressClass) {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(classify_ip(ip), expected, "address: {address}");
        }
        use AddressClass::*;
        check("8.8.8.8", Public);
        check("93.184.216.34", Public);
        check("127.0.0.1", Loopback);
        check("127.255.0.9", Loopback);
        check("10.1.2.3", Private);
        check("172.16.0.1", Private);
        check("172.31.255.255", Private);
        check("172.32.0.1", Public);
        check("192.168.1.1", Private);
        check("100.64.0.1", Private);
        check("100.127.255.254", Private);
        check("100.128.0.1", Public);
        check("169.254.169.254", LinkLocal);
        check("169.254.0.1", LinkLocal);
        check("0.0.0.0", Unspecified);
        check("0.1.2.3", Unspecified);
        check("224.0.0.1", Multicast);
        check("239.255.255.250", Multicast);
        check("255.255.255.255", Broadcast);
        check("192.0.2.1", Documentation);
        check("198.51.100.7", Documentation);
        check("203.0.113.9", Documentation);
        check("198.18.0.1", Reserved);
        check("240.0.0.1", Reserved);
        check("2606:4700::1111", Public);
        check("::1", Loopback);
        check("::", Unspecified);
        check("fc00::1", Private);
        check("fd12:3456::1", Private);
        check("fe80::1", LinkLocal);
        check("febf::1", LinkLocal);
        check("fec0::1", Private);
        check("ff02::1", Multicast);
        check("2001:db8::1", Documentation);
        check("::ffff:127.0.0.1", Loopback);
        check("::ffff:169.254.169.254", LinkLocal);
        check("::ffff:10.0.0.1", Private);
        check("::ffff:8.8.8.8", Public);
        check("::127.0.0.1", Loopback);
        check("64:ff9b::a9fe:a9fe", LinkLocal);
        check("64:ff9b::808:808", Public);
        check("2002:7f00:1::1", Private);
        check("2002:808:808::1", Public);
        check("100::1", Reserved);
    }

    #[test]
    fn allow_list_entries() {
        let allow =
            AllowList::parse(&["127.0.0.1", "10.20.0.0/16", "fd00::/8", "Intranet.Example"])
                .unwrap();
        fn check(allow: &AllowList, address: &str, expected: bool) {
            assert_eq!(
                allow.check_ip(address.parse().unwrap()).is_ok(),
                expected,
                "address: {address}"
            );
        }
        check(&allow, "127.0.0.1", true);
        check(&allow, "::ffff:127.0.0.1", true);
        check(&allow, "127.0.0.2", false);
        check(&allow, "10.20.99.1", true);
        check(&allow, "10.21.0.1", false);
        check(&allow, "fd00::5", true);
        check(&allow, "169.254.169.254", false);
        check(&allow, "1.1.1.1", true);
        assert!(allow.permits_host("intranet.example."));
        assert!(!allow.permits_host("example"));
        assert!(AllowList::parse(&["10.0.0.0/33"]).is_err());
        assert!(AllowList::parse(&["bad host!"]).is_err());
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }

    #[test]
    fn only_http_urls() {
        assert_eq!(
            parse_http_url("file:///etc/passwd").unwrap_err().code(),
            "invalid_url"
        );
        assert_eq!(
            parse_http_url("gopher://x").unwrap_err().code(),
            "invalid_url"
        );
        assert!(parse_http_url("https://example.com/feed").is_ok());
    }

    #[test]
    fn user_agent_names_the_product() {
        assert!(USER_AGENT.starts_with("Atalaya/"));
        assert!(USER_AGENT.ends_with("(+self-hosted listening)"));
    }
}
