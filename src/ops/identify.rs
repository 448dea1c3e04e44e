//! The identifiers of a request: normalized, strongest first, and who owns them.
//!
//! A phone number written in a plain form may hold only its cheap guess
//! ([`normalize::phone_candidate`]) until a lookup confirms it: a stored identifier
//! with exactly that value proves the guess, and saves the libphonenumber parse on the
//! hot path of a known caller. Otherwise [`Identifiers::owners`] parses it in full
//! before anything is decided.

use serde::{Deserialize, Serialize};

use super::lookup::{self, Owners, Wanted};
use crate::error::{Error, Result};
use crate::model::IdentifierType;
use crate::normalize;
use crate::settings::PhoneRegion;
use crate::storage::Tx;

/// The identifiers of a find (at least one is required).
/// Unknown fields are ignored, as a web API does: a harness's extra fields (a request
/// id, a field of a newer API version) are no reason to refuse the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct IdentifierQuery {
    /// A phone number in any usual spelling.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// An email address.
    #[serde(default)]
    pub email: Option<String>,
    /// An id from another system.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl IdentifierQuery {
    /// A query by phone number.
    pub fn phone(phone_number: impl Into<String>) -> Self {
        IdentifierQuery {
            phone_number: Some(phone_number.into()),
            ..Default::default()
        }
    }
    /// A query by email.
    pub fn email(email: impl Into<String>) -> Self {
        IdentifierQuery {
            email: Some(email.into()),
            ..Default::default()
        }
    }
    /// A query by external id.
    pub fn external_id(external_id: impl Into<String>) -> Self {
        IdentifierQuery {
            external_id: Some(external_id.into()),
            ..Default::default()
        }
    }

    /// The normalized identifiers, strongest first.
    pub(crate) fn normalized(&self, region: PhoneRegion) -> Result<Identifiers<'_>> {
        Identifiers::new(self, region)
    }
}

/// The identifiers of a request, strongest first (external_id > phone_number > email).
pub(crate) struct Identifiers<'q> {
    pub(crate) wanted: Wanted,
    /// The phone number as written, while its value in `wanted` is an unconfirmed guess.
    unconfirmed_phone: Option<&'q str>,
    region: PhoneRegion,
}

impl<'q> Identifiers<'q> {
    fn new(query: &'q IdentifierQuery, region: PhoneRegion) -> Result<Self> {
        let mut wanted = Vec::with_capacity(3);
        let mut unconfirmed_phone = None;
        if let Some(x) = &query.external_id {
            wanted.push((
                IdentifierType::ExternalId,
                normalize::external_id(x, "external_id")?,
            ));
        }
        if let Some(p) = &query.phone_number {
            let value = match normalize::phone_candidate(p, region) {
                Some(guess) => {
                    unconfirmed_phone = Some(p.as_str());
                    guess
                }
                None => normalize::phone(p, region, "phone_number")?,
            };
            wanted.push((IdentifierType::PhoneNumber, value));
        }
        if let Some(e) = &query.email {
            wanted.push((IdentifierType::Email, normalize::email(e, "email")?));
        }
        if wanted.is_empty() {
            return Err(Error::MissingIdentifier);
        }
        Ok(Identifiers {
            wanted,
            unconfirmed_phone,
            region,
        })
    }

    /// Each identifier's owner (strongest first) and the contact of the strongest one
    /// found. An unconfirmed phone guess that nobody owns is parsed in full first — an
    /// invalid number is a BAD_REQUEST exactly as without the guess.
    pub(crate) fn owners(&mut self, tx: &dyn Tx, org: &str) -> Result<Owners> {
        let found = lookup::owners(tx, org, &self.wanted)?;
        let Some(raw) = self.unconfirmed_phone.take() else {
            return Ok(found);
        };
        if found
            .by_type
            .iter()
            .any(|(k, _)| *k == IdentifierType::PhoneNumber)
        {
            return Ok(found); // the stored value confirms the guess
        }
        let parsed = normalize::phone(raw, self.region, "phone_number")?;
        let slot = self
            .wanted
            .iter_mut()
            .find(|(k, _)| *k == IdentifierType::PhoneNumber);
        match slot {
            Some((_, value)) if *value != parsed => {
                *value = parsed;
                lookup::owners(tx, org, &self.wanted)
            }
            _ => Ok(found),
        }
    }
}
