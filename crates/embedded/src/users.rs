//! The account store on redb.

use async_trait::async_trait;
use keygate_domain::accounts::{Email, User, UserRepository, Username};
use keygate_domain::{ConflictKind, Error, Id, Result};
use redb::{ReadableTable, Table, WriteTransaction};

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::{USERS, USERS_BY_EMAIL, USERS_BY_USERNAME};
use crate::unavailable::OrUnavailable;

/// Claims `key` in a unique index for `id`; `Conflict(kind)` if another id holds it.
fn claim(index: &mut Table<&str, &str>, key: &str, id: &str, kind: ConflictKind) -> Result<()> {
    if let Some(owner) = index.get(key).or_unavailable()? {
        if owner.value() != id {
            return Err(Error::Conflict(kind));
        }
    }
    index.insert(key, id).or_unavailable()?;
    Ok(())
}

fn write_user(txn: &WriteTransaction, user: &User, previous: Option<&User>) -> Result<()> {
    let id = user.id.as_str();
    let mut emails = txn.open_table(USERS_BY_EMAIL).or_unavailable()?;
    let mut names = txn.open_table(USERS_BY_USERNAME).or_unavailable()?;
    if let Some(old) = previous {
        if let Some(email) = old
            .email
            .as_ref()
            .filter(|e| Some(*e) != user.email.as_ref())
        {
            emails.remove(email.as_str()).or_unavailable()?;
        }
        if let Some(name) = old.username.as_ref().map(Username::lowercase) {
            if Some(&name) != user.username.as_ref().map(Username::lowercase).as_ref() {
                names.remove(name.as_str()).or_unavailable()?;
            }
        }
    }
    if let Some(email) = &user.email {
        claim(&mut emails, email.as_str(), id, ConflictKind::Email)?;
    }
    if let Some(name) = &user.username {
        claim(&mut names, &name.lowercase(), id, ConflictKind::Username)?;
    }
    let mut users = txn.open_table(USERS).or_unavailable()?;
    users
        .insert(id, encode(user)?.as_slice())
        .or_unavailable()?;
    Ok(())
}

fn read_user(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<User>> {
    match table.get(id).or_unavailable()? {
        Some(bytes) => decode(bytes.value()).map(Some),
        None => Ok(None),
    }
}

impl EmbeddedStore {
    async fn find_user_by_index(
        &self,
        index: redb::TableDefinition<'static, &'static str, &'static str>,
        key: String,
    ) -> Result<Option<User>> {
        self.read_now(move |txn| {
            let index = txn.open_table(index).or_unavailable()?;
            let Some(id) = index
                .get(key.as_str())
                .or_unavailable()?
                .map(|g| g.value().to_owned())
            else {
                return Ok(None);
            };
            read_user(&txn.open_table(USERS).or_unavailable()?, &id)
        })
    }
}

#[async_trait]
impl UserRepository for EmbeddedStore {
    async fn insert(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.write(move |txn| {
            if read_user(&txn.open_table(USERS).or_unavailable()?, user.id.as_str())?.is_some() {
                return Err(Error::Conflict(ConflictKind::Other("id".into())));
            }
            write_user(txn, &user, None)
        })
        .await
    }

    async fn find_by_id(&self, id: &Id) -> Result<Option<User>> {
        let id = id.clone();
        self.read_now(move |txn| read_user(&txn.open_table(USERS).or_unavailable()?, id.as_str()))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.find_user_by_index(USERS_BY_EMAIL, email.as_str().to_owned())
            .await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>> {
        self.find_user_by_index(USERS_BY_USERNAME, username.lowercase())
            .await
    }

    async fn update(&self, user: &User, expected_revision: u64) -> Result<bool> {
        let user = user.clone();
        self.write(move |txn| {
            let previous = read_user(&txn.open_table(USERS).or_unavailable()?, user.id.as_str())?
                .ok_or(Error::NotFound("user"))?;
            if previous.revision != expected_revision {
                return Ok(false);
            }
            write_user(txn, &user, Some(&previous))?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, id: &Id) -> Result<bool> {
        let id = id.clone();
        self.write(move |txn| {
            let mut users = txn.open_table(USERS).or_unavailable()?;
            let Some(user) = read_user(&users, id.as_str())? else {
                return Ok(false);
            };
            users.remove(id.as_str()).or_unavailable()?;
            if let Some(email) = &user.email {
                txn.open_table(USERS_BY_EMAIL)
                    .or_unavailable()?
                    .remove(email.as_str())
                    .or_unavailable()?;
            }
            if let Some(name) = &user.username {
                txn.open_table(USERS_BY_USERNAME)
                    .or_unavailable()?
                    .remove(name.lowercase().as_str())
                    .or_unavailable()?;
            }
            Ok(true)
        })
        .await
    }

    async fn list(&self, after: Option<Id>, limit: usize) -> Result<Vec<User>> {
        self.read(move |txn| {
            let users = txn.open_table(USERS).or_unavailable()?;
            let range = match &after {
                Some(after) => users
                    .range::<&str>((
                        std::ops::Bound::Excluded(after.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .or_unavailable()?,
                None => users.range::<&str>(..).or_unavailable()?,
            };
            let mut items = Vec::with_capacity(limit);
            for entry in range.take(limit) {
                let (_, bytes) = entry.or_unavailable()?;
                items.push(decode::<User>(bytes.value())?);
            }
            Ok(items)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.check().await
    }
}
