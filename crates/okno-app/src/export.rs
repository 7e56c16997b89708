//! Exports without personal data: no contacts, no tracking tokens, no attachments, and the
//! phone numbers, e-mail addresses and names typed into requests' texts masked
//! ([`okno_core::privacy`]). Training data for `okno train` keeps the texts whole: it is the
//! center's own, and the model learns from what citizens actually write.

use crate::error::Result;
use okno_core::catalog::{name_of_kind, territory_chain};
use okno_core::triage::{Decider, PredictionRecord};
use okno_core::{Request, RequestFilter};
use okno_store::Store;
use serde::Serialize;
use std::io::Write;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    /// `csv` or `jsonl`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            other => Err(format!("unknown export format {other:?}: csv or jsonl")),
        }
    }
}

/// Requests read per page while exporting.
const PAGE: u32 = 5_000;

/// One exported request.
#[derive(Debug, Serialize)]
struct ExportedRequest<'a> {
    id: i64,
    service_code: &'a str,
    channel: &'a str,
    source_system: Option<&'a str>,
    source_id: Option<&'a str>,
    status: &'a str,
    open311_status: &'static str,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    due_at: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    address: Option<std::borrow::Cow<'a, str>>,
    territory: Option<&'a str>,
    agency: Option<&'a str>,
    category: Option<&'a str>,
    reason: Option<&'a str>,
    rating: Option<i16>,
    text: std::borrow::Cow<'a, str>,
}

impl<'a> From<&'a Request> for ExportedRequest<'a> {
    fn from(r: &'a Request) -> Self {
        ExportedRequest {
            id: r.id.0,
            service_code: &r.service_code,
            channel: r.channel.as_str(),
            source_system: r.source_system.as_deref(),
            source_id: r.source_id.as_deref(),
            status: r.status.as_str(),
            open311_status: match r.status.open311() {
                okno_core::Open311Status::Open => "open",
                okno_core::Open311Status::Closed => "closed",
            },
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
            closed_at: r.closed_at.map(|t| t.to_rfc3339()),
            due_at: r.due_at.map(|t| t.to_rfc3339()),
            lat: r.coordinates.map(|c| c.lat),
            lon: r.coordinates.map(|c| c.lon),
            address: r.address.as_deref().map(okno_core::privacy::mask_personal_data),
            territory: r.territory.as_deref(),
            agency: r.agency.as_deref(),
            category: r.category.as_deref(),
            reason: r.reason.as_deref(),
            rating: r.rating,
            text: okno_core::privacy::mask_personal_data(&r.text),
        }
    }
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(W),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, row: &ExportedRequest<'_>) -> Result<()> {
        match self {
            Sink::Csv(w) => w.serialize(row)?,
            Sink::Jsonl(w) => {
                serde_json::to_writer(&mut *w, row)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Sink::Csv(w) => w.flush()?,
            Sink::Jsonl(w) => w.flush()?,
        }
        Ok(())
    }
}

/// Writes every request, newest first, and returns how many were written.
pub async fn requests(store: &dyn Store, format: ExportFormat, out: impl Write) -> Result<u64> {
    let mut sink = match format {
        ExportFormat::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
        ExportFormat::Jsonl => Sink::Jsonl(out),
    };
    let mut written = 0u64;
    let mut filter = RequestFilter { limit: PAGE, ..Default::default() };
    loop {
        let page = store.list_requests(&filter).await?;
        for r in &page {
            sink.write(&ExportedRequest::from(r))?;
        }
        written += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == PAGE as usize => filter.before_id = Some(last.id),
            _ => break,
        }
    }
    sink.flush()?;
    Ok(written)
}

/// One labelled request for `okno train`.
#[derive(Debug, Serialize)]
struct TrainingRow<'a> {
    id: i64,
    created_at: String,
    text: &'a str,
    category: &'a str,
    reason: &'a str,
    agency: &'a str,
    district: &'a str,
    municipality: &'a str,
    labelled_by: &'static str,
}

/// Who gave a request its labels: an operator who routed or reclassified it, else who decided
/// at intake (`citizen`, `rule`, `model`), else `import` or `intake` for requests filed before
/// triage existed. `None`: still an unconfirmed guess, not training data.
fn labelled_by(request: &Request, prediction: Option<&PredictionRecord>) -> Option<&'static str> {
    let Some(p) = prediction else {
        return Some(if request.source_system.is_some() { "import" } else { "intake" });
    };
    if p.corrected_at.is_some() {
        return Some("operator");
    }
    Some(p.prediction.service_by.as_str()).filter(|_| p.prediction.service_by != Decider::Triage)
}

/// Writes labelled requests as CSV for `okno train` (id, created_at, text, category = the
/// service's group, reason = the service code, agency code, district and municipality names,
/// labelled_by), oldest first; requests whose service is still an unconfirmed guess are left
/// out, and with `operator_only` everything but operators' corrections. Returns the rows written.
pub async fn training(store: &dyn Store, operator_only: bool, out: impl Write) -> Result<u64> {
    let services = store.services().await?;
    let territories = store.territories().await?;
    let group_of = |code: &str| services.iter().find(|s| s.code == code).map_or("", |s| s.group.as_str());
    let mut writer = csv::Writer::from_writer(out);
    let (mut after, mut written) = (0i64, 0u64);
    loop {
        let page = store.requests_with_predictions(after, PAGE).await?;
        for (r, p) in &page {
            let Some(by) = labelled_by(r, p.as_ref()).filter(|by| !operator_only || *by == "operator") else { continue };
            let chain = territory_chain(&territories, r.territory.as_deref());
            writer.serialize(TrainingRow {
                id: r.id.0,
                created_at: r.created_at.to_rfc3339(),
                text: &r.text,
                category: group_of(&r.service_code),
                reason: &r.service_code,
                agency: r.agency.as_deref().unwrap_or(""),
                district: name_of_kind(&chain, "district"),
                municipality: name_of_kind(&chain, "municipality"),
                labelled_by: by,
            })?;
            written += 1;
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE as usize => after = last.id.0,
            _ => break,
        }
    }
    writer.flush()?;
    Ok(written)
}
