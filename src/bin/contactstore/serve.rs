//! `contactstore serve`: arguments and the ready envelope; the server itself is
//! `contactstore::server`.

use clap::Args;
use contactstore::envelope::Envelope;
use contactstore::server::{self, ApiKey, ServeConfig};
use contactstore::{Error, PhoneRegion, Settings};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

use super::{one_org, print_json, Cli};

/// Serve the hosted Contacts API over HTTP, for offline test harnesses
///
/// The hosted API's paths, bodies and envelopes:
///   GET   /v1/contacts?limit&offset
///   POST  /v1/contacts/resolve                 POST /v1/contacts/find
///   GET   /v1/contacts/{contact_id}            PATCH /v1/contacts/{contact_id}
///   POST  /v1/contacts/merge
///   POST  /v1/memory/contact                   GET  /v1/memory/contact/{memory_id}
///   GET   /v1/memory/context?contact_id&persona_id|agent_number
///   PATCH /v1/memory/contact/{memory_id}/facts
///   PATCH /v1/memory/contact/{memory_id}/summary
///   GET   /v1/memory/contact/{memory_id}/messages
///   POST  /v1/memory/reset
/// Local extensions (not in the hosted API), under /x/v1:
///   POST  /x/v1/memory/contact/{memory_id}/messages | open-items | open-items/close
///   PUT   /x/v1/memory/contact/{memory_id}/entities
///   POST|GET /x/v1/contacts/{contact_id}/calls | sms-conversations
///   DELETE /x/v1/contacts/{contact_id}
/// and GET /openapi.json, the OpenAPI 3.1 document of all of them.
///
/// A harness switches its base URL from the hosted API to http://127.0.0.1:8787 and
/// sends a key in the `authorization` header (as is, or as "Bearer KEY"); the key
/// decides the org. Keys come from --api-keys-file (recommended: one KEY=ORG a line,
/// `#` comments, the file readable by its owner only), CONTACTSTORE_API_KEYS
/// (comma-separated KEY=ORG), or --api-key (visible in the process list). Status
/// codes: 200 success, 400 BAD_REQUEST, 401 UNAUTHORIZED, 404 NOT_FOUND (unknown
/// record or path, or another org's), 405 METHOD_NOT_ALLOWED, 500 INTERNAL_ERROR,
/// 503 when --max-connections are already open.
///
/// Once listening it prints one envelope on stdout, {"data": {"base_url": …}, …}
/// (use --listen 127.0.0.1:0 for a free port and read it there), then one line per
/// request on stderr: method, route, status, latency. SIGINT or SIGTERM stops it after
/// the requests in flight; the exit status is then 0.
///
/// Example:
///   printf 'test-key=acme\n' > keys && chmod 600 keys
///   contactstore --db test.db serve --api-keys-file keys
///   curl -s localhost:8787/v1/contacts/resolve -H 'authorization: test-key' \
///        -d '{"phone_number": "(415) 555-0192", "name": "Sarah Chen"}'
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ServeArgs {
    /// Address to listen on: IP:PORT, localhost:PORT or PORT. Loopback by default;
    /// port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: String,

    /// A file of API keys, one KEY=ORG a line (`#` starts a comment); it must be
    /// readable by its owner only (chmod 600).
    #[arg(long, value_name = "FILE")]
    api_keys_file: Option<PathBuf>,

    /// An API key and the org its requests run in; repeat for several. Prefer
    /// --api-keys-file: these are visible to every local user in the process list.
    #[arg(long = "api-key", value_name = "KEY=ORG")]
    api_keys: Vec<String>,

    /// Comma-separated KEY=ORG keys, added to those above.
    #[arg(
        long,
        value_name = "KEY=ORG,…",
        env = "CONTACTSTORE_API_KEYS",
        hide_env_values = true
    )]
    api_keys_env: Option<String>,

    /// Seconds a client may take to send a request's headers, and may stay idle
    /// between requests on a kept-alive connection, before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    header_timeout: u64,

    /// Most connections open at once; past it a new one is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(cli: &Cli, args: &ServeArgs, region: PhoneRegion) -> Result<(), Error> {
    // The org comes from each key; --all-orgs has no meaning here.
    one_org(cli)?;
    let mut config = ServeConfig::new(&cli.db)
        .settings(Settings::default().region(region))
        .listen(server::parse_listen(&args.listen)?)
        .header_read_timeout(Duration::from_secs(args.header_timeout.max(1)))
        .max_connections(args.max_connections);
    if let Some(file) = &args.api_keys_file {
        config = config.api_keys(ApiKey::from_file(file)?);
    }
    for text in &args.api_keys {
        config = config.api_key(text.parse::<ApiKey>()?);
    }
    if let Some(list) = &args.api_keys_env {
        config = config.api_keys(ApiKey::from_list(list)?);
    }
    let orgs = config.orgs();
    server::run(config, |addr| {
        print_json(&Envelope::success(json!({
            "base_url": format!("http://{addr}"),
            "listen": addr.to_string(),
            "orgs": orgs,
        })));
    })
}
