//! S3 listing documents: ListObjectsV2 and ListObjects (v1) `ListBucketResult`, and
//! GetBucketLocation's `LocationConstraint`, in namespace
//! `http://s3.amazonaws.com/doc/2006-03-01/`.
//!
//! Element names and order follow real S3 responses (botocore's rest-xml parser matches
//! by element name, so order is for other clients): `Name`, `Prefix`, then the cursor
//! elements, `KeyCount` (v2), `MaxKeys`, `Delimiter`, `EncodingType`, `IsTruncated`,
//! `Contents` (`Key`, `LastModified`, `ETag`, `Size`, `StorageClass`), `CommonPrefixes`.
//!
//! With `encoding-type=url`, the fields S3 encodes (`Key`, `Prefix`, `Delimiter`,
//! `StartAfter`, `CommonPrefixes/Prefix`, `Marker`, `NextMarker`) are percent-encoded:
//! every byte outside `A-Z a-z 0-9 - _ . ~ /` becomes `%XX`. `+` is always encoded, so
//! botocore's `unquote_plus` gets the key back exactly.
//!
//! Continuation tokens are made and checked in [`crate::s3::list::token`].

use crate::encoding::{listing_encode, xml_escape};
use crate::s3::route::{ListParams, ListV1Params, ListV2Params};

/// The S3 XML namespace.
pub(crate) const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// One object in a listing page, under its S3 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListEntry {
    pub(crate) key: String,
    pub(crate) size: u64,
    /// With its quotes, as in the `ETag` header.
    pub(crate) etag: String,
    pub(crate) last_modified_secs: u64,
}

/// Writes `<name>value</name>`, encoding the value for the listing's encoding type.
struct Writer {
    out: String,
    encode: bool,
}

impl Writer {
    fn new(encode: bool) -> Self {
        let mut out = String::from(XML_DECL);
        out.push_str(&format!("<ListBucketResult xmlns=\"{NAMESPACE}\">"));
        Self { out, encode }
    }

    /// A plain text element.
    fn text(&mut self, name: &str, value: &str) {
        self.out.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
    }

    /// An element whose value S3 url-encodes under `encoding-type=url`.
    fn field(&mut self, name: &str, value: &str) {
        if self.encode {
            self.text(name, &listing_encode(value));
        } else {
            self.text(name, value);
        }
    }

    fn head(&mut self, params: &ListParams) {
        if let Some(d) = &params.delimiter {
            self.field("Delimiter", d);
        }
        if self.encode {
            self.text("EncodingType", "url");
        }
    }

    fn body(mut self, entries: &[ListEntry], prefixes: &[String]) -> String {
        for e in entries {
            self.out.push_str("<Contents>");
            self.field("Key", &e.key);
            self.text("LastModified", &crate::time::rfc3339_millis(e.last_modified_secs));
            self.text("ETag", &e.etag);
            self.text("Size", &e.size.to_string());
            self.text("StorageClass", "STANDARD");
            self.out.push_str("</Contents>");
        }
        for p in prefixes {
            self.out.push_str("<CommonPrefixes>");
            self.field("Prefix", p);
            self.out.push_str("</CommonPrefixes>");
        }
        self.out.push_str("</ListBucketResult>\n");
        self.out
    }
}

/// The ListObjectsV2 document for one page. `next_token` present means the listing is
/// truncated (`IsTruncated` true, `NextContinuationToken` set).
pub(crate) fn list_v2_xml(
    bucket: &str,
    params: &ListV2Params,
    entries: &[ListEntry],
    prefixes: &[String],
    next_token: Option<&str>,
) -> String {
    let common = &params.common;
    let mut w = Writer::new(common.encoding_url);
    w.text("Name", bucket);
    w.field("Prefix", &common.prefix);
    if let Some(t) = &params.continuation_token {
        w.text("ContinuationToken", t);
    }
    if let Some(t) = next_token {
        w.text("NextContinuationToken", t);
    }
    w.text("KeyCount", &(entries.len() + prefixes.len()).to_string());
    w.text("MaxKeys", &common.max_keys.to_string());
    w.head(common);
    w.text("IsTruncated", if next_token.is_some() { "true" } else { "false" });
    if let Some(s) = &params.start_after {
        w.field("StartAfter", s);
    }
    w.body(entries, prefixes)
}

/// The ListObjects (v1) document for one page. `NextMarker` is written when given (S3 only
/// sends it with a delimiter; clients fall back to the last key without it).
pub(crate) fn list_v1_xml(
    bucket: &str,
    params: &ListV1Params,
    entries: &[ListEntry],
    prefixes: &[String],
    is_truncated: bool,
    next_marker: Option<&str>,
) -> String {
    let common = &params.common;
    let mut w = Writer::new(common.encoding_url);
    w.text("Name", bucket);
    w.field("Prefix", &common.prefix);
    w.field("Marker", params.marker.as_deref().unwrap_or(""));
    if let Some(m) = next_marker {
        w.field("NextMarker", m);
    }
    w.text("MaxKeys", &common.max_keys.to_string());
    w.head(common);
    w.text("IsTruncated", if is_truncated { "true" } else { "false" });
    w.body(entries, prefixes)
}

/// GetBucketLocation: `LocationConstraint`, empty for `us-east-1` (or no region), as S3 does.
pub(crate) fn location_xml(region: Option<&str>) -> String {
    match region.filter(|r| !r.is_empty() && *r != "us-east-1") {
        None => format!("{XML_DECL}<LocationConstraint xmlns=\"{NAMESPACE}\"/>\n"),
        Some(r) => format!(
            "{XML_DECL}<LocationConstraint xmlns=\"{NAMESPACE}\">{}</LocationConstraint>\n",
            xml_escape(r)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> ListEntry {
        ListEntry {
            key: key.into(),
            size: 11,
            etag: "\"e1\"".into(),
            last_modified_secs: 1_795_435_200,
        }
    }

    fn common(prefix: &str, delimiter: Option<&str>, encoding_url: bool) -> ListParams {
        ListParams {
            prefix: prefix.into(),
            delimiter: delimiter.map(str::to_owned),
            max_keys: 1000,
            encoding_url,
        }
    }

    fn v2(prefix: &str, delimiter: Option<&str>, encoding_url: bool) -> ListV2Params {
        ListV2Params {
            common: common(prefix, delimiter, encoding_url),
            continuation_token: None,
            start_after: None,
        }
    }

    /// Positions of the given elements' opening tags, which must all be present and ascend.
    fn assert_order(xml: &str, tags: &[&str]) {
        let mut last = 0;
        for t in tags {
            let pos = xml[last..]
                .find(&format!("<{t}>"))
                .or_else(|| xml[last..].find(&format!("<{t}/>")))
                .unwrap_or_else(|| panic!("<{t}> missing or out of order in {xml}"));
            last += pos;
        }
    }

    #[test]
    fn v2_document_has_s3_shape_and_order() {
        let mut p = v2("prod/", Some("/"), false);
        p.continuation_token = Some("abc".into());
        p.common.max_keys = 2;
        let xml = list_v2_xml(
            "acct",
            &p,
            &[entry("prod/a.txt")],
            &["prod/dir/".to_owned()],
            Some("tok"),
        );
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        ));
        assert_order(
            &xml,
            &[
                "Name",
                "Prefix",
                "ContinuationToken",
                "NextContinuationToken",
                "KeyCount",
                "MaxKeys",
                "Delimiter",
                "IsTruncated",
                "Contents",
                "Key",
                "LastModified",
                "ETag",
                "Size",
                "StorageClass",
                "CommonPrefixes",
                "Prefix",
            ],
        );
        assert!(xml.contains("<Name>acct</Name><Prefix>prod/</Prefix>"));
        assert!(xml.contains("<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"));
        assert!(xml.contains("<IsTruncated>true</IsTruncated>"));
        assert!(xml.contains(
            "<Contents><Key>prod/a.txt</Key><LastModified>2026-11-23T12:00:00.000Z</LastModified>\
             <ETag>&quot;e1&quot;</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
        assert!(xml.contains("<CommonPrefixes><Prefix>prod/dir/</Prefix></CommonPrefixes>"));
        assert!(xml.ends_with("</ListBucketResult>\n"));
    }

    #[test]
    fn v2_last_page_is_not_truncated_and_has_no_next_token() {
        let xml = list_v2_xml("acct", &v2("", None, false), &[], &[], None);
        assert!(xml.contains("<IsTruncated>false</IsTruncated>"));
        assert!(!xml.contains("NextContinuationToken"));
        assert!(!xml.contains("ContinuationToken"));
        assert!(!xml.contains("Delimiter"));
        assert!(!xml.contains("EncodingType"));
        assert!(!xml.contains("StartAfter"));
        assert!(xml.contains("<Prefix></Prefix><KeyCount>0</KeyCount>"));
    }

    #[test]
    fn v2_start_after_is_echoed() {
        let mut p = v2("", None, false);
        p.start_after = Some("prod/b".into());
        let xml = list_v2_xml("acct", &p, &[], &[], None);
        assert!(xml.contains("<StartAfter>prod/b</StartAfter>"));
    }

    #[test]
    fn url_encoding_covers_the_fields_s3_encodes() {
        let mut p = v2("p/a b", Some("+"), true);
        p.start_after = Some("p/a b/x+y".into());
        let xml = list_v2_xml(
            "acct",
            &p,
            &[entry("p/a b/\u{e9}+&.txt")],
            &["p/a b/c d+".into()],
            Some("t"),
        );
        assert!(xml.contains("<EncodingType>url</EncodingType>"));
        assert!(xml.contains("<Prefix>p/a%20b</Prefix>"));
        assert!(xml.contains("<Delimiter>%2B</Delimiter>"));
        assert!(xml.contains("<StartAfter>p/a%20b/x%2By</StartAfter>"));
        assert!(xml.contains("<Key>p/a%20b/%C3%A9%2B%26.txt</Key>"));
        assert!(xml.contains("<CommonPrefixes><Prefix>p/a%20b/c%20d%2B</Prefix></CommonPrefixes>"));
    }

    #[test]
    fn without_url_encoding_text_is_xml_escaped() {
        let xml = list_v2_xml("acct", &v2("", None, false), &[entry("p/<a>&\"b\"")], &[], None);
        assert!(xml.contains("<Key>p/&lt;a&gt;&amp;&quot;b&quot;</Key>"));
    }

    #[test]
    fn v1_document_has_marker_and_next_marker() {
        let p = ListV1Params {
            common: common("prod/", Some("/"), false),
            marker: Some("prod/a".into()),
        };
        let xml = list_v1_xml("acct", &p, &[entry("prod/b")], &[], true, Some("prod/b"));
        assert_order(
            &xml,
            &[
                "Name",
                "Prefix",
                "Marker",
                "NextMarker",
                "MaxKeys",
                "Delimiter",
                "IsTruncated",
                "Contents",
            ],
        );
        assert!(xml.contains("<Marker>prod/a</Marker><NextMarker>prod/b</NextMarker>"));
        assert!(xml.contains("<IsTruncated>true</IsTruncated>"));
        assert!(!xml.contains("KeyCount"));
    }

    #[test]
    fn v1_without_marker_has_an_empty_marker() {
        let p = ListV1Params {
            common: common("", None, false),
            marker: None,
        };
        let xml = list_v1_xml("acct", &p, &[], &[], false, None);
        assert!(xml.contains("<Marker></Marker><MaxKeys>1000</MaxKeys>"));
        assert!(!xml.contains("NextMarker"));
    }

    #[test]
    fn v1_url_encodes_marker_and_next_marker() {
        let p = ListV1Params {
            common: common("", None, true),
            marker: Some("a b".into()),
        };
        let xml = list_v1_xml("acct", &p, &[], &[], true, Some("c d"));
        assert!(xml.contains("<Marker>a%20b</Marker><NextMarker>c%20d</NextMarker>"));
    }

    #[test]
    fn location_is_empty_for_us_east_1() {
        let empty = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>\n";
        assert_eq!(location_xml(None), empty);
        assert_eq!(location_xml(Some("us-east-1")), empty);
        assert!(location_xml(Some("eu-west-1")).contains(">eu-west-1</LocationConstraint>"));
    }
}
