//! `contactstore serve`: arguments and the ready envelope; the server itself is
//! `contactstore::server`.

use clap::Args;
use contactstore::envelope::Envelope;
use contactstore::server::{self, ApiKey, ServeConfig};
use contactstore::{Error, PhoneRegion, Settings};
use serde_json::json;

use super::{one_org, print_json, Cli};

/// Serve the hosted Contacts API over HTTP, for offline test harnesses
///
/// Endpoints, with the hosted API's paths, bodies and envelopes:
///   POST /v1/contacts/resolve         {"phone_number", "email", "external_id", "name",
///                                      "persona_id", "agent_number", "metadata"}
///   POST /v1/contacts/find            {"phone_number", "email", "external_id"}
///   GET  /v1/contacts/{contact_id}
///   POST /v1/contacts/merge           {"primary_contact_id", "duplicate_contact_id"}
///
/// A harness switches its base URL from the hosted API to http://127.0.0.1:8787 and
/// sends one of the --api-key keys in the `authorization` header (as is, or as
/// "Bearer KEY"); the key decides the org. Status codes: 200 success (a find without a
/// match has "data": null), 400 BAD_REQUEST (bad identifier, malformed or oversized
/// body), 401 UNAUTHORIZED (missing or unknown key), 404 NOT_FOUND (unknown contact or
/// path), 500 INTERNAL_ERROR (storage failure).
///
/// Once listening it prints one envelope on stdout, {"data": {"base_url": …}, …}
/// (use --listen 127.0.0.1:0 for a free port and read it there), then one line per
/// request on stderr: method, route, status, latency. SIGINT or SIGTERM stops it after
/// the requests in flight; the exit status is then 0.
///
/// Example:
///   contactstore --db test.db serve --api-key test-key=acme
///   curl -s localhost:8787/v1/contacts/resolve -H 'authorization: test-key' \
///        -d '{"phone_number": "(415) 555-0192", "name": "Sarah Chen"}'
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ServeArgs {
    /// Address to listen on: IP:PORT, localhost:PORT or PORT. Loopback by default;
    /// port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: String,

    /// An API key and the org its requests run in. Repeat for several keys or orgs.
    #[arg(long = "api-key", value_name = "KEY=ORG", required = true)]
    api_keys: Vec<String>,
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(cli: &Cli, args: &ServeArgs, region: PhoneRegion) -> Result<(), Error> {
    // The org comes from each key; --all-orgs has no meaning here.
    one_org(cli)?;
    let mut config = ServeConfig::new(&cli.db)
        .settings(Settings::default().region(region))
        .listen(server::parse_listen(&args.listen)?);
    for text in &args.api_keys {
        config = config.api_key(text.parse::<ApiKey>()?);
    }
    let mut orgs: Vec<String> = config
        .api_keys
        .iter()
        .map(|k| k.org_id().to_owned())
        .collect();
    orgs.sort();
    orgs.dedup();
    server::run(config, |addr| {
        print_json(&Envelope::success(json!({
            "base_url": format!("http://{addr}"),
            "listen": addr.to_string(),
            "orgs": orgs,
        })));
    })
}
