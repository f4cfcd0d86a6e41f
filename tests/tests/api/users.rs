//! GET /users.

use keygate_tests::{store_tests, Store, TestApp, PASSWORD};
use serde_json::json;

fn users_lists_usernames_only_page_by_page(store: Store) {
    let app = TestApp::spawn(store);
    for i in 0..4 {
        app.register(&format!("lister{i}"), &format!("lister{i}@example.com"))
            .expect(201);
    }
    app.post(
        "/register",
        &json!({"email": "no-username@example.com", "password": PASSWORD}),
    )
    .expect(201);
    let token = app
        .login("lister0", PASSWORD)
        .str("access_token")
        .to_owned();
    let all = app.get("/users", Some(&token));
    all.expect(200);
    assert_eq!(all.body["status"], "success");
    assert_eq!(all.body.get("next_cursor"), Some(&serde_json::Value::Null));
    let users = all.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    for user in users {
        let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["username"], "only usernames: {user}");
    }

    let mut seen = Vec::new();
    let mut path = "/v1/users?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&token));
        page.expect(200);
        let users = page.body["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|u| u["username"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    // Every account once: the pages neither repeat nor skip one.
    let mut distinct = seen.clone();
    distinct.sort_by_key(|u| u.to_string());
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{seen:?}");
    let mut listed = users
        .iter()
        .map(|u| u["username"].to_string())
        .collect::<Vec<_>>();
    listed.sort();
    let mut paged = seen.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    paged.sort();
    assert_eq!(listed, paged, "the pages hold what one listing holds");
    // A cursor that is not one is refused, not read from the start.
    app.get("/users?cursor=not-a-cursor", Some(&token))
        .expect_error(400, "validation_failed");
}

fn users_needs_a_token_and_a_sane_limit(store: Store) {
    let app = TestApp::spawn(store);
    app.get("/users", None).expect_error(401, "unauthorized");
    let (_, token, _) = app.signed_up_user();
    app.get("/users?limit=0", Some(&token))
        .expect_error(400, "validation_failed");
    app.get("/users?limit=501", Some(&token))
        .expect_error(400, "validation_failed");
    app.get("/users?limit=abc", Some(&token))
        .expect_error(400, "validation_failed");
    app.get("/users?limit=500", Some(&token)).expect(200);
}

store_tests!(
    users_lists_usernames_only_page_by_page,
    users_needs_a_token_and_a_sane_limit
);
