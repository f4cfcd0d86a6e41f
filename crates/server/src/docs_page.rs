//! `GET /docs`: Swagger UI over `GET /openapi.json`. Every file the page loads is compiled into
//! the binary (unpacked by `build.rs` from the `utoipa-swagger-ui-vendored` crate), and the
//! page's Content-Security-Policy lets it load nothing from anywhere else.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder};

use crate::routes::resource;

/// Where the page lives; its assets are under `/docs/`.
pub const DOCS_PATH: &str = "/docs";

/// Only this origin, no inline script, no plugins, no framing. Swagger UI sets inline styles
/// and shows its icons as `data:` images; "Try it out" calls this origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Relative addresses, so the page also works behind a proxy that serves Keygate under a
/// prefix: from `/docs`, `docs/x` is `/docs/x` and `openapi.json` is `/openapi.json`.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keygate API</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/keygate-docs.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI. `validatorUrl: null` keeps it from sending the document to
/// validator.swagger.io; `openapi.json` is relative for the same reason as the page's links.
const INITIALIZER: &str = r##"window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"##;

/// A file of the page, plain and gzip-compressed.
struct Asset {
    content_type: &'static str,
    plain: &'static [u8],
    gzip: Option<&'static [u8]>,
}

const BUNDLE: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    plain: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui-bundle.js")),
    gzip: Some(include_bytes!(concat!(
        env!("OUT_DIR"),
        "/swagger-ui-bundle.js.gz"
    ))),
};

const STYLESHEET: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    plain: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui.css")),
    gzip: Some(include_bytes!(concat!(
        env!("OUT_DIR"),
        "/swagger-ui.css.gz"
    ))),
};

const FAVICON: Asset = Asset {
    content_type: "image/png",
    plain: include_bytes!(concat!(env!("OUT_DIR"), "/favicon-32x32.png")),
    gzip: None,
};

const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    plain: INITIALIZER.as_bytes(),
    gzip: None,
};

/// Registers the page and its assets (at the root only: they are not part of the `/v1` API).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(readable(DOCS_PATH, serve_page))
        .service(readable("/docs/swagger-ui-bundle.js", |r: HttpRequest| {
            serve(&BUNDLE, r)
        }))
        .service(readable("/docs/swagger-ui.css", |r: HttpRequest| {
            serve(&STYLESHEET, r)
        }))
        .service(readable("/docs/favicon-32x32.png", |r: HttpRequest| {
            serve(&FAVICON, r)
        }))
        .service(readable("/docs/keygate-docs.js", |r: HttpRequest| {
            serve(&SCRIPT, r)
        }));
}

/// A resource answering GET and HEAD, and 405 with the envelope to any other method.
fn readable<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// `GET /docs`.
async fn serve_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(PAGE)
}

/// One asset, compressed when the client takes gzip. They change only with the binary, so
/// browsers may keep them for an hour.
async fn serve(asset: &'static Asset, request: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::VARY, "Accept-Encoding"));
    match asset.gzip {
        Some(gzip) if accepts_gzip(request.headers().get(header::ACCEPT_ENCODING)) => response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gzip),
        _ => response.body(asset.plain),
    }
}

/// Whether an `Accept-Encoding` value admits gzip (RFC 9110 §12.5.3: listed, or `*`, with a
/// quality above zero).
fn accepts_gzip(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut gzip = None;
    let mut any = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .find_map(|p| {
                let (name, value) = p.split_once('=')?;
                (name.trim().eq_ignore_ascii_case("q")).then(|| value.trim().parse::<f32>().ok())?
            })
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(quality),
            "*" => any = Some(quality),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        accepts_gzip(Some(&HeaderValue::from_str(value).expect("header value")))
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("*;q=0.5, gzip;q=0"));
        assert!(!accepts("identity"));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn the_assets_are_the_swagger_ui_files_and_compress() {
        let bundle = String::from_utf8_lossy(BUNDLE.plain);
        assert!(bundle.contains("SwaggerUIBundle"));
        assert!(String::from_utf8_lossy(STYLESHEET.plain).contains(".swagger-ui"));
        assert!(FAVICON.plain.starts_with(b"\x89PNG"));
        let gzip = BUNDLE.gzip.expect("the bundle is compressed");
        assert!(gzip.starts_with(&[0x1f, 0x8b]));
        assert!(gzip.len() * 2 < BUNDLE.plain.len());
    }

    #[test]
    fn the_page_loads_only_what_keygate_serves() {
        for reference in PAGE.split(['"']).filter(|s| s.starts_with("docs/")) {
            assert!(
                [
                    "docs/swagger-ui-bundle.js",
                    "docs/swagger-ui.css",
                    "docs/favicon-32x32.png",
                    "docs/keygate-docs.js"
                ]
                .contains(&reference),
                "{reference} is not served"
            );
        }
        assert!(!PAGE.contains("http"), "the page names another origin");
        assert!(!PAGE.contains("<script>"), "inline script breaks the CSP");
    }
}
