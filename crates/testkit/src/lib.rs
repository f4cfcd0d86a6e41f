//! The repository conformance suite: every behaviour a store must have, written once against
//! the domain's port traits. Each adapter runs all of it with [`conformance_tests!`], so
//! whatever one store does, every other store does too.
//!
//! A dev-only crate: depends on `keygate-domain` and nothing else of the workspace.
#![warn(missing_docs)]
#![allow(clippy::unwrap_used)] // assertions in a test suite: a panic is the failure report

pub mod data;
pub mod fixtures;
pub mod sessions;
pub mod users;

use std::sync::Arc;

use keygate_domain::accounts::UserRepository;
use keygate_domain::data::DataRepository;
use keygate_domain::sessions::SessionRepository;

/// One fresh, empty store seen through every port it implements.
#[derive(Clone)]
pub struct Stores {
    /// The account port.
    pub users: Arc<dyn UserRepository>,
    /// The session port.
    pub sessions: Arc<dyn SessionRepository>,
    /// The key-value port.
    pub data: Arc<dyn DataRepository>,
}

/// Expands to one `#[tokio::test]` per conformance case. `$fresh` is an expression that
/// evaluates to a future of a fresh, empty [`Stores`].
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@cases $fresh;
            users::insert_then_find_by_id_email_and_username,
            users::duplicate_email_is_a_conflict_on_email,
            users::duplicate_username_is_a_conflict_whatever_its_case,
            users::racing_inserts_of_one_email_have_one_winner,
            users::update_moves_unique_keys_and_guards_them,
            users::update_of_a_missing_user_is_not_found,
            users::delete_frees_email_and_username,
            users::list_pages_in_id_order,
            users::ping_succeeds_on_a_healthy_store,
            sessions::created_session_and_token_can_be_found,
            sessions::rotation_spends_a_token_exactly_once,
            sessions::racing_rotations_have_one_winner,
            sessions::revoke_marks_one_session,
            sessions::revoke_all_keeps_the_named_session,
            sessions::delete_all_forgets_sessions_and_tokens,
            sessions::purge_removes_only_what_has_expired,
            data::data_insert_then_find_and_refuse_a_duplicate,
            data::data_keys_are_private_to_their_owner,
            data::data_values_and_keys_round_trip_exactly,
            data::data_replace_changes_the_value_and_update_time,
            data::data_delete_removes_once,
            data::data_list_in_key_order_with_prefix_and_after,
            data::data_delete_all_spares_other_users,
            data::data_racing_inserts_of_one_key_have_one_winner,
        );
    };
    (@cases $fresh:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::$module::$case($fresh.await).await;
            }
        )*
    };
}
