//! The names of the collections Keygate keeps in its MongoDB database.

/// Accounts.
pub const USERS: &str = "users";
/// Sessions (one per login).
pub const SESSIONS: &str = "sessions";
/// Refresh tokens, keyed by digest.
pub const REFRESH_TOKENS: &str = "refresh_tokens";

/// Key-value entries.
pub const DATA: &str = "data";

/// User-defined API definitions.
pub const APIS: &str = "apis";
/// API keys (digests only).
pub const API_KEYS: &str = "api_keys";
/// Records of user-defined APIs.
pub const RECORDS: &str = "records";

/// Storage used per account, for quotas (`_id` is the account's id).
pub const USAGE: &str = "usage";

/// Signing keys (§7), `_id` = generation, so two instances cannot add the same one.
pub const SIGNING_KEYS: &str = "signing_keys";

/// One-time secrets (§8), `_id` = key (a link token's digest, or `code/<user id>`).
pub const ONE_TIME_SECRETS: &str = "one_time_secrets";

/// Each account's second factors (§9), `_id` = the account's id, changed by compare-and-set
/// on `revision`.
pub const SECOND_FACTORS: &str = "second_factors";

/// Mail waiting to be sent (§8), `_id` = message id.
pub const OUTBOX: &str = "outbox";

/// Throttle counters every instance shares (§12), `_id` = the counter's name (a digest of
/// what is counted and its window); a TTL index on `expires_at` removes them.
pub const THROTTLE_COUNTERS: &str = "throttle_counters";

/// Audit events (§13), `_id` = event id (an ObjectId that sorts by time).
pub const AUDIT_EVENTS: &str = "audit_events";
