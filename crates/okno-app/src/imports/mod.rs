//! Bulk imports from other systems. Each import streams its file, turns every good row into a
//! request with its history, and stores them in batches; a bad row is reported with its line
//! number and reason and skipped while the good rows go in. Re-importing the same file stores
//! nothing twice (requests are keyed by source system and source id).

pub mod csv_rows;
pub mod spb;
pub mod territories;
pub mod us311;

use crate::error::{AppError, Result};
use csv_rows::CsvRows;
use okno_core::{Agency, AgencyCode, Service, ServiceCode, Territory, TerritoryCode};
use okno_store::{ImportCounts, ImportedRequest, Store};
use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinHandle;
use std::time::{Duration, Instant};

/// Requests stored per transaction. Each commit costs a sync and a pass over the indexes' hot
/// pages: 300,000 resampled appeals import at 44,000 requests/s in transactions of 2,000 and at
/// 65,000/s in transactions of 10,000 (`okno-bench analytics`).
pub const BATCH_SIZE: usize = 10_000;
/// Bad rows listed in full in a report (all are counted).
pub const BAD_ROWS_SHOWN: usize = 20;

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// Line in the file where the row starts (1 = header).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// What was imported.
    pub source: String,
    /// Data rows read.
    pub rows: u64,
    /// Requests and events stored, requests already present.
    pub counts: ImportCounts,
    /// Rows refused.
    pub bad_rows: Vec<BadRow>,
    /// Wall time.
    pub elapsed: Duration,
}

impl ImportReport {
    /// Rows processed per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "imported {}: {} rows read in {:.1} s ({:.0} rows/s)", self.source, self.rows, self.elapsed.as_secs_f64(), self.rows_per_second())?;
        writeln!(f, "  new requests:      {}", self.counts.inserted)?;
        writeln!(f, "  already present:   {}", self.counts.existing)?;
        writeln!(f, "  events stored:     {}", self.counts.events)?;
        write!(f, "  bad rows skipped:  {}", self.bad_rows.len())?;
        for bad in self.bad_rows.iter().take(BAD_ROWS_SHOWN) {
            write!(f, "\n    line {}: {}", bad.line, bad.reason)?;
        }
        if self.bad_rows.len() > BAD_ROWS_SHOWN {
            write!(f, "\n    … and {} more", self.bad_rows.len() - BAD_ROWS_SHOWN)?;
        }
        Ok(())
    }
}

/// Opens a CSV file, gzip-compressed or not (judged by its first bytes), and reads its header.
pub fn open_csv(path: &Path) -> Result<CsvRows> {
    let mut file = std::fs::File::open(path).map_err(|e| AppError::Input(format!("opening {}: {e}", path.display())))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let plain = head.chain(file);
    let reader: Box<dyn Read> = if magic[..n] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(plain))
    } else {
        Box::new(plain)
    };
    CsvRows::new(without_bom(reader)?).map_err(|e| AppError::Input(format!("{}: {e}", path.display())))
}

/// `reader` without a leading UTF-8 byte-order mark, which spreadsheet programs write and which
/// would otherwise stick to the first column's name.
fn without_bom(mut reader: Box<dyn Read>) -> std::io::Result<Box<dyn Read>> {
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let kept = if head == [0xEF, 0xBB, 0xBF] { Vec::new() } else { head[..n].to_vec() };
    Ok(Box::new(std::io::Cursor::new(kept).chain(reader)))
}

/// Reference data met during an import, stored the first time each code is seen.
#[derive(Default)]
pub struct SeenCatalog {
    agencies: HashSet<AgencyCode>,
    services: HashSet<ServiceCode>,
    territories: HashSet<TerritoryCode>,
}

impl SeenCatalog {
    /// Stores the agency unless this import has already stored it.
    pub async fn agency(&mut self, store: &dyn Store, agency: Agency) -> Result<()> {
        if self.agencies.insert(agency.code.clone()) {
            store.upsert_agency(&agency).await?;
        }
        Ok(())
    }

    /// Stores the service unless this import has already stored it.
    pub async fn service(&mut self, store: &dyn Store, service: Service) -> Result<()> {
        if self.services.insert(service.code.clone()) {
            store.upsert_service(&service).await?;
        }
        Ok(())
    }

    /// Stores the territory unless this import has already stored it.
    pub async fn territory(&mut self, store: &dyn Store, territory: Territory) -> Result<()> {
        if self.territories.insert(territory.code.clone()) {
            store.upsert_territory(&territory).await?;
        }
        Ok(())
    }
}

/// Collects imported requests and stores them a batch at a time, showing progress. One batch
/// is written while the next is being read, so parsing and the database work side by side.
pub struct Batcher {
    store: Arc<dyn Store>,
    batch: Vec<ImportedRequest>,
    in_flight: Option<JoinHandle<okno_store::Result<ImportCounts>>>,
    report: ImportReport,
    started: Instant,
    next_progress: u64,
}

impl Batcher {
    /// A batcher for the import named `source`.
    pub fn new(store: Arc<dyn Store>, source: impl Into<String>) -> Self {
        Batcher {
            store,
            batch: Vec::with_capacity(BATCH_SIZE),
            in_flight: None,
            report: ImportReport { source: source.into(), ..Default::default() },
            started: Instant::now(),
            next_progress: 10_000,
        }
    }

    /// Counts a row read and returns it, or records it as bad if it is not a CSV row.
    pub fn record(&mut self, row: Result<std::result::Result<csv::StringRecord, BadRow>>) -> Result<Option<csv::StringRecord>> {
        self.row();
        Ok(match row? {
            Ok(record) => Some(record),
            Err(bad) => {
                self.report.bad_rows.push(bad);
                None
            }
        })
    }

    /// Counts a row read.
    pub fn row(&mut self) {
        self.report.rows += 1;
        if self.report.rows >= self.next_progress {
            self.next_progress += 10_000;
            tracing::info!(source = %self.report.source, rows = self.report.rows, rows_per_s = (self.report.rows as f64 / self.started.elapsed().as_secs_f64()) as u64, "importing");
        }
    }

    /// Records a refused row.
    pub fn bad(&mut self, line: u64, reason: impl Into<String>) {
        self.report.bad_rows.push(BadRow { line, reason: reason.into() });
    }

    /// Adds the request read from `line`, storing the batch when it is full. Its texts lose
    /// their control characters ([`okno_core::NewRequest::remove_control_chars`]); one beyond
    /// the limits intake applies ([`okno_core::NewRequest::check_limits`]) is refused as a bad row.
    pub async fn push(&mut self, line: u64, mut item: ImportedRequest) -> Result<()> {
        item.request.remove_control_chars();
        item.events.iter_mut().filter_map(|e| e.text.as_mut()).chain(item.last_answer.as_mut()).for_each(okno_core::request::strip_control_chars);
        if let Err(e) = item.request.check_limits() {
            let id = item.request.source_id.as_deref().unwrap_or("?");
            self.bad(line, format!("request {id}: {e}"));
            return Ok(());
        }
        self.batch.push(item);
        if self.batch.len() >= BATCH_SIZE {
            self.flush().await?;
        }
        Ok(())
    }

    /// Waits for the batch being written, if any.
    async fn settle(&mut self) -> Result<()> {
        if let Some(writing) = self.in_flight.take() {
            self.report.counts += writing.await.map_err(|e| AppError::Internal(format!("import batch task: {e}")))??;
        }
        Ok(())
    }

    /// Starts writing the collected batch once the previous one is stored.
    async fn flush(&mut self) -> Result<()> {
        self.settle().await?;
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_SIZE));
            let store = self.store.clone();
            self.in_flight = Some(tokio::spawn(async move { store.import_batch(&batch).await }));
        }
        Ok(())
    }

    /// Stores what is left and returns the report.
    pub async fn finish(mut self) -> Result<ImportReport> {
        self.flush().await?;
        self.settle().await?;
        self.report.elapsed = self.started.elapsed();
        Ok(self.report)
    }
}

/// The 1-based line where a CSV record starts.
pub fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}
