//! `GET /docs`: Swagger UI rendered from `/openapi.json`, every asset served by Keygate.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use keygate_tests::{Store, TestApp};

/// The files the page loads, as the page names them.
const ASSETS: &[&str] = &[
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-ui.css",
    "/docs/favicon-32x32.png",
    "/docs/keygate-docs.js",
];

#[test]
fn the_page_and_every_asset_it_loads_come_from_keygate() {
    let app = TestApp::spawn(Store::Embedded);
    let page = app.get("/docs", None);
    page.expect(200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let policy = page.header("content-security-policy").expect("a CSP");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(!page.text.contains("http"), "the page names another origin");

    let referenced: BTreeSet<String> = page
        .text
        .split('"')
        .filter(|s| s.starts_with("docs/"))
        .map(|s| format!("/{s}"))
        .collect();
    let served: BTreeSet<String> = ASSETS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(referenced, served);

    for asset in ASSETS {
        let plain = app.request("GET", asset, &[], None);
        plain.expect(200);
        assert_eq!(plain.header("content-encoding"), None, "{asset}");
        let length: usize = plain.header("content-length").unwrap().parse().unwrap();
        assert!(length > 0, "{asset} is empty");
    }
    let bundle = app.request("GET", "/docs/swagger-ui-bundle.js", &[], None);
    assert!(bundle.text.contains("SwaggerUIBundle"));
    let script = app.request("GET", "/docs/keygate-docs.js", &[], None);
    assert!(script.text.contains("url: \"openapi.json\""));
    assert!(script.text.contains("validatorUrl: null"));

    let compressed = app.request(
        "GET",
        "/docs/swagger-ui-bundle.js",
        &[("accept-encoding", "gzip")],
        None,
    );
    compressed.expect(200);
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(compressed.header("vary"), Some("Accept-Encoding"));
    let plain_length: usize = bundle.header("content-length").unwrap().parse().unwrap();
    let gzip_length: usize = compressed
        .header("content-length")
        .unwrap()
        .parse()
        .unwrap();
    assert!(gzip_length * 2 < plain_length);

    app.request("POST", "/docs", &[], None)
        .expect_error(405, "method_not_allowed");
    app.get("/docs/secrets.txt", None)
        .expect_error(404, "not_found");
}

#[test]
fn docs_enabled_false_takes_the_page_away_but_not_the_document() {
    let app = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__DOCS__ENABLED", "false")]);
    app.get("/docs", None).expect_error(404, "not_found");
    app.get("/docs/swagger-ui-bundle.js", None)
        .expect_error(404, "not_found");
    app.get("/openapi.json", None).expect(200);
}

/// Chromium from `KEYGATE_CHROMIUM`, else Debian's. `make test` installs it when absent
/// (`scripts/with-chromium.sh`), and fails when it cannot.
fn chromium() -> PathBuf {
    let candidates = std::env::var_os("KEYGATE_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from));
    for candidate in candidates {
        if candidate.is_file() {
            return candidate;
        }
    }
    // Never skipped: a test that cannot run must not be reported as passed.
    panic!(
        "no Chromium at KEYGATE_CHROMIUM or /usr/bin/chromium: run the tests through `make test` \
         (it installs Debian's chromium)"
    );
}

/// The page as headless Chromium has rendered it, once its scripts have run.
fn rendered_dom(browser: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Chromium");
    // Read the DOM while Chromium writes it: it is larger than a pipe holds.
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let output = match receiver.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("Chromium did not finish rendering {url} within two minutes");
        }
    };
    assert!(
        output.status.success(),
        "Chromium failed: {:?}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn headless_chromium_renders_every_documented_route_on_the_page() {
    let browser = chromium();
    let app = TestApp::spawn(Store::Embedded);
    let dom = rendered_dom(&browser, &format!("{}/docs", app.base));

    let documented: BTreeSet<String> = app.get("/openapi.json", None).body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let rendered: BTreeSet<String> = dom
        .split("data-path=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    assert!(documented.len() > 40, "{documented:?}");
    assert_eq!(
        rendered, documented,
        "the page lists other routes than the document"
    );
    assert!(dom.contains("Keygate"), "the document's title is not shown");
    // Both auth schemes reached the page: operations that need one show a lock.
    assert!(dom.contains("authorization__btn"), "no Authorize button");
    // The page fetched the document and the assets from Keygate, and from nothing else.
    let log = app.log();
    for path in [
        "/openapi.json",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
    ] {
        assert!(
            log.contains(&format!("\"{path}\"")) || log.contains(&format!("route={path}")),
            "Keygate never served {path} to the browser:\n{log}"
        );
    }
}
