//! A real shim on an ephemeral loopback port and a real HTTP client, shared by the
//! tests of `contactstore serve`. Only loopback traffic; every wait is bounded.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactstore::server::{self, ApiKey, ServeConfig, ServerHandle};
use contactstore::Settings;
use serde_json::Value;

use crate::common::TempDb;

pub const ACME: &str = "key-acme";
pub const GLOBEX: &str = "key-globex";
pub const MISSING_IDENTIFIER: &str =
    "At least one identifier (phone_number, email, or external_id) is required";

/// A server on its own database, with its request log captured.
pub struct Shim {
    pub db: TempDb,
    pub handle: Option<ServerHandle>,
    pub base: String,
    pub log: Arc<Mutex<Vec<String>>>,
    pub agent: ureq::Agent,
}

impl Shim {
    pub fn start() -> Shim {
        Self::start_with(Settings::default())
    }

    pub fn start_with(settings: Settings) -> Shim {
        Self::start_configured(|config| config.settings(settings))
    }

    /// A server whose configuration `tune` adjusts (keys, log and port are set).
    pub fn start_configured(tune: impl FnOnce(ServeConfig) -> ServeConfig) -> Shim {
        let db = TempDb::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let config = ServeConfig::new(&db.path)
            .listen("127.0.0.1:0".parse().unwrap())
            .api_key(ApiKey::new(ACME, "acme").unwrap())
            .api_key(ApiKey::new(GLOBEX, "globex").unwrap())
            .shutdown_grace(Duration::from_secs(20))
            .log_with(move |line| sink.lock().unwrap().push(line.to_string()));
        let handle = server::spawn(tune(config)).expect("server starts");
        let addr = handle.local_addr();
        assert!(addr.ip().is_loopback());
        Shim {
            db,
            handle: Some(handle),
            base: format!("http://{addr}"),
            log,
            agent: agent(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().local_addr()
    }

    pub fn post(&self, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("authorization", key);
        }
        read(request.send(body))
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("authorization", key);
        }
        read(request.call())
    }

    /// Any method, with an optional JSON body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let text = body.map(Value::to_string);
        let request = ureq::http::Request::builder().method(method).uri(url);
        let request = match key {
            Some(key) => request.header("authorization", key),
            None => request,
        };
        let request = request
            .header("content-type", "application/json")
            .body(text.unwrap_or_default())
            .unwrap();
        read(self.agent.run(request))
    }

    pub fn patch(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.send("PATCH", path, Some(key), Some(&body))
    }

    pub fn post_json(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(key), Some(&body))
    }

    pub fn resolve(&self, key: &str, body: Value) -> (u16, Value) {
        self.post("/v1/contacts/resolve", Some(key), &body.to_string())
    }

    pub fn find(&self, key: &str, body: Value) -> (u16, Value) {
        self.post("/v1/contacts/find", Some(key), &body.to_string())
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

pub fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut response = response.expect("HTTP exchange");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let text = response.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).expect("body is JSON"))
}

/// The one error of a failure envelope, as (code, message).
pub fn failure(v: &Value) -> (&str, &str) {
    assert_eq!(v["data"], Value::Null, "{v}");
    let errors = v["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{v}");
    (
        errors[0]["error"].as_str().unwrap(),
        errors[0]["message"].as_str().unwrap(),
    )
}

pub fn contact_id(resolved: &Value) -> String {
    resolved["data"]["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned()
}

/// One request on a fresh connection, written by hand; `(status, body)`.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The server may answer before reading everything (a body over the limit).
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    parse_response(&response)
}

pub fn parse_response(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n").expect("a full response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}
