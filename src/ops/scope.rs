//! Validating a memory scope: the persona id, and the agent number normalized like a
//! phone number.

use crate::error::{Error, Result};
use crate::limits;
use crate::model::{MemoryScope, Scope};
use crate::normalize;
use crate::settings::PhoneRegion;

/// The scope of a persona id and an agent number; `None` when neither is given.
pub(crate) fn optional(
    persona_id: Option<&str>,
    agent_number: Option<&str>,
    region: PhoneRegion,
) -> Result<Option<Scope>> {
    let persona_id = persona_id.map(limits::persona_id).transpose()?;
    let agent_number = agent_number
        .map(|a| normalize::phone(a, region, "agent_number"))
        .transpose()?;
    if persona_id.is_none() && agent_number.is_none() {
        return Ok(None);
    }
    Ok(Some(Scope {
        persona_id,
        agent_number,
    }))
}

/// The scope a memory write names; one of persona id and agent number is required.
pub(crate) fn required(scope: &MemoryScope, region: PhoneRegion) -> Result<Scope> {
    optional(
        scope.persona_id.as_deref(),
        scope.agent_number.as_deref(),
        region,
    )?
    .ok_or(Error::MissingScope)
}
