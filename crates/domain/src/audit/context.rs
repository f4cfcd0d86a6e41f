//! What an event learns from the request that caused it, and the event a change carries to
//! its store, both held by the task serving the request rather than passed through every use
//! case and port.
//!
//! - The HTTP layer runs each request inside [`serve_request`], with the client's address (as
//!   the throttles see it), `User-Agent` and request id. [`super::AuditTrail::event`] reads
//!   them, so no body and no use case can supply them.
//! - [`super::AuditTrail::around`] attaches an event to one change; a store whose writes are
//!   transactions takes it with [`take_attached_event`] in its next write and stores it in that
//!   write's transaction (§13: "embedded: in the same transaction as the change"). If no write
//!   took it, the trail stores it itself once the change has succeeded, before the answer.

use std::cell::RefCell;
use std::future::Future;

use super::model::AuditEvent;

/// The request an event happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's address, after trusted proxies.
    pub address: String,
    /// Its `User-Agent` header, if it sent one.
    pub user_agent: Option<String>,
    /// The request's id (`x-request-id`).
    pub request_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
    static ATTACHED: RefCell<Option<AuditEvent>>;
}

/// Runs `serving`, the handling of one request, with `context` as its request context.
pub async fn serve_request<F: Future>(context: RequestContext, serving: F) -> F::Output {
    REQUEST.scope(context, serving).await
}

/// The context of the request being served on this task, if any (none at the command line).
pub fn current_request() -> Option<RequestContext> {
    REQUEST.try_with(Clone::clone).ok()
}

/// For store adapters: the event attached to the change being made on this task, taken so
/// that only one write stores it. Call it once per write, in the task, before the write runs.
pub fn take_attached_event() -> Option<AuditEvent> {
    ATTACHED
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
}

/// Runs `change` with `event` attached; answers the change's outcome and the event if no
/// write took it.
pub(super) async fn with_attached<T, F: Future<Output = T>>(
    event: AuditEvent,
    change: F,
) -> (T, Option<AuditEvent>) {
    ATTACHED
        .scope(RefCell::new(Some(event)), async {
            let outcome = change.await;
            let left = ATTACHED
                .try_with(|slot| slot.borrow_mut().take())
                .ok()
                .flatten();
            (outcome, left)
        })
        .await
}
