//! The indexes of every collection. Every query the adapter makes is served by one of these.

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use keygate_domain::apis::MAX_INDEXES_PER_ENDPOINT;

use crate::collections::{
    APIS, API_KEYS, AUDIT_EVENTS, DATA, ONE_TIME_SECRETS, OUTBOX, RECORDS, REFRESH_TOKENS,
    SESSIONS, THROTTLE_COUNTERS, USERS,
};

/// The unique index on API names; its name is how a duplicate-key error names the rule.
pub const APIS_NAME_INDEX: &str = "apis_name_unique";
/// The unique index on API keys' public ids.
pub const API_KEYS_PUBLIC_ID_INDEX: &str = "api_keys_public_id_unique";

/// The unique index on a user's data keys.
pub const DATA_KEY_INDEX: &str = "data_user_key_unique";

/// The unique index on email; its name is how a duplicate-key error names the field.
pub const USERS_EMAIL_INDEX: &str = "users_email_unique";
/// An account's events, newest first (`GET /audit`).
pub const AUDIT_ACCOUNT_INDEX: &str = "audit_events_account";
/// Events of given actions, newest first (`GET /admin/audit?action=`).
pub const AUDIT_ACTION_INDEX: &str = "audit_events_action";
/// The unique index on the lower-cased username.
pub const USERS_USERNAME_INDEX: &str = "users_username_lower_unique";

fn index(keys: Document, name: &str, options: IndexOptions) -> IndexModel {
    let mut options = options;
    options.name = Some(name.to_owned());
    IndexModel::builder().keys(keys).options(options).build()
}

fn unique_sparse() -> IndexOptions {
    // Sparse: accounts without an email (or username) do not collide on a missing field.
    IndexOptions::builder().unique(true).sparse(true).build()
}

fn expiring() -> IndexOptions {
    IndexOptions::builder().expire_after(Duration::ZERO).build()
}

/// Creates every index; creating an existing index with the same definition is a no-op.
pub async fn ensure(db: &Database) -> mongodb::error::Result<()> {
    db.collection::<Document>(AUDIT_EVENTS)
        .create_indexes([
            index(
                doc! {"account_id": 1, "_id": -1},
                AUDIT_ACCOUNT_INDEX,
                IndexOptions::default(),
            ),
            index(
                doc! {"action": 1, "_id": -1},
                AUDIT_ACTION_INDEX,
                IndexOptions::default(),
            ),
            index(doc! {"window": 1}, "audit_events_window", unique_sparse()),
        ])
        .await?;
    db.collection::<Document>(ONE_TIME_SECRETS)
        .create_indexes([
            index(
                doc! {"user_id": 1},
                "one_time_secrets_user",
                IndexOptions::default(),
            ),
            index(
                doc! {"expires_at": 1},
                "one_time_secrets_expiry_ttl",
                expiring(),
            ),
        ])
        .await?;
    db.collection::<Document>(THROTTLE_COUNTERS)
        .create_indexes([index(
            doc! {"expires_at": 1},
            "throttle_counters_expiry_ttl",
            expiring(),
        )])
        .await?;
    db.collection::<Document>(OUTBOX)
        .create_indexes([index(
            doc! {"next_attempt_at": 1},
            "outbox_due",
            IndexOptions::default(),
        )])
        .await?;
    db.collection::<Document>(USERS)
        .create_indexes([
            index(doc! {"email": 1}, USERS_EMAIL_INDEX, unique_sparse()),
            index(
                doc! {"username_lower": 1},
                USERS_USERNAME_INDEX,
                unique_sparse(),
            ),
        ])
        .await?;
    db.collection::<Document>(SESSIONS)
        .create_indexes([
            index(
                doc! {"user_id": 1},
                "sessions_user",
                IndexOptions::default(),
            ),
            index(doc! {"expires_at": 1}, "sessions_expiry_ttl", expiring()),
        ])
        .await?;
    db.collection::<Document>(REFRESH_TOKENS)
        .create_indexes([
            index(
                doc! {"user_id": 1},
                "refresh_tokens_user",
                IndexOptions::default(),
            ),
            index(
                doc! {"session_id": 1},
                "refresh_tokens_session",
                IndexOptions::default(),
            ),
            index(
                doc! {"expires_at": 1},
                "refresh_tokens_expiry_ttl",
                expiring(),
            ),
        ])
        .await?;
    db.collection::<Document>(DATA)
        .create_indexes([index(
            doc! {"user_id": 1, "key": 1},
            DATA_KEY_INDEX,
            IndexOptions::builder().unique(true).build(),
        )])
        .await?;
    db.collection::<Document>(APIS)
        .create_indexes([
            index(
                doc! {"name": 1},
                APIS_NAME_INDEX,
                IndexOptions::builder().unique(true).build(),
            ),
            index(
                doc! {"owner_id": 1, "_id": 1},
                "apis_owner",
                IndexOptions::default(),
            ),
        ])
        .await?;
    db.collection::<Document>(APIS)
        .create_indexes([index(
            doc! {"building": 1, "_id": 1},
            "apis_building_indexes",
            IndexOptions::builder().sparse(true).build(),
        )])
        .await?;
    db.collection::<Document>(API_KEYS)
        .create_indexes([
            index(
                doc! {"public_id": 1},
                API_KEYS_PUBLIC_ID_INDEX,
                IndexOptions::builder().unique(true).build(),
            ),
            index(
                doc! {"digest": 1},
                "api_keys_digest_unique",
                IndexOptions::builder().unique(true).build(),
            ),
            index(
                doc! {"api_id": 1, "_id": 1},
                "api_keys_api",
                IndexOptions::default(),
            ),
        ])
        .await?;
    db.collection::<Document>(RECORDS)
        .create_indexes([
            // Unfiltered lists, reads by id and batch deletion (prefix `api_id`).
            index(
                doc! {"api_id": 1, "endpoint": 1, "_id": -1},
                "records_endpoint_newest",
                IndexOptions::default(),
            ),
        ])
        .await?;
    // Declared indexes (§11): slot `i` of every endpoint is `ix.i<i>`, the key of its field;
    // one index per slot and tie order, shared by every endpoint. Not partial: a partial
    // index is used only when the planner proves the query implies its filter, which not
    // every server does (SecantusDB never does), and a query must never fall back to a scan.
    let mut slots = Vec::new();
    for slot in 0..MAX_INDEXES_PER_ENDPOINT {
        let field = slot_field(slot);
        slots.push(index(
            doc! {"api_id": 1, "endpoint": 1, field.as_str(): 1, "_id": -1},
            &format!("records_slot{slot}_ties_newest"),
            IndexOptions::default(),
        ));
        slots.push(index(
            doc! {"api_id": 1, "endpoint": 1, field.as_str(): 1, "_id": 1},
            &format!("records_slot{slot}_ties_oldest"),
            IndexOptions::default(),
        ));
    }
    db.collection::<Document>(RECORDS)
        .create_indexes(slots)
        .await?;
    // Before §11 every top-level scalar had a token in one multikey index; records keep
    // their tokens (nothing reads them) but the index would only slow writes down.
    let _ = db
        .collection::<Document>(RECORDS)
        .drop_index("records_endpoint_fields")
        .await;
    Ok(())
}

/// The document path of index slot `slot` of a record.
pub fn slot_field(slot: usize) -> String {
    format!("ix.i{slot}")
}
