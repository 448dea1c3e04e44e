//! The arguments of the caller commands: classify-caller, resolve-caller and
//! suggest-merges — each turned into the library's request.

use clap::Args;
use contactstore::{CallerRequest, Error, SuggestOptions};
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

#[derive(Args, Debug)]
pub struct SuggestArgs {
    /// Most suggestions listed (1-1000).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Lowest score listed, between 0 and 1.
    #[arg(long, allow_hyphen_values = true)]
    pub min_score: Option<f64>,
}

impl SuggestArgs {
    /// The options, defaults for what is not given.
    pub fn options(&self) -> SuggestOptions {
        let mut options = SuggestOptions::default();
        if let Some(limit) = self.limit {
            options.limit = limit;
        }
        if let Some(min_score) = self.min_score {
            options.min_score = min_score;
        }
        options
    }
}
