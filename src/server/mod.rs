//! `contactstore serve`: a local HTTP shim speaking the hosted Contacts and
//! Contact-Memory API (contract §7, §8), for test harnesses that would otherwise call
//! the hosted service.
//!
//! Every hosted path — `GET /v1/contacts`, `POST /v1/contacts/{resolve,find,merge}`,
//! `GET`/`PATCH /v1/contacts/{contact_id}`, `POST /v1/memory/contact`,
//! `GET /v1/memory/contact/{memory_id}` and its `/messages`, `PATCH …/facts` and
//! `…/summary`, `GET /v1/memory/context`, `POST /v1/memory/reset` — with the hosted
//! bodies, field names and envelopes; local extensions under `/x/v1/` (appending
//! messages, open items and entities, recording calls and SMS, erasing a contact); and
//! `GET /openapi.json`, the OpenAPI 3.1 document of all of them, generated from the
//! handlers and types. Each handler is a thin shell over one [`Org`](crate::Org)
//! method. The README lists every route with its library function.
//!
//! Every answer is an [`Envelope`](crate::envelope::Envelope), the same JSON the
//! command line prints. Status codes: 200 on success (a find without a match
//! included); 400 `BAD_REQUEST` for a refused request or a body that is not the JSON
//! the endpoint takes (or is over [`MAX_BODY_BYTES`](crate::limits::MAX_BODY_BYTES), 1 MiB); 401 `UNAUTHORIZED` without a
//! known API key; 404 `NOT_FOUND` for an unknown (or another org's) contact or memory,
//! or an unknown path; 405 `METHOD_NOT_ALLOWED`; 409 for an identifier that belongs to
//! another contact ([`Error::is_conflict`](crate::Error::is_conflict)); 500
//! `INTERNAL_ERROR` when storage fails; 503 past
//! [`ServeConfig::max_connections`]. Messages never repeat what the request carried.
//!
//! The `authorization` header carries an API key, bare or as `Bearer KEY`; each key
//! opens one org ([`ApiKey`]), and keys are compared in constant time. A client that
//! does not finish its headers within [`ServeConfig::header_read_timeout`], or stays
//! idle that long between requests, is disconnected; a store connection is only taken
//! for a request that has fully arrived.
//!
//! ```no_run
//! use contactstore::server::{ApiKey, ServeConfig};
//!
//! let config = ServeConfig::new("contacts.db").api_key(ApiKey::new("test-key", "acme")?);
//! // Blocks until SIGINT or SIGTERM, then finishes the requests in flight.
//! contactstore::server::run(config, |addr| eprintln!("listening on http://{addr}"))?;
//! # Ok::<(), contactstore::Error>(())
//! ```
//!
//! In a Rust test, [`spawn`] starts the server on a background thread instead and
//! returns a [`ServerHandle`] that knows the port and stops it.

mod accept;
mod keys;
mod log;
mod openapi;
mod pool;
mod routes;

pub use keys::ApiKey;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

use crate::{ContactStore, Error, Result, Settings, Timestamp};

/// The address served when none is given: loopback, port 8787.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8787);

/// A function given every finished request (see [`RequestLog`]).
pub type RequestLogger = Arc<dyn Fn(&RequestLog<'_>) + Send + Sync>;

/// Parses a listen address: `IP:PORT` (`127.0.0.1:8787`, `[::1]:8787`),
/// `localhost:PORT`, or a bare `PORT` (on 127.0.0.1). Port 0 picks a free port.
///
/// ```
/// use contactstore::server::parse_listen;
/// assert_eq!(parse_listen("8080")?.to_string(), "127.0.0.1:8080");
/// assert_eq!(parse_listen("localhost:0")?.to_string(), "127.0.0.1:0");
/// assert_eq!(parse_listen("[::1]:9000")?.to_string(), "[::1]:9000");
/// # Ok::<(), contactstore::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidField`] naming `listen` for anything else.
pub fn parse_listen(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let port = text
        .strip_prefix("localhost:")
        .unwrap_or(text)
        .parse::<u16>()
        .map_err(|_| Error::invalid("listen", "must be IP:PORT, localhost:PORT or PORT"))?;
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

/// How to run the server. Build it with [`ServeConfig::new`] and the setters.
///
/// ```
/// use std::time::Duration;
/// use contactstore::server::{ApiKey, ServeConfig};
///
/// let config = ServeConfig::new("contacts.db")
///     .api_key(ApiKey::new("key-a", "acme")?)
///     .api_key(ApiKey::new("key-b", "globex")?)
///     .workers(4)
///     .shutdown_grace(Duration::from_secs(5))
///     .quiet();
/// assert_eq!(config.api_keys.len(), 2);
/// # Ok::<(), contactstore::Error>(())
/// ```
#[non_exhaustive]
pub struct ServeConfig {
    /// The database file (created on first use).
    pub db: PathBuf,
    /// Settings every connection is opened with (phone region, busy timeout, …).
    pub settings: Settings,
    /// Where to listen. Default [`DEFAULT_LISTEN`], loopback.
    pub listen: SocketAddr,
    /// The keys accepted in the `authorization` header. At least one is required.
    pub api_keys: Vec<ApiKey>,
    /// How many store calls run at once on the blocking pool, each on its own
    /// connection (quick reads run on the network threads, with one connection each).
    /// Default: twice the available cores, at least 4.
    pub workers: usize,
    /// After SIGINT/SIGTERM, how long requests in flight may take to finish before the
    /// server stops anyway. Default 30 s.
    pub shutdown_grace: Duration,
    /// Longest a client may take to send a request's headers — and so longest a
    /// keep-alive connection may stay idle between requests — before it is closed.
    /// Default 10 s.
    pub header_read_timeout: Duration,
    /// Most connections served at once; past it a connection is answered 503 and
    /// closed. Default 1,024.
    pub max_connections: usize,
    /// Called once per finished request; `None` logs nothing. Default: one line on
    /// stderr ([`RequestLog`]'s `Display`), written by a thread of its own so that a
    /// request does not wait for stderr (lines still queued when the server stops are
    /// written before it returns).
    pub log: Option<RequestLogger>,
}

impl ServeConfig {
    /// A configuration serving the database at `db`, with defaults for the rest (and
    /// no API key yet).
    pub fn new(db: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServeConfig {
            db: db.into(),
            settings: Settings::default(),
            listen: DEFAULT_LISTEN,
            api_keys: Vec::new(),
            workers: (cores * 2).max(4),
            shutdown_grace: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            log: Some({
                let stderr = log::StderrLog::default();
                Arc::new(move |line: &RequestLog<'_>| stderr.write(line.to_string()))
            }),
        }
    }

    /// Sets the connection settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
    /// Sets the listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Adds an API key.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_keys.push(key);
        self
    }
    /// Adds API keys.
    pub fn api_keys(mut self, keys: impl IntoIterator<Item = ApiKey>) -> Self {
        self.api_keys.extend(keys);
        self
    }
    /// The orgs the keys open, sorted, each once.
    pub fn orgs(&self) -> Vec<String> {
        let mut orgs: Vec<String> = self
            .api_keys
            .iter()
            .map(|k| k.org_id().to_owned())
            .collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }
    /// Sets the header-read (and keep-alive idle) timeout.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
    /// Sets the bound on connections served at once (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
    /// Sets how many store calls run at once (at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }
    /// Sets how long shutdown waits for requests in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
    /// Sends each request's [`RequestLog`] to `log` instead of stderr.
    pub fn log_with(mut self, log: impl Fn(&RequestLog<'_>) + Send + Sync + 'static) -> Self {
        self.log = Some(Arc::new(log));
        self
    }
    /// Logs nothing.
    pub fn quiet(mut self) -> Self {
        self.log = None;
        self
    }
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No path (it may name a person) and no keys.
        f.debug_struct("ServeConfig")
            .field("settings", &self.settings)
            .field("listen", &self.listen)
            .field("api_keys", &self.api_keys.len())
            .field("workers", &self.workers)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("log", &self.log.is_some())
            .finish_non_exhaustive()
    }
}

/// One finished request, as logged: no body, no header, no identifier.
///
/// `Display` gives the log line:
/// `2025-07-22T10:30:00.000Z GET /v1/contacts/{contact_id} 404 0.41ms`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestLog<'a> {
    /// The HTTP method (`OTHER` for a non-standard one).
    pub method: &'a str,
    /// The route template that matched (`/v1/contacts/{contact_id}`), never the
    /// concrete path; `None` for an unknown path.
    pub route: Option<&'a str>,
    /// The response status.
    pub status: u16,
    /// From the request's arrival to its response's headers.
    pub latency: Duration,
}

impl fmt::Display for RequestLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {:.2}ms",
            Timestamp::now(),
            self.method,
            self.route.unwrap_or("(unknown path)"),
            self.status,
            self.latency.as_secs_f64() * 1000.0
        )
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    app: axum::Router,
    limits: accept::ConnectionLimits,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the database (failing early if it cannot be used) and binds the address.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `api_key` without any key or with one key given
    /// for two orgs; the errors of [`ContactStore::open_with`]; [`Error::Io`] if the
    /// address cannot be bound.
    pub async fn bind(config: ServeConfig) -> Result<Server> {
        let keys = keys::Keys::new(config.api_keys)?;
        let (db, settings) = (config.db, config.settings);
        let first = {
            let (db, settings) = (db.clone(), settings.clone());
            tokio::task::spawn_blocking(move || ContactStore::open_with(db, settings))
                .await
                .map_err(|_| Error::Io(std::io::ErrorKind::Other))??
        };
        let stores = Arc::new(pool::Stores::new(db, settings, first, config.workers));
        let listener = listen(config.listen)?;
        let local_addr = listener.local_addr()?;
        if !local_addr.ip().is_loopback() {
            eprintln!(
                "contactstore serve: warning: listening beyond loopback; anyone who can reach \
                 this address with a key can read and write its org's contacts"
            );
        }
        let app = routes::router(
            Arc::new(routes::App {
                keys,
                stores,
                log: config.log,
            }),
            openapi::routes(),
        );
        Ok(Server {
            listener,
            local_addr,
            app,
            limits: accept::ConnectionLimits {
                header_read_timeout: config.header_read_timeout,
                max_connections: config.max_connections,
            },
        })
    }

    /// The address actually bound (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting connections, closes
    /// idle ones and waits for the requests in flight (up to `grace`).
    ///
    /// # Errors
    /// None at present: failing connections are dropped one by one and the server
    /// goes on. The `Result` leaves room for failures of the server as a whole.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> Result<()> {
        accept::serve(self.listener, self.app, self.limits, shutdown, grace).await;
        Ok(())
    }
}

/// Serves `config` until SIGINT or SIGTERM, on a runtime of its own; `on_ready` is
/// called with the bound address once connections are accepted. After the signal, new
/// connections are refused and requests in flight finish (within
/// [`ServeConfig::shutdown_grace`]).
///
/// # Errors
/// As [`Server::bind`]; [`Error::Io`] if the runtime cannot start.
pub fn run(config: ServeConfig, on_ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let grace = config.shutdown_grace;
    let runtime = runtime()?;
    let served = runtime.block_on(async move {
        let server = Server::bind(config).await?;
        on_ready(server.local_addr());
        server.serve_until(shutdown_signal(), grace).await
    });
    // Store calls already on the blocking pool finish their transactions.
    runtime.shutdown_timeout(grace);
    served
}

/// Completes on the first SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    eprintln!("contactstore serve: shutting down, finishing requests in flight");
}

/// Starts the server on a background thread with a runtime of its own, and returns
/// once it accepts connections.
///
/// ```no_run
/// use contactstore::server::{parse_listen, spawn, ApiKey, ServeConfig};
/// let server = spawn(
///     ServeConfig::new("contacts.db")
///         .listen(parse_listen("127.0.0.1:0")?)
///         .api_key(ApiKey::new("test-key", "acme")?),
/// )?;
/// let base_url = format!("http://{}", server.local_addr());
/// // … point the harness at base_url …
/// server.shutdown()?;
/// # Ok::<(), contactstore::Error>(())
/// ```
///
/// # Errors
/// As [`Server::bind`]; [`Error::Io`] if the thread or its runtime cannot start.
pub fn spawn(config: ServeConfig) -> Result<ServerHandle> {
    let grace = config.shutdown_grace;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("contactstore-serve".into())
        .spawn(move || -> Result<()> {
            let runtime = match runtime() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return Ok(());
                }
            };
            let served = runtime.block_on(async move {
                let server = match Server::bind(config).await {
                    Ok(server) => server,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                let _ = ready_tx.send(Ok(server.local_addr()));
                let stop = async move {
                    // A dropped handle stops the server too.
                    let _ = stop_rx.await;
                };
                server.serve_until(stop, grace).await
            });
            runtime.shutdown_timeout(grace);
            served
        })?;
    match ready_rx.recv() {
        Ok(Ok(local_addr)) => Ok(ServerHandle {
            local_addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(Error::Io(std::io::ErrorKind::Other))
        }
    }
}

/// A server started by [`spawn`]. Dropping it starts a shutdown without waiting.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts a graceful shutdown, as SIGTERM does for [`run`]: no new connections,
    /// requests in flight finish. Returns at once.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// True once the server has stopped.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Shuts down gracefully and waits until the server has stopped.
    ///
    /// # Errors
    /// What serving ended with; [`Error::Io`] if the server thread panicked.
    pub fn shutdown(mut self) -> Result<()> {
        self.begin_shutdown();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Io(std::io::ErrorKind::Other)),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Connections the kernel may hold for the accept loop: a burst of clients arriving
/// together (a test harness starting its workers) fills the usual 1,024 and then
/// waits out SYN retransmissions of a second or more. Capped by `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

/// Binds `addr` (reusing an address in TIME_WAIT, so a restart can take the same port)
/// and listens with [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket.listen(LISTEN_BACKLOG)?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("contactstore-serve")
        .build()?)
}
