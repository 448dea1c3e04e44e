//! `merge --dry-run`, `unmerge` and `changes`: the history commands.

use clap::Args;
use contactstore::{ContactStore, Error};

use super::{one_org, print_success, Cli};

/// Arguments of `merge`.
#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// The contact that remains.
    primary_id: String,
    /// The contact merged into it and deleted.
    duplicate_id: String,
    /// Print exactly what the merge would print, and write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Arguments of `changes`.
#[derive(Args, Debug)]
pub(crate) struct ChangesArgs {
    /// Resume after this seq (exclusive): the `next` of the previous page. 0 starts at
    /// the beginning.
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Most events on the page (1 to 10000).
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

/// Runs `merge`, or previews it.
pub(crate) fn merge(cli: &Cli, store: &ContactStore, args: &MergeArgs) -> Result<(), Error> {
    let (p, d) = (args.primary_id.as_str(), args.duplicate_id.as_str());
    let merged = match (cli.all_orgs, args.dry_run) {
        (true, true) => store.all_orgs().merge_preview(p, d)?,
        (true, false) => store.all_orgs().merge(p, d)?,
        (false, true) => store.org(&cli.org)?.merge_preview(p, d)?,
        (false, false) => store.org(&cli.org)?.merge(p, d)?,
    };
    print_success(merged)
}

/// Runs `unmerge`.
pub(crate) fn unmerge(cli: &Cli, store: &ContactStore, merged_id: &str) -> Result<(), Error> {
    print_success(store.org(one_org(cli)?)?.unmerge(merged_id)?)
}

/// Runs `changes`.
pub(crate) fn changes(cli: &Cli, store: &ContactStore, args: &ChangesArgs) -> Result<(), Error> {
    let page = if cli.all_orgs {
        store.all_orgs().changes(args.since, Some(args.limit))?
    } else {
        store.org(&cli.org)?.changes(args.since, Some(args.limit))?
    };
    print_success(page)
}
