//! Scorecards: how an agency or a territory handles its requests over a period, and the
//! league table that ranks them — never on fewer requests than a configured minimum, since
//! small counts mislead.
//!
//! Definitions (for requests submitted in the period):
//! - *received*: requests submitted; *closed*: those finished (closed, rejected, duplicate);
//! - *on time*: of those with a deadline, answered (first interim or final answer) by it;
//!   unanswered requests count as late once their deadline has passed and are left out before;
//! - *time to first answer* and *to closure*: working days from submission, median and 90th
//!   percentile, on the working calendar;
//! - *overdue now*: still awaiting the agency with the deadline passed;
//! - *reopened share*: requests reopened at least once; *average rating*: of the rated.

use crate::deadline::DeadlineConfig;
use crate::lifecycle::Status;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One request, as much of it as a scorecard needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The agency or territory it counts for (`None`: unassigned).
    pub key: Option<String>,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// First answer (interim or final).
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Finished.
    pub closed_at: Option<DateTime<Utc>>,
    /// Answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// Current status.
    pub status: Status,
    /// Citizen's rating.
    pub rating: Option<i16>,
    /// Reopened at least once.
    pub reopened: bool,
}

/// One body's scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Scorecard {
    /// Agency or territory code (`-` for unassigned requests).
    pub key: String,
    /// Requests submitted in the period.
    pub received: u64,
    /// Of them, finished.
    pub closed: u64,
    /// Share answered by the deadline, of those whose deadline has passed or that were answered.
    pub on_time_share: Option<f64>,
    /// Median working days to the first answer.
    pub first_answer_days_median: Option<f64>,
    /// 90th percentile of working days to the first answer.
    pub first_answer_days_p90: Option<f64>,
    /// Median working days to closure.
    pub closure_days_median: Option<f64>,
    /// 90th percentile of working days to closure.
    pub closure_days_p90: Option<f64>,
    /// Awaiting the agency with the deadline passed, now.
    pub overdue_now: u64,
    /// Share reopened at least once.
    pub reopened_share: Option<f64>,
    /// Average rating, 1–5.
    pub average_rating: Option<f64>,
    /// Place in the league table; `None` when there are too few requests to rank.
    pub rank: Option<u32>,
}

/// The value at quantile `q` (0–1) of sorted values, by the nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Scorecards by key, ranked: first by on-time share (higher first), then by median time to
/// first answer (shorter first); keys with fewer than `min_requests` received are not ranked.
pub fn scorecards(rows: &[ScoreRow], config: &DeadlineConfig, now: DateTime<Utc>, min_requests: u64) -> Vec<Scorecard> {
    let mut groups: BTreeMap<String, Vec<&ScoreRow>> = BTreeMap::new();
    for row in rows {
        groups.entry(row.key.clone().unwrap_or_else(|| "-".to_owned())).or_default().push(row);
    }
    let mut cards: Vec<Scorecard> = groups
        .into_iter()
        .map(|(key, rows)| {
            let received = rows.len() as u64;
            let closed = rows.iter().filter(|r| r.status.is_final()).count() as u64;
            let (mut on_time, mut judged) = (0u64, 0u64);
            for r in &rows {
                let Some(due) = r.due_at else { continue };
                match r.first_answer_at {
                    Some(answered) => {
                        judged += 1;
                        on_time += u64::from(answered <= due);
                    }
                    None if due < now => judged += 1,
                    None => {}
                }
            }
            let mut first: Vec<f64> = rows.iter().filter_map(|r| r.first_answer_at.map(|a| config.working_days_between(r.created_at, a))).collect();
            let mut closure: Vec<f64> = rows.iter().filter_map(|r| r.closed_at.map(|c| config.working_days_between(r.created_at, c))).collect();
            first.sort_by(f64::total_cmp);
            closure.sort_by(f64::total_cmp);
            let ratings: Vec<f64> = rows.iter().filter_map(|r| r.rating.map(f64::from)).collect();
            Scorecard {
                key,
                received,
                closed,
                on_time_share: share(on_time, judged),
                first_answer_days_median: quantile(&first, 0.5),
                first_answer_days_p90: quantile(&first, 0.9),
                closure_days_median: quantile(&closure, 0.5),
                closure_days_p90: quantile(&closure, 0.9),
                overdue_now: rows.iter().filter(|r| r.status.awaits_agency() && r.due_at.is_some_and(|d| d < now)).count() as u64,
                reopened_share: share(rows.iter().filter(|r| r.reopened).count() as u64, received),
                average_rating: (!ratings.is_empty()).then(|| ratings.iter().sum::<f64>() / ratings.len() as f64),
                rank: None,
            }
        })
        .collect();
    cards.sort_by(|a, b| {
        let rankable = |c: &Scorecard| c.received >= min_requests;
        rankable(b)
            .cmp(&rankable(a))
            .then(b.on_time_share.unwrap_or(-1.0).total_cmp(&a.on_time_share.unwrap_or(-1.0)))
            .then(a.first_answer_days_median.unwrap_or(f64::MAX).total_cmp(&b.first_answer_days_median.unwrap_or(f64::MAX)))
            .then(a.key.cmp(&b.key))
    });
    for (i, card) in cards.iter_mut().enumerate() {
        if card.received >= min_requests {
            card.rank = Some(i as u32 + 1);
        }
    }
    cards
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn row(key: &str, answered: Option<&str>, due: &str, status: Status) -> ScoreRow {
        ScoreRow {
            key: Some(key.into()), created_at: at("2021-03-01T10:00:00+03:00"), first_answer_at: answered.map(at),
            closed_at: if status.is_final() { answered.map(at) } else { None }, due_at: Some(at(due)), status,
            rating: Some(4), reopened: false,
        }
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!((quantile(&v, 0.5), quantile(&v, 0.9)), (Some(5.0), Some(9.0)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn scorecards_count_rank_and_refuse_to_rank_small_counts() {
        let config = DeadlineConfig::shipped();
        let now = at("2021-04-01T12:00:00+03:00");
        let mut rows = vec![
            // roads: 2 of 3 on time; one still open and overdue
            row("roads", Some("2021-03-03T10:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
            row("roads", Some("2021-03-05T10:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
            row("roads", None, "2021-03-10T23:59:59+03:00", Status::InProgress),
            // water: all on time
            row("water", Some("2021-03-02T10:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
            row("water", Some("2021-03-02T10:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
            row("water", Some("2021-03-04T10:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
            // tiny: perfect, but one request only
            row("tiny", Some("2021-03-01T11:00:00+03:00"), "2021-03-10T23:59:59+03:00", Status::Closed),
        ];
        rows[2].reopened = true;
        let cards = scorecards(&rows, &config, now, 3);
        let keys: Vec<(&str, Option<u32>)> = cards.iter().map(|c| (c.key.as_str(), c.rank)).collect();
        assert_eq!(keys, [("water", Some(1)), ("roads", Some(2)), ("tiny", None)]);
        let roads = &cards[1];
        assert_eq!((roads.received, roads.closed, roads.overdue_now), (3, 2, 1));
        assert!((roads.on_time_share.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(roads.first_answer_days_median, Some(2.0), "Mon 1 → Wed 3 March: 2 working days");
        assert!((roads.reopened_share.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(roads.average_rating, Some(4.0));
    }
}
