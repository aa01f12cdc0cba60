//! The paged order search, `GET /accounts/{n}/orders` (reference §2.6):
//! its query (kebab-case keys, array keys with brackets that the Python SDK
//! percent-encodes), its filters and its `pagination` block, which the
//! Python SDK walks with `page-offset` until `total-pages - 1`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use mbt::Timestamp;

use super::auth::DATED_SEARCH_VERSION;
use super::errors::TastytradeError;
use super::orders;
use super::wire::{Items, Order, Paged, Pagination};
use crate::brokerage::{BrokerOrder, SimBrokerage};

/// The swagger's page size: 100 by default, at most 200.
const DEFAULT_PER_PAGE: usize = 100;
const MAX_PER_PAGE: usize = 200;

/// Every status word tastytrade has (§3), for the `status[]` filter.
const STATUSES: [&str; 13] = [
    "Received",
    "Routed",
    "In Flight",
    "Contingent",
    "Live",
    "Cancel Requested",
    "Replace Requested",
    "Filled",
    "Cancelled",
    "Expired",
    "Rejected",
    "Removed",
    "Partially Removed",
];

/// The query, as pairs (decoded leniently: a bad escape is kept as it is).
#[derive(Debug, Clone, Default)]
pub struct Search(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Search {
    type Rejection = TastytradeError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, TastytradeError> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Search(
            serde_urlencoded::from_str(query).unwrap_or_default(),
        ))
    }
}

/// What the search keeps, in which order, and which page of it.
#[derive(Debug, Clone)]
pub struct Filter {
    statuses: Vec<String>,
    underlying: Option<String>,
    /// `underlying-instrument-type` other than `Equity`: nothing the model holds.
    other_type: bool,
    from_date: Option<NaiveDate>,
    to_date: Option<NaiveDate>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    pub ascending: bool,
    per_page: usize,
    page_offset: usize,
}

impl Search {
    fn all<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key || k.strip_suffix("[]") == Some(key))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn one<'a>(&'a self, key: &str) -> Option<&'a str> {
        self.all(key).next()
    }

    fn count(&self, key: &str, default: usize) -> Result<usize, TastytradeError> {
        match self.one(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| TastytradeError::invalid(key, "is invalid")),
        }
    }

    /// The filter the query asks for, as order-api `version` reads it.
    pub fn filter(&self, version: u32) -> Result<Filter, TastytradeError> {
        let statuses: Vec<String> = self.all("status").map(str::to_string).collect();
        if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
            return Err(TastytradeError::invalid(
                "status",
                format!("{bad:.40} does not have a valid value"),
            ));
        }
        let per_page = self.count("per-page", DEFAULT_PER_PAGE)?;
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(TastytradeError::invalid(
                "per-page",
                "does not have a valid value",
            ));
        }
        let date = |key| {
            self.one(key)
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map_err(|_| TastytradeError::invalid(key, "is invalid"))
                })
                .transpose()
        };
        let time = |key| {
            self.one(key)
                .map(|v| parse_time(v).ok_or_else(|| TastytradeError::invalid(key, "is invalid")))
                .transpose()
        };
        let filter = Filter {
            statuses,
            underlying: self.one("underlying-symbol").map(str::to_string),
            other_type: self
                .one("underlying-instrument-type")
                .is_some_and(|t| t != "Equity")
                || self.one("futures-symbol").is_some(),
            from_date: date("start-date")?,
            to_date: date("end-date")?,
            from: time("start-at")?,
            to: time("end-at")?,
            ascending: self.one("sort") == Some("Asc"),
            per_page,
            page_offset: self.count("page-offset", 0)?,
        };
        if version >= DATED_SEARCH_VERSION && filter.from_date.is_none() && filter.from.is_none() {
            return Err(TastytradeError::invalid(
                "start-date",
                "start-date or start-at is required",
            ));
        }
        Ok(filter)
    }
}

/// An ISO time with an offset or `Z`, or the Python SDK's `str(datetime)`
/// with a space (§6); a time without an offset is UTC.
fn parse_time(v: &str) -> Option<Timestamp> {
    let t = v.trim().replacen(' ', "T", 1);
    DateTime::parse_from_rfc3339(&t)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            DateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f%:z").map(|d| d.with_timezone(&Utc))
        })
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .map(Timestamp::from_datetime)
}

impl Filter {
    pub fn matches(&self, b: &SimBrokerage, o: &BrokerOrder) -> bool {
        if self.other_type {
            return false;
        }
        let at = o.submitted_at;
        let status_ok = self.statuses.is_empty() || {
            let word = orders::status_word(b, o, &b.state(o));
            self.statuses.contains(&word)
        };
        status_ok
            && self
                .underlying
                .as_deref()
                .is_none_or(|u| o.request.instrument.underlying() == u)
            && self.from_date.is_none_or(|d| at.date() >= d)
            && self.to_date.is_none_or(|d| at.date() <= d)
            && self.from.is_none_or(|t| at >= t)
            && self.to.is_none_or(|t| at <= t)
    }
}

/// One page of what the search found, and the block describing it.
pub struct Page<'b> {
    pub items: Vec<&'b BrokerOrder>,
    pub pagination: Pagination,
}

pub fn page<'b>(found: &[&'b BrokerOrder], f: &Filter) -> Page<'b> {
    let total = found.len();
    let item_offset = f.page_offset.saturating_mul(f.per_page);
    let items: Vec<&BrokerOrder> = found
        .iter()
        .skip(item_offset)
        .take(f.per_page)
        .copied()
        .collect();
    Page {
        pagination: Pagination {
            per_page: f.per_page,
            page_offset: f.page_offset,
            item_offset,
            total_items: total,
            total_pages: total.div_ceil(f.per_page),
            current_item_count: items.len(),
            previous_link: None,
            next_link: None,
            paging_link_template: None,
        },
        items,
    }
}

pub fn answer(items: Vec<Order>, pagination: Pagination, context: &str) -> Response {
    (
        StatusCode::OK,
        Json(Paged {
            data: Items { items },
            context: context.to_string(),
            pagination,
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_sdks_query_reads() {
        let q = Search(
            serde_urlencoded::from_str(
                "per-page=50&page-offset=0&start-date=2026-01-01&status%5B%5D=Filled&status%5B%5D=Cancelled",
            )
            .unwrap(),
        );
        let f = q.filter(super::super::auth::OLDEST_VERSION).unwrap();
        assert_eq!(f.statuses, ["Filled", "Cancelled"]);
        assert_eq!((f.per_page, f.page_offset), (50, 0));
        assert!(f.from_date.is_some());
        let bad = Search(vec![("status[]".into(), "filled".into())]);
        assert!(bad.filter(super::super::auth::OLDEST_VERSION).is_err());
        let undated = Search::default();
        assert!(undated.filter(DATED_SEARCH_VERSION).is_err());
        assert!(parse_time("2026-01-01 00:00:00+00:00").is_some());
        assert!(parse_time("2026-01-01T00:00:00Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
