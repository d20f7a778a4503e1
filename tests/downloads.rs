//! The public downloads (`/data/…`) over a real server and real HTTP: anonymous 200s with
//! their content types; strong `ETag`s that stay while the data does and change with it, a
//! 304 for a matching `If-None-Match` that costs one statement; `Cache-Control: public`; the
//! dataset is the export's bytes (whole, filtered, generated data over several pages) and
//! imports back; the CSV is the export's table; GeoJSON is RFC 7946 (types, `[lon, lat]`,
//! every line's points are its participants' coordinates); bad filters are 400s that say why.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use api::service::dataset::Dataset;
use api::service::download::PAGE;
use api::service::export::{self, CSV_COLUMNS, ExportFilter};
use api::service::generate::{Options, generate};
use api::service::seed::{self, Mode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{TestApp, TestDb};

/// A server on a loopback port, serving `app` until the test ends.
async fn serve(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(api::server::serve(listener, app.state.clone()));
    addr
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("JSON ({e}): {}", &self.body[..self.body.len().min(300)]))
    }

    fn error_code(&self) -> String {
        self.json()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One HTTP/1.1 GET on its own connection, the body de-chunked.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8"),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16)
            .expect("a hexadecimal chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

async fn export_text(db: &TestDb, filter: &ExportFilter) -> String {
    export::to_json(&export::export(&db.conn, filter).await.expect("export"))
}

const PATHS: [(&str, &str); 4] = [
    ("/data/dataset.json", "application/json"),
    (
        "/data/pairings.csv",
        "text/csv; charset=utf-8; header=present",
    ),
    ("/data/places.geojson", "application/geo+json"),
    ("/data/pairings.geojson", "application/geo+json"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_public_cacheable_and_change_with_the_data() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let addr = serve(&app).await;
        let mut tags = Vec::new();
        for (path, content_type) in PATHS {
            let first = get(addr, path, &[]).await;
            assert_eq!(first.status, 200, "[{backend:?}] {path}: {}", first.body);
            assert_eq!(first.header("content-type"), content_type, "{path}");
            assert_eq!(
                first.header("cache-control"),
                "public, max-age=300",
                "{path}"
            );
            let tag = first.header("etag").to_owned();
            assert!(
                tag.starts_with('"') && tag.ends_with('"'),
                "a strong ETag: {tag}"
            );
            let again = get(addr, path, &[]).await;
            assert_eq!(again.header("etag"), tag, "[{backend:?}] {path}");
            assert!(
                again.body == first.body,
                "[{backend:?}] {path}: the same bytes"
            );
            let before = app.db.statements.get();
            let cached = get(addr, path, &[("If-None-Match", &tag)]).await;
            assert_eq!(cached.status, 304, "[{backend:?}] {path}");
            assert_eq!(
                app.db.statements.get() - before,
                1,
                "a 304 is one statement"
            );
            assert_eq!(cached.body, "");
            assert_eq!(cached.header("etag"), tag);
            assert_eq!(cached.header("cache-control"), "public, max-age=300");
            let other = get(addr, path, &[("If-None-Match", "\"something-else\"")]).await;
            assert_eq!(other.status, 200);
            // A filter is part of the tag.
            let filtered = get(addr, &format!("{path}?country=CN"), &[]).await;
            assert_eq!(filtered.status, 200, "{}", filtered.body);
            assert_ne!(filtered.header("etag"), tag, "{path}");
            tags.push((path, tag));
        }
        let distinct: HashSet<&String> = tags.iter().map(|(_, t)| t).collect();
        assert_eq!(distinct.len(), PATHS.len(), "one tag per download");

        // An import changes a title: every tag changes, and the new body says so.
        let mut data: Dataset =
            serde_json::from_str(&export_text(&app.db, &ExportFilter::default()).await).unwrap();
        let pairing = data
            .pairings
            .iter_mut()
            .find(|p| p.slug == "rome-yantai")
            .unwrap();
        pairing.title = "Rome – Yantai, retitled".into();
        seed::import_text(
            &app.db.conn,
            "edit.json",
            &export::to_json(&data),
            Mode::Apply,
            api::service::write::Actor::command_line("test"),
        )
        .await
        .expect("the import");
        for (path, tag) in &tags {
            let answer = get(addr, path, &[("If-None-Match", tag)]).await;
            assert_eq!(answer.status, 200, "[{backend:?}] {path} after a change");
            assert_ne!(answer.header("etag"), tag.as_str());
            if !path.contains("places") {
                assert!(answer.body.contains("retitled"), "{path}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dataset_is_the_export_and_imports_back() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let addr = serve(&app).await;
        let whole = get(addr, "/data/dataset.json", &[]).await;
        assert!(
            whole.body == export_text(&app.db, &ExportFilter::default()).await,
            "[{backend:?}] the streamed dataset is the export's bytes"
        );
        assert!(whole.header("x-changes-cursor").parse::<i64>().is_ok());
        let filter = ExportFilter {
            themes: vec!["stream-mobility-and-transport".into()],
            countries: vec!["CN".into()],
            ..ExportFilter::default()
        };
        let filtered = get(
            addr,
            "/data/dataset.json?theme=stream-mobility-and-transport&country=cn",
            &[],
        )
        .await;
        assert_eq!(filtered.status, 200, "{}", filtered.body);
        assert!(
            filtered.body == export_text(&app.db, &filter).await,
            "[{backend:?}] filtered"
        );
        let by_region = get(addr, "/data/dataset.json?programme-region=asia", &[]).await;
        let expected = export_text(
            &app.db,
            &ExportFilter {
                programme_regions: vec!["asia".into()],
                ..ExportFilter::default()
            },
        )
        .await;
        assert!(
            by_region.body == expected,
            "[{backend:?}] by programme region"
        );

        // Import into an empty database; its download is the same file.
        for text in [&whole.body, &filtered.body] {
            let target = TestDb::all()
                .await
                .into_iter()
                .find(|db| db.backend == backend)
                .unwrap();
            seed::load_text(&target.conn, "download.json", text, Mode::Apply)
                .await
                .unwrap_or_else(|e| panic!("[{backend:?}] the download imports: {e}"));
            let target_app = TestApp::new(target);
            let target_addr = serve(&target_app).await;
            let again = get(target_addr, "/data/dataset.json", &[]).await;
            assert!(
                again.body == *text,
                "[{backend:?}] download → import → download"
            );
        }
    }
}

/// Generated data over several pages of every section: the stream is still the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_over_many_pages_streams_as_the_export() {
    for db in TestDb::all().await {
        generate(
            &db.conn,
            Options {
                pairings: PAGE as u64 + 150,
                seed: 7,
            },
        )
        .await
        .expect("generate");
        let data = export::export(&db.conn, &ExportFilter::default())
            .await
            .unwrap();
        assert!(data.pairings.len() > PAGE && data.cities.len() > PAGE);
        let app = TestApp::new(db);
        let addr = serve(&app).await;
        let before = app.db.statements.get();
        let streamed = get(addr, "/data/dataset.json", &[]).await;
        let used = app.db.statements.get() - before;
        assert!(
            streamed.body == export::to_json(&data),
            "[{:?}] generated",
            app.db.backend
        );
        // A bounded number of statements per page (9 at most), none per record.
        let pages: usize = [
            data.cities.len(),
            data.regions.len(),
            data.pairings.len(),
            data.stakeholders.len(),
            data.activities.len(),
        ]
        .iter()
        .map(|n| n / PAGE + 1)
        .sum();
        println!("[{:?}] {used} statements for {pages} pages", app.db.backend);
        assert!(
            used as usize <= 20 + 9 * pages,
            "[{:?}] {used} statements for {pages} pages",
            app.db.backend
        );
        let csv = get(addr, "/data/pairings.csv", &[]).await;
        assert!(
            csv.body
                == export::csv_of(
                    &export::pairings_table(&app.db.conn, &ExportFilter::default())
                        .await
                        .unwrap()
                )
        );
        let slug = &data.pairings[PAGE + 3].slug;
        let one = get(addr, &format!("/data/dataset.json?pairing={slug}"), &[]).await;
        let filter = ExportFilter {
            pairings: vec![slug.clone()],
            ..ExportFilter::default()
        };
        assert!(
            one.body == export_text(&app.db, &filter).await,
            "one generated pairing"
        );
        let lines = get(addr, "/data/pairings.geojson", &[]).await.json();
        check_lines(&data, &lines);
        let places = get(addr, "/data/places.geojson", &[]).await.json();
        let located = data.cities.iter().filter(|c| c.latitude.is_some()).count()
            + data.regions.iter().filter(|r| r.latitude.is_some()).count();
        assert_eq!(places["features"].as_array().unwrap().len(), located);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_is_the_pairings_table() {
    for app in TestApp::all_seeded().await {
        let addr = serve(&app).await;
        for (query, filter) in [
            ("", ExportFilter::default()),
            (
                "?country=CO",
                ExportFilter {
                    countries: vec!["CO".into()],
                    ..ExportFilter::default()
                },
            ),
            (
                "?pairing=rome-yantai,barnsley-liuzhou",
                ExportFilter {
                    pairings: vec!["rome-yantai".into(), "barnsley-liuzhou".into()],
                    ..ExportFilter::default()
                },
            ),
        ] {
            let answer = get(addr, &format!("/data/pairings.csv{query}"), &[]).await;
            assert_eq!(answer.status, 200);
            let expected = export::pairings_csv(&app.db.conn, &filter).await.unwrap();
            assert!(answer.body == expected, "[{:?}] {query}", app.db.backend);
            assert_eq!(
                answer.body.split("\r\n").next().unwrap(),
                CSV_COLUMNS.join(",")
            );
        }
    }
}

/// Every pairing with two located participants has a feature; every line's points are its
/// participants' `[longitude, latitude]`.
fn check_lines(data: &Dataset, collection: &Value) {
    assert_eq!(collection["type"], "FeatureCollection");
    let mut position: HashMap<(bool, &str), [f64; 2]> = HashMap::new();
    for c in &data.cities {
        if let (Some(lon), Some(lat)) = (c.longitude, c.latitude) {
            position.insert((true, &c.slug), [lon, lat]);
        }
    }
    for r in &data.regions {
        if let (Some(lon), Some(lat)) = (r.longitude, r.latitude) {
            position.insert((false, &r.slug), [lon, lat]);
        }
    }
    let features = collection["features"].as_array().unwrap();
    let by_slug: HashMap<&str, &Value> = features
        .iter()
        .map(|f| (f["properties"]["slug"].as_str().unwrap(), f))
        .collect();
    for p in &data.pairings {
        let points: Vec<[f64; 2]> = p
            .participants
            .iter()
            .filter_map(|x| match (&x.city, &x.region) {
                (Some(c), _) => position.get(&(true, c.as_str())).copied(),
                (None, Some(r)) => position.get(&(false, r.as_str())).copied(),
                _ => None,
            })
            .collect();
        let Some(feature) = by_slug.get(p.slug.as_str()) else {
            assert!(
                points.len() < 2,
                "{} has located participants but no line",
                p.slug
            );
            continue;
        };
        assert_eq!(feature["type"], "Feature");
        assert_eq!(feature["properties"]["title"], p.title.as_str());
        assert!(feature["id"].as_str().is_some_and(|id| !id.is_empty()));
        let geometry = &feature["geometry"];
        let lines: Vec<&Value> = match geometry["type"].as_str().unwrap() {
            "LineString" => vec![&geometry["coordinates"]],
            "MultiLineString" => geometry["coordinates"].as_array().unwrap().iter().collect(),
            other => panic!("{}: a {other}", p.slug),
        };
        for line in lines {
            let line = line.as_array().unwrap();
            assert!(
                line.len() >= 2,
                "{}: a line has two positions at least",
                p.slug
            );
            for point in line {
                let point = [point[0].as_f64().unwrap(), point[1].as_f64().unwrap()];
                assert!(
                    points.contains(&point),
                    "{}: {point:?} is not a participant's",
                    p.slug
                );
            }
        }
    }
    for f in features {
        let slug = f["properties"]["slug"].as_str().unwrap();
        assert!(
            data.pairings.iter().any(|p| p.slug == slug),
            "{slug} is a pairing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geojson_is_rfc_7946_with_lon_lat_and_lines_between_participants() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let addr = serve(&app).await;
        let data = export::export(&app.db.conn, &ExportFilter::default())
            .await
            .unwrap();
        let places = get(addr, "/data/places.geojson", &[]).await.json();
        assert_eq!(places["type"], "FeatureCollection");
        let features = places["features"].as_array().unwrap();
        assert!(!features.is_empty());
        for f in features {
            assert_eq!(f["type"], "Feature");
            assert_eq!(f["geometry"]["type"], "Point");
            let [lon, lat] = [0, 1].map(|i| f["geometry"]["coordinates"][i].as_f64().unwrap());
            assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
            let props = &f["properties"];
            assert_eq!(f["id"], props["id"]);
            let (typename, id) = api::id::decode(f["id"].as_str().unwrap()).unwrap();
            assert!(id > 0);
            assert_eq!(props["typename"], typename.name());
            let slug = props["slug"].as_str().unwrap();
            let (x, y, name) = match props["typename"].as_str().unwrap() {
                "City" => {
                    let c = data.cities.iter().find(|c| c.slug == slug).unwrap();
                    (c.longitude, c.latitude, &c.name)
                }
                _ => {
                    let r = data.regions.iter().find(|r| r.slug == slug).unwrap();
                    (r.longitude, r.latitude, &r.name)
                }
            };
            assert_eq!(
                (Some(lon), Some(lat)),
                (x, y),
                "[{backend:?}] {slug}: [lon, lat]"
            );
            assert_eq!(props["name"], name.as_str());
            assert_eq!(
                props["pairing_count"],
                props["pairings"].as_array().unwrap().len()
            );
        }
        // Rome is at 12.5° E, 41.9° N: longitude first.
        let rome = features
            .iter()
            .find(|f| f["properties"]["slug"] == "rome")
            .unwrap();
        let coordinates = rome["geometry"]["coordinates"].as_array().unwrap();
        assert!(
            (coordinates[0].as_f64().unwrap() - 12.5).abs() < 0.2,
            "{coordinates:?}"
        );
        assert!(
            (coordinates[1].as_f64().unwrap() - 41.9).abs() < 0.2,
            "{coordinates:?}"
        );
        assert!(
            rome["properties"]["pairings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "rome-yantai")
        );
        assert_eq!(rome["properties"]["country"], "IT");

        let lines = get(addr, "/data/pairings.geojson", &[]).await.json();
        check_lines(&data, &lines);
        assert!(!lines["features"].as_array().unwrap().is_empty());

        // Filtered: only Chinese pairings, and only the places taking part in them.
        let filter = ExportFilter {
            countries: vec!["CN".into()],
            ..ExportFilter::default()
        };
        let chosen = export::export(&app.db.conn, &filter).await.unwrap();
        let lines = get(addr, "/data/pairings.geojson?country=CN", &[])
            .await
            .json();
        check_lines(&chosen, &lines);
        let places = get(addr, "/data/places.geojson?country=CN", &[])
            .await
            .json();
        for f in places["features"].as_array().unwrap() {
            let pairings = f["properties"]["pairings"].as_array().unwrap();
            assert!(!pairings.is_empty());
            for p in pairings {
                assert!(
                    chosen
                        .pairings
                        .iter()
                        .any(|c| c.slug == p.as_str().unwrap())
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_400s_that_say_what_is_wrong() {
    for app in TestApp::all_seeded().await {
        let addr = serve(&app).await;
        let many = format!("/data/pairings.csv?pairing={}", vec!["x"; 1001].join(","));
        for (path, says) in [
            (
                "/data/dataset.json?themes=stream-mobility-and-transport",
                "unknown parameter \"themes\"",
            ),
            (
                "/data/places.geojson?theme=no-such-theme",
                "no such `theme`: no-such-theme",
            ),
            (
                "/data/pairings.geojson?country=XX,CN",
                "no such `country`: XX",
            ),
            (
                "/data/pairings.csv?pairing=rome-yantai,nowhere",
                "no such `pairing`: nowhere",
            ),
            (
                "/data/dataset.json?programme-region=atlantis",
                "`programme-region`: atlantis",
            ),
            (
                "/data/pairings.csv?format=json",
                "unknown parameter \"format\"",
            ),
            ("/export?format=xml", "unknown format"),
            (many.as_str(), "at most 1000 values"),
        ] {
            let answer = get(addr, path, &[]).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.body);
            assert!(
                answer
                    .header("content-type")
                    .starts_with("application/json")
            );
            assert_eq!(answer.error_code(), "BAD_USER_INPUT", "{path}");
            let message = answer.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(message.contains(says), "{path}: {message}");
        }
    }
}
