//! Bounds on the work one record request may cause (`records.*`).

use keygate_domain::apis::records::RecordServiceSettings;
use keygate_jsonschema::ValidationLimits;
use serde::Deserialize;

/// Bounds on the work one record request may cause (`records.*`): the schema adapter's
/// validation limits and the record service's list bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct RecordsSettings {
    /// `validation_budget_ms` and `validation_concurrency`.
    #[serde(flatten)]
    pub validation: ValidationLimits,
    /// `max_page_bytes` and `max_scan`.
    #[serde(flatten)]
    pub lists: RecordServiceSettings,
}
