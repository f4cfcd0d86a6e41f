//! The session store on MongoDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session, SessionRepository};
use keygate_domain::{Id, Result};
use mongodb::bson::doc;

use crate::documents::{bson_time, object_id, RefreshTokenDocument, SessionDocument};
use crate::store::MongoStore;

#[async_trait]
impl SessionRepository for MongoStore {
    async fn create(&self, session: &Session, first_token: &RefreshToken) -> Result<()> {
        let session_document = SessionDocument::from_session(session)?;
        let token_document = RefreshTokenDocument::from_token(first_token)?;
        self.run(self.sessions().insert_one(session_document))
            .await?;
        self.run(self.refresh_tokens().insert_one(token_document))
            .await?;
        Ok(())
    }

    async fn find(&self, id: &Id) -> Result<Option<Session>> {
        self.run(self.sessions().find_one(doc! {"_id": object_id(id)?}))
            .await?
            .map(SessionDocument::into_session)
            .transpose()
    }

    async fn find_refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>> {
        self.run(
            self.refresh_tokens()
                .find_one(doc! {"_id": digest.as_str()}),
        )
        .await?
        .map(RefreshTokenDocument::into_token)
        .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        used: &SecretDigest,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // Insert first, then spend: if the insert fails nothing is spent, and the client may
        // retry with the same token. The conditional update is the gate: of racing rotations,
        // exactly one matches an unspent token; a loser removes the token it stored.
        let next_document = RefreshTokenDocument::from_token(next)?;
        self.run(self.refresh_tokens().insert_one(next_document))
            .await?;
        let spent = self
            .run(self.refresh_tokens().update_one(
                doc! {"_id": used.as_str(), "used_at": null},
                doc! {"$set": {"used_at": bson_time(now)}},
            ))
            .await;
        let won = match spent {
            Ok(result) => result.modified_count == 1,
            Err(error) => {
                let _ = self
                    .run(
                        self.refresh_tokens()
                            .delete_one(doc! {"_id": next.digest.as_str()}),
                    )
                    .await;
                return Err(error);
            }
        };
        if !won {
            self.run(
                self.refresh_tokens()
                    .delete_one(doc! {"_id": next.digest.as_str()}),
            )
            .await?;
            return Ok(false);
        }
        // Reuse detection needs only the token just spent: older generations go.
        self.run(self.refresh_tokens().delete_many(doc! {
            "session_id": object_id(&next.session_id)?,
            "used_at": {"$ne": null},
            "_id": {"$nin": [used.as_str(), next.digest.as_str()]},
        }))
        .await?;
        Ok(true)
    }

    async fn revoke(&self, id: &Id, now: DateTime<Utc>) -> Result<()> {
        self.run(self.sessions().update_one(
            doc! {"_id": object_id(id)?, "revoked_at": null},
            doc! {"$set": {"revoked_at": bson_time(now)}},
        ))
        .await
        .map(|_| ())
    }

    async fn revoke_all_for_user(
        &self,
        user_id: &Id,
        keep: Option<Id>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut filter = doc! {"user_id": object_id(user_id)?, "revoked_at": null};
        if let Some(keep) = keep {
            filter.insert("_id", doc! {"$ne": object_id(&keep)?});
        }
        self.run(
            self.sessions()
                .update_many(filter, doc! {"$set": {"revoked_at": bson_time(now)}}),
        )
        .await
        .map(|_| ())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        // Served by the TTL indexes on `expires_at`; the TTL monitor does the same about once a
        // minute, this makes it prompt and gives both stores one behaviour.
        let ended = doc! {"expires_at": {"$lte": bson_time(now)}};
        let tokens = self
            .run(self.refresh_tokens().delete_many(ended.clone()))
            .await?;
        let sessions = self.run(self.sessions().delete_many(ended)).await?;
        Ok(tokens.deleted_count + sessions.deleted_count)
    }

    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        let user_id = object_id(user_id)?;
        self.run(self.refresh_tokens().delete_many(doc! {"user_id": user_id}))
            .await?;
        self.run(self.sessions().delete_many(doc! {"user_id": user_id}))
            .await?;
        Ok(())
    }
}
