//! Page-number pagination: `page` (from 1) and `page_size` (default 10, at most 100), answered as
//! `{count, next, previous, results}`. Links are absolute under the API's configured public URL,
//! or relative (`/api/v1/...?page=2`) when none is configured; never built from request headers.

use std::collections::HashMap;

use crate::ApiError;

pub const DEFAULT_PAGE_SIZE: u32 = 10;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl PageRequest {
    /// Reads `page` and `page_size` from the query string. A `page_size` above the maximum is
    /// capped (as the original did); a non-numeric or zero value is a 400.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let number = |name: &str| -> Result<Option<u32>, ApiError> {
            match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(ApiError::field(name, "A positive integer is required.")),
                },
            }
        };
        Ok(Self {
            page: number("page")?.unwrap_or(1),
            page_size: number("page_size")?.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE),
        })
    }

    /// Index of the first item of this page.
    pub fn offset(&self) -> usize {
        (self.page as usize - 1) * self.page_size as usize
    }

    /// Cuts this page out of the full, ordered result set. `links` is where this request's page
    /// lives; its query string is kept in the links with `page` replaced.
    pub fn paginate<T>(&self, items: Vec<T>, links: &Links) -> Result<Page<T>, ApiError> {
        let count = items.len();
        let offset = self.offset();
        if offset >= count && self.page > 1 {
            return Err(ApiError::NotFound("Invalid page.".into()));
        }
        let results: Vec<T> = items.into_iter().skip(offset).take(self.page_size as usize).collect();
        let next = (offset + results.len() < count).then(|| links.page(self.page + 1));
        let previous = (self.page > 1).then(|| links.page(self.page - 1));
        Ok(Page { count: count as u64, next, previous, results })
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            count: self.count,
            next: self.next,
            previous: self.previous,
            results: self.results.into_iter().map(f).collect(),
        }
    }
}

/// Where a list lives: its path and query, and the public base URL when one is configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    url: url::Url,
    absolute: bool,
}

/// Stands in for the origin of relative links; never shown.
const RELATIVE_BASE: &str = "http://relative.invalid";

impl Links {
    /// `base` is the configured public URL of the API (`https://api.example.com`), if any;
    /// `path` and `query` are the request's.
    pub fn new(base: Option<&str>, path: &str, query: Option<&str>) -> Self {
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        let absolute = base.and_then(|b| url::Url::parse(&format!("{b}{path}{query}")).ok());
        match absolute {
            Some(url) => Self { url, absolute: true },
            None => {
                let url = url::Url::parse(&format!("{RELATIVE_BASE}{path}{query}"))
                    .or_else(|_| url::Url::parse(RELATIVE_BASE))
                    .unwrap_or_else(|_| url::Url::parse("http://relative.invalid/").expect("static URL parses"));
                Self { url, absolute: false }
            }
        }
    }

    /// The link to `page`.
    pub fn page(&self, page: u32) -> String {
        self.show(link(&self.url, page, None))
    }

    /// The link to `page`, which starts after the record `cursor` (a keyed list's `next`).
    pub fn page_after(&self, page: u32, cursor: &str) -> String {
        self.show(link(&self.url, page, Some(cursor)))
    }

    fn show(&self, url: url::Url) -> String {
        if self.absolute { url.to_string() } else { url[url::Position::BeforePath..].to_owned() }
    }
}

fn link(url: &url::Url, page: u32, cursor: Option<&str>) -> url::Url {
    let mut url = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page" && k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(cursor) = cursor {
            q.append_pair("cursor", cursor);
        }
        q.append_pair("page", &page.to_string());
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_and_caps() {
        assert_eq!(PageRequest::from_query(&q(&[])).unwrap(), PageRequest { page: 1, page_size: 10 });
        assert_eq!(PageRequest::from_query(&q(&[("page_size", "200")])).unwrap().page_size, 100);
        assert!(PageRequest::from_query(&q(&[("page", "0")])).is_err());
        assert!(PageRequest::from_query(&q(&[("page_size", "ten")])).is_err());
    }

    #[test]
    fn links_are_relative_without_a_public_url() {
        let links = Links::new(None, "/api/v1/planner/keywords/", Some("status=active&page=1"));
        let page = PageRequest { page: 1, page_size: 2 }.paginate((1..=5).collect(), &links).unwrap();
        assert_eq!(page.next.as_deref(), Some("/api/v1/planner/keywords/?status=active&page=2"));
        let local = Links::new(Some("http://localhost:8000"), "/api/v1/auth/sites/", None);
        assert_eq!(local.page(3), "http://localhost:8000/api/v1/auth/sites/?page=3");
    }

    #[test]
    fn links_keep_filters_and_replace_page() {
        let url = Links::new(
            Some("https://api.example.com"),
            "/api/v1/planner/keywords/",
            Some("status=active&page=2&page_size=5"),
        );
        let req = PageRequest { page: 2, page_size: 5 };
        let page = req.paginate((1..=15).collect(), &url).unwrap();
        assert_eq!(page.count, 15);
        assert_eq!(page.results, vec![6, 7, 8, 9, 10]);
        assert_eq!(
            page.next.as_deref(),
            Some("https://api.example.com/api/v1/planner/keywords/?status=active&page_size=5&page=3")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("https://api.example.com/api/v1/planner/keywords/?status=active&page_size=5&page=1")
        );
        let last = PageRequest { page: 3, page_size: 5 }.paginate((1..=15).collect(), &url).unwrap();
        assert_eq!(last.next, None);
        assert!(PageRequest { page: 4, page_size: 5 }.paginate((1..=15).collect::<Vec<_>>(), &url).is_err());
        let empty = PageRequest::default().paginate(Vec::<u8>::new(), &url).unwrap();
        assert_eq!((empty.count, empty.next, empty.previous), (0, None, None));
    }
}
