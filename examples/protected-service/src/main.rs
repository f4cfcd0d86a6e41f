//! Runs the example orders service: `KEYGATE__DATABASE__URL`, `KEYGATE__DATABASE__NAME` and
//! `KEYGATE__AUTH__JWT_SECRET` as for Keygate itself; `PORT` (8090).

use actix_web::{web, App, HttpServer};
use keygate_example_service::{configure, Gate, GateSettings};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let settings = GateSettings {
        mongodb_url: var("KEYGATE__DATABASE__URL", "mongodb://127.0.0.1:27017"),
        database: var("KEYGATE__DATABASE__NAME", "keygate"),
        jwt_secret: var("KEYGATE__AUTH__JWT_SECRET", "").into_bytes(),
        issuer: var("KEYGATE__AUTH__ISSUER", "keygate"),
        audience: var("KEYGATE__AUTH__AUDIENCE", "keygate"),
        revocation_cache_ttl: chrono::Duration::seconds(2),
    };
    let gate = Gate::connect(&settings)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let gate = web::Data::new(gate);
    let port: u16 = var("PORT", "8090").parse().unwrap_or(8090);
    HttpServer::new(move || App::new().app_data(gate.clone()).configure(configure))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
