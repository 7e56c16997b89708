//! Systemic problems: many requests that are really one cause (a roof leaking over a whole
//! block, a yard where rubbish is never collected), found as clusters of requests of one topic
//! that lie close together, say alike things and keep coming over several days.
//!
//! Clustering is density-based (DBSCAN): two requests are neighbours when they are within
//! [`ProblemRules::radius_m`] of each other and their texts' trigram similarity reaches
//! [`ProblemRules::min_similarity`]; a request with at least [`ProblemRules::min_neighbours`]
//! neighbours (itself included) is a core, and a cluster is every request reachable through
//! cores. A cluster becomes a proposal when it has [`ProblemRules::min_members`] requests filed
//! on [`ProblemRules::min_days`] different days: a burst on one day is what spike alerts and
//! duplicate merging are for. A cluster spread wider than [`ProblemRules::max_radius_m`]
//! (chaining through a dense district) is clustered again with half the radius.
//!
//! Operators then accept a proposal (naming it and giving it an owner), dismiss it, or close
//! it once its cause is fixed; new matching requests attach to the open ones.

use crate::ids::{AgencyCode, ProblemId, RequestId, TerritoryCode};
use crate::duplicates::{distance_m, Trigrams};
use crate::request::{string_enum, Coordinates, Request};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// How requests are clustered into systemic problems.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProblemRules {
    /// Neighbours lie at most this many metres apart.
    pub radius_m: f64,
    /// Neighbours' texts are at least this alike (trigram Jaccard, 0–1).
    pub min_similarity: f64,
    /// Requests (itself included) a request needs within reach to be a cluster's core.
    pub min_neighbours: usize,
    /// Requests a cluster needs to be proposed.
    pub min_members: usize,
    /// Different days its requests must have been filed on.
    pub min_days: usize,
    /// A cluster wider than this (from its centre) is split by clustering it again more tightly.
    pub max_radius_m: f64,
    /// Days of requests a scan looks at, back from now.
    pub days: i64,
}

impl Default for ProblemRules {
    fn default() -> Self {
        ProblemRules { radius_m: 250.0, min_similarity: 0.2, min_neighbours: 3, min_members: 5, min_days: 3, max_radius_m: 1_000.0, days: 90 }
    }
}

impl ProblemRules {
    /// The rules, or what is wrong with them.
    pub fn validated(self) -> Result<Self, String> {
        if !(10.0..=5_000.0).contains(&self.radius_m) {
            return Err(format!("radius_m must be 10 to 5000, not {}", self.radius_m));
        }
        if !(0.0..=1.0).contains(&self.min_similarity) {
            return Err(format!("min_similarity must be 0 to 1, not {}", self.min_similarity));
        }
        if !(2..=1_000).contains(&self.min_neighbours) || !(2..=100_000).contains(&self.min_members) {
            return Err("min_neighbours must be 2 to 1000 and min_members 2 to 100000".into());
        }
        if !(1..=366).contains(&self.min_days) || !(1..=3_660).contains(&self.days) {
            return Err("min_days must be 1 to 366 and days 1 to 3660".into());
        }
        if self.max_radius_m < self.radius_m {
            return Err(format!("max_radius_m ({}) must not be below radius_m ({})", self.max_radius_m, self.radius_m));
        }
        Ok(self)
    }
}

string_enum! {
    /// Where operators have taken a systemic problem.
    ProblemState {
        /// Found by a scan, not yet looked at.
        Proposed = "proposed",
        /// Confirmed: named, with an owner; new matching requests keep attaching.
        Accepted = "accepted",
        /// Not one problem after all; its requests are not proposed again.
        Dismissed = "dismissed",
        /// The cause was fixed; requests after this are a new problem.
        Closed = "closed",
    }
}

impl ProblemState {
    /// Whether new matching requests attach to it.
    pub fn is_open(self) -> bool {
        matches!(self, ProblemState::Proposed | ProblemState::Accepted)
    }
}

/// What clustering needs of a request.
#[derive(Debug, Clone)]
pub struct Member {
    /// Request id.
    pub id: RequestId,
    /// The topic it is counted under: its category, or its service when it has none.
    pub topic: String,
    /// Filed.
    pub at: DateTime<Utc>,
    /// Where.
    pub point: Coordinates,
    /// Its text (or, when it has none, its second-level topic), as trigrams.
    pub grams: Trigrams,
    /// The text itself, to show as a problem's sample.
    pub text: String,
    /// Territory code.
    pub territory: Option<TerritoryCode>,
    /// Agency code.
    pub agency: Option<AgencyCode>,
}

impl Member {
    /// The request as a cluster member, when it has a point.
    pub fn of(r: &Request) -> Option<Member> {
        let text = if r.text.trim().is_empty() { r.reason.clone().unwrap_or_default() } else { r.text.clone() };
        Some(Member {
            id: r.id,
            topic: topic_of(r).to_owned(),
            at: r.created_at,
            point: r.coordinates?,
            grams: Trigrams::of(&text),
            text,
            territory: r.territory.clone(),
            agency: r.agency.clone(),
        })
    }
}

/// The topic a request is clustered under: its category, or its service when it has none.
pub fn topic_of(r: &Request) -> &str {
    r.category.as_deref().unwrap_or(&r.service_code)
}

/// What a cluster of requests looks like: its topic, place, extent, wording and span.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClusterSummary {
    /// Topic.
    pub topic: String,
    /// The territory most of its requests lie in.
    pub territory: Option<TerritoryCode>,
    /// The agency most of its requests went to.
    pub agency: Option<AgencyCode>,
    /// Mean point of its requests.
    pub centre: Coordinates,
    /// Distance from the centre to the farthest request, metres.
    pub radius_m: f64,
    /// The text most like the others: what the requests say.
    pub sample_text: String,
    /// First request filed.
    pub first_at: DateTime<Utc>,
    /// Latest request filed.
    pub last_at: DateTime<Utc>,
}

/// A cluster as a scan found it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProblemDraft {
    /// What it looks like.
    #[serde(flatten)]
    pub summary: ClusterSummary,
    /// Request ids, ascending.
    pub members: Vec<RequestId>,
}

/// A stored systemic problem.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// Its number.
    pub id: ProblemId,
    /// Where operators have taken it.
    pub state: ProblemState,
    /// Its name, given on acceptance.
    pub title: Option<String>,
    /// The agency that owns fixing it.
    pub owner: Option<AgencyCode>,
    /// What its requests look like, as last scanned (the span also as requests attached).
    #[serde(flatten)]
    pub summary: ClusterSummary,
    /// How many requests belong to it.
    pub members: i64,
    /// When a scan first proposed it.
    pub detected_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who last changed its state.
    pub handled_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// Which problems to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProblemFilter {
    /// Only these states (all when empty).
    pub states: Vec<ProblemState>,
    /// Only this topic.
    pub topic: Option<String>,
    /// Only those owned by this agency.
    pub owner: Option<AgencyCode>,
    /// Only ids below this (paging).
    pub before_id: Option<ProblemId>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// An operator's change of a problem: its new state, and the name, owner and note when given
/// (those not given stay as they were).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemUpdate {
    /// New state.
    pub state: ProblemState,
    /// Its name.
    pub title: Option<String>,
    /// Agency code of its owner.
    pub owner: Option<AgencyCode>,
    /// What was done or decided.
    pub note: Option<String>,
}

/// What a scan does to the stored problems.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemChange {
    /// A new proposal.
    Create(ProblemDraft),
    /// New requests of an existing problem; `draft` is the cluster as now found (its extent),
    /// `draft.members` only the requests not yet linked.
    Extend {
        /// The problem.
        problem: ProblemId,
        /// The cluster now.
        draft: ProblemDraft,
    },
}

/// A request's link to a problem: the problem and its state.
pub type Link = (ProblemId, ProblemState);

/// Cells of a grid about `radius_m` wide, for finding neighbours without comparing every pair.
fn cell(point: Coordinates, radius_m: f64) -> (i64, i64) {
    let dlat = radius_m / 111_320.0;
    let dlon = radius_m / (111_320.0 * point.lat.to_radians().cos().max(0.01));
    ((point.lat / dlat).floor() as i64, (point.lon / dlon).floor() as i64)
}

/// DBSCAN over `members` (one topic): the clusters as lists of indices into `members`.
fn dbscan(members: &[&Member], radius_m: f64, min_similarity: f64, min_neighbours: usize) -> Vec<Vec<usize>> {
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        grid.entry(cell(m.point, radius_m)).or_default().push(i);
    }
    let neighbours = |i: usize| -> Vec<usize> {
        let (r, c) = cell(members[i].point, radius_m);
        let mut found = Vec::new();
        for dr in -1..=1 {
            for dc in -1..=1 {
                for &j in grid.get(&(r + dr, c + dc)).into_iter().flatten() {
                    if j == i
                        || (distance_m(members[i].point, members[j].point) <= radius_m
                            && members[i].grams.similarity(&members[j].grams) >= min_similarity)
                    {
                        found.push(j);
                    }
                }
            }
        }
        found
    };
    let mut label: Vec<Option<usize>> = vec![None; members.len()];
    let mut visited = vec![false; members.len()];
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for start in 0..members.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let reach = neighbours(start);
        if reach.len() < min_neighbours {
            continue;
        }
        let id = clusters.len();
        clusters.push(vec![start]);
        label[start] = Some(id);
        let mut frontier = reach;
        while let Some(j) = frontier.pop() {
            if label[j].is_none() {
                label[j] = Some(id);
                clusters[id].push(j);
            }
            if !visited[j] {
                visited[j] = true;
                let more = neighbours(j);
                if more.len() >= min_neighbours {
                    frontier.extend(more.into_iter().filter(|&k| label[k].is_none() || !visited[k]));
                }
            }
        }
    }
    clusters
}

/// The most common of some values (ties: the smallest).
fn most_common<'a, T: Ord + Clone + 'a>(values: impl Iterator<Item = Option<&'a T>>) -> Option<T> {
    let mut counts: BTreeMap<&T, usize> = BTreeMap::new();
    for v in values.flatten() {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))).map(|(v, _)| v.clone())
}

/// The mean point of some members (at least one) and the distance from it to the farthest.
fn centre_and_radius(members: &[&Member]) -> (Coordinates, f64) {
    let n = members.len().max(1) as f64;
    let centre = Coordinates {
        lat: members.iter().map(|m| m.point.lat).sum::<f64>() / n,
        lon: members.iter().map(|m| m.point.lon).sum::<f64>() / n,
    };
    (centre, members.iter().map(|m| distance_m(centre, m.point)).fold(0.0, f64::max))
}

/// Sums up a cluster's members (at least one) as a draft.
pub fn summarize(members: &[&Member]) -> ProblemDraft {
    let (centre, radius_m) = centre_and_radius(members);
    // The sample: the text with the highest summed similarity to the others (of the latest 200).
    let mut recent: Vec<&&Member> = members.iter().collect();
    recent.sort_by_key(|m| std::cmp::Reverse(m.at));
    recent.truncate(200);
    let sample = recent
        .iter()
        .map(|m| (m, recent.iter().map(|o| m.grams.similarity(&o.grams)).sum::<f64>()))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.id.cmp(&a.0.id)))
        .map(|(m, _)| m.text.clone())
        .unwrap_or_default();
    let mut ids: Vec<RequestId> = members.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    ProblemDraft {
        summary: ClusterSummary {
            topic: members.first().map(|m| m.topic.clone()).unwrap_or_default(),
            territory: most_common(members.iter().map(|m| m.territory.as_ref())),
            agency: most_common(members.iter().map(|m| m.agency.as_ref())),
            centre,
            radius_m,
            sample_text: sample,
            first_at: members.iter().map(|m| m.at).min().unwrap_or_default(),
            last_at: members.iter().map(|m| m.at).max().unwrap_or_default(),
        },
        members: ids,
    }
}

/// Whether a cluster is big and lasting enough to propose.
fn qualifies(members: &[&Member], rules: &ProblemRules, zone: chrono_tz::Tz) -> bool {
    let days: HashSet<chrono::NaiveDate> = members.iter().map(|m| m.at.with_timezone(&zone).date_naive()).collect();
    members.len() >= rules.min_members && days.len() >= rules.min_days
}

/// Clusters one topic's members, splitting clusters wider than the rules allow (at most three
/// times, halving the radius each time).
fn clusters_of<'m>(members: &[&'m Member], rules: &ProblemRules, radius_m: f64, depth: u32) -> Vec<Vec<&'m Member>> {
    let mut out = Vec::new();
    for cluster in dbscan(members, radius_m, rules.min_similarity, rules.min_neighbours) {
        let cluster: Vec<&Member> = cluster.into_iter().map(|i| members[i]).collect();
        if centre_and_radius(&cluster).1 > rules.max_radius_m && depth < 3 {
            out.extend(clusters_of(&cluster, rules, radius_m / 2.0, depth + 1));
        } else {
            out.push(cluster);
        }
    }
    out
}

/// The clusters among `members` that qualify as systemic problems (days counted in `zone`),
/// largest first.
pub fn find(members: &[Member], rules: &ProblemRules, zone: chrono_tz::Tz) -> Vec<ProblemDraft> {
    let mut by_topic: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
    for m in members {
        by_topic.entry(m.topic.as_str()).or_default().push(m);
    }
    let mut found: Vec<ProblemDraft> = by_topic
        .values()
        .flat_map(|group| clusters_of(group, rules, rules.radius_m, 0))
        .filter(|c| qualifies(c, rules, zone))
        .map(|c| summarize(&c))
        .collect();
    found.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.summary.first_at.cmp(&b.summary.first_at)));
    found
}

/// What to store for the clusters a scan found, given the problems their requests already
/// belong to (`links`, by request id): a cluster overlapping an open or dismissed problem adds
/// its new requests to it (a dismissed one takes them silently, so it is not proposed again);
/// otherwise (no problem, or only closed ones: the cause came back) its unlinked requests
/// are a new proposal if they alone still qualify.
pub fn reconcile(drafts: &[ProblemDraft], members: &[Member], links: &HashMap<RequestId, Link>, rules: &ProblemRules, zone: chrono_tz::Tz) -> Vec<ProblemChange> {
    let by_id: HashMap<RequestId, &Member> = members.iter().map(|m| (m.id, m)).collect();
    let mut changes = Vec::new();
    for draft in drafts {
        let mut overlap: BTreeMap<ProblemId, usize> = BTreeMap::new();
        for (problem, state) in draft.members.iter().filter_map(|id| links.get(id)) {
            if *state != ProblemState::Closed {
                *overlap.entry(*problem).or_default() += 1;
            }
        }
        let fresh: Vec<&Member> = draft.members.iter().filter(|id| !links.contains_key(id)).filter_map(|id| by_id.get(id).copied()).collect();
        if let Some((&problem, _)) = overlap.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) {
            if !fresh.is_empty() {
                let mut extended = draft.clone();
                extended.members = fresh.iter().map(|m| m.id).collect();
                changes.push(ProblemChange::Extend { problem, draft: extended });
            }
        } else if qualifies(&fresh, rules, zone) {
            changes.push(ProblemChange::Create(summarize(&fresh)));
        }
    }
    changes
}

/// How well a new request matches an open problem: its text similarity to the problem's sample,
/// when it is of the problem's topic, lies within the problem's extent plus the rules' radius and
/// says something alike enough; `None` otherwise.
pub fn match_score(problem: &Problem, member: &Member, rules: &ProblemRules) -> Option<f64> {
    let found = &problem.summary;
    if !problem.state.is_open() || found.topic != member.topic {
        return None;
    }
    if distance_m(found.centre, member.point) > found.radius_m + rules.radius_m {
        return None;
    }
    let similarity = Trigrams::of(&found.sample_text).similarity(&member.grams);
    (similarity >= rules.min_similarity).then_some(similarity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const ZONE: chrono_tz::Tz = chrono_tz::Europe::Moscow;

    fn member(id: i64, topic: &str, day: i64, lat: f64, lon: f64, text: &str) -> Member {
        Member {
            id: RequestId(id),
            topic: topic.into(),
            at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::days(day) + Duration::minutes(id),
            point: Coordinates { lat, lon },
            grams: Trigrams::of(text),
            text: text.into(),
            territory: Some("central".into()),
            agency: Some("housing".into()),
        }
    }

    /// A deterministic scatter: requests of many topics and texts spread over the city.
    fn background(n: i64) -> Vec<Member> {
        let texts = ["Не горит фонарь", "Мусор на газоне", "Яма на тротуаре", "Сломана скамейка", "Не вывезен снег", "Шум от стройки ночью"];
        (0..n)
            .map(|i| {
                let x = ((i * 7919) % 1000) as f64 / 1000.0;
                let y = ((i * 104_729) % 1000) as f64 / 1000.0;
                member(10_000 + i, ["yard", "roads", "light"][(i % 3) as usize], i % 60, 59.85 + 0.2 * x, 30.2 + 0.3 * y, texts[(i % 6) as usize])
            })
            .collect()
    }

    /// A leaking roof: 8 requests within ~60 m over 4 weeks, worded differently.
    fn roof() -> Vec<Member> {
        let texts = [
            "Протекает крыша в подъезде, вода течёт по стенам",
            "Течёт крыша, в подъезде вода",
            "Протечка кровли над подъездом",
            "После дождя снова протекает крыша",
            "Крыша протекает, мокрые стены в подъезде",
            "Протекает кровля, вода в подъезде",
            "Снова течёт крыша над квартирой",
            "Протекает крыша дома",
        ];
        texts.iter().enumerate().map(|(i, t)| member(i as i64 + 1, "housing", 3 * i as i64, 59.9400 + 0.0001 * i as f64, 30.3000 + 0.0001 * (i % 3) as f64, t)).collect()
    }

    #[test]
    fn a_lasting_cluster_is_found_and_scattered_requests_are_not() {
        let mut all = background(3_000);
        all.extend(roof());
        let found = find(&all, &ProblemRules::default(), ZONE);
        assert_eq!(found.len(), 1, "{found:#?}");
        let p = &found[0];
        assert_eq!((p.summary.topic.as_str(), p.members.clone()), ("housing", (1..=8).map(RequestId).collect::<Vec<_>>()));
        assert!(p.summary.radius_m < 100.0 && p.summary.sample_text.contains("крыш"), "{p:?}");
        assert_eq!((p.summary.territory.as_deref(), p.summary.agency.as_deref()), (Some("central"), Some("housing")));
    }

    #[test]
    fn a_burst_on_one_day_or_a_different_topic_is_not_a_systemic_problem() {
        let mut burst = roof();
        burst.iter_mut().for_each(|m| m.at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(m.id.0));
        assert!(find(&burst, &ProblemRules::default(), ZONE).is_empty(), "one day: a spike, not a lasting problem");
        let mut mixed = roof();
        mixed.iter_mut().enumerate().for_each(|(i, m)| m.topic = ["housing", "roads"][i % 2].into());
        assert!(find(&mixed, &ProblemRules::default(), ZONE).is_empty(), "four of each topic are too few");
    }

    #[test]
    fn reconcile_extends_open_and_dismissed_problems_and_reproposes_after_closing() {
        let rules = ProblemRules::default();
        let members = roof();
        let drafts = find(&members, &rules, ZONE);
        let fresh = reconcile(&drafts, &members, &HashMap::new(), &rules, ZONE);
        assert!(matches!(&fresh[..], [ProblemChange::Create(d)] if d.members.len() == 8));
        let mut links: HashMap<RequestId, Link> = (1..=6).map(|id| (RequestId(id), (ProblemId(40), ProblemState::Accepted))).collect();
        let extended = reconcile(&drafts, &members, &links, &rules, ZONE);
        assert!(matches!(&extended[..], [ProblemChange::Extend { problem: ProblemId(40), draft }] if draft.members == [RequestId(7), RequestId(8)]), "{extended:?}");
        links.extend([(RequestId(7), (ProblemId(40), ProblemState::Accepted)), (RequestId(8), (ProblemId(40), ProblemState::Accepted))]);
        assert!(reconcile(&drafts, &members, &links, &rules, ZONE).is_empty(), "nothing new");
        links.values_mut().for_each(|l| l.1 = ProblemState::Dismissed);
        assert!(reconcile(&drafts, &members, &links, &rules, ZONE).is_empty(), "a dismissed problem is not proposed again");
        let closed: HashMap<RequestId, Link> = (1..=3).map(|id| (RequestId(id), (ProblemId(40), ProblemState::Closed))).collect();
        let back = reconcile(&drafts, &members, &closed, &rules, ZONE);
        assert!(matches!(&back[..], [ProblemChange::Create(d)] if d.members == (4..=8).map(RequestId).collect::<Vec<_>>()), "the cause came back: {back:?}");
    }

    #[test]
    fn a_new_request_matches_an_open_problem_near_it_saying_the_same() {
        let rules = ProblemRules::default();
        let draft = find(&roof(), &rules, ZONE).remove(0);
        let at = draft.summary.last_at;
        let problem = Problem {
            id: ProblemId(1), state: ProblemState::Accepted, title: None, owner: None, summary: draft.summary,
            members: 8, detected_at: at, updated_at: at, handled_by: None, note: None,
        };
        let same = member(100, "housing", 40, 59.9402, 30.3001, "Опять протекает крыша в подъезде");
        assert!(match_score(&problem, &same, &rules).is_some());
        let far = member(101, "housing", 40, 59.96, 30.3001, "Опять протекает крыша в подъезде");
        let other_text = member(102, "housing", 40, 59.9402, 30.3001, "Не работает домофон");
        let other_topic = member(103, "roads", 40, 59.9402, 30.3001, "Опять протекает крыша в подъезде");
        assert!([far, other_text, other_topic].iter().all(|m| match_score(&problem, m, &rules).is_none()));
        let closed = Problem { state: ProblemState::Closed, ..problem };
        assert!(match_score(&closed, &same, &rules).is_none());
    }

    #[test]
    fn rules_out_of_range_are_refused() {
        assert!(ProblemRules { radius_m: 0.0, ..Default::default() }.validated().is_err());
        assert!(ProblemRules { min_similarity: 1.5, ..Default::default() }.validated().is_err());
        assert!(ProblemRules { max_radius_m: 100.0, ..Default::default() }.validated().is_err());
        assert!(ProblemRules::default().validated().is_ok());
    }
}
