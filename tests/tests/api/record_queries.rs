//! Record queries (§11): operators, sort, projection, counts, declared indexes and
//! `400 index_required`, over HTTP on both stores.

use keygate_tests::{store_tests, Reply, Store, TestApp};
use serde_json::{json, Value};

/// An API `catalog` whose endpoint `items` takes any object, with `indexes` declared at
/// creation: (owner token, api id, api key).
fn catalog(app: &TestApp, indexes: Value) -> (String, String, String) {
    let (_, token, _) = app.signed_up_user();
    let created = app.json(
        "POST",
        "/create_api",
        Some(&token),
        &json!({"api_name": "catalog", "endpoints": ["items"],
                "json_schema": {"items": {"type": "object"}}, "indexes": indexes}),
    );
    created.expect(201);
    (
        token,
        created.str("api_id").to_owned(),
        created.str("api_key").to_owned(),
    )
}

fn post_all(app: &TestApp, key: &str, records: &[Value]) {
    for record in records {
        app.with_key("POST", "/api/catalog/items", key, Some(record))
            .expect(201);
    }
}

fn query(app: &TestApp, key: &str, query: &str) -> Reply {
    app.with_key("GET", &format!("/api/catalog/items?{query}"), key, None)
}

/// The `data.name` of every record of a 200 answer, in order.
fn names(reply: &Reply) -> Vec<String> {
    reply.expect(200);
    reply.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["data"]["name"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn every_operator_sort_projection_and_count(store: Store) {
    let app = TestApp::spawn(store);
    let (_, _, key) = catalog(&app, json!({"items": ["n"]}));
    post_all(
        &app,
        &key,
        &[
            json!({"name": "a", "n": 5, "s": "pear"}),
            json!({"name": "b", "n": 5.0, "s": "apple"}),
            json!({"name": "c", "n": "5"}),
            json!({"name": "d", "n": 18446744073709551617_u128, "s": "fig"}),
            json!({"name": "e", "n": -0.5}),
            json!({"name": "f", "n": null, "s": "kiwi"}),
            json!({"name": "g", "s": "apple"}),
        ],
    );
    // Newest first unless sorted; `5` is the number and the string.
    assert_eq!(names(&query(&app, &key, "n=5")), ["c", "b", "a"]);
    // `5.0` is the number 5, and a string that no record holds.
    assert_eq!(names(&query(&app, &key, "n[eq]=5.0")), ["b", "a"]);
    assert_eq!(names(&query(&app, &key, "n[ne]=5")), ["g", "f", "e", "d"]);
    assert_eq!(names(&query(&app, &key, "n[gt]=5")), ["d"]);
    assert_eq!(names(&query(&app, &key, "n[gte]=5")), ["d", "c", "b", "a"]);
    assert_eq!(names(&query(&app, &key, "n[lt]=5")), ["e"]);
    // As a string, "5" sorts after "18…": each kind compares as itself.
    assert_eq!(
        names(&query(&app, &key, "n[gt]=18446744073709551616")),
        ["d", "c"]
    );
    assert_eq!(names(&query(&app, &key, "n[in]=null,-0.5")), ["f", "e"]);
    assert_eq!(names(&query(&app, &key, "s[exists]=false")), ["e", "c"]);
    assert_eq!(names(&query(&app, &key, "s[gte]=b&s[lt]=l")), ["f", "d"]);
    assert_eq!(names(&query(&app, &key, "s=apple&n[exists]=true")), ["b"]);
    // Sorted: missing, null, numbers, strings; ties newest first.
    assert_eq!(
        names(&query(&app, &key, "sort=n")),
        ["g", "f", "e", "b", "a", "d", "c"]
    );
    assert_eq!(
        names(&query(&app, &key, "sort=-n&n[gte]=5")),
        ["c", "d", "b", "a"]
    );
    // Paged, sorted: each page follows from its cursor.
    let mut seen = Vec::new();
    let mut path = "sort=s&limit=2".to_owned();
    loop {
        let page = query(&app, &key, &path);
        seen.extend(names(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("sort=s&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["e", "c", "g", "b", "d", "f", "a"]);
    // Projection and count.
    let cut = query(&app, &key, "fields=s,name&n=5&count=true");
    cut.expect(200);
    assert_eq!(cut.body["total"], 3);
    assert_eq!(
        cut.body["records"][2]["data"],
        json!({"name": "a", "s": "pear"})
    );
    assert_eq!(query(&app, &key, "count=true").body["total"], 7);
    assert!(query(&app, &key, "").body.get("total").is_none());
    // Everything wrong at once, each named.
    let bad = query(
        &app,
        &key,
        "n[like]=5&%24where=1&s[exists]=maybe&sort=-&count=yes&fields=a,,b",
    );
    bad.expect_error(400, "validation_failed");
    assert_eq!(
        bad.body["details"].as_array().map(Vec::len),
        Some(6),
        "{}",
        bad.body
    );
}

fn large_endpoints_need_an_index(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__RECORDS__MAX_SCAN", "5")]);
    let (_, _, key) = catalog(&app, json!({"items": ["n"]}));
    let records: Vec<Value> = (0..8)
        .map(|i| json!({"name": format!("r{i}"), "n": i % 4, "tag": format!("t{i}")}))
        .collect();
    post_all(&app, &key, &records);
    let refused = query(&app, &key, "tag=t1");
    refused.expect_error(400, "index_required");
    assert_eq!(refused.detail_fields(), ["/tag"]);
    assert!(refused.body["message"]
        .as_str()
        .unwrap_or("")
        .contains("tag"));
    query(&app, &key, "sort=tag").expect_error(400, "index_required");
    // A range on the indexed field is served in that field's order only.
    let unsorted = query(&app, &key, "n[gt]=1");
    unsorted.expect_error(400, "index_required");
    assert!(unsorted.body["message"]
        .as_str()
        .unwrap_or("")
        .contains("sort=n"));
    assert_eq!(
        names(&query(&app, &key, "n[gt]=1&sort=n")),
        ["r6", "r2", "r7", "r3"]
    );
    assert_eq!(names(&query(&app, &key, "n=1&tag=t5")), ["r5"]);
    assert_eq!(
        names(&query(&app, &key, "n[in]=0,3")),
        ["r7", "r4", "r3", "r0"]
    );
    assert_eq!(names(&query(&app, &key, "limit=2")), ["r7", "r6"]);
    let counted = query(&app, &key, "n[gte]=2&sort=-n&count=true&limit=1");
    counted.expect(200);
    assert_eq!(counted.body["total"], 4);
    assert_eq!(query(&app, &key, "count=true").body["total"], 8);
    // Counting past the walked field would read every candidate: refused.
    query(&app, &key, "n=1&tag=t5&count=true").expect_error(400, "index_required");
}

fn an_index_declared_later_is_built_then_used(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__RECORDS__MAX_SCAN", "5")]);
    let (token, api_id, key) = catalog(&app, Value::Null);
    let records: Vec<Value> = (0..30)
        .map(|i| json!({"name": format!("r{i}"), "tag": format!("t{}", i % 3)}))
        .collect();
    post_all(&app, &key, &records);
    query(&app, &key, "tag=t1").expect_error(400, "index_required");
    let patched = app.json(
        "PATCH",
        &format!("/api/{api_id}"),
        Some(&token),
        &json!({"indexes": {"items": ["tag"]}}),
    );
    patched.expect(200);
    let state = patched.body["indexes"]["items"][0]["state"].as_str();
    assert!(
        matches!(state, Some("building" | "ready")),
        "{}",
        patched.body
    );
    let ready = app.wait_for_indexes(&token, &api_id);
    assert_eq!(
        ready.body["indexes"],
        json!({"items": [{"field": "tag", "state": "ready"}]})
    );
    let found = names(&query(&app, &key, "tag=t1&limit=100"));
    let want: Vec<String> = (0..30)
        .rev()
        .filter(|i| i % 3 == 1)
        .map(|i| format!("r{i}"))
        .collect();
    assert_eq!(found, want);
    // Declarations are checked: unknown endpoints, too many, names no record may have.
    let refused = app.json(
        "PATCH",
        &format!("/api/{api_id}"),
        Some(&token),
        &json!({"indexes": {"nowhere": ["a"], "items": ["$x", "", "b", "b"]}}),
    );
    refused.expect_error(400, "validation_failed");
    assert_eq!(
        refused.detail_fields(),
        ["/indexes/items/0", "/indexes/items/1", "/indexes/items/3"]
    );
    app.json(
        "PATCH",
        &format!("/api/{api_id}"),
        Some(&token),
        &json!({"indexes": {"nowhere": ["a"]}}),
    )
    .expect_error(400, "validation_failed");
    let nine: Vec<String> = (0..9).map(|i| format!("f{i}")).collect();
    app.json(
        "PATCH",
        &format!("/api/{api_id}"),
        Some(&token),
        &json!({ "indexes": { "items": nine } }),
    )
    .expect_error(400, "validation_failed");
}

store_tests!(
    every_operator_sort_projection_and_count,
    large_endpoints_need_an_index,
    an_index_declared_later_is_built_then_used,
);
