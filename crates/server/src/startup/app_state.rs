//! Everything the HTTP server serves from, built once at start-up.

use std::sync::Arc;

use super::adapters::{build_keygate, open_store};
use super::error::StartupError;
use crate::config::{InvalidSetting, Settings};
use crate::metrics::HttpMetrics;
use crate::routes::JWKS_MAX_AGE_SECS;
use crate::state::{AppState, IntrospectionAccess};
use crate::store_metrics::StoreMetrics;

/// Everything the HTTP server serves from: Keygate's services, the store probe and the
/// metrics.
pub(super) async fn build_state(settings: &Settings) -> Result<(AppState, String), StartupError> {
    let store_metrics = Arc::new(StoreMetrics::default());
    let (store, description) =
        open_store(settings, settings.metrics.enabled.then_some(&store_metrics)).await?;
    let store_probe = store.users.clone();
    let (keygate, hasher) = build_keygate(store, settings)?;
    // Every instance signs with the keys in the store: the first one makes them, the others
    // read them; nothing is served before this instance holds them.
    keygate
        .signing
        .refresh()
        .await
        .map_err(StartupError::SigningKeys)?;
    tracing::info!(
        algorithm = %keygate.signing.algorithm(),
        "access tokens are signed with {}",
        keygate.signing.algorithm()
    );
    let signing = &settings.auth.signing;
    if keygate.signing.algorithm().is_asymmetric()
        && u64::from(signing.publish_ahead_secs) < signing.refresh.as_secs() + JWKS_MAX_AGE_SECS
    {
        tracing::warn!(
            "auth.signing.publish_ahead_secs ({}) is shorter than refresh_secs ({}) plus the \
             JWKS cache lifetime ({JWKS_MAX_AGE_SECS} s): a rotated key may sign tokens that \
             other instances or verifiers do not know yet",
            signing.publish_ahead_secs,
            signing.refresh.as_secs()
        );
    }
    let state = AppState {
        keygate,
        store_probe,
        http_metrics: Arc::new(HttpMetrics::default()),
        store_metrics,
        hasher,
        metrics: settings.metrics.clone(),
        introspection: introspection_access(settings)?,
    };
    Ok((state, description))
}

/// `auth.introspection_token` and the claims introspection reports; a token shorter than 32
/// bytes is refused like a weak signing secret.
fn introspection_access(
    settings: &Settings,
) -> Result<Option<IntrospectionAccess>, InvalidSetting> {
    let Some(token) = settings
        .auth
        .introspection_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    if token.len() < crate::secret::MIN_SECRET_BYTES && !settings.auth.allow_weak_secret {
        return Err(InvalidSetting {
            setting: "auth.introspection_token",
            problem: format!(
                "must be at least {} bytes: it is a bearer secret",
                crate::secret::MIN_SECRET_BYTES
            ),
        });
    }
    Ok(Some(IntrospectionAccess {
        token: token.to_owned(),
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
    }))
}
