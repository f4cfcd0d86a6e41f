//! The account store on MongoDB.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::accounts::{Email, User, UserRepository, Username};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::doc;

use crate::documents::{object_id, UserDocument};
use crate::store::MongoStore;

impl MongoStore {
    async fn find_user(&self, filter: mongodb::bson::Document) -> Result<Option<User>> {
        self.run(self.users().find_one(filter))
            .await?
            .map(UserDocument::into_user)
            .transpose()
    }
}

#[async_trait]
impl UserRepository for MongoStore {
    async fn insert(&self, user: &User) -> Result<()> {
        let document = UserDocument::from_user(user)?;
        self.run(self.users().insert_one(document))
            .await
            .map(|_| ())
    }

    async fn find_by_id(&self, id: &Id) -> Result<Option<User>> {
        self.find_user(doc! {"_id": object_id(id)?}).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.find_user(doc! {"email": email.as_str()}).await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>> {
        self.find_user(doc! {"username_lower": username.lowercase()})
            .await
    }

    async fn update(&self, user: &User, expected_revision: u64) -> Result<bool> {
        let document = UserDocument::from_user(user)?;
        let id = object_id(&user.id)?;
        // Accounts stored before revisions existed have no field: they are revision 0.
        let revision = match i64::try_from(expected_revision).unwrap_or(i64::MAX) {
            0 => doc! {"$in": [0_i64, mongodb::bson::Bson::Null]},
            expected => doc! {"$eq": expected},
        };
        let result = self
            .run(
                self.users()
                    .replace_one(doc! {"_id": id, "revision": revision}, document),
            )
            .await?;
        if result.matched_count == 1 {
            return Ok(true);
        }
        match self.run(self.users().find_one(doc! {"_id": id})).await? {
            Some(_) => Ok(false),
            None => Err(Error::NotFound("user")),
        }
    }

    async fn delete(&self, id: &Id) -> Result<bool> {
        let result = self
            .run(self.users().delete_one(doc! {"_id": object_id(id)?}))
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn list(&self, after: Option<Id>, limit: usize) -> Result<Vec<User>> {
        let filter = match &after {
            Some(after) => doc! {"_id": {"$gt": object_id(after)?}},
            None => doc! {},
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(self.users().find(filter).sort(doc! {"_id": 1}).limit(limit))
            .await?;
        let documents: Vec<UserDocument> = self.run(cursor.try_collect()).await?;
        documents.into_iter().map(UserDocument::into_user).collect()
    }

    async fn ping(&self) -> Result<()> {
        MongoStore::ping(self).await
    }
}
