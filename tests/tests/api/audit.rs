//! The audit log (§13): what each action records, from where, the filters and paging, flood
//! control, the admin view and its export, and what deleting an account leaves.

use keygate_tests::{store_tests, unique, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

/// The caller's own events, newest first (one page of up to 500).
fn own_events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/audit?limit=500{query}"), Some(token));
    reply.expect(200);
    reply.body["events"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// An admin's access token: a new account promoted by the operator (the server restarts).
fn with_admin(app: TestApp) -> (TestApp, String) {
    let admin = unique("admin");
    app.register(&admin, &format!("{admin}@example.com"))
        .expect(201);
    let (output, app) = app.run_offline(&["promote", &admin]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = app.login(&admin, PASSWORD).str("access_token").to_owned();
    (app, token)
}

/// Every event the admin export streams, parsed, one per line.
fn exported(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/admin/audit?format=jsonl{query}"), Some(admin));
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/x-ndjson"),
        "{:?}",
        reply.header("content-type")
    );
    reply
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn a_login_story_is_recorded_with_its_request(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("story");
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/json"), ("user-agent", "story-agent/1.0")],
        Some(json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}).to_string().as_bytes()),
    )
    .expect(201);
    for _ in 0..3 {
        app.login(&username, "wrong-password-1")
            .expect_error(401, "invalid_credentials");
    }
    let long_agent = "a".repeat(400);
    let login = app.request(
        "POST",
        "/login",
        &[
            ("content-type", "application/json"),
            ("user-agent", &long_agent),
            ("x-request-id", "audit-login-1"),
        ],
        Some(
            json!({"username": username, "password": PASSWORD})
                .to_string()
                .as_bytes(),
        ),
    );
    login.expect(200);
    let token = login.str("access_token").to_owned();

    let events = own_events(&app, &token, "");
    assert_eq!(
        actions(&events),
        ["login.succeeded", "login.failed", "account.registered"]
    );
    let user_id = events[0]["account_id"].as_str().unwrap();
    let succeeded = &events[0];
    assert_eq!(succeeded["outcome"], "success");
    assert_eq!(succeeded["actor"], json!({"type": "user", "id": user_id}));
    assert_eq!(succeeded["target"], json!({"type": "user", "id": user_id}));
    assert_eq!(succeeded["address"], "127.0.0.1");
    assert_eq!(
        succeeded["user_agent"].as_str().unwrap().len(),
        256,
        "cut at 256"
    );
    assert_eq!(succeeded["request_id"], "audit-login-1");
    assert_eq!(succeeded["details"]["method"], "password");
    assert!(succeeded["event_id"].as_str().unwrap().len() == 24);
    assert!(chrono::DateTime::parse_from_rfc3339(succeeded["at"].as_str().unwrap()).is_ok());
    let failed = &events[1];
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(
        failed["details"]["count"], 3,
        "three failures, one event: {failed}"
    );
    assert_eq!(events[2]["user_agent"], "story-agent/1.0");

    // Filters: a name, a prefix, a time range; bad ones are named.
    assert_eq!(
        actions(&own_events(&app, &token, "&action=login.*")),
        ["login.succeeded", "login.failed"]
    );
    assert_eq!(
        actions(&own_events(
            &app,
            &token,
            "&action=account.registered,login.failed"
        )),
        ["login.failed", "account.registered"]
    );
    let registered_at = events[2]["at"].as_str().unwrap().replace('+', "%2B");
    assert_eq!(
        actions(&own_events(
            &app,
            &token,
            &format!("&until={registered_at}")
        )),
        ["account.registered"]
    );
    let failed_at = events[1]["at"].as_str().unwrap().replace('+', "%2B");
    assert_eq!(
        actions(&own_events(&app, &token, &format!("&since={failed_at}"))),
        ["login.succeeded", "login.failed"]
    );
    let bad = app.get("/audit?action=login.nope&since=yesterday", Some(&token));
    bad.expect_error(400, "validation_failed");
    assert_eq!(bad.detail_fields(), ["/action", "/since"]);
    app.get("/audit", None).expect_error(401, "unauthorized");

    // Paging: one at a time, in the same order, to the end.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/audit?limit=1&cursor={cursor}"), Some(&token));
        page.expect(200);
        seen.extend(
            page.body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event_id"].clone()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let ids: Vec<Value> = events.iter().map(|e| e["event_id"].clone()).collect();
    assert_eq!(seen, ids);
}

store_tests!(a_login_story_is_recorded_with_its_request);

fn unknown_identifiers_are_counted_never_stored(store: Store) {
    let app = TestApp::spawn(store);
    let (admin_app, admin) = with_admin(app);
    let app = admin_app;
    let typed = "attacker-typed-this-9f8e7d";
    for _ in 0..2 {
        app.login(typed, "whatever-password")
            .expect_error(401, "invalid_credentials");
    }
    let metrics = app.get("/metrics", None);
    assert!(
        metrics
            .text
            .contains("keygate_login_failures_unknown_account_total 2"),
        "{}",
        metrics.text
    );
    let everything = exported(&app, &admin, "");
    assert!(!everything.is_empty());
    for event in &everything {
        assert!(!event.to_string().contains(typed), "{event}");
    }
}

store_tests!(unknown_identifiers_are_counted_never_stored);

fn changes_are_recorded_and_no_secret_is_stored(store: Store) {
    let app = TestApp::spawn(store);
    let (app, admin) = with_admin(app);
    let (username, token, refresh) = app.signed_up_user();
    let new_password = "brisk-heron-77-kettle";
    app.json(
        "PUT",
        "/profile/password",
        Some(&token),
        &json!({"current_password": PASSWORD, "new_password": new_password}),
    )
    .expect(200);
    let login = app.login(&username, new_password);
    login.expect(200);
    let token = login.str("access_token").to_owned();
    let created = app.create_api(
        &token,
        &unique("shop"),
        &[("orders", json!({"type": "object"}))],
    );
    let (api_id, first_key) = (
        created.str("api_id").to_owned(),
        created.str("api_key").to_owned(),
    );
    let issued = app.json(
        "POST",
        &format!("/api/{api_id}/keys"),
        Some(&token),
        &json!({}),
    );
    issued.expect(201);
    let key_id = issued.str("key_id").to_owned();
    app.json(
        "DELETE",
        &format!("/api/{api_id}/keys/{key_id}"),
        Some(&token),
        &json!({}),
    )
    .expect(200);
    app.json(
        "DELETE",
        &format!("/api/{api_id}"),
        Some(&token),
        &json!({}),
    )
    .expect(200);
    app.json("POST", "/logout", Some(&token), &json!({}))
        .expect(200);

    let events = exported(&app, &admin, "");
    let names = actions(&events);
    for expected in [
        "password.changed",
        "api.created",
        "api_key.issued",
        "api.deleted",
        "session.revoked",
        "role.granted",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(names.contains(&"api_key.revoked"), "{names:?}");
    let granted = events
        .iter()
        .find(|e| e["action"] == "role.granted")
        .unwrap();
    assert_eq!(granted["actor"]["type"], "operator");
    let issued_text = issued.str("api_key");
    let whole = serde_json::to_string(&events).unwrap();
    for secret in [
        PASSWORD,
        new_password,
        &token,
        &refresh,
        &first_key,
        issued_text,
        &admin,
    ] {
        assert!(!whole.contains(secret), "a secret is in the audit log");
    }
    // The public half of a key is not a secret, but its secret half must not be there either.
    let secret_half = first_key.rsplit('_').next().unwrap();
    assert!(!whole.contains(secret_half));
}

store_tests!(changes_are_recorded_and_no_secret_is_stored);

fn the_admin_view_is_for_administrators_and_filters_by_account(store: Store) {
    let app = TestApp::spawn(store);
    let (app, admin) = with_admin(app);
    let (_, alice, _) = app.signed_up_user();
    let (_, bob, _) = app.signed_up_user();
    app.get("/admin/audit", Some(&alice))
        .expect_error(403, "forbidden");
    app.get("/admin/audit?format=jsonl", Some(&alice))
        .expect_error(403, "forbidden");
    let alice_id = app.get("/profile", Some(&alice)).str("id").to_owned();
    let bob_id = app.get("/profile", Some(&bob)).str("id").to_owned();

    // Someone else's account_id on /audit changes nothing: it is always the caller's.
    let own = own_events(&app, &alice, &format!("&account_id={bob_id}"));
    assert!(
        own.iter().all(|e| e["account_id"] == alice_id.as_str()),
        "{own:?}"
    );

    let all = app.get("/admin/audit?limit=500", Some(&admin));
    all.expect(200);
    let accounts: Vec<&str> = all.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["account_id"].as_str())
        .collect();
    assert!(accounts.contains(&alice_id.as_str()) && accounts.contains(&bob_id.as_str()));
    let bobs = app.get(
        &format!("/admin/audit?account_id={bob_id}&action=login.succeeded"),
        Some(&admin),
    );
    bobs.expect(200);
    let bobs = bobs.body["events"].as_array().unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["account_id"], bob_id.as_str());
    app.get("/admin/audit?account_id=nope", Some(&admin))
        .expect_error(400, "validation_failed");
    app.get("/admin/audit?format=xml", Some(&admin))
        .expect_error(400, "validation_failed");

    let lines = exported(&app, &admin, &format!("&account_id={alice_id}"));
    assert_eq!(actions(&lines), ["login.succeeded", "account.registered"]);
}

store_tests!(the_admin_view_is_for_administrators_and_filters_by_account);

fn deleting_an_account_blanks_its_addresses(store: Store) {
    let app = TestApp::spawn(store);
    let (app, admin) = with_admin(app);
    let (_, token, _) = app.signed_up_user();
    let id = app.get("/profile", Some(&token)).str("id").to_owned();
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect(200);
    let left = exported(&app, &admin, &format!("&account_id={id}"));
    assert_eq!(
        actions(&left),
        ["account.deleted", "login.succeeded", "account.registered"]
    );
    for event in &left {
        assert!(
            event["address"].is_null() && event["user_agent"].is_null(),
            "{event}"
        );
        assert!(event["request_id"].is_string(), "the rest stays: {event}");
    }
}

store_tests!(deleting_an_account_blanks_its_addresses);

fn racing_successes_each_have_their_event(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _) = app.signed_up_user();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| app.login(&username, PASSWORD).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let succeeded = statuses.iter().filter(|s| **s == 200).count();
    assert!(succeeded > 0, "{statuses:?}");
    let logins = own_events(&app, &token, "&action=login.succeeded");
    // The sign-up's own login, and one per answered success.
    assert_eq!(logins.len(), succeeded + 1, "{statuses:?}");
}

store_tests!(racing_successes_each_have_their_event);

fn the_operator_exports_json_lines_without_a_server(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    let newest = own_events(&app, &token, "");
    let since = newest.last().unwrap()["at"].as_str().unwrap().to_owned();
    let (output, _app) = app.run_offline(&["audit", "export", "--since", &since]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(actions(&lines), ["login.succeeded", "account.registered"]);
    assert_eq!(lines[0]["event_id"], newest[0]["event_id"]);
    let (refused, _app) = _app.run_offline(&["audit", "export", "--since", "soon"]);
    assert!(!refused.status.success());
}

store_tests!(the_operator_exports_json_lines_without_a_server);
