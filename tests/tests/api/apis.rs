//! User-defined APIs and their keys: /create_api, /api, /api/{api}, /api/{api}/keys.

use std::collections::HashSet;

use keygate_tests::{store_tests, Leftovers, Reply, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

fn orders_schema() -> Value {
    json!({"type": "object", "required": ["qty"],
           "properties": {"qty": {"type": "integer"}, "name": {"type": "string"}}})
}

fn assert_key_format(key: &str) {
    let parts: Vec<&str> = key.splitn(3, '_').collect();
    assert_eq!(parts.len(), 3, "{key}");
    assert_eq!(parts[0], "kg");
    assert_eq!(parts[1].len(), 8, "{key}");
    assert!(parts[2].len() >= 32, "{key}");
    assert!(parts[1..]
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric())));
}

fn create_api_answers_the_contract(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let body = json!({"api_name": "My API", "endpoints": ["endpoint1", "endpoint2"],
                      "json_schema": {"endpoint1": {"type": "object",
                                                    "properties": {"name": {"type": "string"}},
                                                    "required": ["name"]},
                                      "endpoint2": {"type": "object"}}});
    let created = app.json("POST", "/create_api", Some(&token), &body);
    created.expect(201);
    assert_eq!(created.body["status"], "success");
    assert_eq!(created.body["api_name"], "my-api");
    assert_eq!(created.body["endpoints"], json!(["endpoint1", "endpoint2"]));
    assert_eq!(created.str("api_id").len(), 24);
    assert!(created.str("created_at").ends_with('Z'));
    let key = created.str("api_key").to_owned();
    assert_key_format(&key);

    // The same body at /api and /v1/create_api: another API, with a suffixed name.
    for path in ["/api", "/v1/create_api"] {
        let again = app.json("POST", path, Some(&token), &body);
        again.expect(201);
        let name = again.str("api_name");
        assert!(
            name.starts_with("my-api-") && name.len() == "my-api-".len() + 4,
            "{name}"
        );
    }

    let listed = app.get("/api", Some(&token));
    listed.expect(200);
    assert_eq!(listed.body["status"], "success");
    assert_eq!(listed.body.get("next_cursor"), Some(&Value::Null));
    let apis = listed.body["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 3);
    let first = &apis[0];
    assert_eq!(first["api_id"], created.body["api_id"]);
    assert_eq!(first["api_name"], "my-api");
    assert_eq!(first["display_name"], "My API");
    assert_eq!(
        first["json_schema"]["endpoint1"],
        body["json_schema"]["endpoint1"]
    );
    assert_eq!(first["keys"][0]["prefix"], key[..11]);
    assert_eq!(first["keys"][0]["scopes"], json!(["read", "write"]));
    assert_eq!(first["keys"][0]["revoked"], false);
    let secret = &key[12..];
    assert!(!listed.text.contains(secret), "a list never shows a secret");

    let id = created.str("api_id");
    for path in [
        format!("/api/{id}"),
        "/api/my-api".to_owned(),
        format!("/v1/api/{id}"),
    ] {
        let one = app.get(&path, Some(&token));
        one.expect(200);
        assert_eq!(one.body["api_id"], created.body["api_id"]);
        assert_eq!(one.body["endpoints"], json!(["endpoint1", "endpoint2"]));
        assert!(!one.text.contains(secret));
    }
    let (_, other, _) = app.signed_up_user();
    app.get(&format!("/api/{id}"), Some(&other))
        .expect_error(404, "not_found");
    assert_eq!(app.get("/api", Some(&other)).body["apis"], json!([]));
    app.get("/api/6553f1000000000000000001", Some(&token))
        .expect_error(404, "not_found");
    app.get("/api/No%20Such", Some(&token))
        .expect_error(404, "not_found");
    app.get("/api", None).expect_error(401, "unauthorized");
    app.json("POST", "/create_api", None, &body)
        .expect_error(401, "unauthorized");
}

fn create_api_reports_every_broken_rule(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let missing = app.json(
        "POST",
        "/create_api",
        Some(&token),
        &json!({"api_name": ""}),
    );
    missing.expect_error(400, "missing_parameters");
    assert_eq!(
        missing.detail_fields(),
        ["/api_name", "/endpoints", "/json_schema"]
    );

    let broken = app.json(
        "POST",
        "/create_api",
        Some(&token),
        &json!({"api_name": "Shop",
                "endpoints": ["orders", "orders", "keys", 5, "bad name", "x".repeat(65), "stock"],
                "json_schema": {"orders": {"type": "object",
                                           "properties": {"qty": {"type": "integr"}}},
                                "extra": {}}}),
    );
    broken.expect_error(400, "validation_failed");
    let fields = broken.detail_fields();
    for expected in [
        "/endpoints/1",
        "/endpoints/2",
        "/endpoints/3",
        "/endpoints/4",
        "/endpoints/5",
        "/json_schema/stock",
        "/json_schema/extra",
        "/json_schema/orders/properties/qty/type",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} in {fields:?}"
        );
    }

    for (body, field) in [
        (
            json!({"api_name": 7, "endpoints": ["a"], "json_schema": {"a": {}}}),
            "/api_name",
        ),
        (
            json!({"api_name": "A", "endpoints": "a", "json_schema": {"a": {}}}),
            "/endpoints",
        ),
        (
            json!({"api_name": "A", "endpoints": [], "json_schema": {}}),
            "/endpoints",
        ),
        (
            json!({"api_name": "A", "endpoints": ["a"], "json_schema": [1]}),
            "/json_schema",
        ),
        (
            json!({"api_name": "A", "endpoints": ["a"], "json_schema": {"a": 5}}),
            "/json_schema/a",
        ),
        (
            json!({"api_name": "\u{7}", "endpoints": ["a"], "json_schema": {"a": {}}}),
            "/api_name",
        ),
    ] {
        let reply = app.json("POST", "/create_api", Some(&token), &body);
        reply.expect_error(400, "validation_failed");
        assert!(
            reply.detail_fields().contains(&field.to_owned()),
            "{body}: {}",
            reply.text
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("e{i}")).collect();
    let schemas: serde_json::Map<String, Value> =
        many.iter().map(|n| (n.clone(), json!({}))).collect();
    app.json(
        "POST",
        "/create_api",
        Some(&token),
        &json!({"api_name": "Wide", "endpoints": many, "json_schema": schemas}),
    )
    .expect_error(400, "validation_failed");
    app.request(
        "POST",
        "/create_api",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {token}")),
        ],
        Some(b"[1, 2]"),
    )
    .expect_error(400, "invalid_json");
    assert_eq!(
        app.get("/api", Some(&token)).body["apis"],
        json!([]),
        "nothing was created"
    );
}

fn schemas_that_need_the_outside_world_or_endless_work_are_refused(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let mut huge = serde_json::Map::new();
    for i in 0..10_000 {
        huge.insert(format!("p{i}"), json!({"type": "string"}));
    }
    let mut deep = json!({"type": "object"});
    for _ in 0..60 {
        deep = json!({"properties": {"a": deep}});
    }
    for schema in [
        json!({"$ref": "http://127.0.0.1:9/schema.json"}),
        json!({"$ref": "https://json-schema.org/draft/2020-12/schema#/$defs/x"}),
        json!({"properties": {"a": {"$ref": "file:///etc/passwd"}}}),
        json!({"$id": "https://example.com/root", "$ref": "other.json"}),
        json!({"$schema": "https://example.com/my-own-meta-schema"}),
        json!({"properties": huge}),
        deep,
        json!({"pattern": "^(?:\\w{500}){500}$"}),
        json!({"type": "object", "minProperties": -1}),
    ] {
        let started = std::time::Instant::now();
        let reply = app.json(
            "POST",
            "/create_api",
            Some(&token),
            &json!({"api_name": "Outside", "endpoints": ["x"], "json_schema": {"x": schema}}),
        );
        reply.expect_error(400, "validation_failed");
        assert!(
            reply
                .detail_fields()
                .iter()
                .all(|f| f.starts_with("/json_schema/x")),
            "{}",
            reply.text
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // Every accepted draft, chosen by $schema.
    for uri in [
        "http://json-schema.org/draft-04/schema#",
        "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    ] {
        app.create_api(
            &token,
            "Drafts",
            &[("x", json!({"$schema": uri, "type": "object"}))],
        );
    }
}

fn names_are_unique_and_never_shadow_routes(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    for reserved in [
        "data",
        "Register",
        "keys",
        "create_api",
        "token",
        "6553f1000000000000000001",
    ] {
        let name = app
            .create_api(&token, reserved, &[("e", json!({}))])
            .str("api_name")
            .to_owned();
        assert_ne!(name, reserved.to_lowercase());
        assert!(name.len() > reserved.len(), "{reserved} became {name}");
    }
    // An API whose slug starts like a fixed word still serves records at its own path.
    let data_api = app.create_api(&token, "data", &[("e", json!({}))]);
    let path = format!("/api/{}/e", data_api.str("api_name"));
    app.with_key(
        "POST",
        &path,
        data_api.str("api_key"),
        Some(&json!({"a": 1})),
    )
    .expect(201);
    app.get("/api/data", Some(&token)).expect(200);

    // 16 concurrent creations of one name: 16 distinct names, no error.
    let names: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    let reply = app.json(
                        "POST",
                        "/create_api",
                        Some(&token),
                        &json!({"api_name": "My API", "endpoints": ["e"],
                                "json_schema": {"e": {}}}),
                    );
                    reply.expect(201);
                    reply.str("api_name").to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), 16, "{names:?}");
    assert!(names.contains(&"my-api".to_owned()));
}

fn keys_are_scoped_expire_and_revoke_at_once(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let created = app.create_api(&token, "Keyed", &[("orders", orders_schema())]);
    let id = created.str("api_id").to_owned();
    let records = "/api/keyed/orders";

    let read_only = app.json(
        "POST",
        &format!("/api/{id}/keys"),
        Some(&token),
        &json!({"scopes": ["read"]}),
    );
    read_only.expect(201);
    assert_eq!(read_only.body["scopes"], json!(["read"]));
    let read_key = read_only.str("api_key").to_owned();
    assert_key_format(&read_key);
    app.with_key("GET", records, &read_key, None).expect(200);
    app.with_key("POST", records, &read_key, Some(&json!({"qty": 1})))
        .expect_error(403, "forbidden");

    let write_only = app.json(
        "POST",
        "/api/keyed/keys",
        Some(&token),
        &json!({"scopes": ["write"]}),
    );
    let write_key = write_only.str("api_key").to_owned();
    app.with_key("POST", records, &write_key, Some(&json!({"qty": 1})))
        .expect(201);
    app.with_key("GET", records, &write_key, None)
        .expect_error(403, "forbidden");

    // No body: read and write, no expiry.
    let default = app.request(
        "POST",
        &format!("/v1/api/{id}/keys"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    );
    default.expect(201);
    assert_eq!(default.body["scopes"], json!(["read", "write"]));
    assert_eq!(default.body["expires_at"], Value::Null);

    for (body, field) in [
        (json!({"scopes": ["admin"]}), "/scopes/0"),
        (json!({"scopes": []}), "/scopes"),
        (json!({"scopes": "read"}), "/scopes"),
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), "/expires_at"),
        (json!({"expires_at": "tomorrow"}), "/expires_at"),
    ] {
        let reply = app.json("POST", &format!("/api/{id}/keys"), Some(&token), &body);
        reply.expect_error(400, "validation_failed");
        assert_eq!(reply.detail_fields(), [field], "{body}");
    }

    // Expiry times are whole seconds: 5 s ahead is at least 4 s, room for a slow machine to
    // make the first request in time.
    let soon = (std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiring = app.json(
        "POST",
        &format!("/api/{id}/keys"),
        Some(&token),
        &json!({"expires_at": rfc3339(soon)}),
    );
    expiring.expect(201);
    let expiring_key = expiring.str("api_key").to_owned();
    app.with_key("GET", records, &expiring_key, None)
        .expect(200);

    let revoked = app.json(
        "DELETE",
        &format!("/api/{id}/keys/{}", read_only.str("key_id")),
        Some(&token),
        &json!({}),
    );
    revoked.expect(200);
    assert_eq!(revoked.body["revoked"], true);
    app.with_key("GET", records, &read_key, None)
        .expect_error(401, "invalid_api_key");
    let listed = app.get(&format!("/api/{id}"), Some(&token));
    let keys = listed.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys.iter().filter(|k| k["revoked"] == true).count(), 1);

    app.json(
        "DELETE",
        &format!("/api/{id}/keys/6553f1000000000000000001"),
        Some(&token),
        &json!({}),
    )
    .expect_error(404, "not_found");
    app.json(
        "DELETE",
        &format!("/api/{id}/keys/nope"),
        Some(&token),
        &json!({}),
    )
    .expect_error(404, "not_found");
    let (_, other, _) = app.signed_up_user();
    app.json("POST", &format!("/api/{id}/keys"), Some(&other), &json!({}))
        .expect_error(404, "not_found");
    app.json(
        "DELETE",
        &format!("/api/{id}/keys/{}", write_only.str("key_id")),
        Some(&other),
        &json!({}),
    )
    .expect_error(404, "not_found");

    // Refused once it has expired: polled, so a slow machine only makes this wait longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let reply = app.with_key("GET", records, &expiring_key, None);
        if reply.status == 401 {
            reply.expect_error(401, "invalid_api_key");
            break;
        }
        reply.expect(200);
        assert!(
            std::time::Instant::now() < deadline,
            "the key still works 10 s after it expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let (mut year, mut day) = (1970, days);
    loop {
        let length = if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) {
            366
        } else {
            365
        };
        if day < length {
            break;
        }
        day -= length;
        year += 1;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while day >= months[month] {
        day -= months[month];
        month += 1;
    }
    let seconds = unix_seconds % 86_400;
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        month + 1,
        day + 1,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn patch_adds_endpoints_replaces_schemas_and_renames(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let created = app.create_api(&token, "Evolving", &[("orders", orders_schema())]);
    let (id, key) = (
        created.str("api_id").to_owned(),
        created.str("api_key").to_owned(),
    );
    let old = app.with_key(
        "POST",
        "/api/evolving/orders",
        &key,
        Some(&json!({"qty": 1})),
    );
    old.expect(201);

    let changed = app.json(
        "PATCH",
        &format!("/api/{id}"),
        Some(&token),
        &json!({"display_name": "Evolving Shop", "endpoints": ["orders", "notes"],
                "json_schema": {"notes": {"type": "object", "required": ["text"]},
                                "orders": {"type": "object", "required": ["sku"]}}}),
    );
    changed.expect(200);
    assert_eq!(
        changed.body["api_name"], "evolving",
        "the name in URLs never changes"
    );
    assert_eq!(changed.body["display_name"], "Evolving Shop");
    assert_eq!(changed.body["endpoints"], json!(["orders", "notes"]));
    assert_eq!(
        changed.body["json_schema"]["orders"]["required"],
        json!(["sku"])
    );

    // The new schema applies at once; the record stored before stays as it was.
    app.with_key(
        "POST",
        "/api/evolving/orders",
        &key,
        Some(&json!({"qty": 2})),
    )
    .expect_error(400, "validation_failed");
    app.with_key(
        "POST",
        "/api/evolving/orders",
        &key,
        Some(&json!({"sku": "A1"})),
    )
    .expect(201);
    app.with_key(
        "POST",
        "/api/evolving/notes",
        &key,
        Some(&json!({"text": "hi"})),
    )
    .expect(201);
    let kept = app.with_key(
        "GET",
        &format!("/api/evolving/orders/{}", old.str("record_id")),
        &key,
        None,
    );
    assert_eq!(kept.body["data"], json!({"qty": 1}));

    for (body, field) in [
        (json!({"json_schema": {"ghost": {}}}), "/json_schema/ghost"),
        (json!({"endpoints": ["fresh"]}), "/json_schema/fresh"),
        (
            json!({"json_schema": {"orders": {"type": 12}}}),
            "/json_schema/orders/type",
        ),
        (json!({"display_name": ""}), "/display_name"),
        (json!({"api_key": "x"}), "/api_key"),
    ] {
        let reply = app.json("PATCH", &format!("/api/{id}"), Some(&token), &body);
        if body.get("display_name").is_some() {
            // An empty display name changes nothing.
            reply.expect(200);
            continue;
        }
        reply.expect_error(400, "validation_failed");
        assert!(
            reply.detail_fields().contains(&field.to_owned()),
            "{body}: {}",
            reply.text
        );
    }
    let (_, other, _) = app.signed_up_user();
    app.json(
        "PATCH",
        &format!("/api/{id}"),
        Some(&other),
        &json!({"display_name": "Mine"}),
    )
    .expect_error(404, "not_found");
    assert_eq!(
        app.get(&format!("/api/{id}"), Some(&token)).body["display_name"],
        "Evolving Shop"
    );
}

fn deleting_an_api_removes_its_keys_and_records(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let created = app.create_api(&token, "Doomed", &[("items", json!({}))]);
    let (id, key) = (
        created.str("api_id").to_owned(),
        created.str("api_key").to_owned(),
    );
    for i in 0..30 {
        app.with_key("POST", "/api/doomed/items", &key, Some(&json!({"i": i})))
            .expect(201);
    }
    let (_, other, _) = app.signed_up_user();
    app.json("DELETE", &format!("/api/{id}"), Some(&other), &json!({}))
        .expect_error(404, "not_found");
    let deleted = app.json("DELETE", &format!("/api/{id}"), Some(&token), &json!({}));
    deleted.expect(200);
    assert_eq!(deleted.body["api_id"], id.as_str());
    app.get(&format!("/api/{id}"), Some(&token))
        .expect_error(404, "not_found");
    app.with_key("GET", "/api/doomed/items", &key, None)
        .expect_error(401, "invalid_api_key");
    app.get("/api/doomed/items", Some(&token))
        .expect_error(404, "not_found");
    app.json("DELETE", &format!("/api/{id}"), Some(&token), &json!({}))
        .expect_error(404, "not_found");
    // The name is free again, and the new API starts empty.
    let again = app.create_api(&token, "Doomed", &[("items", json!({}))]);
    assert_eq!(again.str("api_name"), "doomed");
    let listed = app.with_key("GET", "/api/doomed/items", again.str("api_key"), None);
    assert_eq!(listed.body["records"], json!([]));
    // The old API's own rows are gone from the store, not only out of reach.
    let owner = app.get("/profile", Some(&token)).str("id").to_owned();
    let left = app.leftovers(&owner, &[id.as_str()]);
    assert_eq!((left.keys, left.records, left.apis), (0, 0, 1), "{left:?}");
}

fn deleting_the_account_removes_its_apis(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let owner = app.get("/profile", Some(&token)).str("id").to_owned();
    let created = app.create_api(&token, "Owned", &[("items", json!({}))]);
    let api_id = created.str("api_id").to_owned();
    let key = created.str("api_key").to_owned();
    app.with_key("POST", "/api/owned/items", &key, Some(&json!({"a": 1})))
        .expect(201);
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect(200);
    app.with_key("GET", "/api/owned/items", &key, None)
        .expect_error(401, "invalid_api_key");
    let (_, next, _) = app.signed_up_user();
    let reused = app.create_api(&next, "Owned", &[("items", json!({}))]);
    assert_eq!(reused.str("api_name"), "owned");
    let listed: Reply = app.with_key("GET", "/api/owned/items", reused.str("api_key"), None);
    assert_eq!(listed.body["records"], json!([]));
    assert_eq!(app.leftovers(&owner, &[&api_id]), Leftovers::default());
}

store_tests!(
    create_api_answers_the_contract,
    create_api_reports_every_broken_rule,
    schemas_that_need_the_outside_world_or_endless_work_are_refused,
    names_are_unique_and_never_shadow_routes,
    keys_are_scoped_expire_and_revoke_at_once,
    patch_adds_endpoints_replaces_schemas_and_renames,
    deleting_an_api_removes_its_keys_and_records,
    deleting_the_account_removes_its_apis,
);
