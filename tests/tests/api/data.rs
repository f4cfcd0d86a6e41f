//! The per-user key-value store: /api/data.

use keygate_tests::{store_tests, Leftovers, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Percent-encodes every byte but the unreserved ones, as a careful client would.
fn encoded(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn path(key: &str) -> String {
    format!("/api/data/{}", encoded(key))
}

fn store(app: &TestApp, token: &str, key: &str, value: Value) -> keygate_tests::Reply {
    app.json(
        "POST",
        "/api/data",
        Some(token),
        &json!({"key": key, "value": value}),
    )
}

fn create_read_replace_delete(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let created = store(&app, &token, "settings", json!({"theme": "dark"}));
    created.expect(201);
    assert_eq!(created.body["status"], "success");
    assert_eq!(created.body["key"], "settings");
    assert!(created.str("created_at").ends_with('Z'));

    let read = app.get("/api/data/settings", Some(&token));
    read.expect(200);
    assert_eq!(read.body["status"], "success");
    assert_eq!(read.body["key"], "settings");
    assert_eq!(read.body["value"], json!({"theme": "dark"}));
    assert_eq!(read.body["created_at"], created.body["created_at"]);
    assert!(read.body["updated_at"].is_string());

    std::thread::sleep(std::time::Duration::from_millis(5));
    let replaced = app.json(
        "PUT",
        "/v1/api/data/settings",
        Some(&token),
        &json!({"value": [1, 2]}),
    );
    replaced.expect(200);
    assert_eq!(replaced.body["status"], "success");
    let read = app.get("/v1/api/data/settings", Some(&token));
    assert_eq!(read.body["value"], json!([1, 2]));
    assert_eq!(read.body["created_at"], created.body["created_at"]);
    assert!(
        read.str("updated_at") > created.str("updated_at"),
        "{}",
        read.text
    );

    let deleted = app.json("DELETE", "/api/data/settings", Some(&token), &json!({}));
    deleted.expect(200);
    assert_eq!(deleted.body["status"], "success");
    app.get("/api/data/settings", Some(&token))
        .expect_error(404, "not_found");
    store(&app, &token, "settings", json!(null)).expect(201);
}

fn a_taken_key_is_409_key_exists(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    store(&app, &token, "k", json!(1)).expect(201);
    store(&app, &token, "k", json!(2)).expect_error(409, "key_exists");
    assert_eq!(app.get("/api/data/k", Some(&token)).body["value"], json!(1));
    store(&app, &token, "K", json!(3)).expect(201);
}

fn unknown_keys_are_404_for_every_verb(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    app.get("/api/data/nothing", Some(&token))
        .expect_error(404, "not_found");
    app.json(
        "PUT",
        "/api/data/nothing",
        Some(&token),
        &json!({"value": 1}),
    )
    .expect_error(404, "not_found");
    app.json("DELETE", "/api/data/nothing", Some(&token), &json!({}))
        .expect_error(404, "not_found");
    app.get("/api/data/nothing", Some(&token))
        .expect_error(404, "not_found");
}

fn another_users_key_is_404_whatever_the_verb(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, alice, _) = app.signed_up_user();
    let (_, bob, _) = app.signed_up_user();
    store(&app, &alice, "secret", json!("alice's")).expect(201);
    app.get("/api/data/secret", Some(&bob))
        .expect_error(404, "not_found");
    app.json(
        "PUT",
        "/api/data/secret",
        Some(&bob),
        &json!({"value": "bob's"}),
    )
    .expect_error(404, "not_found");
    app.json("DELETE", "/api/data/secret", Some(&bob), &json!({}))
        .expect_error(404, "not_found");
    assert_eq!(
        app.get("/api/data?prefix=sec", Some(&bob)).body["entries"],
        json!([])
    );
    store(&app, &bob, "secret", json!("bob's")).expect(201);
    assert_eq!(
        app.get("/api/data/secret", Some(&alice)).body["value"],
        "alice's"
    );
    assert_eq!(
        app.get("/api/data/secret", Some(&bob)).body["value"],
        "bob's"
    );
}

fn every_route_needs_a_token(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    app.post("/api/data", &json!({"key": "k", "value": 1}))
        .expect_error(401, "unauthorized");
    app.get("/api/data", None).expect_error(401, "unauthorized");
    app.get("/api/data/k", None)
        .expect_error(401, "unauthorized");
    app.json("PUT", "/api/data/k", None, &json!({"value": 1}))
        .expect_error(401, "unauthorized");
    app.json("DELETE", "/api/data/k", None, &json!({}))
        .expect_error(401, "unauthorized");
    app.get("/api/data/k", Some("not-a-token"))
        .expect_error(401, "unauthorized");
    app.request(
        "POST",
        "/api/data",
        &[("content-type", "application/json")],
        Some(b"{bad"),
    )
    .expect_error(401, "unauthorized");
    app.request("PATCH", "/api/data/k", &[], None)
        .expect_error(405, "method_not_allowed");
}

fn every_json_value_round_trips_exactly(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let values = [
        ("max-safe", "9007199254740992"),
        ("min-safe", "-9007199254740992"),
        ("negative", "-17"),
        ("fraction", "0.1"),
        ("small", "-1.5e-7"),
        ("float-one", "1.0"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ("empty-string", "\"\""),
        ("unicode", "\"ünïcødé ✓ 漢字 🔑\""),
        ("empty-array", "[]"),
        ("empty-object", "{}"),
        ("nested", r#"[1,[2,[3,{"a":null}]],"x"]"#),
        (
            "object",
            r#"{"z":1,"a":{"$dollar":true,"dot.ted":[1.25,"s"],"":"empty name"},"m":[]}"#,
        ),
    ];
    for (key, text) in values {
        let value: Value = serde_json::from_str(text).unwrap();
        store(&app, &token, key, value.clone()).expect(201);
        let read = app.get(&path(key), Some(&token));
        read.expect(200);
        assert_eq!(read.body["value"], value, "{key}");
        assert_eq!(
            read.body["value"].to_string(),
            value.to_string(),
            "exact text of {key}"
        );
    }
    app.json(
        "PUT",
        "/api/data/nested",
        Some(&token),
        &json!({"value": {"deep": [[[[{"x": -0.5}]]]]}}),
    )
    .expect(200);
    assert_eq!(
        app.get("/api/data/nested", Some(&token)).body["value"],
        json!({"deep": [[[[{"x": -0.5}]]]]})
    );
}

fn keys_may_hold_any_printable_character(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let long = "k".repeat(256);
    let keys = [
        "a/b/c",
        "dots.in.key",
        "$dollar",
        "with space",
        "ключ",
        "🔑 emoji",
        "100%?#&+=",
        " lead",
        &long,
    ];
    for key in keys {
        store(&app, &token, key, json!(key)).expect(201);
        let read = app.get(&path(key), Some(&token));
        read.expect(200);
        assert_eq!(read.body["key"], key);
        assert_eq!(read.body["value"], key);
        app.json("PUT", &path(key), Some(&token), &json!({"value": [key]}))
            .expect(200);
        assert_eq!(
            app.get(&path(key), Some(&token)).body["value"],
            json!([key])
        );
    }
    // A slash need not even be encoded.
    assert_eq!(
        app.get("/api/data/a/b/c", Some(&token)).body["value"],
        json!(["a/b/c"])
    );
    for key in keys {
        app.json("DELETE", &path(key), Some(&token), &json!({}))
            .expect(200);
        app.get(&path(key), Some(&token))
            .expect_error(404, "not_found");
    }
}

fn keys_outside_the_rules_are_refused(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let too_long = "k".repeat(257);
    for key in [
        too_long.as_str(),
        "line\nbreak",
        "nul\u{0}char",
        "tab\there",
        "del\u{7f}",
    ] {
        let reply = store(&app, &token, key, json!(1));
        reply.expect_error(400, "validation_failed");
        assert_eq!(reply.detail_fields(), vec!["/key"]);
        app.get(&path(key), Some(&token))
            .expect_error(400, "validation_failed");
    }
    store(&app, &token, "", json!(1)).expect_error(400, "missing_parameters");
    app.json(
        "POST",
        "/api/data",
        Some(&token),
        &json!({"key": 5, "value": 1}),
    )
    .expect_error(400, "validation_failed");
}

fn bodies_need_their_fields(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let missing = app.json("POST", "/api/data", Some(&token), &json!({}));
    missing.expect_error(400, "missing_parameters");
    let mut fields = missing.detail_fields();
    fields.sort();
    assert_eq!(fields, vec!["/key", "/value"]);
    app.json("POST", "/api/data", Some(&token), &json!({"key": "k"}))
        .expect_error(400, "missing_parameters");
    store(&app, &token, "k", json!(1)).expect(201);
    app.json("PUT", "/api/data/k", Some(&token), &json!({}))
        .expect_error(400, "missing_parameters");
    app.json("PUT", "/api/data/k", Some(&token), &json!({"value": null}))
        .expect(200);
    assert_eq!(
        app.get("/api/data/k", Some(&token)).body["value"],
        Value::Null
    );
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    app.request("POST", "/api/data", &headers, Some(b"{oops"))
        .expect_error(400, "invalid_json");
    app.request("PUT", "/api/data/k", &headers, Some(b"[1]"))
        .expect_error(400, "invalid_json");
}

fn list_walks_keys_in_order_page_by_page_with_a_prefix(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    for key in ["b", "a/2", "a/10", "a", "ab", "a/1", "é", "Z"] {
        store(&app, &token, key, json!(key)).expect(201);
    }
    let all = app.get("/api/data", Some(&token));
    all.expect(200);
    assert_eq!(all.body["status"], "success");
    assert_eq!(all.body.get("next_cursor"), Some(&Value::Null));
    let keys: Vec<&str> = all.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["Z", "a", "a/1", "a/10", "a/2", "ab", "b", "é"]);
    for entry in all.body["entries"].as_array().unwrap() {
        assert!(
            entry.get("value").is_none(),
            "lists carry no values: {entry}"
        );
        assert!(entry["created_at"].is_string() && entry["updated_at"].is_string());
    }

    let mut seen = Vec::new();
    let mut next = "/v1/api/data?limit=3".to_owned();
    loop {
        let page = app.get(&next, Some(&token));
        page.expect(200);
        let entries = page.body["entries"].as_array().unwrap();
        assert!(entries.len() <= 3);
        seen.extend(
            entries
                .iter()
                .map(|e| e["key"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => next = format!("/v1/api/data?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, keys);

    let prefixed = app.get("/api/data?prefix=a%2F", Some(&token));
    let keys: Vec<&str> = prefixed.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["a/1", "a/10", "a/2"]);
    let first = app.get("/api/data?prefix=a%2F&limit=1", Some(&token));
    let cursor = first.str("next_cursor").to_owned();
    let second = app.get(
        &format!("/api/data?prefix=a%2F&limit=1&cursor={cursor}"),
        Some(&token),
    );
    assert_eq!(second.body["entries"][0]["key"], "a/10");

    app.get("/api/data?limit=0", Some(&token))
        .expect_error(400, "validation_failed");
    app.get("/api/data?limit=501", Some(&token))
        .expect_error(400, "validation_failed");
    app.get("/api/data?cursor=not-hex", Some(&token))
        .expect_error(400, "validation_failed");
}

fn deleting_the_account_deletes_its_data(store_kind: Store) {
    let app = TestApp::spawn(store_kind);
    let (_, token, _) = app.signed_up_user();
    let user_id = app.get("/profile", Some(&token)).str("id").to_owned();
    store(&app, &token, "diary", json!("private")).expect(201);
    store(&app, &token, "notes", json!([1, 2])).expect(201);
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect(200);
    // The old owner's rows themselves are gone, not only out of reach.
    assert_eq!(app.leftovers(&user_id, &[]), Leftovers::default());
}

store_tests!(
    create_read_replace_delete,
    a_taken_key_is_409_key_exists,
    unknown_keys_are_404_for_every_verb,
    another_users_key_is_404_whatever_the_verb,
    every_route_needs_a_token,
    every_json_value_round_trips_exactly,
    keys_may_hold_any_printable_character,
    keys_outside_the_rules_are_refused,
    bodies_need_their_fields,
    list_walks_keys_in_order_page_by_page_with_a_prefix,
    deleting_the_account_deletes_its_data,
);
