//! What the store still holds of an account, read through the store's own adapter. A deleted
//! account's rows cannot be seen over HTTP (its tokens and keys are gone, and a new account of
//! the same name has a new id), so the deletion tests look in the store itself.

use keygate_domain::accounts::UserRepository;
use keygate_domain::apis::records::RecordRepository;
use keygate_domain::apis::{ApiKeyRepository, ApiRepository};
use keygate_domain::data::DataRepository;
use keygate_domain::mfa::SecondFactorRepository;
use keygate_domain::Id;

use crate::app::{Store, TestApp};

/// Rows of one account (and of its APIs) still in the store.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Whether the account row is there.
    pub account: bool,
    /// Its stored password hash (a PHC string), if it is there.
    pub password_hash: Option<String>,
    /// Its data entries.
    pub data_entries: usize,
    /// Its API definitions.
    pub apis: usize,
    /// Keys of the APIs asked about.
    pub keys: usize,
    /// Records of the APIs asked about.
    pub records: u64,
    /// Whether its second factors (TOTP, recovery codes, passkeys: one stored value) are there.
    pub factors: bool,
}

impl TestApp {
    /// Stops the server and reads the stored password hash of account `user_id` (a PHC
    /// string), to see the hashing parameters in force.
    pub fn stored_password_hash(self, user_id: &str) -> String {
        self.leftovers(user_id, &[])
            .password_hash
            .expect("the account is stored")
    }

    /// Stops the server (the embedded store's file is locked while it runs) and reads what its
    /// store still holds of account `user_id` and of the APIs `api_ids`. Counting records
    /// removes them: use it last.
    pub fn leftovers(mut self, user_id: &str, api_ids: &[&str]) -> Leftovers {
        self.stop();
        let user: Id = user_id.parse().expect("a user id");
        let apis: Vec<Id> = api_ids
            .iter()
            .map(|id| id.parse().expect("an API id"))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match self.store() {
            Store::Embedded => {
                let store = keygate_embedded::EmbeddedStore::open(self.data_dir()).unwrap();
                runtime.block_on(count(&store, &user, &apis))
            }
            Store::Mongo => runtime.block_on(async {
                let store = keygate_mongo::MongoStore::connect(&keygate_mongo::MongoSettings {
                    url: crate::app::mongodb_uri(),
                    database: self.database_name().expect("a MongoDB database").to_owned(),
                    operation_timeout: std::time::Duration::from_secs(20),
                })
                .await
                .unwrap();
                count(&store, &user, &apis).await
            }),
        }
    }
}

async fn count<S>(store: &S, user: &Id, apis: &[Id]) -> Leftovers
where
    S: UserRepository
        + DataRepository
        + ApiRepository
        + ApiKeyRepository
        + RecordRepository
        + SecondFactorRepository,
{
    let account = UserRepository::find_by_id(store, user).await.unwrap();
    let mut leftovers = Leftovers {
        account: account.is_some(),
        password_hash: account.map(|user| user.password_hash),
        data_entries: DataRepository::list(store, user, None, None, 100)
            .await
            .unwrap()
            .len(),
        apis: store.list_for_owner(user, None, 100).await.unwrap().len(),
        factors: store.find_factors(user).await.unwrap().is_some(),
        ..Leftovers::default()
    };
    for api in apis {
        leftovers.keys += store.list_for_api(api).await.unwrap().len();
        leftovers.records += store
            .delete_batch_for_api(api, 100_000, u64::MAX)
            .await
            .unwrap()
            .count;
    }
    leftovers
}
