//! ListObjects (v1) and ListObjectsV2 over an account's products.
//!
//! The S3 bucket is the account; its keys are `{product}/{rest}`, each product in its own
//! backend. A listing whose prefix names a product is that product's backend listing, its
//! keys mapped back under `{product}/`. A listing of the account itself is its products: as
//! common prefixes with delimiter `/`, or, without a delimiter, the keys of every product the
//! caller may list, product after product (a page never spans two products).
//!
//! | module | what |
//! |---|---|
//! | [`xml`](mod@xml) | the `ListBucketResult` and `LocationConstraint` documents |
//! | [`token`] | continuation tokens: where the next page begins, bound to the listing and caller |

pub(crate) mod token;
pub(crate) mod xml;

use http::Response;

use crate::access::{AccessError, ProductSummary, Visibility};
use crate::backend::store::{ListQuery, ObjectStore};
use crate::oidc::signer::Signer;
use crate::platform::HttpClient;
use crate::policy::Action;
use crate::s3::error::{ListingError, Resource, S3Error};
use crate::s3::route::{ListParams, ListV1Params, ListV2Params, MAX_KEYS};
use crate::s3::service::{denied, with_cache_control, xml, Call};
use crate::web::Body;
use token::{Binding, CallerTag, Position};
use xml::ListEntry;

/// Backend listings one account listing may make while it finds only empty pages.
const MAX_BACKEND_CALLS: usize = 25;

/// Which listing API: they page on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// ListObjects: the client pages on from `NextMarker`, so a page may end anywhere.
    V1,
    /// ListObjectsV2: the client pages on with the continuation token this proxy issues.
    V2,
}

/// One listing request.
struct Listing<'a> {
    /// The listing a continuation token belongs to: caller, account, prefix, delimiter.
    binding: Binding<'a>,
    params: &'a ListParams,
    /// v2's `start-after` or v1's `marker`.
    start_after: Option<&'a str>,
    /// v2's `continuation-token`.
    token: Option<&'a str>,
    version: Version,
}

/// Where one product's page begins.
struct ProductStart<'a> {
    product: &'a str,
    /// The listing's prefix after `{product}/`.
    rest_prefix: &'a str,
    /// A start key within the product (after `{product}/`).
    start_after: Option<&'a str>,
    /// The backend's cursor from the product's previous page.
    cursor: Option<String>,
}

/// One page of a listing, in S3 keys.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    entries: Vec<ListEntry>,
    prefixes: Vec<String>,
    /// More follow (`IsTruncated`).
    truncated: bool,
    /// Where ListObjectsV2's next page begins: set whenever `truncated` is, except on
    /// ListObjects v1 pages, which go on from their last name.
    next: Option<Position>,
    /// A restricted product's names are on it.
    restricted: bool,
}

impl Page {
    /// The last key or common prefix, whichever sorts last: ListObjects v1's `NextMarker`.
    fn last_name(&self) -> Option<&str> {
        let key = self.entries.last().map(|e| e.key.as_str());
        key.max(self.prefixes.last().map(String::as_str))
    }

    /// Drops the last names (in key order) past `max`; whether any were.
    fn trim(&mut self, max: usize) -> bool {
        let mut trimmed = false;
        while self.entries.len() + self.prefixes.len() > max {
            let key_is_last = self.entries.last().map(|e| e.key.as_str()) > self.prefixes.last().map(String::as_str);
            if key_is_last {
                self.entries.pop();
            } else {
                self.prefixes.pop();
            }
            trimmed = true;
        }
        trimmed
    }
}

impl<H: HttpClient, R: ObjectStore, S: Signer + 'static> Call<'_, H, R, S> {
    /// ListObjectsV2: a page and, when truncated, the token for the next one.
    pub(super) async fn list_v2(&self, account: &str, params: &ListV2Params) -> Result<Response<Body>, S3Error> {
        let caller = token::caller_tag(self.principal);
        let listing = Listing {
            binding: binding(&caller, account, &params.common),
            params: &params.common,
            start_after: params.start_after.as_deref(),
            token: params.continuation_token.as_deref(),
            version: Version::V2,
        };
        let page = self.list(&listing).await?;
        let next_token = page
            .next
            .as_ref()
            .map(|p| token::encode(&self.service.list_key, &listing.binding, p));
        let body = xml::list_v2_xml(account, params, &page.entries, &page.prefixes, next_token.as_deref());
        // A token is the caller's own: no cache may hand the page to another.
        Ok(document(body, page.restricted || next_token.is_some()))
    }

    /// ListObjects (v1): a page and, when truncated, its `NextMarker`.
    pub(super) async fn list_v1(&self, account: &str, params: &ListV1Params) -> Result<Response<Body>, S3Error> {
        let caller = token::caller_tag(self.principal);
        let listing = Listing {
            binding: binding(&caller, account, &params.common),
            params: &params.common,
            start_after: params.marker.as_deref(),
            token: None,
            version: Version::V1,
        };
        let page = self.list(&listing).await?;
        let next_marker = page.truncated.then(|| page.last_name()).flatten();
        let body = xml::list_v1_xml(
            account,
            params,
            &page.entries,
            &page.prefixes,
            page.truncated,
            next_marker,
        );
        Ok(document(body, page.restricted))
    }

    /// One page of a listing: of a product when the prefix names one, else of the account.
    async fn list(&self, listing: &Listing<'_>) -> Result<Page, S3Error> {
        let position = listing
            .token
            .map(|t| token::decode(&self.service.list_key, &listing.binding, t))
            .transpose()?;
        let (account, params) = (listing.binding.account, listing.params);
        let Some((product, rest_prefix)) = params.prefix.split_once('/') else {
            let mut products = self.products(account).await?;
            // Past the request's own s3:prefix check, a product shows (and is paged) only if
            // the session policy would let its own listing, `{product}/`, through too.
            products.retain(|p| {
                let prefix = product_key(&p.name);
                self.principal
                    .allows(Action::ListBucket, account, None, Some(&prefix))
                    .is_ok()
            });
            return match params.delimiter.as_deref() {
                Some("/") => Ok(account_prefixes(&products, params, listing.start_after, position)?),
                None => self.list_account(listing, &products, position).await,
                Some(_) => Err(ListingError::AccountDelimiter.into()),
            };
        };
        // As for objects (see `route`): no empty or dot-segment product ever reaches the
        // upstream URL or a cache key.
        if product.is_empty() || product == "." || product == ".." {
            return Err(S3Error::Access {
                source: AccessError::NoSuchProduct,
                resource: Resource::Bucket,
            });
        }
        let cursor = match position {
            None => None,
            Some(Position::Cursor { c }) => Some(c),
            Some(_) => return Err(ListingError::BadToken.into()),
        };
        // A start before the product's keys lists them all; one past them, none.
        let product_start = product_key(product);
        let start_after = match listing.start_after {
            Some(s) if s >= product_start.as_str() && !s.starts_with(&product_start) => return Ok(Page::default()),
            s => s.and_then(|s| s.strip_prefix(&product_start)),
        };
        let start = ProductStart {
            product,
            rest_prefix,
            start_after,
            cursor,
        };
        let (page, next) = self.list_product(listing, start).await?;
        Ok(Page {
            next: next.map(|c| Position::Cursor { c }),
            ..page
        })
    }

    /// One page of one product's listing, and the backend's cursor for the next one.
    async fn list_product(
        &self,
        listing: &Listing<'_>,
        start: ProductStart<'_>,
    ) -> Result<(Page, Option<String>), S3Error> {
        let (account, params) = (listing.binding.account, listing.params);
        let ProductStart {
            product,
            rest_prefix,
            start_after,
            cursor,
        } = start;
        let access = self.product_access(account, product, Resource::Bucket).await?;
        if !access.permissions.list {
            return Err(denied(Resource::Bucket));
        }
        let backend_prefix = access.backend.prefix(account, product);
        let store = self.store(&access.backend)?;
        // ListObjects: with a delimiter, a marker that is one of the listing's common
        // prefixes skips everything under it (so v1 pages on from `NextMarker` = the last
        // common prefix). Backends may return that prefix again: it is dropped, and v1,
        // which may end a page anywhere, asks for one more so that every page moves on.
        let skipped = start_after
            .filter(|s| cursor.is_none() && is_common_prefix(s, rest_prefix, params.delimiter.as_deref()))
            .map(|s| format!("{product}/{s}"));
        let extra = u16::from(listing.version == Version::V1 && skipped.is_some());
        let query = ListQuery {
            prefix: format!("{backend_prefix}{rest_prefix}"),
            delimiter: params.delimiter.clone(),
            start_after: start_after.map(|s| format!("{backend_prefix}{s}")),
            cursor,
            limit: u32::from((params.max_keys + extra).clamp(1, MAX_KEYS)),
        };
        let listed = if params.max_keys == 0 {
            Default::default()
        } else {
            store.list(&query).await?
        };
        // Never a key outside the product's prefix, whatever the backend returns.
        let to_s3 = |k: &str| {
            k.strip_prefix(backend_prefix.as_str())
                .map(|rest| format!("{product}/{rest}"))
        };
        let entries: Vec<ListEntry> = listed
            .objects
            .iter()
            .filter_map(|o| {
                Some(ListEntry {
                    key: to_s3(&o.key)?,
                    size: o.size,
                    etag: o.etag.clone(),
                    last_modified_secs: o.last_modified_secs,
                })
            })
            .collect();
        let mut prefixes: Vec<String> = listed.common_prefixes.iter().filter_map(|p| to_s3(p)).collect();
        let outside = listed.objects.len() + listed.common_prefixes.len() - entries.len() - prefixes.len();
        if outside > 0 {
            self.io.log.log(&serde_json::json!({
                "level": "error", "msg": "listing entries outside the product's prefix dropped",
                "count": outside, "account": account, "product": product,
            }));
        }
        if let Some(skip) = &skipped {
            prefixes.retain(|p| p != skip);
        }
        let mut page = Page {
            entries,
            prefixes,
            truncated: listed.truncated,
            next: None,
            restricted: access.visibility == Visibility::Restricted,
        };
        if listing.version == Version::V1 && page.trim(usize::from(params.max_keys)) {
            page.truncated = true;
        }
        let next = if listed.truncated { listed.cursor } else { None };
        Ok((page, next))
    }

    /// A listing of a whole account without a delimiter (`aws s3 ls --recursive`, rclone):
    /// the keys of every product the caller may list, product after product in key order.
    /// A page never spans two products; the continuation token names the product and the
    /// backend's cursor in it. Empty products and empty backend pages are skipped, within a
    /// budget of backend calls per request: past it ListObjectsV2 gets an empty page with a
    /// token to go on from, ListObjects v1 (whose `NextMarker` needs a key) `SlowDown`.
    async fn list_account(
        &self,
        listing: &Listing<'_>,
        products: &[ProductSummary],
        position: Option<Position>,
    ) -> Result<Page, S3Error> {
        let names = listable(products, &listing.params.prefix);
        let Resume {
            mut index,
            mut cursor,
            mut within,
        } = resume_account(&names, position, listing.start_after)?;
        if listing.params.max_keys == 0 {
            return Ok(Page::default());
        }
        let mut calls = 0;
        while let Some((at, name)) = index.and_then(|i| Some((i, *names.get(i)?))) {
            let within_product = within.take();
            let start = ProductStart {
                product: name,
                rest_prefix: "",
                start_after: within_product.as_deref(),
                cursor: cursor.take(),
            };
            let (page, next) = self.list_product(listing, start).await?;
            calls += 1;
            if !page.entries.is_empty() || !page.prefixes.is_empty() {
                let next = position_after(&names, at, next);
                return Ok(Page {
                    truncated: next.is_some(),
                    next,
                    ..page
                });
            }
            // An empty page: the same product's next one, else the next product.
            match next {
                Some(c) => cursor = Some(c),
                None => index = Some(at + 1),
            }
            let Some(resume) = index.and_then(|i| names.get(i)) else {
                break;
            };
            if calls >= MAX_BACKEND_CALLS {
                return match listing.version {
                    Version::V2 => Ok(Page {
                        truncated: true,
                        next: Some(Position::Product {
                            p: (*resume).to_owned(),
                            c: cursor,
                        }),
                        ..Page::default()
                    }),
                    Version::V1 => Err(ListingError::TooManyEmptyProducts.into()),
                };
            }
        }
        Ok(Page::default())
    }
}

/// The listing a continuation token belongs to.
fn binding<'a>(caller: &'a CallerTag, account: &'a str, params: &'a ListParams) -> Binding<'a> {
    Binding {
        caller,
        account,
        prefix: &params.prefix,
        delimiter: params.delimiter.as_deref(),
    }
}

/// Where an account listing without a delimiter resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Resume {
    /// The product's index in the listable names; `None`: past them all.
    index: Option<usize>,
    /// The backend's cursor within that product.
    cursor: Option<String>,
    /// A start key within that product (after `{product}/`).
    within: Option<String>,
}

/// Where an account listing without a delimiter resumes, over the caller's listable product
/// `names` (sorted as their keys are): the token's product and cursor, else just after
/// `start_after` (a marker or start-after, which may fall inside a product), else the start.
/// A token's product that has gone meanwhile resumes at the one after it, from its start (the
/// cursor belongs to its own product only).
fn resume_account(
    names: &[&str],
    position: Option<Position>,
    start_after: Option<&str>,
) -> Result<Resume, ListingError> {
    match position {
        Some(Position::Product { p, c }) => {
            let index = names.iter().position(|n| product_key(n) >= product_key(&p));
            let same_product = index.and_then(|i| names.get(i)).is_some_and(|n| *n == p);
            Ok(Resume {
                index,
                cursor: c.filter(|_| same_product),
                within: None,
            })
        }
        Some(_) => Err(ListingError::BadToken),
        None => match start_after {
            None => Ok(Resume {
                index: Some(0),
                ..Resume::default()
            }),
            Some(s) => {
                let index = names
                    .iter()
                    .position(|n| s < product_key(n).as_str() || s.starts_with(&product_key(n)));
                let within = index
                    .and_then(|i| names.get(i))
                    .and_then(|n| s.strip_prefix(&product_key(n)))
                    .map(str::to_owned);
                Ok(Resume {
                    index,
                    cursor: None,
                    within,
                })
            }
        },
    }
}

/// Where the next page begins after a page of `names[at]` that held names: the same product
/// from the backend's cursor, else the next product from its start; `None` after the last.
fn position_after(names: &[&str], at: usize, backend_cursor: Option<String>) -> Option<Position> {
    match backend_cursor {
        Some(c) => names.get(at).map(|p| Position::Product {
            p: (*p).to_owned(),
            c: Some(c),
        }),
        None => names.get(at + 1).map(|p| Position::Product {
            p: (*p).to_owned(),
            c: None,
        }),
    }
}

/// Is `name` one of the common prefixes of a listing of `prefix` by `delimiter` (the
/// listing's prefix, then up to and including the first delimiter after it)?
fn is_common_prefix(name: &str, prefix: &str, delimiter: Option<&str>) -> bool {
    let Some(d) = delimiter.filter(|d| !d.is_empty()) else {
        return false;
    };
    name.strip_prefix(prefix)
        .is_some_and(|after| after.find(d).is_some_and(|i| i + d.len() == after.len()))
}

/// The account level with delimiter `/`: the products the caller may list, as common
/// prefixes, after `start_after` (a marker or start-after) or the token's position.
fn account_prefixes(
    products: &[ProductSummary],
    params: &ListParams,
    start_after: Option<&str>,
    position: Option<Position>,
) -> Result<Page, ListingError> {
    let after = match position {
        None => start_after.map(str::to_owned),
        Some(Position::AfterPrefix { a }) => Some(a),
        Some(_) => return Err(ListingError::BadToken),
    };
    if params.max_keys == 0 {
        return Ok(Page::default());
    }
    let mut rest = listable(products, &params.prefix)
        .into_iter()
        .map(product_key)
        .filter(|p| after.as_deref().is_none_or(|s| p.as_str() > s));
    let prefixes: Vec<String> = rest.by_ref().take(usize::from(params.max_keys)).collect();
    let truncated = rest.next().is_some();
    let restricted = products
        .iter()
        .any(|p| p.visibility == Visibility::Restricted && prefixes.contains(&product_key(&p.name)));
    Ok(Page {
        next: prefixes
            .last()
            .filter(|_| truncated)
            .map(|a| Position::AfterPrefix { a: a.clone() }),
        entries: Vec::new(),
        prefixes,
        truncated,
        restricted,
    })
}

/// How a product's keys begin: products are ordered as their keys are (`a/` after `a-b/`).
fn product_key(name: &str) -> String {
    format!("{name}/")
}

/// The names of the products the caller may list, under `prefix`, sorted.
fn listable<'p>(products: &'p [ProductSummary], prefix: &str) -> Vec<&'p str> {
    let mut names: Vec<&str> = products
        .iter()
        .filter(|p| p.permissions.list && p.name.starts_with(prefix))
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable_by_key(|n| product_key(n));
    names.dedup();
    names
}

/// A listing document, cached as the objects it names are (`private` for restricted ones).
fn document(body: String, private: bool) -> Response<Body> {
    let visibility = if private {
        Visibility::Restricted
    } else {
        Visibility::Public
    };
    with_cache_control(xml(body), visibility)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Permissions;
    use crate::s3::service::tests::{code_of, listing_of, Harness, ListingDoc, MemoryStore};
    use http::StatusCode;

    // ---- The pure steps ----

    fn cursor(p: &str, c: Option<&str>) -> Option<Position> {
        Some(Position::Product {
            p: p.to_owned(),
            c: c.map(str::to_owned),
        })
    }

    /// Listable product names in key order: `a-b/` sorts before `a/`.
    const NAMES: [&str; 3] = ["a-b", "a", "c"];

    #[test]
    fn products_are_ordered_as_their_keys_are() {
        let products: Vec<ProductSummary> = ["c", "a", "a-b", "hidden", "a"]
            .iter()
            .map(|n| ProductSummary {
                name: (*n).to_owned(),
                visibility: Visibility::Public,
                permissions: Permissions {
                    read: true,
                    list: *n != "hidden",
                },
            })
            .collect();
        // '-' sorts before '/': the order of the keys, not of the names.
        assert_eq!(listable(&products, ""), NAMES);
        assert_eq!(listable(&products, "a"), ["a-b", "a"]);
    }

    /// Resuming at `NAMES[index]` from its start.
    fn at(index: usize) -> Resume {
        Resume {
            index: Some(index),
            ..Resume::default()
        }
    }

    #[test]
    fn an_account_listing_starts_at_the_first_product_without_a_token_or_marker() {
        assert_eq!(resume_account(&NAMES, None, None), Ok(at(0)));
    }

    #[test]
    fn a_token_resumes_its_product_at_its_cursor() {
        let resumed = resume_account(&NAMES, cursor("a", Some("k")), None);
        let cursor_k = Resume {
            cursor: Some("k".into()),
            ..at(1)
        };
        assert_eq!(resumed, Ok(cursor_k));
        // A product from its start.
        assert_eq!(resume_account(&NAMES, cursor("c", None), None), Ok(at(2)));
    }

    #[test]
    fn a_token_whose_product_has_gone_resumes_at_the_next_one_from_its_start() {
        assert_eq!(resume_account(&NAMES, cursor("b", Some("k")), None), Ok(at(2)));
        let past_the_last = resume_account(&NAMES, cursor("z", Some("k")), None);
        assert_eq!(past_the_last, Ok(Resume::default()), "nothing left");
    }

    #[test]
    fn a_token_of_another_kind_of_listing_is_refused() {
        for other in [
            Position::Cursor { c: "k".into() },
            Position::AfterPrefix { a: "a/".into() },
        ] {
            assert_eq!(resume_account(&NAMES, Some(other), None), Err(ListingError::BadToken));
        }
    }

    #[test]
    fn a_marker_inside_a_product_resumes_within_it_and_one_between_products_at_the_next() {
        let inside = Resume {
            within: Some("x/y".into()),
            ..at(0)
        };
        assert_eq!(resume_account(&NAMES, None, Some("a-b/x/y")), Ok(inside));
        // "a-b0" sorts after every key of "a-b/" and before those of "a/".
        assert_eq!(resume_account(&NAMES, None, Some("a-b0")), Ok(at(1)));
        assert_eq!(resume_account(&NAMES, None, Some("zzz")), Ok(Resume::default()));
    }

    #[test]
    fn after_a_page_the_same_product_goes_on_from_the_backends_cursor_else_the_next_product() {
        assert_eq!(position_after(&NAMES, 0, Some("k".into())), cursor("a-b", Some("k")));
        assert_eq!(position_after(&NAMES, 0, None), cursor("a", None));
        assert_eq!(position_after(&NAMES, 2, None), None);
        assert_eq!(position_after(&NAMES, 2, Some("k".into())), cursor("c", Some("k")));
    }

    #[test]
    fn a_common_prefix_is_the_prefix_then_up_to_the_first_delimiter() {
        assert!(is_common_prefix("p/d/", "p/", Some("/")));
        assert!(!is_common_prefix("p/d/e/", "p/", Some("/")));
        assert!(!is_common_prefix("p/d", "p/", Some("/")));
        assert!(!is_common_prefix("q/d/", "p/", Some("/")));
        assert!(!is_common_prefix("p/d/", "p/", None));
        assert!(!is_common_prefix("p/d/", "p/", Some("")));
        assert!(is_common_prefix("p/d--", "p/", Some("--")));
    }

    #[test]
    fn v1_pages_trim_to_max_keys_from_the_end_in_key_order() {
        let entry = |k: &str| ListEntry {
            key: k.to_owned(),
            size: 0,
            etag: String::new(),
            last_modified_secs: 0,
        };
        let mut page = Page {
            entries: vec![entry("a"), entry("c")],
            prefixes: vec!["b/".into(), "d/".into()],
            ..Page::default()
        };
        assert!(page.trim(2));
        assert_eq!(page.last_name(), Some("b/"));
        assert_eq!((page.entries.len(), page.prefixes.len()), (1, 1));
        assert!(!page.trim(2));
    }

    // ---- Through the service ----

    #[test]
    fn a_listing_never_shows_keys_outside_the_products_prefix() {
        let h = Harness::new();
        let mut store = MemoryStore::with(&["demo/a/mine.txt"]);
        store.rogue = vec!["demo/b/secret.txt".into(), "elsewhere".into()];
        let listed = listing_of(&h.get(&store, "/demo?list-type=2&prefix=a/"));
        assert_eq!(listed.keys, ["a/mine.txt"]);
        let logged = h.log.0.borrow();
        let line = logged
            .iter()
            .find(|l| l["msg"] == "listing entries outside the product's prefix dropped")
            .expect("logged");
        assert_eq!(line["count"], 2);
        assert!(!line.to_string().contains("secret"), "{line}");
    }

    /// Follows a v1 listing by `NextMarker` to its end: every page's names.
    fn v1_pages(h: &Harness, store: &MemoryStore, query: &str) -> Vec<ListingDoc> {
        let mut pages = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let uri = match &marker {
                None => format!("/demo?{query}"),
                Some(m) => format!("/demo?{query}&marker={}", crate::encoding::listing_encode(m)),
            };
            let page = listing_of(&h.get(store, &uri));
            let (truncated, next) = (page.truncated, page.next_marker.clone());
            pages.push(page);
            if !truncated {
                return pages;
            }
            assert!(
                next.is_some(),
                "a truncated page without NextMarker: {:?}",
                pages.last()
            );
            assert!(pages.len() < 50, "no progress");
            marker = next;
        }
    }

    #[test]
    fn v1_pages_of_common_prefixes_carry_next_marker_and_never_repeat_a_prefix() {
        let h = Harness::new();
        let keys: Vec<String> = (0..5)
            .flat_map(|d| [format!("demo/a/dir{d}/x"), format!("demo/a/dir{d}/y")])
            .collect();
        let store = MemoryStore::with(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        for max_keys in [1, 2, 3] {
            let pages = v1_pages(&h, &store, &format!("prefix=a/&delimiter=/&max-keys={max_keys}"));
            let prefixes: Vec<String> = pages.iter().flat_map(|p| p.prefixes.clone()).collect();
            let want: Vec<String> = (0..5).map(|d| format!("a/dir{d}/")).collect();
            assert_eq!(prefixes, want, "max-keys={max_keys}");
            assert!(pages.iter().all(|p| p.keys.is_empty()));
            for p in &pages {
                assert!(p.prefixes.len() <= max_keys, "{p:?}");
                if p.truncated {
                    assert_eq!(p.next_marker.as_ref(), p.prefixes.last());
                }
            }
        }
    }

    #[test]
    fn v1_next_marker_is_the_last_key_or_prefix_whichever_sorts_last() {
        let h = Harness::new();
        let store = MemoryStore::with(&[
            "demo/a/k1",
            "demo/a/m/x",
            "demo/a/m/y",
            "demo/a/n",
            "demo/a/o/z",
            "demo/a/p",
        ]);
        let pages = v1_pages(&h, &store, "prefix=a/&delimiter=/&max-keys=2");
        let names: Vec<Vec<String>> = pages
            .iter()
            .map(|p| {
                let mut all = [p.keys.clone(), p.prefixes.clone()].concat();
                all.sort();
                all
            })
            .collect();
        assert_eq!(names, [vec!["a/k1", "a/m/"], vec!["a/n", "a/o/"], vec!["a/p"]]);
        assert_eq!(pages[0].next_marker.as_deref(), Some("a/m/"));
        assert_eq!(pages[1].next_marker.as_deref(), Some("a/o/"));
    }

    #[test]
    fn v2_tokens_continue_their_own_listing_only() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/1", "demo/a/2", "demo/a/3", "demo/b/1", "demo/b/2"]);
        let first = listing_of(&h.get(&store, "/demo?list-type=2&prefix=a/&max-keys=2"));
        let token = first.next_token.expect("truncated");
        let next = listing_of(&h.get(
            &store,
            &format!("/demo?list-type=2&prefix=a/&max-keys=2&continuation-token={token}"),
        ));
        assert_eq!(next.keys, ["a/3"]);
        // Another product, another listing of the same product, garbage, a backend's cursor.
        let backend_cursor = "1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D";
        for query in [
            format!("prefix=b/&continuation-token={token}"),
            format!("prefix=a/&delimiter=/&continuation-token={token}"),
            format!("continuation-token={token}"),
            format!("prefix=a/&continuation-token={backend_cursor}"),
            "prefix=a/&continuation-token=***".to_owned(),
        ] {
            let res = h.get(&store, &format!("/demo?list-type=2&{query}"));
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(code_of(&res), "InvalidArgument", "{query}");
        }
        // None of them reached the backend.
        assert_eq!(store.queries.borrow().len(), 2);
    }

    #[test]
    fn account_listings_of_more_products_than_max_keys_page_on() {
        let json = r#"{"accounts": {"demo": {"products": {
            "p1": {"visibility": "public", "backend": {"type": "r2"}},
            "p2": {"visibility": "public", "backend": {"type": "r2"}},
            "p3": {"visibility": "public", "backend": {"type": "r2"}}}}}}"#;
        let h = Harness::with_catalogue(json);
        let store = MemoryStore::default();
        let pages = v1_pages(&h, &store, "delimiter=/&max-keys=2");
        let prefixes: Vec<Vec<String>> = pages.iter().map(|p| p.prefixes.clone()).collect();
        assert_eq!(prefixes, [vec!["p1/", "p2/"], vec!["p3/"]]);
        let first = listing_of(&h.get(&store, "/demo?list-type=2&delimiter=/&max-keys=2"));
        let token = first.next_token.expect("truncated");
        let rest = listing_of(&h.get(
            &store,
            &format!("/demo?list-type=2&delimiter=/&max-keys=2&continuation-token={token}"),
        ));
        assert_eq!(rest.prefixes, ["p3/"]);
        assert!(!rest.truncated);
    }

    #[test]
    fn public_listings_are_cacheable_unless_they_carry_a_callers_token() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/1", "demo/a/2"]);
        let whole = h.get(&store, "/demo?list-type=2&prefix=a/");
        assert_eq!(whole.headers()["cache-control"], "public, max-age=60");
        let v1 = h.get(&store, "/demo?prefix=a/&max-keys=1");
        assert_eq!(v1.headers()["cache-control"], "public, max-age=60");
        let paged = h.get(&store, "/demo?list-type=2&prefix=a/&max-keys=1");
        assert_eq!(paged.headers()["cache-control"], "private, no-store");
    }
}
