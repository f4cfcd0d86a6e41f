//! The route table: every contract route at the root and under `/v1`, each answering 405 with
//! the envelope for a method it does not serve, and 404 with the envelope for unknown paths.

mod accounts;
mod apis;
mod data;
mod fallback;
mod health;
mod records;
mod respond;

use actix_web::{web, Resource};

pub use fallback::{method_not_allowed, not_found};

/// Registers every route, twice: under `/v1` and at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .configure(contract_routes)
            .default_service(web::to(not_found)),
    )
    .configure(contract_routes);
}

fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

fn contract_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/health")
            .route(web::get().to(health::health))
            .route(web::head().to(health::health)),
    )
    .service(
        resource("/ready")
            .route(web::get().to(health::ready))
            .route(web::head().to(health::ready)),
    )
    .service(
        resource("/metrics")
            .route(web::get().to(health::metrics))
            .route(web::head().to(health::metrics)),
    )
    .service(resource("/register").route(web::post().to(accounts::register)))
    .service(resource("/api/register").route(web::post().to(accounts::register)))
    .service(resource("/login").route(web::post().to(accounts::login)))
    .service(resource("/api/token").route(web::post().to(accounts::login)))
    .service(resource("/token/refresh").route(web::post().to(accounts::refresh)))
    .service(resource("/logout").route(web::post().to(accounts::logout)))
    .service(
        resource("/profile")
            .route(web::get().to(accounts::profile))
            .route(web::put().to(accounts::update_profile))
            .route(web::patch().to(accounts::update_profile))
            .route(web::delete().to(accounts::delete_account)),
    )
    .service(resource("/profile/password").route(web::put().to(accounts::change_password)))
    .service(resource("/users").route(web::get().to(accounts::list_users)))
    .service(
        resource("/api/data")
            .route(web::post().to(data::create))
            .route(web::get().to(data::list)),
    )
    .service(
        // `.*` so that a key may hold `/` (sent as %2F or as is).
        resource("/api/data/{key:.*}")
            .route(web::get().to(data::read))
            .route(web::put().to(data::replace))
            .route(web::delete().to(data::delete)),
    )
    .service(resource("/create_api").route(web::post().to(apis::create)))
    .service(
        resource("/api")
            .route(web::post().to(apis::create))
            .route(web::get().to(apis::list)),
    )
    // Key management before records: `keys` is never an endpoint name.
    .service(resource("/api/{api}/keys").route(web::post().to(apis::issue_key)))
    .service(resource("/api/{api}/keys/{key_id}").route(web::delete().to(apis::revoke_key)))
    .service(
        resource("/api/{api}")
            .route(web::get().to(apis::read))
            .route(web::patch().to(apis::change))
            .route(web::delete().to(apis::delete)),
    )
    .service(
        resource("/api/{api_name}/{endpoint}")
            .route(web::post().to(records::create))
            .route(web::get().to(records::list)),
    )
    .service(
        resource("/api/{api_name}/{endpoint}/{record_id}")
            .route(web::get().to(records::read))
            .route(web::put().to(records::replace))
            .route(web::patch().to(records::patch))
            .route(web::delete().to(records::delete)),
    );
}
