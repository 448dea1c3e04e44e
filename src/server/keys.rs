//! API keys: each opens one org. Read from the command line, a keys file, or the
//! environment; compared in constant time.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use crate::{limits, Error, Result};

/// An API key and the org it opens.
///
/// Parsed from `KEY=ORG` (split at the last `=`, so keys may end in base64 padding).
/// `Debug` does not show the key.
///
/// ```
/// use contactstore::server::ApiKey;
/// let key: ApiKey = "sk-test-1=acme".parse()?;
/// assert_eq!((key.key(), key.org_id()), ("sk-test-1", "acme"));
/// assert!("no-org".parse::<ApiKey>().is_err());
/// # Ok::<(), contactstore::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
    org_id: String,
}

impl ApiKey {
    /// Maps `key` to `org_id`.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `api_key` if the key is empty or contains spaces
    /// or control characters, or naming `org_id` for an org id the store refuses.
    pub fn new(key: impl Into<String>, org_id: &str) -> Result<Self> {
        let key = key.into();
        if key.is_empty() {
            return Err(Error::invalid("api_key", "is empty"));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "api_key",
                "contains spaces or control characters",
            ));
        }
        let org_id = limits::org_id(org_id)?;
        Ok(ApiKey { key, org_id })
    }

    /// The key, as sent in the `authorization` header.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The org its requests run in.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Keys from a keys file: one `KEY=ORG` a line; blank lines and lines starting
    /// with `#` are skipped. The file must be readable by its owner only (mode 0600 or
    /// stricter): a key that every local user can read is no key.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::InvalidField`] naming
    /// `api_keys_file` when others may read it, or `api_key` for a malformed line.
    pub fn from_file(path: &Path) -> Result<Vec<ApiKey>> {
        let file = std::fs::File::open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o077 != 0 {
                return Err(Error::invalid(
                    "api_keys_file",
                    "must be readable by its owner only (chmod 600)",
                ));
            }
        }
        let text = std::io::read_to_string(file)?;
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::parse)
            .collect()
    }

    /// Keys from a comma-separated list of `KEY=ORG` (the `CONTACTSTORE_API_KEYS`
    /// variable); empty entries are skipped.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `api_key` for a malformed entry.
    pub fn from_list(list: &str) -> Result<Vec<ApiKey>> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromStr for ApiKey {
    type Err = Error;

    /// Parses `KEY=ORG`.
    fn from_str(text: &str) -> Result<Self> {
        let (key, org) = text
            .rsplit_once('=')
            .ok_or_else(|| Error::invalid("api_key", "must be KEY=ORG"))?;
        ApiKey::new(key, org)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &"<redacted>")
            .field("org_id", &self.org_id)
            .finish()
    }
}

/// The keys a server accepts, each with its org.
pub(crate) struct Keys {
    keys: Vec<(Vec<u8>, Arc<str>)>,
}

impl Keys {
    /// The key set; a key given for two orgs is refused.
    pub(crate) fn new(api_keys: Vec<ApiKey>) -> Result<Keys> {
        if api_keys.is_empty() {
            return Err(Error::invalid(
                "api_key",
                "at least one is required (--api-keys-file FILE, --api-key KEY=ORG or CONTACTSTORE_API_KEYS)",
            ));
        }
        let mut keys: Vec<(Vec<u8>, Arc<str>)> = Vec::with_capacity(api_keys.len());
        for key in api_keys {
            match keys
                .iter()
                .find(|(k, _)| k.as_slice() == key.key.as_bytes())
            {
                Some((_, org)) if **org != *key.org_id => {
                    return Err(Error::invalid("api_key", "is given for two orgs"))
                }
                Some(_) => {}
                None => keys.push((key.key.into_bytes(), Arc::from(key.org_id))),
            }
        }
        Ok(Keys { keys })
    }

    /// The org a presented key opens. Every configured key is compared, each in time
    /// independent of where the bytes differ, so the answer's timing does not tell
    /// how much of a guess was right.
    pub(crate) fn org_of(&self, presented: &[u8]) -> Option<Arc<str>> {
        let mut found = None;
        for (key, org) in &self.keys {
            if constant_time_eq(key, presented) {
                found = Some(Arc::clone(org));
            }
        }
        found
    }
}

/// Equality that reads every byte of `key` whatever `presented` holds (only the
/// length of the configured key shows in the timing).
fn constant_time_eq(key: &[u8], presented: &[u8]) -> bool {
    let mut differ = u8::from(key.len() != presented.len());
    for (i, k) in key.iter().enumerate() {
        differ |= k ^ presented.get(i).copied().unwrap_or(!k);
    }
    std::hint::black_box(differ) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        for other in [&b"abd"[..], b"ab", b"abcd", b"", b"xbc"] {
            assert!(!constant_time_eq(b"abc", other), "{other:?}");
        }
        let keys = Keys::new(vec![
            ApiKey::new("k1", "acme").unwrap(),
            ApiKey::new("k2", "globex").unwrap(),
        ])
        .unwrap();
        assert_eq!(keys.org_of(b"k2").as_deref(), Some("globex"));
        assert_eq!(keys.org_of(b"k3"), None);
    }

    #[test]
    fn one_key_for_two_orgs_is_refused() {
        let twice = vec![
            ApiKey::new("k", "acme").unwrap(),
            ApiKey::new("k", "globex").unwrap(),
        ];
        assert!(Keys::new(twice).is_err());
        assert!(Keys::new(Vec::new()).is_err());
    }

    #[test]
    fn lists_and_files_parse_key_org_pairs() {
        let keys = ApiKey::from_list(" a=acme, ,b==globex ").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[1].key(), keys[1].org_id()), ("b=", "globex"));
        assert!(ApiKey::from_list("nokey").is_err());
    }
}
