//! §10: `keygate import`, with hashes made by the earlier systems' own libraries (werkzeug,
//! bcrypt, passlib, and Django's recipe), from JSON-lines, CSV and a MongoDB database, into
//! both stores; then each original password logs in over HTTP and its hash becomes Argon2id.

use std::path::Path;

use keygate_tests::{store_tests, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Makes accounts with the earlier systems' libraries: `[{username, email, password, hash,
/// format}]`, one per format, each with its own password.
fn legacy_accounts(prefix: &str) -> Vec<Value> {
    const MAKE: &str = r#"
import base64, hashlib, json, sys
import bcrypt
from flask_bcrypt import generate_password_hash as flask_bcrypt_hash
from passlib.hash import pbkdf2_sha256
from werkzeug.security import generate_password_hash
prefix = sys.argv[1]
def django(pw):
    salt = "QyrdsTRkmcd1"
    digest = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), 1000)
    return "pbkdf2_sha256$1000$%s$%s" % (salt, base64.b64encode(digest).decode())
makers = [
    ("werkzeug-pbkdf2-sha256", lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:1000")),
    ("werkzeug-pbkdf2-sha1", lambda pw: generate_password_hash(pw, method="pbkdf2:sha1:1000")),
    ("werkzeug-scrypt", lambda pw: generate_password_hash(pw, method="scrypt:1024:8:1")),
    ("bcrypt", lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()),
    ("bcrypt", lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()),
    ("bcrypt", lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)),
    ("bcrypt", lambda pw: flask_bcrypt_hash(pw, 4).decode()),
    ("passlib-pbkdf2-sha256", lambda pw: pbkdf2_sha256.using(rounds=1000).hash(pw)),
    ("django-pbkdf2-sha256", django),
]
out = []
for i, (fmt, make) in enumerate(makers):
    pw = "old-secret-%d-ünï" % i
    out.append({"username": "%s%d" % (prefix, i), "email": "%s%d@example.com" % (prefix, i),
                "password": pw, "hash": make(pw), "format": fmt})
print(json.dumps(out))
"#;
    serde_json::from_slice(&keygate_tests::python::run(["-c", MAKE, prefix])).expect("JSON")
}

/// Writes `rows` to `path` as JSON lines, each as given.
fn write_rows(path: &Path, rows: &[Value]) {
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(path, lines.join("\n")).expect("written");
}

fn write_jsonl(path: &Path, accounts: &[Value]) {
    let lines: Vec<String> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({"id": i + 1, "username": a["username"], "email": a["email"], "password": a["hash"]})
                .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").expect("written");
}

fn write_csv(path: &Path, accounts: &[Value]) {
    let mut text = String::from("user_id,username,email,password_hash,full_name\n");
    for (i, a) in accounts.iter().enumerate() {
        text.push_str(&format!(
            "{},{},{},{},\"Name, with a comma {i}\"\n",
            i + 100,
            a["username"].as_str().expect("a name"),
            a["email"].as_str().expect("an email"),
            a["hash"].as_str().expect("a hash")
        ));
    }
    std::fs::write(path, text).expect("written");
}

fn report(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

/// Runs `keygate import` against `app`'s store: beside it on MongoDB, with it stopped on the
/// embedded store.
fn import(app: TestApp, args: &[&str]) -> (Value, TestApp) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    match app.store() {
        Store::Mongo => {
            let output = app.run_beside(&all);
            (report(&output), app)
        }
        Store::Embedded => {
            let (output, app) = app.run_offline(&all);
            (report(&output), app)
        }
    }
}

fn every_format_logs_in_after_an_import_and_is_upgraded(store: Store) {
    let app = TestApp::spawn(store);
    let dir = tempfile::tempdir().expect("a directory");
    let from_jsonl = legacy_accounts("jl");
    let from_csv = legacy_accounts("cv");
    let (jsonl, csv) = (dir.path().join("users.jsonl"), dir.path().join("users.csv"));
    write_jsonl(&jsonl, &from_jsonl);
    write_csv(&csv, &from_csv);
    // Someone registered one of the names already, and someone else one of the addresses:
    // those accounts are skipped, never merged.
    app.register("cv0", "someone-else@example.com").expect(201);
    app.register("someone-else", "cv1@example.com").expect(201);

    let jsonl_path = jsonl.to_str().expect("a path");
    let (dry, app) = import(app, &["--from", jsonl_path, "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["outcomes"]["imported"], 9, "{dry}");
    app.login("jl0", "old-secret-0-ünï")
        .expect_error(401, "invalid_credentials");

    let (first, app) = import(app, &["--from", jsonl_path]);
    assert_eq!(first["outcomes"]["imported"], 9, "{first}");
    assert_eq!(first["hash_formats"]["bcrypt"], 4);
    for format in [
        "werkzeug-pbkdf2-sha256",
        "werkzeug-pbkdf2-sha1",
        "werkzeug-scrypt",
        "passlib-pbkdf2-sha256",
        "django-pbkdf2-sha256",
    ] {
        assert_eq!(first["hash_formats"][format], 1, "{format}: {first}");
    }
    let (again, app) = import(app, &["--from", jsonl_path]);
    assert_eq!(
        again["outcomes"],
        json!({"already_imported": 9}),
        "idempotent"
    );
    let (csv_report, app) = import(app, &["--from", csv.to_str().expect("a path")]);
    assert_eq!(csv_report["outcomes"]["imported"], 7, "{csv_report}");
    assert_eq!(csv_report["outcomes"]["skipped_username_taken"], 1);
    assert_eq!(csv_report["outcomes"]["skipped_email_taken"], 1);
    assert_eq!(csv_report["skipped"][0]["source_id"], "100");
    assert_eq!(csv_report["skipped"][1]["source_id"], "101");
    // Beyond the report: the owners of the names and addresses taken keep their accounts and
    // passwords; the imported passwords open nothing.
    app.login("cv0", PASSWORD).expect(200);
    app.login("cv0", "old-secret-0-ünï")
        .expect_error(401, "invalid_credentials");
    app.login("someone-else", PASSWORD).expect(200);
    app.post(
        "/login",
        &json!({"identifier": "cv1@example.com", "password": "old-secret-1-ünï"}),
    )
    .expect_error(401, "invalid_credentials");
    app.login("cv1", "old-secret-1-ünï")
        .expect_error(401, "invalid_credentials");

    for account in from_jsonl.iter().chain(&from_csv[2..]) {
        let (username, password) = (
            account["username"].as_str().expect("a name"),
            account["password"].as_str().expect("a password"),
        );
        app.login(username, "wrong-password-123")
            .expect_error(401, "invalid_credentials");
        app.login(username, password).expect(200);
        // Upgraded: the same password works again, now against Argon2id.
        app.login(username, password).expect(200);
    }
    let profile = app.login("cv3", "old-secret-3-ünï");
    let token = profile.str("access_token").to_owned();
    let id = app.get("/profile", Some(&token)).str("id").to_owned();
    assert_eq!(
        app.get("/profile", Some(&token)).body["full_name"],
        "Name, with a comma 3"
    );
    // On both stores: the stored hash is Argon2id now.
    let hash = app.stored_password_hash(&id);
    assert!(hash.starts_with("$argon2id$"), "{store:?}: {hash}");
}

/// A hash whose cost no login should pay is refused at import: the account comes in without
/// a usable password (its owner resets it by mail), and so does one in no known format.
#[test]
fn absurd_and_unknown_hashes_leave_the_account_without_a_password() {
    let app = TestApp::spawn(Store::Embedded);
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("odd.jsonl");
    write_rows(
        &path,
        &[
            json!({"_id": {"$oid": "6553f10000000000000000aa"}, "username": "costly",
                   "password": "pbkdf2:sha256:1000000000$salt$00"}),
            json!({"_id": "6553f10000000000000000bb", "username": "scrypty", "email": "s@example.com",
                   "password": "scrypt:1073741824:8:1$salt$00"}),
            json!({"id": 3, "username": "mystery", "password": "md5$x$y"}),
            json!({"id": 4, "password": "x"}),
        ],
    );
    let (report, app) = import(app, &["--from", path.to_str().expect("a path")]);
    assert_eq!(report["hash_formats"]["refused"], 2, "{report}");
    assert_eq!(report["hash_formats"]["unknown"], 1);
    assert_eq!(report["outcomes"]["skipped_invalid"], 1);
    for username in ["costly", "scrypty", "mystery"] {
        app.login(username, PASSWORD)
            .expect_error(401, "invalid_credentials");
    }
    // The 24-hex id came along.
    let (_, token, _) = {
        app.register("fresh", "fresh@example.com").expect(201);
        let login = app.login("fresh", PASSWORD);
        ((), login.str("access_token").to_owned(), ())
    };
    let users = app.get("/users", Some(&token));
    assert!(users.text.contains("costly"), "{}", users.text);
}

/// Hashes that would cost a login more than a small factor of the server's own (issue 31,
/// holes 2 and 3) are refused at import, on both stores: an Argon2 hash of 1 GiB or of three
/// million passes, a PBKDF2 output of 48 blocks (48 times the rounds per attempt), a row of a
/// megabyte. Each owner's login answers as a wrong password.
fn hashes_costlier_than_a_login_are_refused_at_import(store: Store) {
    let app = TestApp::spawn(store);
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("costly.jsonl");
    let output = "1d6ce69b732baab62f34905899cbce7276146ebedcc3a0aeb7c0058b0dc22465";
    write_rows(
        &path,
        &[
            json!({"username": "gigabyte",
                   "password": "$argon2id$v=19$m=1048576,t=3,p=1$c2FsdHNhbHQ$SqlVijFGiPG+935vDSGEsA"}),
            json!({"username": "forever",
                   "password": "$argon2id$v=19$m=19456,t=3000000,p=1$c2FsdHNhbHQ$SqlVijFGiPG+935vDSGEsA"}),
            json!({"username": "fortyeight",
                   "password": format!("pbkdf2:sha256:600000$wkVSFYsRzISnMq0v${}", output.repeat(48))}),
            json!({"username": "megabyte", "password": "x".repeat(1 << 20)}),
        ],
    );
    let (report, app) = import(app, &["--from", path.to_str().expect("a path")]);
    assert_eq!(report["hash_formats"]["refused"], 4, "{report}");
    assert_eq!(report["outcomes"]["imported"], 4, "{report}");
    for username in ["gigabyte", "forever", "fortyeight", "megabyte"] {
        app.login(username, PASSWORD)
            .expect_error(401, "invalid_credentials");
    }
}

store_tests!(hashes_costlier_than_a_login_are_refused_at_import);

#[test]
fn an_unknown_source_is_refused_with_advice() {
    let app = TestApp::spawn(Store::Embedded);
    let (output, app) = app.run_offline(&["import", "--from", "oracle://u:secret@db/legacy"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("mongodb://"), "{said}");
    assert!(!said.contains("secret"), "{said}");
    // An unreachable database: refused, without echoing the URL's password.
    let (output, _app) = app.run_offline(&[
        "import",
        "--from",
        "postgresql://u:hunter2-secret@127.0.0.1:1/legacy",
    ]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!said.contains("hunter2"), "{said}");
}

store_tests!(every_format_logs_in_after_an_import_and_is_upgraded);

/// 000's and 001's own MongoDB database: the `users` collection, read straight from it.
#[test]
fn users_come_in_from_an_earlier_systems_mongodb() {
    let accounts = legacy_accounts("mg");
    let uri = keygate_tests::mongodb_uri();
    let database = keygate_tests::fresh_database_name();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let ids: Vec<mongodb::bson::oid::ObjectId> = runtime.block_on(async {
        let client = mongodb::Client::with_uri_str(&uri).await.expect("MongoDB");
        let users = client
            .database(&database)
            .collection::<mongodb::bson::Document>("users");
        let mut ids = Vec::new();
        for account in &accounts {
            let id = mongodb::bson::oid::ObjectId::new();
            users
                .insert_one(mongodb::bson::doc! {
                    "_id": id,
                    "name": account["username"].as_str().expect("a name"),
                    "username": account["username"].as_str().expect("a name"),
                    "email": account["email"].as_str().expect("an email"),
                    "password": account["hash"].as_str().expect("a hash"),
                    "created_at": mongodb::bson::DateTime::from_millis(1_600_000_000_000),
                })
                .await
                .expect("inserted");
            ids.push(id);
        }
        ids
    });
    let (base, query) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
    let source = format!(
        "{}/{database}{}",
        base.trim_end_matches('/'),
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let app = TestApp::spawn(Store::Embedded);
    let (report, app) = import(app, &["--from", &source]);
    assert_eq!(report["outcomes"]["imported"], 9, "{report}");
    for (account, id) in accounts.iter().zip(&ids) {
        let login = app.login(
            account["username"].as_str().expect("a name"),
            account["password"].as_str().expect("a password"),
        );
        login.expect(200);
        assert_eq!(
            login.str("user_id"),
            id.to_hex(),
            "the account keeps its id"
        );
    }
}

/// `mongodb://…/<database>` for a database of the test MongoDB.
fn mongo_source(database: &str) -> String {
    let uri = keygate_tests::mongodb_uri();
    let (base, query) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
    format!(
        "{}/{database}{}",
        base.trim_end_matches('/'),
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    )
}

/// 000's database as 000 kept it: `users` (`name, email, password`), `apis` (`user_id,
/// api_name, endpoints, json_schema, api_key` in clear), records in a shared `records`
/// collection and in a collection of one endpoint. Its clients keep their old keys.
#[test]
fn apis_keys_and_records_come_in_from_000s_mongodb() {
    use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
    let accounts = legacy_accounts("zz");
    let database = keygate_tests::fresh_database_name();
    let (owner, other, missing) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
    let (inventory, renamed, orphan) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
    let key_of = |id: &ObjectId| format!("{}{}", id.to_hex(), ObjectId::new().to_hex());
    let (inventory_key, renamed_key, orphan_key) =
        (key_of(&inventory), key_of(&renamed), key_of(&orphan));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let client = mongodb::Client::with_uri_str(keygate_tests::mongodb_uri())
            .await
            .expect("MongoDB");
        let db = client.database(&database);
        let users = db.collection::<Document>("users");
        for (id, account) in [(owner, &accounts[0]), (other, &accounts[3])] {
            users
                .insert_one(doc! {
                    "_id": id,
                    "name": account["username"].as_str().expect("a name"),
                    "email": account["email"].as_str().expect("an email"),
                    "password": account["hash"].as_str().expect("a hash"),
                })
                .await
                .expect("inserted");
        }
        let schema = doc! {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["sku"]};
        db.collection::<Document>("apis")
            .insert_many([
                doc! {"_id": inventory, "user_id": owner, "api_name": "inventory",
                      "endpoints": ["items", "notes"],
                      "json_schema": {"items": schema.clone(), "notes": {"type": "object"}},
                      "api_key": &inventory_key, "created_at": DateTime::from_millis(1_600_000_000_000)},
                doc! {"_id": renamed, "user_id": other.to_hex(), "api_name": "Old Shop",
                      "endpoints": ["orders"], "json_schema": {"orders": {"type": "object"}},
                      "api_key": &renamed_key},
                doc! {"_id": orphan, "user_id": missing, "api_name": "orphan",
                      "endpoints": ["x"], "json_schema": {"x": {"type": "object"}},
                      "api_key": &orphan_key},
                doc! {"_id": ObjectId::new(), "user_id": owner, "api_name": "broken",
                      "endpoints": ["x"], "json_schema": {"x": {"type": 12}}, "api_key": key_of(&owner)},
            ])
            .await
            .expect("inserted");
        let records = db.collection::<Document>("records");
        for i in 0..5 {
            records
                .insert_one(doc! {"api_id": inventory, "endpoint": "items",
                                  "data": {"sku": format!("s{i}"), "qty": i, "seen": DateTime::from_millis(1_600_000_000_000), "ref": ObjectId::new()},
                                  "created_at": DateTime::from_millis(1_600_000_000_000 + i)})
                .await
                .expect("inserted");
        }
        records
            .insert_one(doc! {"api_id": inventory, "endpoint": "items", "data": {"sku": "bad", "$where": 1}})
            .await
            .expect("inserted");
        records
            .insert_one(doc! {"api_id": inventory, "endpoint": "nowhere", "data": {"sku": "lost"}})
            .await
            .expect("inserted");
        records
            .insert_one(doc! {"api_name": "Old Shop", "endpoint": "orders", "data": {"n": 1}})
            .await
            .expect("inserted");
        db.collection::<Document>("inventory_notes")
            .insert_many([doc! {"text": "first"}, doc! {"text": "second"}])
            .await
            .expect("inserted");
    });
    let source = mongo_source(&database);

    for store in [Store::Embedded, Store::Mongo] {
        let app = TestApp::spawn(store);
        let (dry, app) = import(app, &["--from", &source, "--dry-run"]);
        assert_eq!(dry["apis"]["outcomes"]["imported"], 2, "{dry}");
        let (first, app) = import(app, &["--from", &source]);
        assert_eq!(first["outcomes"]["imported"], 2, "{first}");
        assert_eq!(
            first["apis"]["outcomes"],
            json!({"imported": 2, "skipped_invalid": 2}),
            "the orphan and the broken schema are skipped: {first}"
        );
        assert_eq!(
            first["api_keys"]["outcomes"],
            json!({"imported": 2}),
            "{first}"
        );
        assert_eq!(
            first["records"]["outcomes"],
            json!({"imported": 8, "skipped_invalid": 1, "skipped_unknown_api_or_endpoint": 1}),
            "{first}"
        );
        assert_eq!(
            first["renamed_apis"],
            json!([{"from": "Old Shop", "to": "old-shop"}])
        );

        // A 000 client reads and writes with its old key.
        let listed = app.with_key("GET", "/api/inventory/items", &inventory_key, None);
        listed.expect(200);
        let records = listed.body["records"].as_array().expect("records").clone();
        assert_eq!(records.len(), 5, "{}", listed.body);
        assert!(records
            .iter()
            .all(|r| r["data"]["seen"].is_string() && r["data"]["ref"].is_string()));
        app.with_key("GET", "/api/inventory/notes", &inventory_key, None)
            .expect(200);
        let written = app.with_key(
            "POST",
            "/api/inventory/items",
            &inventory_key,
            Some(&json!({"sku": "new", "qty": 1})),
        );
        written.expect(201);
        app.with_key(
            "POST",
            "/api/inventory/items",
            &inventory_key,
            Some(&json!({"qty": 1})),
        )
        .expect_error(400, "validation_failed");
        app.with_key("GET", "/api/old-shop/orders", &renamed_key, None)
            .expect(200);
        // Each old key opens its own API only; unknown and orphaned keys open nothing.
        app.with_key("GET", "/api/inventory/items", &renamed_key, None)
            .expect(403);
        app.with_key("GET", "/api/inventory/items", &orphan_key, None)
            .expect(401);
        let mut wrong = inventory_key.clone();
        wrong.replace_range(..1, if wrong.starts_with('0') { "1" } else { "0" });
        app.with_key("GET", "/api/inventory/items", &wrong, None)
            .expect(401);

        // The owner sees the API, its old key only as a prefix, and logs in with the old hash.
        let login = app.post(
            "/login",
            &json!({"email": accounts[0]["email"], "password": accounts[0]["password"]}),
        );
        login.expect(200);
        assert_eq!(login.str("user_id"), owner.to_hex());
        let apis = app.get("/api", Some(login.str("access_token")));
        apis.expect(200);
        assert_eq!(apis.body["apis"][0]["api_name"], "inventory");
        assert_eq!(apis.body["apis"][0]["api_id"], inventory.to_hex());
        let prefix = apis.body["apis"][0]["keys"][0]["prefix"]
            .as_str()
            .expect("a prefix");
        assert!(prefix.starts_with("legacy-"), "{prefix}");
        assert!(!apis.body.to_string().contains(&inventory_key));

        let (again, _app) = import(app, &["--from", &source]);
        assert_eq!(again["apis"]["outcomes"]["already_imported"], 2, "{again}");
        assert_eq!(
            again["api_keys"]["outcomes"],
            json!({"already_imported": 2}),
            "{again}"
        );
        assert_eq!(
            again["records"]["outcomes"]["already_imported"], 8,
            "{again}"
        );
        assert_eq!(
            again["records"]["outcomes"].get("imported"),
            None,
            "{again}"
        );
    }
}

/// Killed (SIGKILL) half way, run again: every user is there exactly once.
#[test]
fn an_import_killed_half_way_is_finished_by_the_next_run() {
    const USERS: usize = 40_000;
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("many.jsonl");
    let hash = "pbkdf2:sha256:1000$wkVSFYsRzISnMq0v$1d6ce69b732baab62f34905899cbce7276146ebedcc3a0aeb7c0058b0dc22465";
    let lines: Vec<String> = (0..USERS)
        .map(|i| json!({"id": i, "username": format!("many{i}"), "password": hash}).to_string())
        .collect();
    std::fs::write(&path, lines.join("\n")).expect("written");
    let path = path.to_str().expect("a path");

    // Killed after a wait that grows until the kill lands half way (some imported, not all),
    // whatever this machine's speed: the import reports nothing while it runs.
    let mut wait = std::time::Duration::from_millis(250);
    let app = loop {
        let mut app = TestApp::spawn(Store::Embedded);
        app.stop();
        let mut first = app.spawn_command(&["import", "--from", path]);
        std::thread::sleep(wait);
        let finished_first = first.try_wait().expect("polled").is_some();
        first.kill().expect("killed");
        let _ = first.wait();
        assert!(!finished_first, "the whole import ran within {wait:?}");

        let (second, app) = app.run_offline(&["import", "--from", path]);
        let second = report(&second);
        let imported = second["outcomes"]["imported"].as_u64().unwrap_or(0);
        let before = second["outcomes"]["already_imported"].as_u64().unwrap_or(0);
        assert_eq!(imported + before, USERS as u64, "{second}");
        if before > 0 {
            break app;
        }
        assert!(
            wait < std::time::Duration::from_secs(20),
            "nothing was imported within {wait:?}: {second}"
        );
        wait *= 2;
    };
    let (third, _app) = app.run_offline(&["import", "--from", path]);
    assert_eq!(
        report(&third)["outcomes"],
        json!({"already_imported": USERS}),
        "every user exactly once"
    );
}

/// 004's PostgreSQL `users` table (`user_id SERIAL, username VARCHAR(50) UNIQUE, password
/// VARCHAR(255)`) and 002's SQLAlchemy `user` table, in a real PostgreSQL (Debian's package,
/// started by `scripts/with-postgres.sh`), read straight from the database.
#[test]
fn users_come_in_from_004s_and_002s_postgresql_tables() {
    let url = std::env::var("KEYGATE_TEST_POSTGRES_URL").expect(
        "KEYGATE_TEST_POSTGRES_URL names a PostgreSQL (scripts/with-postgres.sh, which make \
         test runs, provides it)",
    );
    let psql = std::env::var("KEYGATE_TEST_PSQL").expect("KEYGATE_TEST_PSQL names psql");
    let database = format!("legacy{}", std::process::id());
    let run = |url: &str, sql: &str| {
        let output = std::process::Command::new(&psql)
            .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&url, &format!("CREATE DATABASE {database}"));
    let legacy_url = url.replace("/postgres", &format!("/{database}"));
    let from_004 = legacy_accounts("pg");
    let from_002 = legacy_accounts("sa");
    let quote = |v: &Value| v.as_str().expect("text").replace('\'', "''");
    let mut sql = String::from(
        "CREATE TABLE users (user_id SERIAL PRIMARY KEY, username VARCHAR(50) UNIQUE, password VARCHAR(255));",
    );
    for account in &from_004 {
        sql.push_str(&format!(
            "INSERT INTO users (username, password) VALUES ('{}', '{}');",
            quote(&account["username"]),
            quote(&account["hash"])
        ));
    }
    sql.push_str(
        "CREATE TABLE \"user\" (id SERIAL PRIMARY KEY, username VARCHAR(80) UNIQUE, email VARCHAR(120) UNIQUE, \
         password_hash VARCHAR(256), full_name VARCHAR(120), age INTEGER, gender VARCHAR(20), \
         created_at TIMESTAMP DEFAULT now());",
    );
    for (i, account) in from_002.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO \"user\" (username, email, password_hash, full_name, age, gender) \
             VALUES ('{}', '{}', '{}', 'Full Name {i}', {}, 'other');",
            quote(&account["username"]),
            quote(&account["email"]),
            quote(&account["hash"]),
            20 + i
        ));
    }
    // 002's key-value entries: a JSON column, keyed to its `user` table.
    sql.push_str(
        "CREATE TABLE data (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES \"user\"(id), \
         key VARCHAR(256) NOT NULL, value JSON, created_at TIMESTAMP DEFAULT now(), \
         updated_at TIMESTAMP DEFAULT now(), UNIQUE (user_id, key));\
         INSERT INTO data (user_id, key, value) VALUES (1, 'settings', '{\"theme\": \"dark\", \"n\": [1, 2]}'), \
         (1, 'plain', '\"text\"'), (2, 'count', '42'), (2, 'bad\u{1}key', '1');",
    );
    run(&legacy_url, &sql);

    for store in [Store::Embedded, Store::Mongo] {
        let app = TestApp::spawn(store);
        let (report_004, app) = import(app, &["--from", &legacy_url]);
        assert_eq!(report_004["outcomes"]["imported"], 9, "{report_004}");
        assert_eq!(
            report_004.get("data"),
            None,
            "004's users own no entries: {report_004}"
        );
        let (report_002, app) = import(app, &["--from", &legacy_url, "--table", "user"]);
        assert_eq!(report_002["outcomes"]["imported"], 9, "{report_002}");
        assert_eq!(
            report_002["data"]["outcomes"],
            json!({"imported": 3, "skipped_invalid": 1}),
            "{report_002}"
        );
        let (again, app) = import(app, &["--from", &legacy_url]);
        assert_eq!(again["outcomes"], json!({"already_imported": 9}));
        for account in from_004.iter().chain(&from_002) {
            app.login(
                account["username"].as_str().expect("a name"),
                account["password"].as_str().expect("a password"),
            )
            .expect(200);
        }
        let login = app.login("sa2", "old-secret-2-ünï");
        let profile = app.get("/profile", Some(login.str("access_token")));
        assert_eq!(profile.body["full_name"], "Full Name 2");
        assert_eq!(profile.body["age"], 22);
        let first = app.login("sa0", "old-secret-0-ünï");
        let token = Some(first.str("access_token"));
        let settings = app.get("/api/data/settings", token);
        settings.expect(200);
        assert_eq!(
            settings.body["value"],
            json!({"theme": "dark", "n": [1, 2]})
        );
        assert_eq!(app.get("/api/data/plain", token).body["value"], "text");
        let listed = app.get("/api/data", token);
        assert_eq!(
            listed.body["entries"].as_array().map(Vec::len),
            Some(2),
            "{}",
            listed.body
        );
        let second = app.login("sa1", "old-secret-1-ünï");
        assert_eq!(
            app.get("/api/data/count", Some(second.str("access_token")))
                .body["value"],
            42
        );
        let (again, app) = import(app, &["--from", &legacy_url, "--table", "user"]);
        assert_eq!(again["data"]["outcomes"]["already_imported"], 3, "{again}");
        drop(app);
    }
    run(&url, &format!("DROP DATABASE {database}"));
}

/// 002 as it runs by default: SQLAlchemy on a SQLite file.
#[test]
fn users_come_in_from_002s_sqlite_file() {
    let accounts = legacy_accounts("sq");
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("app002.db");
    const MAKE: &str = r#"
import json, sqlite3, sys
accounts = json.loads(sys.argv[2])
db = sqlite3.connect(sys.argv[1])
db.execute('CREATE TABLE "user" (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE, email VARCHAR(120), password_hash VARCHAR(256), full_name VARCHAR(120), age INTEGER, gender VARCHAR(20))')
for a in accounts:
    db.execute('INSERT INTO "user" (username, email, password_hash, full_name, age) VALUES (?, ?, ?, ?, ?)',
               (a["username"], a["email"], a["hash"], "SQLite " + a["username"], 40))
db.execute('CREATE TABLE data (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES "user"(id), key VARCHAR(256) NOT NULL, value JSON, created_at DATETIME, updated_at DATETIME)')
db.execute("INSERT INTO data (user_id, key, value, created_at, updated_at) VALUES (1, 'prefs', ?, '2020-01-02 03:04:05.000000', '2020-02-03 04:05:06.000000')",
           (json.dumps({"lang": "fr", "size": 3}),))
db.execute("INSERT INTO data (user_id, key, value) VALUES (1, 'note', 'not json at all')")
db.execute("INSERT INTO data (user_id, key, value) VALUES (99, 'nobody', '1')")
db.commit()
"#;
    keygate_tests::python::run([
        "-c",
        MAKE,
        file.to_str().expect("a path"),
        &Value::from(accounts.clone()).to_string(),
    ]);
    let app = TestApp::spawn(Store::Embedded);
    let source = format!("sqlite://{}", file.display());
    let (report, app) = import(app, &["--from", &source]);
    assert_eq!(report["outcomes"]["imported"], 9, "{report}");
    assert_eq!(
        report["data"]["outcomes"],
        json!({"imported": 2, "skipped_invalid": 1}),
        "the entry of a user 002 does not have is skipped: {report}"
    );
    for account in &accounts {
        app.login(
            account["username"].as_str().expect("a name"),
            account["password"].as_str().expect("a password"),
        )
        .expect(200);
    }
    let login = app.login("sq0", "old-secret-0-ünï");
    let prefs = app.get("/api/data/prefs", Some(login.str("access_token")));
    prefs.expect(200);
    assert_eq!(prefs.body["value"], json!({"lang": "fr", "size": 3}));
    assert!(
        prefs.body["created_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2020-01-02T03:04:05")),
        "{}",
        prefs.body
    );
    assert!(
        prefs.body["updated_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2020-02-03T04:05:06")),
        "{}",
        prefs.body
    );
    let note = app.get("/api/data/note", Some(login.str("access_token")));
    assert_eq!(note.body["value"], "not json at all");
}
