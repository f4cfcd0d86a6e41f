//! Abuse of key-value data: listings that would read every value, and the per-account quota.

use keygate_tests::{store_tests, Store, TestApp};
use serde_json::json;

/// Round one, item 7: one account cannot fill the disk: data entries and records count against the
/// same per-account limits on entries and bytes, answered `413 quota_exceeded`; deleting frees.
fn storage_is_limited_per_account(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__LIMITS__MAX_ENTRIES_PER_ACCOUNT", "3"),
            ("KEYGATE__LIMITS__MAX_BYTES_PER_ACCOUNT", "4096"),
        ],
    );
    let (_, token, _) = app.signed_up_user();
    let put = |key: &str, value: serde_json::Value| {
        app.json(
            "POST",
            "/api/data",
            Some(&token),
            &json!({"key": key, "value": value}),
        )
    };
    put("a", json!(1)).expect(201);
    put("b", json!(2)).expect(201);
    let api = app.create_api(&token, "Quota", &[("items", json!({}))]);
    let key = api.str("api_key").to_owned();
    app.with_key("POST", "/api/quota/items", &key, Some(&json!({"n": 1})))
        .expect(201);
    let full = put("c", json!(3));
    full.expect_error(413, "quota_exceeded");
    app.with_key("POST", "/api/quota/items", &key, Some(&json!({"n": 2})))
        .expect_error(413, "quota_exceeded");
    app.json("DELETE", "/api/data/a", Some(&token), &json!({}))
        .expect(200);
    put("c", json!(3)).expect(201);
    // Bytes: a value that would pass the 4 KiB account total is refused, even with room
    // for entries; growing a value counts its growth.
    app.json("DELETE", "/api/data/c", Some(&token), &json!({}))
        .expect(200);
    put("big", json!("x".repeat(5000))).expect_error(413, "quota_exceeded");
    put("small", json!("x".repeat(100))).expect(201);
    app.json(
        "PUT",
        "/api/data/small",
        Some(&token),
        &json!({"value": "x".repeat(5000)}),
    )
    .expect_error(413, "quota_exceeded");
    // Deleting the API gives its records' room back.
    app.json(
        "DELETE",
        &format!("/api/{}", api.str("api_id")),
        Some(&token),
        &json!({}),
    )
    .expect(200);
    put("d", json!(4)).expect(201);
}

/// Round two, found beside item 5: listing data keys decoded every value, though the listing shows
/// none. Sixteen 1 MB values of small numbers are listed in a few MB.
fn data_listings_never_read_values(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let value = json!(vec![0; 500_000]);
    for i in 0..16 {
        app.json(
            "POST",
            "/api/data",
            Some(&token),
            &json!({"key": format!("k{i:02}"), "value": value}),
        )
        .expect(201);
    }
    let before = app.resident_kib();
    let listed = app.get("/api/data?limit=500", Some(&token));
    listed.expect(200);
    assert_eq!(listed.body["entries"].as_array().unwrap().len(), 16);
    let grown = app.resident_kib().saturating_sub(before);
    println!("resident memory grew by {grown} KiB listing 16 MB of values");
    assert!(grown < 100 * 1024, "resident memory grew by {grown} KiB");
}

store_tests!(
    storage_is_limited_per_account,
    data_listings_never_read_values,
);
