//! API definitions on redb: by id, with a unique name index and a per-owner index.

use async_trait::async_trait;
use keygate_domain::apis::{ApiDefinition, ApiName, ApiRepository};
use keygate_domain::{ConflictKind, Error, Id, Result};
use redb::{ReadableTable, Table};

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::{
    child_key, children_of, APIS, APIS_BUILDING_INDEXES, APIS_BY_NAME, APIS_BY_OWNER,
};
use crate::unavailable::OrUnavailable;

fn read_api(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<ApiDefinition>> {
    match table.get(id).or_unavailable()? {
        Some(bytes) => decode(bytes.value()).map(Some),
        None => Ok(None),
    }
}

fn write_api(
    txn: &redb::WriteTransaction,
    table: &mut Table<&str, &[u8]>,
    api: &ApiDefinition,
) -> Result<()> {
    table
        .insert(api.id.as_str(), encode(api)?.as_slice())
        .or_unavailable()?;
    let mut building = txn.open_table(APIS_BUILDING_INDEXES).or_unavailable()?;
    if api.has_building_index() {
        building.insert(api.id.as_str(), ()).or_unavailable()?;
    } else {
        building.remove(api.id.as_str()).or_unavailable()?;
    }
    Ok(())
}

#[async_trait]
impl ApiRepository for EmbeddedStore {
    async fn insert(&self, api: &ApiDefinition) -> Result<()> {
        let api = api.clone();
        self.write(move |txn| {
            let mut names = txn.open_table(APIS_BY_NAME).or_unavailable()?;
            if names.get(api.name.as_str()).or_unavailable()?.is_some() {
                return Err(Error::Conflict(ConflictKind::ApiName));
            }
            names
                .insert(api.name.as_str(), api.id.as_str())
                .or_unavailable()?;
            txn.open_table(APIS_BY_OWNER)
                .or_unavailable()?
                .insert(
                    child_key(api.owner_id.as_str(), api.id.as_str()).as_str(),
                    (),
                )
                .or_unavailable()?;
            write_api(txn, &mut txn.open_table(APIS).or_unavailable()?, &api)
        })
        .await
    }

    async fn find(&self, id: &Id) -> Result<Option<ApiDefinition>> {
        let id = id.clone();
        self.read_now(move |txn| read_api(&txn.open_table(APIS).or_unavailable()?, id.as_str()))
    }

    async fn find_by_name(&self, name: &ApiName) -> Result<Option<ApiDefinition>> {
        let name = name.clone();
        self.read_now(move |txn| {
            let id = txn
                .open_table(APIS_BY_NAME)
                .or_unavailable()?
                .get(name.as_str())
                .or_unavailable()?
                .map(|id| id.value().to_owned());
            match id {
                Some(id) => read_api(&txn.open_table(APIS).or_unavailable()?, &id),
                None => Ok(None),
            }
        })
    }

    async fn list_for_owner(
        &self,
        owner_id: &Id,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>> {
        let owner = owner_id.as_str().to_owned();
        self.read(move |txn| {
            let index = txn.open_table(APIS_BY_OWNER).or_unavailable()?;
            let apis = txn.open_table(APIS).or_unavailable()?;
            let (first, end) = children_of(&owner);
            let start = after.map_or(first.clone(), |after| {
                // Just past `owner/after`: appending a byte below every hex digit.
                format!("{}\u{0}", child_key(&owner, after.as_str()))
            });
            let mut found = Vec::new();
            for row in index
                .range::<&str>(start.as_str()..end.as_str())
                .or_unavailable()?
                .take(limit)
            {
                let (key, _) = row.or_unavailable()?;
                let id = key
                    .value()
                    .get(first.len()..)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(api) = read_api(&apis, &id)? {
                    found.push(api);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn update(&self, api: &ApiDefinition, expected_revision: u64) -> Result<bool> {
        let api = api.clone();
        self.write(move |txn| {
            let mut apis = txn.open_table(APIS).or_unavailable()?;
            match read_api(&apis, api.id.as_str())? {
                Some(stored) if stored.revision == expected_revision => {
                    // The name and owner never change, so the indexes stay as they are.
                    write_api(txn, &mut apis, &api)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn delete(&self, id: &Id) -> Result<bool> {
        let id = id.clone();
        self.write(move |txn| {
            let mut apis = txn.open_table(APIS).or_unavailable()?;
            let Some(api) = read_api(&apis, id.as_str())? else {
                return Ok(false);
            };
            apis.remove(id.as_str()).or_unavailable()?;
            txn.open_table(APIS_BY_NAME)
                .or_unavailable()?
                .remove(api.name.as_str())
                .or_unavailable()?;
            txn.open_table(APIS_BY_OWNER)
                .or_unavailable()?
                .remove(child_key(api.owner_id.as_str(), id.as_str()).as_str())
                .or_unavailable()?;
            txn.open_table(APIS_BUILDING_INDEXES)
                .or_unavailable()?
                .remove(id.as_str())
                .or_unavailable()?;
            Ok(true)
        })
        .await
    }

    async fn with_building_indexes(
        &self,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>> {
        self.read(move |txn| {
            let building = txn.open_table(APIS_BUILDING_INDEXES).or_unavailable()?;
            let apis = txn.open_table(APIS).or_unavailable()?;
            let start = after.map(|id| format!("{id}\u{0}"));
            let range = match &start {
                Some(start) => building.range::<&str>(start.as_str()..).or_unavailable()?,
                None => building.range::<&str>(..).or_unavailable()?,
            };
            let mut found = Vec::new();
            for row in range.take(limit) {
                let (id, _) = row.or_unavailable()?;
                if let Some(api) = read_api(&apis, id.value())? {
                    found.push(api);
                }
            }
            Ok(found)
        })
        .await
    }
}
