//! The rules: what each operation does, in terms of the storage layer's [`Tx`].
//!
//! [`Tx`]: crate::storage::Tx

pub(crate) mod activity;
pub(crate) mod caller;
pub(crate) mod changes;
pub(crate) mod check;
pub(crate) mod erase;
pub(crate) mod fold;
pub(crate) mod identify;
pub(crate) mod list;
pub(crate) mod lookup;
pub(crate) mod memory;
pub(crate) mod merge;
pub(crate) mod resolve;
pub(crate) mod scope;
pub(crate) mod snapshot;
pub(crate) mod split;
pub(crate) mod suggest;
pub(crate) mod transfer;
pub(crate) mod unmerge;
pub(crate) mod update;
