//! Runs the notes service on `127.0.0.1:8090`, trusting the Keygate at `KEYGATE_URL`
//! (default `http://127.0.0.1:8080`); `KEYGATE_INTROSPECTION_TOKEN` turns on `/whoami/live`.

use actix_web::{web, App, HttpServer};
use keygate_example_offline_service::configure;
use keygate_verify::{Verifier, VerifierSettings};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let keygate = std::env::var("KEYGATE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let mut settings = VerifierSettings::new(&keygate, "keygate", "keygate");
    if let Ok(bearer) = std::env::var("KEYGATE_INTROSPECTION_TOKEN") {
        settings = settings.with_introspection(&keygate, &bearer);
    }
    let verifier = web::Data::new(Verifier::new(settings));
    HttpServer::new(move || App::new().app_data(verifier.clone()).configure(configure))
        .bind(("127.0.0.1", 8090))?
        .run()
        .await
}
