//! A MongoDB database of an earlier system: its `users` collection.

use futures_util::TryStreamExt;
use keygate_domain::import::LegacyUser;
use mongodb::bson::{Bson, Document};
use mongodb::options::ClientOptions;
use mongodb::Client;
use serde_json::Value;

use crate::fields::FieldMap;

/// The collection 000 and 001 keep their accounts in.
const USERS: &str = "users";

/// Every document of `users` in the database the URL names (`mongodb://host/<database>`).
pub(crate) async fn read(url: &str, map: &FieldMap) -> Result<Vec<LegacyUser>, String> {
    // Errors name the database, never the URL (it may hold a password).
    let options = ClientOptions::parse(url)
        .await
        .map_err(|e| format!("the MongoDB URL is not usable: {}", e.kind))?;
    let database = options
        .default_database
        .clone()
        .ok_or("name the database in the URL: mongodb://host/<database>")?;
    let client = Client::with_options(options).map_err(|e| format!("MongoDB: {}", e.kind))?;
    let documents: Vec<Document> = client
        .database(&database)
        .collection::<Document>(USERS)
        .find(mongodb::bson::doc! {})
        .await
        .map_err(|e| format!("reading {database}.{USERS}: {}", e.kind))?
        .try_collect()
        .await
        .map_err(|e| format!("reading {database}.{USERS}: {}", e.kind))?;
    Ok(documents
        .into_iter()
        .filter_map(
            |document| match Bson::Document(document).into_relaxed_extjson() {
                Value::Object(record) => Some(map.user(&record)),
                _ => None,
            },
        )
        .collect())
}
