//! Page-number pagination in the envelope clients read: `{"count", "next", "previous",
//! "results"}` with absolute `next`/`previous` URLs built from the request's host. As
//! with the older server, a page past the last one is a 404 `Invalid page.`

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::startup::AppState;

/// `?page=N&page_size=M`; the size is capped by `server.max_page_size`.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub page: u64,
    pub page_size: u64,
    /// Absolute URL of the request, for the links.
    url: url::Url,
}

impl PageQuery {
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.page_size
    }

    pub fn limit(&self) -> i64 {
        i64::try_from(self.page_size).unwrap_or(i64::MAX)
    }

    /// Wraps one page of `results` out of `count` in the envelope.
    ///
    /// # Errors
    /// 404 `Invalid page.` when the page is past the last one.
    pub fn page<T: Serialize>(&self, results: Vec<T>, count: u64) -> Result<Page<T>, ApiError> {
        let last_page = count.div_ceil(self.page_size).max(1);
        if self.page > last_page {
            return Err(ApiError::NotFound("Invalid page.".to_owned()));
        }
        Ok(Page {
            count,
            next: (self.page < last_page).then(|| self.link(self.page + 1)),
            previous: (self.page > 1).then(|| self.link(self.page - 1)),
            results,
        })
    }

    fn link(&self, page: u64) -> String {
        let mut url = self.url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "page")
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (key, value) in &pairs {
                query.append_pair(key, value);
            }
            if page > 1 {
                query.append_pair("page", &page.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url.to_string()
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl FromRequest for PageQuery {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req))
    }
}

fn parse(req: &HttpRequest) -> Result<PageQuery, ApiError> {
    let (default_size, max_size) =
        req.app_data::<web::Data<AppState>>()
            .map_or((10, 100), |state| {
                (
                    state.settings.server.default_page_size,
                    state.settings.server.max_page_size,
                )
            });
    let info = req.connection_info();
    let url = url::Url::parse(&format!("{}://{}{}", info.scheme(), info.host(), req.uri()))
        .map_err(|_| ApiError::BadRequest("The request URL is malformed.".to_owned()))?;
    let mut page = 1;
    let mut page_size = default_size;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "page" => {
                page = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|page| *page >= 1)
                    .ok_or_else(|| ApiError::NotFound("Invalid page.".to_owned()))?;
            }
            "page_size" => {
                page_size = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|size| *size >= 1)
                    .ok_or_else(|| ApiError::field("page_size", "Give a positive whole number."))?
                    .min(max_size);
            }
            _ => {}
        }
    }
    Ok(PageQuery {
        page,
        page_size,
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str, page: u64, page_size: u64) -> PageQuery {
        PageQuery {
            page,
            page_size,
            url: url::Url::parse(url).expect("url"),
        }
    }

    #[test]
    fn page_builds_absolute_links_keeping_other_parameters() {
        let q = query("http://api.test/user/search/?keyword=ada&page=2", 2, 10);
        let page = q.page(vec![1; 10], 35).expect("valid page");
        assert_eq!(
            page.next.as_deref(),
            Some("http://api.test/user/search/?keyword=ada&page=3")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://api.test/user/search/?keyword=ada")
        );
    }

    #[test]
    fn page_past_last_is_not_found() {
        let q = query("http://api.test/x/?page=5", 5, 10);
        assert!(q.page(Vec::<u8>::new(), 20).is_err());
    }

    #[test]
    fn empty_list_has_one_page() {
        let q = query("http://api.test/x/", 1, 10);
        let page = q.page(Vec::<u8>::new(), 0).expect("first page of nothing");
        assert_eq!(page.count, 0);
        assert!(page.next.is_none() && page.previous.is_none());
    }
}
