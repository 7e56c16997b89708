//! What readers need from the catalog beside the records they read.

use crate::error::Result;
use crate::App;
use std::collections::HashMap;

/// Russian names of the territories by code.
pub async fn territory_names(app: &App) -> Result<HashMap<okno_core::TerritoryCode, String>> {
    Ok(app.store.territories().await?.into_iter().map(|t| (t.code, t.name_ru)).collect())
}
