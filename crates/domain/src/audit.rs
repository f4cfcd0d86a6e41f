//! The audit log (§13): every security event, recorded where it is decided, read by its
//! account's owner and by administrators, exported, kept for `audit.retention_days`.
//!
//! - [`AuditTrail`] is how a use case records: [`AuditTrail::event`] makes an event with the
//!   request's address, user agent and request id ([`RequestContext`], set by the HTTP layer
//!   for the task serving the request, never taken from a body), and
//!   [`AuditTrail::around`] stores it with the change it describes.
//! - [`AuditRepository`] is the port both stores implement; [`AuditService`] reads, purges
//!   and exports; [`AuditEraser`] blanks a deleted account's addresses.

mod context;
mod model;
mod ports;
mod query;
mod service;
mod trail;

pub use context::{current_request, serve_request, take_attached_event, RequestContext};
pub use model::{
    cut_user_agent, Action, Actor, ActorKind, AuditEvent, Details, Outcome, Target,
    MAX_USER_AGENT_CHARS,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockAuditRepository;
pub use ports::{AuditBatch, AuditRepository};
pub use query::AuditQuery;
pub use service::{AuditEraser, AuditService, AuditSettings, MAINTENANCE_BATCH};
pub use trail::AuditTrail;
