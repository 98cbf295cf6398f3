//! What the controller's own store keeps of the Build watch: whole objects only for the Builds
//! it may still run. A finished Build is never claimed again (`claim_check` says `Done`), and
//! latest-wins reads what it needs of it from the sibling index (`latest::build_cache`), so
//! its whole object (spec, status, messages, findings, log tail: about 3 KiB in memory) is not
//! kept. With 50,000 finished Builds in the watched namespaces that is most of the webhook's
//! memory (the history drill, docs/reliability.md).

use kube::runtime::watcher::Event;
use mosaic_core::resources::Build;

/// The event the controller's store and trigger see for one watch `event`: a Build still to
/// run, whole but for its `managedFields` (never read here; `None`, not an empty list, so a
/// write of the cached object keeps them on the server); a finished one leaves the store
/// (`Delete`) or, in a relist, is left out, unless `keep` asks for it (one whose outcome the
/// worker still has to record).
pub(super) fn for_controller(
    event: Event<Build>,
    keep: impl Fn(&Build) -> bool,
) -> Option<Event<Build>> {
    let runnable = |b: &Build| !is_finished(b) || keep(b);
    match event {
        Event::Apply(b) if runnable(&b) => Some(Event::Apply(slim(b))),
        Event::Apply(b) => Some(Event::Delete(b)),
        Event::InitApply(b) if runnable(&b) => Some(Event::InitApply(slim(b))),
        Event::InitApply(_) => None,
        other => Some(other),
    }
}

/// Has this Build ended (a terminal phase)?
fn is_finished(b: &Build) -> bool {
    b.status.as_ref().is_some_and(|s| s.phase.is_terminal())
}

fn slim(mut b: Build) -> Build {
    b.metadata.managed_fields = None;
    b
}

#[cfg(test)]
mod tests;
