//! The redb tables and the key layouts of their secondary indexes.

use redb::{TableDefinition, TableError, WriteTransaction};

/// Accounts by id, as JSON.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// Unique index: lower-case email → account id.
pub const USERS_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");
/// Unique index: lower-case username → account id.
pub const USERS_BY_USERNAME: TableDefinition<&str, &str> =
    TableDefinition::new("users_by_username");
/// Sessions by id, as JSON.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
/// Index: `user_id/session_id` → nothing, to find a user's sessions.
pub const SESSIONS_BY_USER: TableDefinition<&str, ()> = TableDefinition::new("sessions_by_user");
/// Refresh tokens by digest, as JSON.
pub const REFRESH_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("refresh_tokens");
/// Index: `user_id/digest` → nothing, to forget a user's refresh tokens.
pub const REFRESH_TOKENS_BY_USER: TableDefinition<&str, ()> =
    TableDefinition::new("refresh_tokens_by_user");

/// Key-value entries, keyed `user_id/key`, as JSON.
pub const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");

/// API definitions by id, as JSON.
pub const APIS: TableDefinition<&str, &[u8]> = TableDefinition::new("apis");
/// Unique index: API name → API id.
pub const APIS_BY_NAME: TableDefinition<&str, &str> = TableDefinition::new("apis_by_name");
/// Index: `owner_id/api_id` → nothing, to list an owner's APIs in id order.
pub const APIS_BY_OWNER: TableDefinition<&str, ()> = TableDefinition::new("apis_by_owner");
/// API keys by public id (unique), as JSON.
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
/// Index: `api_id/key_id` → public id, to list and revoke an API's keys.
pub const API_KEYS_BY_API: TableDefinition<&str, &str> = TableDefinition::new("api_keys_by_api");
/// Index: ids of APIs with an index still being built → nothing, for the index builder.
pub const APIS_BUILDING_INDEXES: TableDefinition<&str, ()> =
    TableDefinition::new("apis_building_indexes");
/// Records keyed `api_id/endpoint/record_id`: one range per endpoint, in id order. A row is
/// the record as JSON, or (since indexes) a header of its field keys and index entries
/// followed by that JSON (see `record_rows`).
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// Record indexes: `api_id/endpoint` NUL `field` NUL `key` `record_id` → nothing, so one
/// field's entries are one range in key order, ties in id order.
pub const RECORD_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("record_index");

/// Scan blocks: `api_id/endpoint` NUL `first record id` → the field keys of a few dozen
/// records, so a query no index serves reads a block at a time (see `scan_blocks`).
pub const RECORD_SCAN: TableDefinition<&[u8], &[u8]> = TableDefinition::new("record_scan");
/// Facts about the file's layout, such as whether every record has its scan entry.
pub const STORE_FORMAT: TableDefinition<&str, u64> = TableDefinition::new("store_format");

/// Storage used per account (`{entries, bytes}` as JSON), for quotas.
pub const USAGE: TableDefinition<&str, &[u8]> = TableDefinition::new("usage");

/// Signing keys (§7) by generation, as JSON; the private half is in the row, so the file stays
/// owner-only (0600).
pub const SIGNING_KEYS: TableDefinition<u64, &[u8]> = TableDefinition::new("signing_keys");

/// One-time secrets (§8) by key (a link token's digest, or `code/<user id>`), as JSON.
pub const ONE_TIME_SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("one_time_secrets");
/// One-time secret keys per account: `user_id/key` → nothing.
pub const ONE_TIME_SECRETS_BY_USER: TableDefinition<&str, ()> =
    TableDefinition::new("one_time_secrets_by_user");
/// Each account's second factors (§9) by user id, as JSON: TOTP secret, recovery code
/// digests, passkeys.
pub const SECOND_FACTORS: TableDefinition<&str, &[u8]> = TableDefinition::new("second_factors");
/// Mail waiting to be sent (§8) by message id, as JSON.
pub const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");

/// Audit events (§13) by event id (which sorts by time), as JSON.
pub const AUDIT_EVENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("audit_events");
/// Index: `account_id/event_id` → nothing, for an account's events newest first.
pub const AUDIT_BY_ACCOUNT: TableDefinition<&str, ()> = TableDefinition::new("audit_by_account");
/// Index: `action/event_id` → nothing, for an administrator's view of some actions.
pub const AUDIT_BY_ACTION: TableDefinition<&str, ()> = TableDefinition::new("audit_by_action");
/// Failed-login windows: `minute|account_id|address` → the id of the window's `login.failed`.
pub const AUDIT_LOGIN_WINDOWS: TableDefinition<&str, &str> =
    TableDefinition::new("audit_login_windows");

/// Creates every table a new file needs (opening one creates it), so a reader never meets a
/// missing table. `STORE_FORMAT` is written when its facts are.
pub fn create_all(txn: &WriteTransaction) -> Result<(), TableError> {
    txn.open_table(USERS)?;
    txn.open_table(AUDIT_EVENTS)?;
    txn.open_table(AUDIT_BY_ACCOUNT)?;
    txn.open_table(AUDIT_BY_ACTION)?;
    txn.open_table(AUDIT_LOGIN_WINDOWS)?;
    txn.open_table(USERS_BY_EMAIL)?;
    txn.open_table(USERS_BY_USERNAME)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(SESSIONS_BY_USER)?;
    txn.open_table(REFRESH_TOKENS)?;
    txn.open_table(REFRESH_TOKENS_BY_USER)?;
    txn.open_table(DATA)?;
    txn.open_table(APIS)?;
    txn.open_table(APIS_BY_NAME)?;
    txn.open_table(APIS_BY_OWNER)?;
    txn.open_table(API_KEYS)?;
    txn.open_table(API_KEYS_BY_API)?;
    txn.open_table(RECORDS)?;
    txn.open_table(RECORD_SCAN)?;
    txn.open_table(RECORD_INDEX)?;
    txn.open_table(APIS_BUILDING_INDEXES)?;
    txn.open_table(USAGE)?;
    txn.open_table(SIGNING_KEYS)?;
    txn.open_table(ONE_TIME_SECRETS)?;
    txn.open_table(ONE_TIME_SECRETS_BY_USER)?;
    txn.open_table(OUTBOX)?;
    txn.open_table(SECOND_FACTORS)?;
    Ok(())
}

/// The key of a child row in a per-user index: `parent/child`. Ids and digests are hex, so
/// `/` never occurs inside either part.
pub fn child_key(parent: &str, child: &str) -> String {
    format!("{parent}/{child}")
}

/// The half-open key range holding every child of `parent` (`parent/` up to `parent0`,
/// `0` being the character after `/`).
pub fn children_of(parent: &str) -> (String, String) {
    (format!("{parent}/"), format!("{parent}0"))
}
