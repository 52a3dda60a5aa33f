//! `--web.config.file`: the web configuration file of Prometheus'
//! exporter-toolkit (TLS, mutual TLS, basic auth, security headers), read
//! the way exporter-toolkit reads it, so an existing file works unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # relative to this file's directory
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: ca.crt
//!   client_allowed_sans: [prometheus.example.com]
//!   min_version: TLS12
//! http_server_config:
//!   headers:
//!     Strict-Transport-Security: max-age=31536000
//! basic_auth_users:
//!   prometheus: $2y$10$...        # bcrypt
//! ```
//!
//! As exporter-toolkit does, the file and the certificate, key and CA files
//! it names are read again when they change: each new connection looks at
//! their modification time, size and inode, so a renewed certificate is
//! served without a restart. A change that does not load keeps the
//! previous configuration, with one error in the log per change. What
//! exporter-toolkit accepts and this host cannot do (TLS 1.0 and 1.1, CBC
//! cipher suites, the P-521 curve, the rate limiter) is refused with a
//! message naming the field, never ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use hyper::header::{HeaderName, HeaderValue};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use serde::Deserialize;

use crate::auth::BasicAuth;

/// The file as exporter-toolkit defines it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    /// exporter-toolkit's request rate limiter: refused, named.
    #[serde(default)]
    rate_limit: Option<serde_norway::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    cert: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    client_ca: String,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    curve_preferences: Vec<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// A web configuration that does not load: the file, the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError(pub String);

impl std::fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebConfigError {}

/// One loaded web configuration: what a connection and a request need.
pub struct WebSettings {
    /// TLS, when the file configures a certificate; plain HTTP otherwise.
    pub tls: Option<Arc<ServerConfig>>,
    /// Users whose basic-auth credentials every request must carry (none:
    /// no authentication).
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The files it was read from, to notice a change.
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth.is_some())
            .field("headers", &self.headers)
            .field("files", &self.files)
            .finish()
    }
}

/// Headers exporter-toolkit lets a web configuration set.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// Reads and checks the web configuration file at `path`.
pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
    let at = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| WebConfigError(format!("--web.config.file {at}: cannot read it: {e}")))?;
    // An empty file is an empty configuration, as in exporter-toolkit.
    let file: WebConfigFile = if text.trim().is_empty() {
        WebConfigFile::default()
    } else {
        serde_norway::from_str(&text)
            .map_err(|e| WebConfigError(format!("--web.config.file {at}: {e}")))?
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files = vec![path.to_owned()];
    let fail = |field: &str, why: String| WebConfigError(format!("{at}: {field}: {why}"));
    if file.rate_limit.is_some() {
        return Err(fail(
            "rate_limit",
            "not supported by this host (bound scrapes with --web.max-requests)".into(),
        ));
    }
    let tls = match &file.tls_server_config {
        Some(tls) => build_tls(tls, dir, &mut files)
            .map_err(|(field, why)| fail(&format!("tls_server_config.{field}"), why))?,
        None => None,
    };
    let http = file.http_server_config.unwrap_or_default();
    if http.http2 == Some(true) {
        tracing::info!(
            file = %at,
            "http_server_config.http2: this host serves HTTP/1.1 only; clients fall back to it"
        );
    }
    let mut headers = Vec::new();
    for (name, value) in &http.headers {
        let field = format!("http_server_config.headers.{name}");
        // Names and values are compared exactly, as exporter-toolkit does.
        let Some(allowed) = ALLOWED_HEADERS.iter().find(|allowed| *allowed == name) else {
            return Err(fail(
                &field,
                format!(
                    "this header cannot be configured (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ),
            ));
        };
        match *allowed {
            "X-Frame-Options" if !["deny", "sameorigin"].contains(&value.as_str()) => {
                return Err(fail(&field, format!("{value:?}: use deny or sameorigin")));
            }
            "X-Content-Type-Options" if value != "nosniff" => {
                return Err(fail(&field, format!("{value:?}: use nosniff")));
            }
            _ => {}
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| fail(&field, "not a valid header value".into()))?;
        headers.push((HeaderName::from_static(lowercase(allowed)), value));
    }
    let basic_auth = match file.basic_auth_users {
        Some(users) if !users.is_empty() => {
            Some(Arc::new(BasicAuth::new(users).map_err(|e| {
                fail(&format!("basic_auth_users.{}", e.user), e.reason)
            })?))
        }
        _ => None,
    };
    Ok(WebSettings {
        tls,
        basic_auth,
        headers,
        files,
    })
}

fn lowercase(header: &str) -> &'static str {
    match header {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

/// A field's name and what is wrong with it.
type FieldError = (&'static str, String);

/// Where a PEM comes from: a file (relative to the configuration's
/// directory) or the configuration itself.
fn pem_source<'a>(
    file_field: &'static str,
    file: &'a str,
    inline_field: &'static str,
    inline: &'a str,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<(&'static str, Vec<u8>)>, FieldError> {
    match (file.is_empty(), inline.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err((
            file_field,
            format!("set either {file_field} or {inline_field}, not both"),
        )),
        (false, true) => {
            let path = dir.join(file);
            let bytes = std::fs::read(&path)
                .map_err(|e| (file_field, format!("{}: {e}", path.display())))?;
            files.push(path);
            Ok(Some((file_field, bytes)))
        }
        (true, false) => Ok(Some((inline_field, inline.as_bytes().to_owned()))),
    }
}

fn build_tls(
    tls: &TlsFile,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Arc<ServerConfig>>, FieldError> {
    // What needs no file first: a wrong option is named even when a file
    // is missing too.
    let mut provider = rustls::crypto::ring::default_provider();
    if !tls.cipher_suites.is_empty() {
        provider.cipher_suites = cipher_suites(&tls.cipher_suites)?;
    }
    if !tls.curve_preferences.is_empty() {
        provider.kx_groups = curves(&tls.curve_preferences)?;
    }
    let provider = Arc::new(provider);
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let has_cert = !(tls.cert_file.is_empty() && tls.cert.is_empty());
    let has_key = !(tls.key_file.is_empty() && tls.key.is_empty());
    match (has_cert, has_key) {
        // No certificate: plain HTTP, as in exporter-toolkit.
        (false, false) => return Ok(None),
        (true, false) => return Err(("key_file", "a certificate is set without a key".into())),
        (false, true) => return Err(("cert_file", "a key is set without a certificate".into())),
        (true, true) => {}
    }
    let pem = |source: Option<_>| source.expect("checked above");
    let cert = pem(pem_source(
        "cert_file",
        &tls.cert_file,
        "cert",
        &tls.cert,
        dir,
        files,
    )?);
    let key = pem(pem_source(
        "key_file",
        &tls.key_file,
        "key",
        &tls.key,
        dir,
        files,
    )?);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert.1)
        .collect::<Result<_, _>>()
        .map_err(|e| (cert.0, format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err((cert.0, "no certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key.1)
        .map_err(|e| (key.0, format!("not a PEM private key: {e}")))?;

    let verifier = client_verifier(tls, dir, files, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| ("cipher_suites", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| ("key_file", format!("does not match the certificate: {e}")))?;
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The TLS versions between `min` and `max`, by exporter-toolkit's names
/// (default TLS12 to TLS13).
fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, FieldError> {
    fn rank(field: &'static str, name: &str) -> Result<u8, FieldError> {
        match name {
            "TLS12" => Ok(2),
            "TLS13" => Ok(3),
            "TLS10" | "TLS11" => Err((
                field,
                format!("{name} is not supported: this host speaks TLS 1.2 and 1.3 (TLS12, TLS13)"),
            )),
            other => Err((
                field,
                format!("unknown TLS version {other:?}: use TLS12 or TLS13"),
            )),
        }
    }
    let min = min.map_or(Ok(2), |m| rank("min_version", m))?;
    let max = max.map_or(Ok(3), |m| rank("max_version", m))?;
    if min > max {
        return Err(("min_version", "is above max_version".into()));
    }
    Ok([(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(rank, _)| (min..=max).contains(rank))
        .map(|(_, version)| version)
        .collect())
}

/// The TLS 1.2 suites named (Go's names, as exporter-toolkit takes them),
/// in that order, and every TLS 1.3 suite (which, as in Go, cannot be
/// chosen).
fn cipher_suites(names: &[String]) -> Result<Vec<rustls::SupportedCipherSuite>, FieldError> {
    use rustls::crypto::ring::cipher_suite as cs;
    let tls13 = [
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    let mut suites = Vec::new();
    for name in names {
        let suite = match name.as_str() {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            }
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            }
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
            | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
            | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
                cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            }
            "TLS_AES_128_GCM_SHA256"
            | "TLS_AES_256_GCM_SHA384"
            | "TLS_CHACHA20_POLY1305_SHA256" => {
                continue;
            }
            other => {
                return Err((
                    "cipher_suites",
                    format!(
                        "{other} is not supported: this host offers the ECDHE suites with \
                         AES-GCM or ChaCha20-Poly1305 (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
                    ),
                ));
            }
        };
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    suites.extend(tls13);
    Ok(suites)
}

fn curves(
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, FieldError> {
    use rustls::crypto::ring::kx_group;
    names
        .iter()
        .map(|name| match name.as_str() {
            "X25519" => Ok(kx_group::X25519),
            "CurveP256" => Ok(kx_group::SECP256R1),
            "CurveP384" => Ok(kx_group::SECP384R1),
            other => Err((
                "curve_preferences",
                format!("{other} is not supported: use X25519, CurveP256 or CurveP384"),
            )),
        })
        .collect()
}

fn client_verifier(
    tls: &TlsFile,
    dir: &Path,
    files: &mut Vec<PathBuf>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, FieldError> {
    let ca = pem_source(
        "client_ca_file",
        &tls.client_ca_file,
        "client_ca",
        &tls.client_ca,
        dir,
        files,
    )?;
    let roots = match &ca {
        None => None,
        Some((field, pem)) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| (*field, format!("not a PEM certificate: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| (*field, format!("not a usable CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err((*field, "no certificate in it".into()));
            }
            Some(Arc::new(roots))
        }
    };
    let kind = match (tls.client_auth_type.as_str(), &roots) {
        // A CA without a policy means verifying, as in exporter-toolkit.
        ("", Some(_)) => "RequireAndVerifyClientCert",
        ("", None) => "NoClientCert",
        (kind, _) => kind,
    };
    if !tls.client_allowed_sans.is_empty() && kind != "RequireAndVerifyClientCert" {
        return Err((
            "client_allowed_sans",
            format!("needs client_auth_type RequireAndVerifyClientCert, not {kind}"),
        ));
    }
    let needs_ca = |kind: &str| -> Result<Arc<RootCertStore>, FieldError> {
        roots.clone().ok_or((
            "client_auth_type",
            format!("{kind} needs client_ca_file (the CA that signs client certificates)"),
        ))
    };
    let verifier: Arc<dyn ClientCertVerifier> = match kind {
        "NoClientCert" if roots.is_some() => {
            return Err((
                "client_auth_type",
                "client_ca_file is set, but NoClientCert asks for no client certificate".into(),
            ));
        }
        "NoClientCert" => WebPkiClientVerifier::no_client_auth(),
        "RequestClientCert" => Arc::new(AnyClientCert {
            mandatory: false,
            provider: provider.clone(),
        }),
        "RequireAnyClientCert" => Arc::new(AnyClientCert {
            mandatory: true,
            provider: provider.clone(),
        }),
        "VerifyClientCertIfGiven" => {
            WebPkiClientVerifier::builder_with_provider(needs_ca(kind)?, provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| ("client_ca_file", e.to_string()))?
        }
        "RequireAndVerifyClientCert" => {
            WebPkiClientVerifier::builder_with_provider(needs_ca(kind)?, provider.clone())
                .build()
                .map_err(|e| ("client_ca_file", e.to_string()))?
        }
        other => {
            return Err((
                "client_auth_type",
                format!(
                    "unknown {other:?}: use NoClientCert, RequestClientCert, RequireAnyClientCert, \
                     VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    if tls.client_allowed_sans.is_empty() {
        Ok(verifier)
    } else {
        Ok(Arc::new(AllowedSans {
            inner: verifier,
            allowed: tls.client_allowed_sans.clone(),
        }))
    }
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is
/// asked for and its signature of the handshake checked, but it is not
/// verified against a CA.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `client_allowed_sans`: a verified client certificate must also name one
/// of these in its subject alternative names (DNS name, e-mail address, IP
/// address or URI, compared exactly, as exporter-toolkit does).
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

/// The subject alternative names of a DER certificate, as strings.
fn subject_alt_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some((*s).to_owned())
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string()),
                16 => {
                    Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let names = subject_alt_names(end_entity.as_ref());
        if names.iter().any(|name| self.allowed.contains(name)) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(format!(
                "client certificate names {names:?}, none of client_allowed_sans"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// What identifies a file's content without reading it.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// The web configuration in effect, read again when one of its files
/// changes.
pub struct WebConfig {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    settings: Arc<WebSettings>,
    /// The stamps of the files last read (or last tried).
    stamps: Vec<Stamp>,
}

impl WebConfig {
    /// Loads the file at `path`; an error here stops the host from
    /// starting.
    pub fn open(path: &Path) -> Result<Arc<WebConfig>, WebConfigError> {
        let settings = load(path)?;
        let stamps = settings.files.iter().map(|f| stamp(f)).collect();
        Ok(Arc::new(WebConfig {
            path: path.to_owned(),
            state: Mutex::new(State {
                settings: Arc::new(settings),
                stamps,
            }),
        }))
    }

    /// The settings for a new connection: the current ones, read again
    /// first if a file changed since they were read.
    pub fn current(&self) -> Arc<WebSettings> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // The files of the last attempt, with the configuration file first:
        // a changed file list shows as a changed configuration file.
        let files = &state.settings.files;
        let now: Vec<Stamp> = files.iter().map(|f| stamp(f)).collect();
        if now != state.stamps {
            match load(&self.path) {
                Ok(settings) => {
                    tracing::info!(file = %self.path.display(), "web configuration reloaded");
                    state.stamps = settings.files.iter().map(|f| stamp(f)).collect();
                    state.settings = Arc::new(settings);
                }
                Err(e) => {
                    // Once per change, not once per connection.
                    tracing::error!(error = %e, "web configuration not reloaded; the previous one stays");
                    state.stamps = now;
                }
            }
        }
        state.settings.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn error_of(text: &str) -> String {
        let dir = std::env::temp_dir().join(format!(
            "web_config_unit_{}_{:x}",
            std::process::id(),
            text.len() as u64 ^ text.bytes().map(u64::from).sum::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = write(&dir, "web.yml", text);
        let error = load(&path).expect_err(text).0;
        std::fs::remove_dir_all(&dir).unwrap();
        error
    }

    #[test]
    fn an_empty_file_serves_plain_http_without_auth() {
        let dir = std::env::temp_dir().join(format!("web_config_empty_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = load(&write(&dir, "web.yml", "")).unwrap();
        assert!(settings.tls.is_none() && settings.basic_auth.is_none());
        assert!(settings.headers.is_empty());
        let settings = load(&write(&dir, "web.yml", "tls_server_config: {}\n")).unwrap();
        assert!(settings.tls.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_field_and_the_reason() {
        for (text, expected) in [
            ("nonsense: 1\n", "unknown field `nonsense`"),
            (
                "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
                "tls_server_config.cert_file: ",
            ),
            (
                "tls_server_config:\n  cert_file: a.crt\n",
                "tls_server_config.key_file: a certificate is set without a key",
            ),
            (
                "tls_server_config:\n  cert: x\n  cert_file: a.crt\n  key: y\n",
                "tls_server_config.cert_file: set either cert_file or cert, not both",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n",
                "tls_server_config.cert: no certificate in it",
            ),
            ("rate_limit:\n  interval: 1s\n", "rate_limit: not supported"),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "http_server_config.headers.Server: this header cannot be configured",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "http_server_config.headers.X-Frame-Options: \"allow\": use deny or sameorigin",
            ),
            (
                "basic_auth_users:\n  alice: plain\n",
                "basic_auth_users.alice: not a bcrypt hash",
            ),
        ] {
            let error = error_of(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("web.yml"), "{text}: {error}");
        }
    }

    #[test]
    fn tls_options_this_host_lacks_are_refused_by_name() {
        assert_eq!(versions(Some("TLS10"), None).unwrap_err().0, "min_version");
        assert!(
            versions(Some("TLS11"), None)
                .unwrap_err()
                .1
                .contains("TLS 1.2 and 1.3")
        );
        assert_eq!(
            versions(Some("TLS13"), Some("TLS12")).unwrap_err().0,
            "min_version"
        );
        assert_eq!(versions(None, Some("TLS14")).unwrap_err().0, "max_version");
        assert_eq!(versions(None, None).unwrap().len(), 2);
        assert_eq!(versions(Some("TLS13"), None).unwrap().len(), 1);
        let error = cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".into()]).unwrap_err();
        assert_eq!(error.0, "cipher_suites");
        assert!(
            error.1.contains("TLS_RSA_WITH_AES_128_CBC_SHA"),
            "{}",
            error.1
        );
        let suites = cipher_suites(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
            "TLS_AES_128_GCM_SHA256".into(),
        ])
        .unwrap();
        // The one TLS 1.2 suite named first, then the three TLS 1.3 ones.
        assert_eq!(suites.len(), 4);
        assert_eq!(
            suites[0].suite(),
            rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        );
        let error = curves(&["CurveP521".into()]).err().unwrap();
        assert_eq!(error.0, "curve_preferences");
        assert_eq!(
            curves(&["X25519".into(), "CurveP384".into()])
                .unwrap()
                .len(),
            2
        );
    }
}
