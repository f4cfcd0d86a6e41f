//! A MongoDB database of an earlier system: its `users` collection (000 and 001), and 000's
//! `apis` with their records (a shared `records` collection, or one collection per endpoint
//! named `<api>_<endpoint>`, `<api>.<endpoint>` or `<api>/<endpoint>`).

use std::collections::HashMap;

use futures_util::TryStreamExt;
use keygate_domain::import::{LegacyApi, LegacyRecord, LegacyUser};
use mongodb::bson::{Bson, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use serde_json::{Map, Value};

use keygate_domain::import::Owned;

use crate::content;
use crate::fields::FieldMap;

/// The collection 000 and 001 keep their accounts in.
const USERS: &str = "users";
/// The collections 000 may keep its APIs in, first found wins.
const APIS: [&str; 2] = ["apis", "api"];
/// The shared collection 000 may keep records in.
const RECORDS: &str = "records";

/// What a MongoDB source holds.
pub(crate) struct MongoSource {
    pub(crate) users: Vec<LegacyUser>,
    pub(crate) apis: Vec<Owned<LegacyApi>>,
    pub(crate) records: Vec<LegacyRecord>,
}

/// Every account, API and record in the database the URL names (`mongodb://host/<database>`).
pub(crate) async fn read(url: &str, map: &FieldMap) -> Result<MongoSource, String> {
    // Errors name the database, never the URL (it may hold a password).
    let options = ClientOptions::parse(url)
        .await
        .map_err(|e| format!("the MongoDB URL is not usable: {}", e.kind))?;
    let database = options
        .default_database
        .clone()
        .ok_or("name the database in the URL: mongodb://host/<database>")?;
    let client = Client::with_options(options).map_err(|e| format!("MongoDB: {}", e.kind))?;
    let db = client.database(&database);
    let collections = db
        .list_collection_names()
        .await
        .map_err(|e| format!("listing {database}'s collections: {}", e.kind))?;
    let users = objects(&db, USERS)
        .await?
        .iter()
        .map(|record| map.user(record))
        .collect();
    let mut apis = Vec::new();
    if let Some(name) = APIS.iter().find(|n| collections.iter().any(|c| c == *n)) {
        apis = objects(&db, name).await?.iter().map(content::api).collect();
    }
    let mut records = Vec::new();
    if collections.iter().any(|c| c == RECORDS) {
        // Records may name their API by id or by name.
        let by_name: HashMap<String, String> = apis
            .iter()
            .filter_map(|a| {
                let name = a.item.api_name.as_ref()?.as_str()?.to_owned();
                Some((name, a.item.source_id.clone()))
            })
            .collect();
        for document in objects(&db, RECORDS).await? {
            let mut record = content::record(&document, None, None);
            if let Some(id) = by_name.get(&record.api_source_id) {
                record.api_source_id = id.clone();
            }
            records.push(record);
        }
    }
    for api in &apis {
        let Some(name) = api.item.api_name.as_ref().and_then(Value::as_str) else {
            continue;
        };
        let endpoints = api.item.endpoints.as_ref().and_then(Value::as_array);
        for endpoint in endpoints.into_iter().flatten().filter_map(Value::as_str) {
            for separator in ["_", ".", "/"] {
                let collection = format!("{name}{separator}{endpoint}");
                if collections.contains(&collection) {
                    for document in objects(&db, &collection).await? {
                        records.push(content::record(
                            &document,
                            Some(&api.item.source_id),
                            Some(endpoint),
                        ));
                    }
                }
            }
        }
    }
    Ok(MongoSource {
        users,
        apis,
        records,
    })
}

/// Every document of `collection`, as plain JSON objects.
async fn objects(db: &Database, collection: &str) -> Result<Vec<Map<String, Value>>, String> {
    let failed =
        |e: mongodb::error::Error| format!("reading {}.{collection}: {}", db.name(), e.kind);
    let documents: Vec<Document> = db
        .collection::<Document>(collection)
        .find(mongodb::bson::doc! {})
        .await
        .map_err(failed)?
        .try_collect()
        .await
        .map_err(failed)?;
    Ok(documents
        .into_iter()
        .filter_map(|document| match plain(Bson::Document(document)) {
            Value::Object(record) => Some(record),
            _ => None,
        })
        .collect())
}

/// A BSON value as the JSON a Flask app would have answered with: ids as their hex, dates as
/// RFC 3339 text, other types as relaxed extended JSON (so no `$`-named member is left where
/// a JSON value could stand).
fn plain(value: Bson) -> Value {
    match value {
        Bson::ObjectId(id) => Value::String(id.to_hex()),
        Bson::DateTime(at) => Value::String(
            at.try_to_rfc3339_string()
                .unwrap_or_else(|_| at.timestamp_millis().to_string()),
        ),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::Document(document) => Value::Object(
            document
                .into_iter()
                .map(|(name, value)| (name, plain(value)))
                .collect(),
        ),
        Bson::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
        other => other.into_relaxed_extjson(),
    }
}
