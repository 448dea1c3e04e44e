//! The arguments of the caller commands: classify-caller and resolve-caller — each
//! turned into the library's request.

use clap::Args;
use contactstore::{CallerRequest, Error};
use serde_json::Value;

use super::invalid;

#[derive(Args, Debug)]
pub struct ResolveCallerArgs {
    /// The caller id as delivered: a number in any spelling, a SIP or tel URI ("sip:+14155550192@host"),
    /// a withheld value ("anonymous", "+266696687", ""), a short code or a sender id.
    #[arg(long, allow_hyphen_values = true)]
    pub from: String,
    /// The number called (the agent's): the memory scope when no --persona-id is given.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Persona whose memory of the contact must exist afterwards.
    #[arg(long)]
    pub persona_id: Option<String>,
    /// Name, used only if the contact has none.
    #[arg(long)]
    pub name: Option<String>,
    /// Metadata as a JSON object; only keys the contact lacks are added.
    #[arg(long)]
    pub metadata: Option<String>,
}

impl ResolveCallerArgs {
    /// The resolve-caller request.
    pub fn request(&self) -> Result<CallerRequest, Error> {
        let metadata = self
            .metadata
            .as_deref()
            .map(|text| {
                serde_json::from_str::<Value>(text)
                    .map_err(|_| invalid("metadata", "is not valid JSON"))
            })
            .transpose()?;
        Ok(CallerRequest {
            from: self.from.clone(),
            to: self.to.clone(),
            persona_id: self.persona_id.clone(),
            name: self.name.clone(),
            metadata,
        })
    }
}
