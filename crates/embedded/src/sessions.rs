//! The session store on redb.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session, SessionRepository};
use keygate_domain::{ConflictKind, Error, Id, Result};
use redb::{ReadableTable, WriteTransaction};

use crate::rows::{decode, encode, Stored};
use crate::store::EmbeddedStore;
use crate::tables::{
    child_key, children_of, REFRESH_TOKENS, REFRESH_TOKENS_BY_USER, SESSIONS, SESSIONS_BY_USER,
};
use crate::unavailable::OrUnavailable;

/// Stores a new refresh token; a digest already stored is a conflict, never overwritten.
fn put_refresh_token(txn: &WriteTransaction, token: &RefreshToken) -> Result<()> {
    let mut tokens = txn.open_table(REFRESH_TOKENS).or_unavailable()?;
    if tokens
        .get(token.digest.as_str())
        .or_unavailable()?
        .is_some()
    {
        return Err(Error::Conflict(ConflictKind::Other("refresh token".into())));
    }
    tokens
        .insert(token.digest.as_str(), encode(token)?.as_slice())
        .or_unavailable()?;
    drop(tokens);
    txn.open_table(REFRESH_TOKENS_BY_USER)
        .or_unavailable()?
        .insert(
            child_key(token.user_id.as_str(), token.digest.as_str()).as_str(),
            (),
        )
        .or_unavailable()?;
    Ok(())
}

/// The ids (the part after `/`) of every child row of `parent` in a per-user index.
pub(crate) fn children(
    txn: &WriteTransaction,
    index: redb::TableDefinition<'static, &'static str, ()>,
    parent: &str,
) -> Result<Vec<String>> {
    let table = txn.open_table(index).or_unavailable()?;
    let (start, end) = children_of(parent);
    let mut keys = Vec::new();
    for entry in table.range(start.as_str()..end.as_str()).or_unavailable()? {
        let (key, _) = entry.or_unavailable()?;
        keys.push(key.value().to_owned());
    }
    Ok(keys)
}

/// How many rows one purge transaction examines: the purge never holds the write lock for
/// long, however large the tables are.
const PURGE_BATCH: usize = 1_000;

/// Examines up to [`PURGE_BATCH`] rows of `table` from the key `from` on, and removes those
/// that ended at or before `now` with their row in the per-user `index`. `describe` gives a
/// document's end, its key in `table` and its key in `index`. Returns how many went and the
/// key to continue from, if any rows are left.
fn purge_ended<T: Stored>(
    txn: &WriteTransaction,
    table: redb::TableDefinition<'static, &'static str, &'static [u8]>,
    index: redb::TableDefinition<'static, &'static str, ()>,
    from: Option<&str>,
    now: DateTime<Utc>,
    describe: impl Fn(&T) -> (DateTime<Utc>, String, String),
) -> Result<(u64, Option<String>)> {
    let mut rows = txn.open_table(table).or_unavailable()?;
    let mut ended = Vec::new();
    let mut next = None;
    let range = match from {
        Some(from) => rows.range::<&str>(from..).or_unavailable()?,
        None => rows.range::<&str>(..).or_unavailable()?,
    };
    for (examined, row) in range.enumerate() {
        let (key, bytes) = row.or_unavailable()?;
        if examined == PURGE_BATCH {
            next = Some(key.value().to_owned());
            break;
        }
        let (ends_at, row_key, index_key) = describe(&decode::<T>(bytes.value())?);
        if ends_at <= now {
            ended.push((row_key, index_key));
        }
    }
    let mut index = txn.open_table(index).or_unavailable()?;
    for (row_key, index_key) in &ended {
        rows.remove(row_key.as_str()).or_unavailable()?;
        index.remove(index_key.as_str()).or_unavailable()?;
    }
    Ok((ended.len() as u64, next))
}

/// Removes the session's spent tokens other than `kept` (the one just spent) and `next`:
/// reuse detection needs only the predecessor of the current token. The user's index holds a
/// handful of rows per live session, so this stays small.
fn forget_older_generations(txn: &WriteTransaction, next: &RefreshToken, kept: &str) -> Result<()> {
    let user = next.user_id.as_str();
    let mut tokens = txn.open_table(REFRESH_TOKENS).or_unavailable()?;
    let mut doomed = Vec::new();
    for key in children(txn, REFRESH_TOKENS_BY_USER, user)? {
        let Some((_, digest)) = key.split_once('/') else {
            continue;
        };
        if digest == kept || digest == next.digest.as_str() {
            continue;
        }
        let Some(bytes) = tokens
            .get(digest)
            .or_unavailable()?
            .map(|b| b.value().to_vec())
        else {
            continue;
        };
        let token: RefreshToken = decode(&bytes)?;
        if token.session_id == next.session_id && token.used_at.is_some() {
            doomed.push((digest.to_owned(), key.clone()));
        }
    }
    let mut index = txn.open_table(REFRESH_TOKENS_BY_USER).or_unavailable()?;
    for (digest, key) in doomed {
        tokens.remove(digest.as_str()).or_unavailable()?;
        index.remove(key.as_str()).or_unavailable()?;
    }
    Ok(())
}

fn revoke_in(txn: &WriteTransaction, id: &str, now: DateTime<Utc>) -> Result<()> {
    let mut sessions = txn.open_table(SESSIONS).or_unavailable()?;
    let stored = sessions
        .get(id)
        .or_unavailable()?
        .map(|b| b.value().to_vec());
    if let Some(bytes) = stored {
        let mut session: Session = decode(&bytes)?;
        if session.revoked_at.is_none() {
            session.revoked_at = Some(now);
            sessions
                .insert(id, encode(&session)?.as_slice())
                .or_unavailable()?;
        }
    }
    Ok(())
}

impl EmbeddedStore {
    /// Purges one table in transactions of at most [`PURGE_BATCH`] examined rows each.
    pub(crate) async fn purge_table<T: Stored + 'static>(
        &self,
        table: redb::TableDefinition<'static, &'static str, &'static [u8]>,
        index: redb::TableDefinition<'static, &'static str, ()>,
        now: DateTime<Utc>,
        describe: fn(&T) -> (DateTime<Utc>, String, String),
    ) -> Result<u64> {
        let mut removed = 0;
        let mut from: Option<String> = None;
        loop {
            let (count, next) = self
                .write(move |txn| purge_ended(txn, table, index, from.as_deref(), now, describe))
                .await?;
            removed += count;
            match next {
                Some(key) => from = Some(key),
                None => return Ok(removed),
            }
        }
    }
}

#[async_trait]
impl SessionRepository for EmbeddedStore {
    async fn create(&self, session: &Session, first_token: &RefreshToken) -> Result<()> {
        let (session, token) = (session.clone(), first_token.clone());
        self.write(move |txn| {
            txn.open_table(SESSIONS)
                .or_unavailable()?
                .insert(session.id.as_str(), encode(&session)?.as_slice())
                .or_unavailable()?;
            txn.open_table(SESSIONS_BY_USER)
                .or_unavailable()?
                .insert(
                    child_key(session.user_id.as_str(), session.id.as_str()).as_str(),
                    (),
                )
                .or_unavailable()?;
            put_refresh_token(txn, &token)
        })
        .await
    }

    async fn find(&self, id: &Id) -> Result<Option<Session>> {
        let id = id.clone();
        self.read_now(move |txn| {
            match txn
                .open_table(SESSIONS)
                .or_unavailable()?
                .get(id.as_str())
                .or_unavailable()?
            {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn find_refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>> {
        let digest = digest.clone();
        self.read_now(move |txn| {
            let table = txn.open_table(REFRESH_TOKENS).or_unavailable()?;
            match table.get(digest.as_str()).or_unavailable()? {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn rotate_refresh_token(
        &self,
        used: &SecretDigest,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (used, next) = (used.clone(), next.clone());
        self.write(move |txn| {
            let mut tokens = txn.open_table(REFRESH_TOKENS).or_unavailable()?;
            let stored = tokens
                .get(used.as_str())
                .or_unavailable()?
                .map(|b| b.value().to_vec());
            let Some(bytes) = stored else {
                return Ok(false);
            };
            let mut token: RefreshToken = decode(&bytes)?;
            if token.used_at.is_some() {
                return Ok(false);
            }
            token.used_at = Some(now);
            tokens
                .insert(used.as_str(), encode(&token)?.as_slice())
                .or_unavailable()?;
            drop(tokens);
            put_refresh_token(txn, &next)?;
            forget_older_generations(txn, &next, used.as_str())?;
            Ok(true)
        })
        .await
    }

    async fn revoke(&self, id: &Id, now: DateTime<Utc>) -> Result<()> {
        let id = id.clone();
        self.write(move |txn| revoke_in(txn, id.as_str(), now))
            .await
    }

    async fn revoke_all_for_user(
        &self,
        user_id: &Id,
        keep: Option<Id>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let user_id = user_id.clone();
        self.write(move |txn| {
            for key in children(txn, SESSIONS_BY_USER, user_id.as_str())? {
                let Some((_, session_id)) = key.split_once('/') else {
                    continue;
                };
                if keep.as_ref().is_some_and(|k| k.as_str() == session_id) {
                    continue;
                }
                revoke_in(txn, session_id, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        let sessions = self
            .purge_table::<Session>(SESSIONS, SESSIONS_BY_USER, now, |s| {
                (
                    s.expires_at,
                    s.id.to_string(),
                    child_key(s.user_id.as_str(), s.id.as_str()),
                )
            })
            .await?;
        let tokens = self
            .purge_table::<RefreshToken>(REFRESH_TOKENS, REFRESH_TOKENS_BY_USER, now, |t| {
                let digest = t.digest.as_str();
                (
                    t.expires_at,
                    digest.to_owned(),
                    child_key(t.user_id.as_str(), digest),
                )
            })
            .await?;
        Ok(sessions + tokens)
    }

    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        let user_id = user_id.clone();
        self.write(move |txn| {
            let session_keys = children(txn, SESSIONS_BY_USER, user_id.as_str())?;
            let token_keys = children(txn, REFRESH_TOKENS_BY_USER, user_id.as_str())?;
            let mut sessions = txn.open_table(SESSIONS).or_unavailable()?;
            let mut by_user = txn.open_table(SESSIONS_BY_USER).or_unavailable()?;
            for key in &session_keys {
                if let Some((_, session_id)) = key.split_once('/') {
                    sessions.remove(session_id).or_unavailable()?;
                }
                by_user.remove(key.as_str()).or_unavailable()?;
            }
            let mut tokens = txn.open_table(REFRESH_TOKENS).or_unavailable()?;
            let mut tokens_by_user = txn.open_table(REFRESH_TOKENS_BY_USER).or_unavailable()?;
            for key in &token_keys {
                if let Some((_, digest)) = key.split_once('/') {
                    tokens.remove(digest).or_unavailable()?;
                }
                tokens_by_user.remove(key.as_str()).or_unavailable()?;
            }
            Ok(())
        })
        .await
    }
}
