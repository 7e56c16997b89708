//! Bulk import of requests from other systems with their histories, streamed in the fastest
//! way each engine takes rows, idempotent by source system and source id.

use crate::dialect::{Conn, Dialect, SqlStore};
use crate::query::{self, Bind, EVENT_INSERT_COLUMNS};
use crate::requests::{insert_contact, ImportedRequest};
use crate::Result;
use async_trait::async_trait;
use okno_core::rollup::{Counted, RollupDeltas, RollupKey};
use std::collections::{BTreeMap, HashSet};

/// Counts from one bulk-import batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Requests newly stored.
    pub inserted: u64,
    /// Requests skipped because their source id was already stored.
    pub existing: u64,
    /// Events stored.
    pub events: u64,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.existing += o.existing;
        self.events += o.events;
    }
}

/// Bulk imports.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores a batch of imported requests with their histories in one transaction, skipping
    /// those whose source id is already stored (and repeats within the batch).
    async fn import_batch(&self, batch: &[ImportedRequest]) -> Result<ImportCounts>;
}

/// The items of an import batch whose source ids are not stored yet (first of any repeats).
async fn new_items<'b, D: Dialect>(conn: &mut Conn<D>, batch: &'b [ImportedRequest]) -> Result<Vec<&'b ImportedRequest>> {
    let mut by_system: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in batch.iter().map(|i| &i.request) {
        if let (Some(system), Some(id)) = (&r.source_system, &r.source_id) {
            by_system.entry(system.as_str()).or_default().push(id.as_str());
        }
    }
    let mut stored = HashSet::new();
    for (system, ids) in by_system {
        for id in D::known_source_ids(&mut *conn, system, &ids).await? {
            stored.insert((Some(system.to_owned()), Some(id)));
        }
    }
    Ok(batch
        .iter()
        .filter(|item| {
            let key = (item.request.source_system.clone(), item.request.source_id.clone());
            key.0.is_none() || key.1.is_none() || stored.insert(key)
        })
        .collect())
}

#[async_trait]
impl<D: Dialect> ImportStore for SqlStore<D> {
    async fn import_batch(&self, batch: &[ImportedRequest]) -> Result<ImportCounts> {
        let mut tx = self.begin().await?;
        let fresh = new_items::<D>(&mut tx, batch).await?;
        let ids = D::reserve_request_ids(&mut tx, fresh.len()).await?;
        let request_columns = [&["id"][..], &query::REQUEST_INSERT_COLUMNS[..]].concat();
        let requests: query::Rows = Box::new(fresh.iter().zip(&ids).map(|(item, &id)| {
            let mut row = vec![Bind::Int(Some(id.0))];
            row.extend(query::request_row(item));
            row
        }));
        D::write_rows(&mut tx, "requests", &request_columns, requests).await?;
        let events: query::Rows = Box::new(fresh.iter().zip(&ids).flat_map(|(item, &id)| item.events.iter().map(move |e| query::event_row(id, e))));
        D::write_rows(&mut tx, "events", &EVENT_INSERT_COLUMNS, events).await?;
        let mut deltas = RollupDeltas::default();
        for (item, &id) in fresh.iter().zip(&ids) {
            insert_contact::<D>(&mut tx, id, &item.request.contact).await?;
            let r = &item.request;
            deltas.add(RollupKey::new(Counted {
                created_at: r.created_at, cell: r.location.cell, territory: r.territory.as_deref(), service: &r.service_code,
                category: r.category.as_deref(), agency: r.agency.as_deref(), channel: r.channel, closed_at: item.closed_at,
            }), 1);
        }
        self.commit_counted(tx, &deltas).await?;
        Ok(ImportCounts {
            inserted: fresh.len() as u64,
            existing: (batch.len() - fresh.len()) as u64,
            events: fresh.iter().map(|i| i.events.len() as u64).sum(),
        })
    }
}
