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
//!
//! The database counts ([`ScoreCounts`]); durations are measured here, on the working calendar.

use crate::deadline::DeadlineConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// What the database counts for one agency or territory over a period: everything a
/// scorecard shows except the durations, which only Okno can measure (working days).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreCounts {
    /// Requests submitted.
    pub received: u64,
    /// Of them, finished (closed, rejected, duplicate).
    pub closed: u64,
    /// With a deadline, answered by it.
    pub on_time: u64,
    /// With a deadline, answered or with the deadline passed.
    pub judged: u64,
    /// Awaiting the agency with the deadline passed.
    pub overdue_now: u64,
    /// Reopened at least once.
    pub reopened: u64,
    /// Rated by the citizen.
    pub rated: u64,
    /// Sum of the ratings.
    pub rating_sum: u64,
}

/// When one answered or finished request was submitted, first answered and finished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreTimes {
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// First answer (interim or final).
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Finished.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Everything a scorecard is computed from, for one agency or territory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreGroup {
    /// Agency or territory code (`None`: unassigned requests).
    pub key: Option<String>,
    /// The counts.
    pub counts: ScoreCounts,
    /// The times of its answered or finished requests.
    pub times: Vec<ScoreTimes>,
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
pub fn scorecards(groups: &[ScoreGroup], config: &DeadlineConfig, min_requests: u64) -> Vec<Scorecard> {
    let mut cards: Vec<Scorecard> = groups
        .iter()
        .map(|group| {
            let c = &group.counts;
            let mut first: Vec<f64> = group.times.iter().filter_map(|t| t.first_answer_at.map(|a| config.working_days_between(t.created_at, a))).collect();
            let mut closure: Vec<f64> = group.times.iter().filter_map(|t| t.closed_at.map(|d| config.working_days_between(t.created_at, d))).collect();
            first.sort_by(f64::total_cmp);
            closure.sort_by(f64::total_cmp);
            Scorecard {
                key: group.key.clone().unwrap_or_else(|| "-".to_owned()),
                received: c.received,
                closed: c.closed,
                on_time_share: share(c.on_time, c.judged),
                first_answer_days_median: quantile(&first, 0.5),
                first_answer_days_p90: quantile(&first, 0.9),
                closure_days_median: quantile(&closure, 0.5),
                closure_days_p90: quantile(&closure, 0.9),
                overdue_now: c.overdue_now,
                reopened_share: share(c.reopened, c.received),
                average_rating: share(c.rating_sum, c.rated),
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

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!((quantile(&v, 0.5), quantile(&v, 0.9)), (Some(5.0), Some(9.0)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    /// A group of `received` requests answered at the given times (all on Monday 1 March 2021).
    fn group(key: &str, received: u64, on_time: u64, answered: &[&str]) -> ScoreGroup {
        let created_at = at("2021-03-01T10:00:00+03:00");
        ScoreGroup {
            key: Some(key.into()),
            counts: ScoreCounts { received, closed: answered.len() as u64, on_time, judged: received, rated: 2, rating_sum: 8, ..Default::default() },
            times: answered.iter().map(|a| ScoreTimes { created_at, first_answer_at: Some(at(a)), closed_at: Some(at(a)) }).collect(),
        }
    }

    #[test]
    fn scorecards_measure_rank_and_refuse_to_rank_small_counts() {
        let config = DeadlineConfig::shipped();
        let mut roads = group("roads", 3, 2, &["2021-03-03T10:00:00+03:00", "2021-03-05T10:00:00+03:00"]);
        roads.counts.overdue_now = 1;
        roads.counts.reopened = 1;
        let groups = [
            roads,
            group("water", 3, 3, &["2021-03-02T10:00:00+03:00", "2021-03-02T10:00:00+03:00", "2021-03-04T10:00:00+03:00"]),
            // perfect, but one request only
            group("tiny", 1, 1, &["2021-03-01T11:00:00+03:00"]),
            ScoreGroup { key: None, counts: ScoreCounts { received: 1, ..Default::default() }, times: Vec::new() },
        ];
        let cards = scorecards(&groups, &config, 3);
        let keys: Vec<(&str, Option<u32>)> = cards.iter().map(|c| (c.key.as_str(), c.rank)).collect();
        assert_eq!(keys, [("water", Some(1)), ("roads", Some(2)), ("tiny", None), ("-", None)]);
        let roads = &cards[1];
        assert_eq!((roads.received, roads.closed, roads.overdue_now), (3, 2, 1));
        assert!((roads.on_time_share.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(roads.first_answer_days_median, Some(2.0), "Mon 1 → Wed 3 March: 2 working days");
        assert!((roads.closure_days_p90.unwrap() - 4.0).abs() < 1e-9, "Mon 1 → Fri 5 March: 4 working days");
        assert!((roads.reopened_share.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(roads.average_rating, Some(4.0));
        assert_eq!((cards[3].on_time_share, cards[3].first_answer_days_median, cards[3].average_rating), (None, None, None));
    }
}
