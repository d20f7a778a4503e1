//! Response compression (gzip and brotli) and the one rule for the `ETag`s of encoded
//! responses.
//!
//! tower-http's `CompressionLayer` does the encoding, as a stream: a streamed body (an export)
//! is compressed as it is produced, never collected first. In front of it, `negotiated` reads
//! the client's `Accept-Encoding` (q-values, `*`, `identity`) once and hands the layer the one
//! coding it chose, so that the coding compressed with and the one the `ETag` names cannot
//! disagree. Handlers know nothing of codings: they make and compare identity `ETag`s.
//!
//! The rule: an encoded response's `ETag` is the identity `ETag` with `-gzip` or `-br` inside
//! the quotes (`"abc"` → `"abc-gzip"`), so that caches never take one coding's bytes for
//! another's. On the way in, a client's `If-None-Match` tag for the coding chosen for it is
//! turned back into the identity tag the handler compares; on the way out a `304` names the
//! tag the client sent.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Bodies of at most this many bytes go out as they are. Measured (docs/performance.md,
/// "Compression"): a 1 KB answer shrinks to about 500 bytes, a 512-byte one saves under 200 and
/// a 256-byte one 40; with its ~300-byte head a body this small fits one TCP segment either
/// way, so compressing it saves no packet and still costs the encoder's set-up.
pub const MIN_SIZE: u16 = 1024;

/// gzip's level (1 fastest … 9 smallest). Measured on the benchmark's answers: level 1 is
/// 5-52% larger than 6, 4 up to 7% larger, 9 no smaller and slower (docs/performance.md).
const GZIP_LEVEL: i32 = 6;

/// brotli's quality (0 … 11). The codec's own default, 11, took 70-85 ms for a 25 KB answer;
/// 4 is about gzip 6's size in comparable time, 9 took 5-30 ms (docs/performance.md).
const BROTLI_LEVEL: i32 = 4;

/// A client's `Accept-Encoding` is read up to this many entries; a longer list gets the
/// identity coding (no real client sends more than a handful, and parsing stays cheap).
const MAX_ENTRIES: usize = 32;

/// A content coding this server can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// No compression.
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The coding's token, as `Accept-Encoding`, `Content-Encoding` and our `ETag`s spell it.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }
}

/// Compression for `routes`: the encoders, and the negotiation in front of them.
pub fn layer<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    // One layer per coding, each with its own level (tower-http takes one level per layer);
    // the negotiation leaves one coding in `Accept-Encoding`, so only one of them acts.
    let gzip = CompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(GZIP_LEVEL))
        .compress_when(compressible());
    let brotli = CompressionLayer::new()
        .no_gzip()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(BROTLI_LEVEL))
        .compress_when(compressible());
    routes
        .layer(gzip)
        .layer(brotli)
        .layer(middleware::from_fn(negotiated))
}

/// Which responses are compressed: above `MIN_SIZE` (a streamed body, whose size is not known
/// in advance, is), and not images or event streams (already compressed, or sent piece by piece
/// for a reader waiting on each). Bodiless answers (`304`, a WebSocket's `101`) are size 0.
fn compressible() -> impl Predicate {
    SizeAbove::new(MIN_SIZE)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC)
}

/// Chooses the coding, leaves only it in the request's `Accept-Encoding` for the encoders,
/// maps `If-None-Match` to identity tags for the handler, and names the coding in the answer's
/// `ETag`.
async fn negotiated(mut request: Request, next: Next) -> Response {
    // A WebSocket's frames are not an HTTP body: its upgrade is never compressed.
    let coding = if super::ws::is_upgrade(request.headers()) {
        Coding::Identity
    } else {
        negotiate(request.headers())
    };
    let headers = request.headers_mut();
    headers.remove(header::ACCEPT_ENCODING);
    if coding != Coding::Identity {
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
    }
    let sent = if_none_match(headers);
    if coding != Coding::Identity && !sent.is_empty() {
        let identity: Vec<String> = sent.iter().map(|t| untagged(t, coding)).collect();
        if let Ok(value) = HeaderValue::from_str(&identity.join(", ")) {
            headers.insert(header::IF_NONE_MATCH, value);
        }
    }
    let mut response = next.run(request).await;
    retag(&mut response, coding, &sent);
    response
}

/// The `ETag` and `Vary` of the answer: an encoded body's tag names its coding; a `304` names
/// the tag the client holds, and varies as the full answer would.
fn retag(response: &mut Response, coding: Coding, sent: &[String]) {
    let encoded = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == coding.token().as_bytes());
    let not_modified = response.status() == StatusCode::NOT_MODIFIED;
    let Some(etag) = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let tag = tagged(etag, coding);
    // A 304 names the coded tag only when the client holds that one (it may hold the
    // identity representation, which is as fresh).
    let names_coding = encoded || (not_modified && sent.iter().any(|t| same_tag(t, &tag)));
    let replace = (coding != Coding::Identity && names_coding).then_some(tag);
    let headers = response.headers_mut();
    if let Some(value) = replace.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(header::ETAG, value);
    }
    if not_modified && !varies_by_encoding(headers) {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// The `ETag` of `coding`'s representation, from the identity `ETag` (`"abc"`, `W/"abc"`).
pub fn tagged(etag: &str, coding: Coding) -> String {
    match (coding, etag.strip_suffix('"')) {
        (Coding::Identity, _) | (_, None) => etag.to_owned(),
        (_, Some(open)) => format!("{open}-{}\"", coding.token()),
    }
}

/// The identity tag of a tag for `coding`; any other tag as it is.
fn untagged(tag: &str, coding: Coding) -> String {
    let suffix = format!("-{}\"", coding.token());
    match tag.strip_suffix(&suffix) {
        Some(open) => format!("{open}\""),
        None => tag.to_owned(),
    }
}

/// Weak comparison (RFC 9110 8.8.3.2), as `If-None-Match` uses.
fn same_tag(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// The entity tags of the request's `If-None-Match` headers.
fn if_none_match(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

fn varies_by_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding") || v.trim() == "*")
}

/// The coding for a request's `Accept-Encoding` (RFC 9110 12.5.3): the acceptable coding with
/// the highest q-value, gzip before brotli on a tie (browsers accept both alike; measured under
/// load, brotli 4 lost more throughput than gzip 6 in five of six runs, for big answers 5-7%
/// larger), and identity when it is preferred, when nothing else is acceptable, when the header
/// is absent, or when it is unreasonably long. An answer in identity is sent even when the client
/// excluded it (`identity;q=0` and nothing else it accepts): the RFC allows it, and it beats
/// an error a client could not act on.
pub fn negotiate(headers: &HeaderMap) -> Coding {
    let mut q = Accepted::default();
    let mut entries = 0;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            entries += 1;
            if entries > MAX_ENTRIES {
                return Coding::Identity;
            }
            q.add(entry);
        }
    }
    q.choose()
}

/// The q-values (in thousandths) an `Accept-Encoding` gave to what we know; the first mention
/// of a coding counts.
#[derive(Default)]
struct Accepted {
    gzip: Option<u16>,
    brotli: Option<u16>,
    identity: Option<u16>,
    any: Option<u16>,
}

impl Accepted {
    fn add(&mut self, entry: &str) {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim();
        let mut weight = Some(1000);
        for parameter in parts {
            let parameter = parameter.trim();
            if let Some(value) = parameter
                .strip_prefix("q=")
                .or_else(|| parameter.strip_prefix("Q="))
            {
                weight = qvalue(value);
            }
        }
        // An entry whose q-value does not parse is ignored, as if it were not there.
        let Some(weight) = weight else {
            return;
        };
        let slot = if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            &mut self.gzip
        } else if name.eq_ignore_ascii_case("br") {
            &mut self.brotli
        } else if name.eq_ignore_ascii_case("identity") {
            &mut self.identity
        } else if name == "*" {
            &mut self.any
        } else {
            return;
        };
        slot.get_or_insert(weight);
    }

    fn choose(&self) -> Coding {
        let brotli = self.brotli.or(self.any).unwrap_or(0);
        let gzip = self.gzip.or(self.any).unwrap_or(0);
        let identity = self.identity.or(self.any).unwrap_or(1);
        let (best, weight) = if gzip >= brotli {
            (Coding::Gzip, gzip)
        } else {
            (Coding::Brotli, brotli)
        };
        if weight == 0 || identity > weight {
            Coding::Identity
        } else {
            best
        }
    }
}

/// A q-value in thousandths: `0` … `1`, at most three decimals (RFC 9110 12.4.2).
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = match whole {
        "0" => fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0u16, |n, b| n * 10 + u16::from(b - b'0')),
        "1" if fraction.bytes().all(|b| b == b'0') => 1000,
        _ => return None,
    };
    Some(thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(accept: &str) -> Coding {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        negotiate(&headers)
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(negotiate(&HeaderMap::new()), Coding::Identity);
        assert_eq!(chosen("gzip"), Coding::Gzip);
        assert_eq!(chosen("gzip, deflate, br, zstd"), Coding::Gzip);
        assert_eq!(chosen("br, gzip;q=0.9"), Coding::Brotli);
        assert_eq!(chosen("br;q=0.5, gzip"), Coding::Gzip);
        assert_eq!(chosen("br;q=0, gzip;q=0.001"), Coding::Gzip);
        assert_eq!(chosen("*"), Coding::Gzip);
        assert_eq!(chosen("*;q=0.5, br;q=0"), Coding::Gzip);
        assert_eq!(chosen("gzip;q=0.5, identity"), Coding::Identity);
        assert_eq!(chosen("identity;q=0"), Coding::Identity);
        assert_eq!(chosen("gzip;q=0, br;q=0, *;q=0"), Coding::Identity);
        assert_eq!(chosen("deflate, zstd"), Coding::Identity);
        assert_eq!(chosen("GZIP;Q=1.000"), Coding::Gzip);
        // Malformed q-values: the entry is ignored.
        assert_eq!(chosen("br;q=2, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(chosen("br;q=0.1234, gzip;q=abc"), Coding::Identity);
        assert_eq!(chosen(&"x, ".repeat(100)), Coding::Identity);
    }

    #[test]
    fn tags_name_the_coding() {
        assert_eq!(tagged("\"abc\"", Coding::Gzip), "\"abc-gzip\"");
        assert_eq!(tagged("W/\"abc\"", Coding::Brotli), "W/\"abc-br\"");
        assert_eq!(tagged("\"abc\"", Coding::Identity), "\"abc\"");
        assert_eq!(untagged("\"abc-gzip\"", Coding::Gzip), "\"abc\"");
        assert_eq!(untagged("\"abc-gzip\"", Coding::Brotli), "\"abc-gzip\"");
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0."), Some(0));
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.001"), None);
    }
}
