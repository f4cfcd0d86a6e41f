//! Connecting, and running every operation under a deadline.

use std::future::IntoFuture;
use std::time::Duration;

use keygate_domain::{Error, Result};
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, WriteConcern};
use mongodb::{Client, Collection, Database};

use crate::documents::RecordDocument;
use crate::documents::{ApiDocument, ApiKeyDocument};
use crate::documents::{DataDocument, RefreshTokenDocument, SessionDocument, UserDocument};
use crate::errors::from_driver;
use crate::{collections, indexes};

/// How to reach the database.
#[derive(Clone)]
pub struct MongoSettings {
    /// A `mongodb://` or `mongodb+srv://` URL (it may carry credentials: never log it).
    pub url: String,
    /// The database holding Keygate's collections.
    pub database: String,
    /// The longest any one operation may take, server selection included, before the request
    /// gets `503 unavailable`.
    pub operation_timeout: Duration,
}

/// The MongoDB store. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    timeout: Duration,
}

impl MongoStore {
    /// Connects and creates the indexes (idempotent). Fails with `Unavailable` if the server
    /// cannot be reached within the operation timeout.
    pub async fn connect(settings: &MongoSettings) -> Result<Self> {
        let mut options = ClientOptions::parse(&settings.url)
            .await
            .map_err(|e| Error::Unavailable(format!("invalid MongoDB URL: {}", from_driver(e))))?;
        options.app_name = Some("keygate".into());
        options.server_selection_timeout = Some(settings.operation_timeout);
        options.connect_timeout = Some(settings.operation_timeout);
        // Unless the URL says otherwise, a write is acknowledged only once it is in the journal:
        // a crash after a 2xx loses nothing, the embedded store's rule. mongod commits the
        // journal for concurrent writes together (its own group commit), so they share a flush.
        if options.write_concern.is_none() {
            options.write_concern = Some(WriteConcern::builder().journal(true).build());
        }
        let client = Client::with_options(options).map_err(|e| {
            Error::Unavailable(format!("cannot create MongoDB client: {}", from_driver(e)))
        })?;
        let store = Self {
            db: client.database(&settings.database),
            timeout: settings.operation_timeout,
        };
        store.run(indexes::ensure(&store.db)).await?;
        Ok(store)
    }

    /// Runs one driver operation under the deadline, translating its failure.
    pub(crate) async fn run<T>(
        &self,
        operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, operation.into_future()).await {
            Ok(result) => result.map_err(from_driver),
            Err(_) => Err(Error::Unavailable(format!(
                "MongoDB did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    pub(crate) fn users(&self) -> Collection<UserDocument> {
        self.db.collection(collections::USERS)
    }

    pub(crate) fn sessions(&self) -> Collection<SessionDocument> {
        self.db.collection(collections::SESSIONS)
    }

    pub(crate) fn refresh_tokens(&self) -> Collection<RefreshTokenDocument> {
        self.db.collection(collections::REFRESH_TOKENS)
    }

    pub(crate) fn data(&self) -> Collection<DataDocument> {
        self.db.collection(collections::DATA)
    }

    pub(crate) fn apis(&self) -> Collection<ApiDocument> {
        self.db.collection(collections::APIS)
    }

    pub(crate) fn api_keys(&self) -> Collection<ApiKeyDocument> {
        self.db.collection(collections::API_KEYS)
    }

    pub(crate) fn records(&self) -> Collection<RecordDocument> {
        self.db.collection(collections::RECORDS)
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// Succeeds when the server answers a `ping`.
    pub(crate) async fn ping(&self) -> Result<()> {
        self.run(self.db.run_command(doc! {"ping": 1}))
            .await
            .map(|_| ())
    }
}
