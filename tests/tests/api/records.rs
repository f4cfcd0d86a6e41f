//! Records of user-defined APIs: /api/{api_name}/{endpoint}[/{record_id}].

use keygate_tests::{store_tests, Store, TestApp};
use serde_json::{json, Value};

/// An app with one user, whose API `shop` has `orders` (qty required, integer) and `notes`
/// (anything): (app, owner token, api key).
fn shop(store: Store) -> (TestApp, String, String) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let created = app.create_api(
        &token,
        "Shop",
        &[
            (
                "orders",
                json!({"type": "object", "required": ["qty"],
                       "properties": {"qty": {"type": "integer", "minimum": 1},
                                      "name": {"type": "string"},
                                      "lines": {"type": "array",
                                                "items": {"type": "object",
                                                          "required": ["sku"]}}}}),
            ),
            ("notes", json!({})),
        ],
    );
    let key = created.str("api_key").to_owned();
    (app, token, key)
}

fn records_crud_with_a_key_and_with_the_owner_token(store: Store) {
    let (app, token, key) = shop(store);
    let created = app.with_key(
        "POST",
        "/api/shop/orders",
        &key,
        Some(&json!({"qty": 2, "name": "a"})),
    );
    created.expect(201);
    assert_eq!(created.body["status"], "success");
    assert_eq!(created.body["api_name"], "shop");
    assert_eq!(created.body["endpoint"], "orders");
    assert!(created.str("created_at").ends_with('Z'));
    let id = created.str("record_id").to_owned();
    assert_eq!(id.len(), 24);
    let path = format!("/api/shop/orders/{id}");

    let read = app.with_key("GET", &path, &key, None);
    read.expect(200);
    assert_eq!(read.body["status"], "success");
    assert_eq!(read.body["record_id"], id.as_str());
    assert_eq!(read.body["data"], json!({"qty": 2, "name": "a"}));
    assert_eq!(read.body["created_at"], created.body["created_at"]);
    // The owner's token works too, at the root and under /v1.
    assert_eq!(
        app.get(&format!("/v1{path}"), Some(&token)).body["data"],
        read.body["data"]
    );

    std::thread::sleep(std::time::Duration::from_millis(5));
    let replaced = app.with_key("PUT", &path, &key, Some(&json!({"qty": 5, "extra": [1]})));
    replaced.expect(200);
    assert_eq!(replaced.body["data"], json!({"qty": 5, "extra": [1]}));
    assert!(replaced.str("updated_at") > read.str("updated_at"));
    assert_eq!(replaced.body["created_at"], created.body["created_at"]);

    let patched = app.json(
        "PATCH",
        &path,
        Some(&token),
        &json!({"extra": null, "name": "b"}),
    );
    patched.expect(200);
    assert_eq!(patched.body["data"], json!({"qty": 5, "name": "b"}));

    let deleted = app.with_key("DELETE", &path, &key, None);
    deleted.expect(200);
    assert_eq!(deleted.body["status"], "success");
    app.with_key("GET", &path, &key, None)
        .expect_error(404, "not_found");
    app.with_key("DELETE", &path, &key, None)
        .expect_error(404, "not_found");
    app.with_key("PUT", &path, &key, Some(&json!({"qty": 1})))
        .expect_error(404, "not_found");
    app.with_key("PATCH", &path, &key, Some(&json!({"qty": 1})))
        .expect_error(404, "not_found");
    app.with_key("GET", "/api/shop/orders/not-an-id", &key, None)
        .expect_error(404, "not_found");
}

fn records_come_back_exactly_as_sent(store: Store) {
    let (app, _, key) = shop(store);
    let text = r#"{"qty":123456789012345678901234567890,"z":1,"a":1.0,"n":-0.0,"small":-1.5e-7,"ключ":"значение","emoji 🔑":[true,null,{"deep":0.1}],"dots.and/slashes":{},"max":18446744073709551615}"#;
    // qty must be an integer ≥ 1: a big integer is one.
    let created = app.request(
        "POST",
        "/api/shop/orders",
        &[("content-type", "application/json"), ("x-api-key", &key)],
        Some(text.as_bytes()),
    );
    created.expect(201);
    let read = app.with_key(
        "GET",
        &format!("/api/shop/orders/{}", created.str("record_id")),
        &key,
        None,
    );
    let start = read.text.find("\"data\":").unwrap() + "\"data\":".len();
    assert!(read.text[start..].starts_with(text), "{}", read.text);
}

fn records_are_validated_whatever_the_route(store: Store) {
    let (app, _, key) = shop(store);
    let invalid = app.with_key(
        "POST",
        "/api/shop/orders",
        &key,
        Some(
            &json!({"qty": 0, "name": 5, "lines": [{"sku": 1}, {}], "$set": 1,
                     "nested": {"$where": "1"}}),
        ),
    );
    invalid.expect_error(400, "validation_failed");
    let fields = invalid.detail_fields();
    for expected in ["/qty", "/name", "/lines/1", "/$set", "/nested/$where"] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} in {fields:?}"
        );
    }
    // Whatever the schema says: `$` names and NUL are refused even where anything goes.
    let free = app.request(
        "POST",
        "/api/shop/notes",
        &[("content-type", "application/json"), ("x-api-key", &key)],
        Some(br#"{"ok": {"a\u0000b": 1}}"#),
    );
    free.expect_error(400, "validation_failed");
    assert_eq!(free.detail_fields(), ["/ok/a\u{0}b"]);
    app.with_key(
        "POST",
        "/api/shop/notes",
        &key,
        Some(&json!({"a": [{"$x": 1}]})),
    )
    .expect_error(400, "validation_failed");
    for body in ["[1]", "\"text\"", "12", "{oops"] {
        app.request(
            "POST",
            "/api/shop/notes",
            &[("content-type", "application/json"), ("x-api-key", &key)],
            Some(body.as_bytes()),
        )
        .expect_error(400, "invalid_json");
    }

    let good = app.with_key("POST", "/api/shop/orders", &key, Some(&json!({"qty": 1})));
    let path = format!("/api/shop/orders/{}", good.str("record_id"));
    app.with_key("PUT", &path, &key, Some(&json!({"name": "no qty"})))
        .expect_error(400, "validation_failed");
    let patch = app.with_key("PATCH", &path, &key, Some(&json!({"qty": null})));
    patch.expect_error(400, "validation_failed");
    assert_eq!(patch.detail_fields(), [""], "the merged record lacks qty");
    app.with_key("PATCH", &path, &key, Some(&json!({"$inc": {"qty": 1}})))
        .expect_error(400, "validation_failed");
    assert_eq!(
        app.with_key("GET", &path, &key, None).body["data"],
        json!({"qty": 1}),
        "refused writes change nothing"
    );

    // A patch may not grow a record past 1 MiB; each patch alone fits in a body.
    let note = app.with_key("POST", "/api/shop/notes", &key, Some(&json!({})));
    let note_path = format!("/api/shop/notes/{}", note.str("record_id"));
    let half = "x".repeat(600 * 1024);
    app.with_key("PATCH", &note_path, &key, Some(&json!({"a": half})))
        .expect(200);
    app.with_key("PATCH", &note_path, &key, Some(&json!({"b": half})))
        .expect_error(413, "payload_too_large");
    let too_big = format!("{{\"a\": \"{}\"}}", "x".repeat(1024 * 1024));
    app.request(
        "POST",
        "/api/shop/notes",
        &[("content-type", "application/json"), ("x-api-key", &key)],
        Some(too_big.as_bytes()),
    )
    .expect_error(413, "payload_too_large");
}

fn who_may_touch_records(store: Store) {
    let (app, token, key) = shop(store);
    let created = app.with_key("POST", "/api/shop/orders", &key, Some(&json!({"qty": 1})));
    let record = format!("/api/shop/orders/{}", created.str("record_id"));
    let (_, stranger, _) = app.signed_up_user();
    let theirs = app.create_api(&stranger, "Elsewhere", &[("things", json!({}))]);
    let other_key = theirs.str("api_key").to_owned();
    let forged = format!("{}{}", &key[..12], "A".repeat(43));

    for path in ["/api/shop/orders", record.as_str()] {
        app.get(path, None).expect_error(401, "invalid_api_key");
        app.with_key("GET", path, "not-a-key", None)
            .expect_error(401, "invalid_api_key");
        app.with_key(
            "GET",
            path,
            "kg_Zzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            None,
        )
        .expect_error(401, "invalid_api_key");
        app.with_key("GET", path, &forged, None)
            .expect_error(401, "invalid_api_key");
        app.with_key("GET", path, &other_key, None)
            .expect_error(403, "forbidden");
        app.get(path, Some(&stranger))
            .expect_error(404, "not_found");
        app.get(path, Some("not.a.jwt"))
            .expect_error(401, "unauthorized");
        app.get(path, Some(&token)).expect(200);
        app.request(
            "GET",
            path,
            &[("authorization", &format!("ApiKey {key}"))],
            None,
        )
        .expect(200);
        app.request(
            "GET",
            path,
            &[("authorization", &format!("Bearer {key}"))],
            None,
        )
        .expect(200);
    }
    app.with_key("GET", "/api/nowhere/orders", &key, None)
        .expect_error(404, "not_found");
    app.with_key("GET", "/api/shop/nothing", &key, None)
        .expect_error(404, "not_found");
    app.with_key("POST", "/api/shop/nothing", &key, Some(&json!({})))
        .expect_error(404, "not_found");
    app.with_key("POST", "/api/elsewhere/things", &key, Some(&json!({})))
        .expect_error(403, "forbidden");
    app.json("POST", "/api/elsewhere/things", Some(&token), &json!({}))
        .expect_error(404, "not_found");
    // A bad token's 401 comes before a bad body's 400.
    app.request(
        "POST",
        "/api/shop/orders",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer nope"),
        ],
        Some(b"{oops"),
    )
    .expect_error(401, "unauthorized");
    app.request(
        "POST",
        "/api/shop/orders",
        &[("content-type", "application/json")],
        Some(b"{oops"),
    )
    .expect_error(401, "invalid_api_key");
    app.with_key("HEAD", "/api/shop/orders", &key, None)
        .expect(405);
}

/// Each record operation asks for its own scope: a read-only key reads and lists but changes
/// nothing; a write-only key writes, replaces, patches and deletes but reads nothing.
fn each_record_operation_needs_its_scope(store: Store) {
    let (app, token, key) = shop(store);
    let api_id = app.get("/api", Some(&token)).body["apis"][0]["api_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let issue = |scopes: Value| {
        let issued = app.json(
            "POST",
            &format!("/api/{api_id}/keys"),
            Some(&token),
            &json!({ "scopes": scopes }),
        );
        issued.expect(201);
        issued.str("api_key").to_owned()
    };
    let (reader, writer) = (issue(json!(["read"])), issue(json!(["write"])));
    let created = app.with_key("POST", "/api/shop/orders", &key, Some(&json!({"qty": 1})));
    let record = format!("/api/shop/orders/{}", created.str("record_id"));
    let body = json!({"qty": 2});

    app.with_key("GET", &record, &reader, None).expect(200);
    app.with_key("GET", "/api/shop/orders", &reader, None)
        .expect(200);
    app.with_key("POST", "/api/shop/orders", &reader, Some(&body))
        .expect_error(403, "forbidden");
    app.with_key("PUT", &record, &reader, Some(&body))
        .expect_error(403, "forbidden");
    app.with_key("PATCH", &record, &reader, Some(&body))
        .expect_error(403, "forbidden");
    app.with_key("DELETE", &record, &reader, None)
        .expect_error(403, "forbidden");
    let unchanged = app.with_key("GET", &record, &key, None);
    assert_eq!(
        unchanged.body["data"],
        json!({"qty": 1}),
        "the reader changed nothing"
    );

    app.with_key("GET", &record, &writer, None)
        .expect_error(403, "forbidden");
    app.with_key("GET", "/api/shop/orders", &writer, None)
        .expect_error(403, "forbidden");
    app.with_key("POST", "/api/shop/orders", &writer, Some(&body))
        .expect(201);
    app.with_key("PUT", &record, &writer, Some(&json!({"qty": 3})))
        .expect(200);
    app.with_key("PATCH", &record, &writer, Some(&json!({"qty": 4})))
        .expect(200);
    assert_eq!(
        app.with_key("GET", &record, &key, None).body["data"],
        json!({"qty": 4})
    );
    app.with_key("DELETE", &record, &writer, None).expect(200);
    app.with_key("GET", &record, &key, None)
        .expect_error(404, "not_found");
}

fn lists_page_newest_first_and_filter(store: Store) {
    let (app, _, key) = shop(store);
    let mut made = Vec::new();
    for (i, qty) in [5, 7, 5, 9, 5, 7, 1].into_iter().enumerate() {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        let reply = app.with_key(
            "POST",
            "/api/shop/orders",
            &key,
            Some(&json!({"qty": qty, "name": name})),
        );
        made.push(reply.str("record_id").to_owned());
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/shop/orders?limit=3&cursor={c}"),
            None => "/api/shop/orders?limit=3".to_owned(),
        };
        let page = app.with_key("GET", &path, &key, None);
        page.expect(200);
        let records = page.body["records"].as_array().unwrap();
        assert!(records.len() <= 3);
        for record in records {
            assert!(record["data"].is_object() && record["updated_at"].is_string());
            seen.push(record["record_id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        // A newcomer between pages is neither skipped into nor repeated in the walk.
        app.with_key("POST", "/api/shop/orders", &key, Some(&json!({"qty": 3})));
    }
    assert_eq!(seen, made);

    let ids = |path: &str| -> Vec<Value> {
        let reply = app.with_key("GET", path, &key, None);
        reply.expect(200);
        reply.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["data"].clone())
            .collect()
    };
    assert_eq!(ids("/api/shop/orders?qty=5").len(), 3);
    assert_eq!(
        ids("/api/shop/orders?qty=5&name=even"),
        vec![json!({"qty": 5, "name": "even"}); 3]
    );
    assert_eq!(ids("/api/shop/orders?qty=7&name=odd").len(), 2);
    assert!(ids("/api/shop/orders?name=EVEN").is_empty());
    assert!(ids("/api/shop/orders?missing=1").is_empty());
    let first = app.with_key("GET", "/api/shop/orders?qty=5&limit=2", &key, None);
    let next = first.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&format!("/api/shop/orders?qty=5&limit=2&cursor={next}")).len(),
        1
    );

    for bad in [
        "/api/shop/orders?limit=0",
        "/api/shop/orders?limit=501",
        "/api/shop/orders?limit=ten",
        "/api/shop/orders?cursor=zz",
        "/api/shop/orders?cursor=6e6f742d616e2d6964",
        "/api/shop/orders?%24where=1",
    ] {
        app.with_key("GET", bad, &key, None)
            .expect_error(400, "validation_failed");
    }
}

fn eight_concurrent_patches_all_apply(store: Store) {
    let (app, _, key) = shop(store);
    let created = app.with_key("POST", "/api/shop/notes", &key, Some(&json!({"start": 0})));
    let path = format!("/api/shop/notes/{}", created.str("record_id"));
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (app, key, path) = (&app, &key, &path);
            scope.spawn(move || {
                app.with_key("PATCH", path, key, Some(&json!({format!("f{i}"): i})))
                    .expect(200);
            });
        }
    });
    let data = &app.with_key("GET", &path, &key, None).body["data"];
    for i in 0..8 {
        assert_eq!(data[format!("f{i}")], json!(i), "{data}");
    }
    assert_eq!(data["start"], 0);
}

store_tests!(
    each_record_operation_needs_its_scope,
    records_crud_with_a_key_and_with_the_owner_token,
    records_come_back_exactly_as_sent,
    records_are_validated_whatever_the_route,
    who_may_touch_records,
    lists_page_newest_first_and_filter,
    eight_concurrent_patches_all_apply,
);
