//! Where a store connects and how: the URL's libpq settings read once at open, and
//! the transport its `sslmode` asks for.
//!
//! The `postgres` crate parses libpq's URL form but knows three `sslmode` values
//! (`disable`, `prefer`, `require`) and none of the certificate parameters. A URL
//! written for `psql` should mean the same here, so this module reads `sslmode` and
//! `sslrootcert` itself and hands the crate a URL without them:
//!
//! | `sslmode` | transport (feature `postgres-tls`) | without the feature |
//! |---|---|---|
//! | `disable` | plain | plain |
//! | `allow`, `prefer` (default) | TLS if the server offers it, certificate not checked (as libpq) | plain |
//! | `require` | TLS or no connection; with `sslrootcert=FILE` the chain is checked against that file only (as libpq) | refused |
//! | `verify-ca` | TLS, the chain checked against `sslrootcert=FILE` only, which it needs: with no name check, the public authorities' roots would accept any certificate they issued | refused |
//! | `verify-full` | TLS, the chain checked against `sslrootcert=FILE` only, or the system's roots (no `sslrootcert`, or `sslrootcert=system`), and the certificate must name the host | refused |
//!
//! Client certificates (`sslcert`, `sslkey`) are refused by name rather than ignored.

use std::str::FromStr;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// A server to connect to, and how.
pub(crate) struct Endpoint {
    config: postgres::Config,
    transport: Transport,
}

/// How the bytes travel.
enum Transport {
    Plain,
    #[cfg(feature = "postgres-tls")]
    Tls(native_tls::TlsConnector),
}

/// What the URL's TLS parameters ask for, before any connector is built. (Its `Debug`
/// leaves out `url`, which may hold a password.)
struct TlsRequest {
    /// libpq's `sslmode`.
    mode: SslMode,
    /// libpq's `sslrootcert`: a PEM file of certificates to trust (percent-decoded),
    /// or `system`.
    root_certificate: Option<String>,
    /// The URL the `postgres` crate is given: the TLS parameters taken out (`sslmode`
    /// put back as one of the three values it knows).
    url: String,
}

impl std::fmt::Debug for TlsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL (a password) nor the root file's path.
        f.debug_struct("TlsRequest")
            .field("mode", &self.mode)
            .field("root_certificate", &self.root_certificate.is_some())
            .finish_non_exhaustive()
    }
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(Error::invalid(
                    "database URL (sslmode)",
                    "must be disable, allow, prefer, require, verify-ca or verify-full",
                ))
            }
        })
    }

    /// Whether a connection in the clear is refused.
    fn needs_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    /// The value the `postgres` crate knows for this mode.
    fn as_client_mode(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow | SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// Reads the TLS parameters out of a libpq URL. Every other parameter is kept as
/// written, in its order.
fn tls_request(url: &str) -> Result<TlsRequest> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut mode = SslMode::Prefer;
    let mut root_certificate = None;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key, "database URL (parameter name)")?;
        match key.as_str() {
            "sslmode" => mode = SslMode::parse(&decode(value, "database URL (sslmode)")?)?,
            "sslrootcert" => {
                root_certificate = Some(decode(value, "database URL (sslrootcert)")?);
            }
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(Error::Refused(
                    "client certificates and revocation lists (sslcert, sslkey, sslpassword, \
                     sslcrl, sslcrldir) are not supported in PostgreSQL URLs",
                ))
            }
            _ => kept.push(pair),
        }
    }
    let mut url = base.to_owned();
    url.push_str("?sslmode=");
    url.push_str(mode.as_client_mode());
    for pair in kept {
        url.push('&');
        url.push_str(pair);
    }
    Ok(TlsRequest {
        mode,
        root_certificate,
        url,
    })
}

fn decode(text: &str, field: &'static str) -> Result<String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| Error::invalid(field, "is not UTF-8 once percent-decoded"))
}

impl Endpoint {
    /// Reads `url` (libpq's URL form) and builds what connecting needs; nothing is
    /// sent. A TLS mode this build cannot honour is refused here, never downgraded.
    pub(crate) fn parse(url: &str) -> Result<Endpoint> {
        let request = tls_request(url)?;
        let config = postgres::Config::from_str(&request.url)
            .map_err(|_| Error::invalid("database URL", "is not a valid PostgreSQL URL"))?;
        let transport = Transport::for_request(&request)?;
        Ok(Endpoint { config, transport })
    }

    /// A new connection.
    pub(crate) fn connect(&self) -> Result<postgres::Client> {
        match &self.transport {
            Transport::Plain => Ok(self.config.connect(postgres::NoTls)?),
            #[cfg(feature = "postgres-tls")]
            Transport::Tls(connector) => {
                let tls = postgres_native_tls::MakeTlsConnector::new(connector.clone());
                self.config.connect(tls).map_err(tls_failure)
            }
        }
    }
}

impl Transport {
    #[cfg(not(feature = "postgres-tls"))]
    fn for_request(request: &TlsRequest) -> Result<Transport> {
        supported(request.mode, false)?;
        trust(request.mode, request.root_certificate.as_deref())?;
        Ok(Transport::Plain)
    }

    #[cfg(feature = "postgres-tls")]
    fn for_request(request: &TlsRequest) -> Result<Transport> {
        supported(request.mode, true)?;
        let Some(trust) = trust(request.mode, request.root_certificate.as_deref())? else {
            return Ok(Transport::Plain);
        };
        let mut builder = native_tls::TlsConnector::builder();
        if let Roots::File(path) = trust.roots {
            // Only this file: added roots come on top of the system's otherwise.
            builder.disable_built_in_roots(true);
            let pem = std::fs::read(path)
                .map_err(|_| Error::invalid("database URL (sslrootcert)", "cannot be read"))?;
            for certificate in pem_certificates(&pem)? {
                builder.add_root_certificate(certificate);
            }
        }
        builder.danger_accept_invalid_certs(!trust.check_chain);
        builder.danger_accept_invalid_hostnames(!trust.check_host);
        let connector = builder.build().map_err(|_| {
            Error::Refused("the TLS library could not be set up for PostgreSQL connections")
        })?;
        Ok(Transport::Tls(connector))
    }
}

/// What a TLS connection checks of the server's certificate.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "postgres-tls"), allow(dead_code))]
struct Trust<'r> {
    check_chain: bool,
    check_host: bool,
    roots: Roots<'r>,
}

/// The authorities a chain is checked against.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "postgres-tls"), allow(dead_code))]
enum Roots<'r> {
    /// The system's store.
    System,
    /// Only the certificates of this PEM file.
    File(&'r str),
}

/// libpq's rules for `sslmode` and `sslrootcert`; `None` for a plain connection. The
/// public authorities' roots are trusted only with the host name checked.
fn trust(mode: SslMode, root: Option<&str>) -> Result<Option<Trust<'_>>> {
    let unchecked = Trust {
        check_chain: false,
        check_host: false,
        roots: Roots::System,
    };
    let file = root.filter(|root| *root != "system");
    Ok(Some(match (mode, root, file) {
        (SslMode::Disable, _, _) => return Ok(None),
        (SslMode::Allow | SslMode::Prefer, _, _) | (SslMode::Require, None, _) => unchecked,
        (SslMode::Require | SslMode::VerifyCa, _, Some(path)) => Trust {
            check_chain: true,
            check_host: false,
            roots: Roots::File(path),
        },
        (SslMode::Require | SslMode::VerifyCa, Some(_), None) => {
            return Err(Error::Refused(
                "sslrootcert=system needs sslmode=verify-full (the public authorities' roots \
                 without a name check would accept any certificate they issued)",
            ))
        }
        (SslMode::VerifyCa, None, _) => {
            return Err(Error::Refused(
                "sslmode=verify-ca needs sslrootcert naming a certificate file (without a name \
                 check, the public authorities' roots would accept any certificate they issued)",
            ))
        }
        (SslMode::VerifyFull, _, Some(path)) => Trust {
            check_chain: true,
            check_host: true,
            roots: Roots::File(path),
        },
        (SslMode::VerifyFull, _, None) => Trust {
            check_chain: true,
            check_host: true,
            roots: Roots::System,
        },
    }))
}

/// Refuses a mode that needs TLS in a build without it: never a quiet downgrade.
fn supported(mode: SslMode, tls_built: bool) -> Result<()> {
    if mode.needs_tls() && !tls_built {
        return Err(Error::Refused(
            "this sslmode needs contactstore built with the `postgres-tls` feature",
        ));
    }
    Ok(())
}

/// Every certificate of a PEM file (a bundle may hold several).
#[cfg(feature = "postgres-tls")]
fn pem_certificates(pem: &[u8]) -> Result<Vec<native_tls::Certificate>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let not_pem = || Error::invalid("database URL (sslrootcert)", "holds no PEM certificate");
    let text = std::str::from_utf8(pem).map_err(|_| not_pem())?;
    let mut certificates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let end = block.find(END).ok_or_else(not_pem)? + END.len();
        let certificate =
            native_tls::Certificate::from_pem(&block.as_bytes()[..end]).map_err(|_| not_pem())?;
        certificates.push(certificate);
        rest = &block[end..];
    }
    if certificates.is_empty() {
        return Err(not_pem());
    }
    Ok(certificates)
}

/// A failed TLS connection says so (the handshake's own message may name the host, so
/// only the kind of failure is kept).
#[cfg(feature = "postgres-tls")]
fn tls_failure(error: postgres::Error) -> Error {
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if cause.downcast_ref::<native_tls::Error>().is_some() {
            return Error::Storage(crate::error::StorageError::postgres_tls_handshake());
        }
        source = cause.source();
    }
    Error::from(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_is_the_default_and_other_parameters_are_kept_in_order() {
        let request =
            tls_request("postgres://u:p@h:5/db?connect_timeout=5&application_name=a%20b").unwrap();
        assert_eq!(request.mode, SslMode::Prefer);
        assert_eq!(request.root_certificate, None);
        assert_eq!(
            request.url,
            "postgres://u:p@h:5/db?sslmode=prefer&connect_timeout=5&application_name=a%20b"
        );
        assert!(postgres::Config::from_str(&request.url).is_ok());
    }

    #[test]
    fn libpq_modes_map_to_the_three_the_client_knows() {
        for (written, mode, client) in [
            ("disable", SslMode::Disable, "disable"),
            ("allow", SslMode::Allow, "prefer"),
            ("prefer", SslMode::Prefer, "prefer"),
            ("require", SslMode::Require, "require"),
            ("verify-ca", SslMode::VerifyCa, "require"),
            ("verify-full", SslMode::VerifyFull, "require"),
        ] {
            let request = tls_request(&format!("postgres://h/db?sslmode={written}")).unwrap();
            assert_eq!(request.mode, mode, "{written}");
            assert_eq!(request.url, format!("postgres://h/db?sslmode={client}"));
            assert_eq!(mode.needs_tls(), client == "require", "{written}");
        }
    }

    #[test]
    fn the_root_certificate_is_taken_out_and_decoded() {
        let request =
            tls_request("postgresql://h/db?sslrootcert=%2Fetc%2Fca%20x.pem&sslmode=verify-full")
                .unwrap();
        assert_eq!(request.root_certificate.as_deref(), Some("/etc/ca x.pem"));
        assert_eq!(request.url, "postgresql://h/db?sslmode=require");
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_without_echoing_the_url() {
        let error = tls_request("postgres://u:secret@h/db?sslmode=sometimes").unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::BadRequest);
        assert!(error.to_string().contains("sslmode"));
        assert!(!error.to_string().contains("secret"));
        for key in ["sslcert", "sslkey"] {
            let error = tls_request(&format!("postgres://h/db?{key}=/x")).unwrap_err();
            assert!(matches!(error, Error::Refused(_)), "{key}");
            assert!(error.to_string().contains(key));
        }
        let error = tls_request("postgres://h/db?sslrootcert=%FF").unwrap_err();
        assert!(error.to_string().contains("sslrootcert"));
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        let error = Endpoint::parse("postgres://u:secret@h:notaport/db")
            .err()
            .unwrap();
        assert_eq!(error.code(), crate::ErrorCode::BadRequest);
        assert!(!error.to_string().contains("secret"));
    }

    #[test]
    fn libpq_rules_decide_what_is_checked_and_against_which_roots() {
        let file = Some("/etc/root.pem");
        let checked = |chain, host, roots| {
            Some(Trust {
                check_chain: chain,
                check_host: host,
                roots,
            })
        };
        assert_eq!(trust(SslMode::Disable, file).unwrap(), None);
        for mode in [SslMode::Allow, SslMode::Prefer] {
            assert_eq!(
                trust(mode, file).unwrap(),
                checked(false, false, Roots::System)
            );
        }
        assert_eq!(
            trust(SslMode::Require, None).unwrap(),
            checked(false, false, Roots::System)
        );
        let only_the_file = Roots::File("/etc/root.pem");
        assert_eq!(
            trust(SslMode::Require, file).unwrap(),
            checked(true, false, only_the_file)
        );
        assert_eq!(
            trust(SslMode::VerifyCa, file).unwrap(),
            checked(true, false, Roots::File("/etc/root.pem"))
        );
        assert_eq!(
            trust(SslMode::VerifyFull, file).unwrap(),
            checked(true, true, Roots::File("/etc/root.pem"))
        );
        for root in [None, Some("system")] {
            assert_eq!(
                trust(SslMode::VerifyFull, root).unwrap(),
                checked(true, true, Roots::System)
            );
        }
        // The public roots without a name check: refused, as libpq refuses them.
        for (mode, root) in [
            (SslMode::VerifyCa, None),
            (SslMode::VerifyCa, Some("system")),
            (SslMode::Require, Some("system")),
        ] {
            let error = trust(mode, root).unwrap_err();
            assert_eq!(
                error.code(),
                crate::ErrorCode::BadRequest,
                "{mode:?} {root:?}"
            );
            assert!(error.to_string().contains("ssl"), "{error}");
        }
    }

    #[test]
    fn a_build_without_tls_refuses_the_modes_that_need_it() {
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let error = supported(mode, false).unwrap_err();
            assert!(error.to_string().contains("postgres-tls"), "{mode:?}");
            assert!(supported(mode, true).is_ok());
        }
        for mode in [SslMode::Disable, SslMode::Allow, SslMode::Prefer] {
            assert!(supported(mode, false).is_ok(), "{mode:?}");
        }
    }

    #[cfg(feature = "postgres-tls")]
    #[test]
    fn root_certificate_files_are_checked_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let url = format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={}",
            missing.display()
        );
        let error = Endpoint::parse(&url).err().unwrap();
        assert!(error.to_string().contains("sslrootcert"));
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let url = format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={}",
            garbage.display()
        );
        let error = Endpoint::parse(&url).err().unwrap();
        assert!(error.to_string().contains("sslrootcert"));
        assert!(Endpoint::parse("postgres://h/db?sslmode=verify-full").is_ok());
        assert!(Endpoint::parse("postgres://h/db?sslmode=verify-ca").is_err());
    }
}
