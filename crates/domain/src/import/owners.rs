//! Who owns an imported API or entry: the source names owners by their old id, username or
//! email; the migration knows which Keygate account each became.

use std::collections::HashMap;

use super::accounts::LegacyUser;
use crate::id::Id;

/// Finds an account of the source by how the source names an owner: its old id, its
/// username or its email (000 kept either). An owner the source does not hold owns nothing.
pub struct OwnerIndex {
    by_name: HashMap<String, Id>,
}

impl OwnerIndex {
    /// The index of `users` and the ids they were given.
    pub fn new(users: &[(Id, LegacyUser)]) -> Self {
        let mut by_name = HashMap::new();
        for (id, user) in users {
            for name in [user.username.as_deref(), user.email.as_deref()]
                .into_iter()
                .flatten()
            {
                by_name
                    .entry(name.trim().to_owned())
                    .or_insert_with(|| id.clone());
            }
        }
        // Old ids win over names: inserted last.
        for (id, user) in users {
            if !user.source_id.is_empty() {
                by_name.insert(user.source_id.clone(), id.clone());
            }
        }
        Self { by_name }
    }

    /// The account `owner` names, if the source holds it.
    pub fn resolve(&self, owner: &str) -> Option<Id> {
        self.by_name.get(owner.trim()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_id_wins_over_a_name_and_names_are_trimmed() {
        let (a, b) = (Id::generate(1), Id::generate(2));
        let users = vec![
            (
                a.clone(),
                LegacyUser {
                    source_id: "7".into(),
                    username: Some("alice".into()),
                    ..LegacyUser::default()
                },
            ),
            (
                b.clone(),
                LegacyUser {
                    source_id: "alice".into(),
                    email: Some("b@example.com".into()),
                    ..LegacyUser::default()
                },
            ),
        ];
        let owners = OwnerIndex::new(&users);
        assert_eq!(owners.resolve(" 7 "), Some(a));
        assert_eq!(owners.resolve("alice"), Some(b.clone()));
        assert_eq!(owners.resolve("b@example.com"), Some(b));
        assert_eq!(owners.resolve("nobody"), None);
    }
}
