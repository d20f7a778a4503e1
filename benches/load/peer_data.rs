//! The query pairs of the peer benchmark (`benches/peer/queries/`) and the check that both
//! servers' answers hold the same data.
//!
//! The two schemas differ in shape, not in data, and [`normalise`] removes only those
//! differences, on both answers alike: lists wrapped in `nodes`; link rows (`pairingThemes {
//! nodes { theme { … } } }` beside `themes { … }`); PostGraphile's table-derived names
//! (`pairingParticipants`, `pairingSdgs`, `ucapSections`, `activityPairings`); a participant's
//! `city` and `region` (one of them null) beside the `place` union; `latitude`/`longitude`
//! beside `coordinates { … }`; a date and its precision beside `{ text precision }`; enum values
//! in capitals beside PostgreSQL's lower-case labels; bigints as strings and `3178` beside
//! `3178.0`. What is left must be equal, in the same order, or the benchmark stops.

use serde_json::{Map, Number, Value, json};

/// One question asked of both servers: the documents and, per request variant, the variables
/// of each.
pub struct Pair {
    pub name: &'static str,
    pub iuc_query: String,
    pub peer_query: String,
    /// (iuc-graph variables, PostGraphile variables) per variant; requests cycle through them.
    pub variants: Vec<(Value, Value)>,
    /// Makes the two normalised answers comparable where the schemas differ in more than shape.
    pub fixup: fn(&mut Value),
}

impl Pair {
    /// The request bodies, one per variant, for iuc-graph (`peer == false`) or the peer.
    pub fn bodies(&self, peer: bool) -> Vec<String> {
        let query = if peer {
            &self.peer_query
        } else {
            &self.iuc_query
        };
        self.variants
            .iter()
            .map(|(iuc, pg)| {
                let variables = if peer { pg } else { iuc };
                json!({ "query": query, "variables": variables }).to_string()
            })
            .collect()
    }
}

fn query(side: &str, name: &str) -> String {
    let path = format!(
        "{}/benches/peer/queries/{side}/{name}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn pair(name: &'static str, variants: Vec<(Value, Value)>, fixup: fn(&mut Value)) -> Pair {
    Pair {
        name,
        iuc_query: query("iuc-graph", name),
        peer_query: query("postgraphile", name),
        variants,
        fixup,
    }
}

/// The pairs on a database made by `iuc-graph generate --pairings <pairings> --seed 1`.
/// Variants: 64 pairings for `single` (spread over the table as the load benchmark's pairing
/// page spreads them), the six thematic streams, 16 countries (the generator's first codes).
pub fn pairs(pairings: u64) -> Vec<Pair> {
    let none = || vec![(json!({}), json!({}))];
    let slugs = (0..64u64).map(|i| format!("g1-pairing-{}", (i * 7919) % pairings));
    let themes = (0..6).map(|k| format!("stream-g1-{k}"));
    let letters: Vec<char> = ('A'..='Z').collect();
    let countries = (0..16).map(|n| format!("{}{}", letters[n / 26], letters[n % 26]));
    vec![
        pair("pairings_table", none(), |_| {}),
        pair("deep", none(), |_| {}),
        pair(
            "single",
            slugs
                .map(|s| (json!({ "slug": s }), json!({ "slug": s })))
                .collect(),
            single_fixup,
        ),
        pair(
            "theme_pairings",
            themes
                .map(|t| (json!({ "themes": [t] }), json!({ "theme": t })))
                .collect(),
            |_| {},
        ),
        pair(
            "city_search",
            countries
                .map(|c| (json!({ "countries": [c] }), json!({ "country": c })))
                .collect(),
            |_| {},
        ),
    ]
}

/// Why the programme summary has no pair.
pub const SUMMARY_SKIPPED: &str = "summary: skipped. iuc-graph's `summary` counts distinct \
     participating cities, regions and countries, per side, per pairing kind and per theme; \
     PostGraphile's Amber preset has no aggregates (only `totalCount` on a connection; grouped \
     and distinct counts need @graphile/pg-aggregates, which is not installed), so it cannot \
     answer the same question in one request.";

/// `single`: iuc-graph's `stakeholders` is one list of the involvements in the pairing, its
/// UCAP and its projects; PostGraphile has the three lists where they belong. Both become one
/// list, sorted, as are the activities (iuc-graph lists them by date, PostGraphile by the link
/// table's key, and it cannot order by the linked activity's date).
fn single_fixup(answer: &mut Value) {
    let Some(pairing) = answer.as_object_mut() else {
        return;
    };
    let mut stakeholders = take_list(pairing, "involvements");
    if let Some(ucap) = pairing.get_mut("ucap").and_then(Value::as_object_mut) {
        stakeholders.extend(take_list(ucap, "involvements"));
        if let Some(projects) = ucap.get_mut("projects").and_then(Value::as_array_mut) {
            for project in projects.iter_mut().filter_map(Value::as_object_mut) {
                stakeholders.extend(take_list(project, "involvements"));
            }
        }
    }
    if !stakeholders.is_empty() || !pairing.contains_key("stakeholders") {
        pairing.insert("stakeholders".into(), Value::Array(stakeholders));
    }
    for key in ["stakeholders", "activities"] {
        if let Some(list) = pairing.get_mut(key).and_then(Value::as_array_mut) {
            list.sort_by_cached_key(Value::to_string);
        }
    }
}

fn take_list(object: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match object.remove(key) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    }
}

/// PostGraphile's names (and iuc-graph's `participations`) beside the common ones.
const RENAMES: [(&str, &str); 7] = [
    ("pairingBySlug", "pairing"),
    ("pairingParticipants", "participants"),
    ("participations", "participants"),
    ("pairingThemes", "themes"),
    ("pairingSdgs", "sdgs"),
    ("ucapSections", "sections"),
    ("activityPairings", "activities"),
];

/// A list item that is only a link to one of these is replaced by what it links to.
const LINKS: [&str; 4] = ["theme", "sdg", "activity", "pairing"];

/// An answer's `data`, normalised, without the single-field wrappers at its top (`{ pairings:
/// … }`, `{ themeBySlug: { themes: … } }`).
pub fn normalise_answer(data: &Value) -> Value {
    let mut value = normalise(data);
    while let Some(inner) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.values().next())
    {
        value = inner.clone();
    }
    value
}

fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(object) => normalise_object(object),
        Value::Array(items) => Value::Array(items.iter().map(|i| unlink(normalise(i))).collect()),
        Value::String(text) => normalise_text(text),
        Value::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        other => other.clone(),
    }
}

fn normalise_object(object: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (key, value) in object {
        let key = RENAMES
            .iter()
            .find(|(from, _)| from == key)
            .map_or(key.as_str(), |r| r.1);
        out.insert(key.to_owned(), normalise(value));
    }
    if out.len() == 1
        && let Some(nodes) = out.remove("nodes")
    {
        return nodes;
    }
    if let Some(Value::Object(coordinates)) = out.remove("coordinates") {
        out.extend(coordinates);
    }
    for (date, precision, into) in [
        ("startDate", "startPrecision", "start"),
        ("date", "datePrecision", "date"),
    ] {
        if let (Some(Value::String(d)), Some(Value::String(p))) =
            (out.get(date), out.get(precision))
        {
            let text = partial_date(d, p);
            let p = p.clone();
            out.remove(date);
            out.remove(precision);
            out.insert(into.into(), json!({ "text": text, "precision": p }));
        }
    }
    if out.contains_key("city") && out.contains_key("region") {
        let city = out.remove("city").unwrap_or(Value::Null);
        let region = out.remove("region").unwrap_or(Value::Null);
        out.insert("place".into(), if city.is_null() { region } else { city });
    }
    Value::Object(out)
}

/// A list item `{ theme: {…} }` (and the other links) becomes the theme.
fn unlink(item: Value) -> Value {
    match item {
        Value::Object(mut o) if o.len() == 1 && LINKS.iter().any(|l| o.contains_key(*l)) => {
            let key = o.keys().next().cloned().unwrap_or_default();
            o.remove(&key).unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Enum values in lower case; integers sent as strings (PostgreSQL's bigint) as numbers.
fn normalise_text(text: &str) -> Value {
    if !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    let enum_like = text.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    Value::String(if enum_like {
        text.to_ascii_lowercase()
    } else {
        text.to_owned()
    })
}

/// A date (`YYYY-MM-DD`) and its precision as iuc-graph writes the partial date.
fn partial_date(date: &str, precision: &str) -> String {
    let (year, month) = (&date[..4.min(date.len())], date.get(5..7).unwrap_or("01"));
    let month: u32 = month.parse().unwrap_or(1);
    match precision {
        "year" => year.to_owned(),
        "half_year" => format!("{year}-H{}", if month <= 6 { 1 } else { 2 }),
        "quarter" => format!("{year}-Q{}", (month - 1) / 3 + 1),
        "month" => date[..7.min(date.len())].to_owned(),
        _ => date.to_owned(),
    }
}

/// Where two normalised answers first differ (a path and both values), or `None`.
pub fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let here = format!("{path}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = difference(u, v, &here) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some(format!("{here}: {} vs {}", short(u), short(v))),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                if let Some(d) = difference(u, v, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} items vs {}", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{path}: {} vs {}", short(Some(a)), short(Some(b)))),
    }
}

fn short(value: Option<&Value>) -> String {
    let text = value.map_or("(absent)".to_owned(), Value::to_string);
    if text.len() > 300 {
        format!("{}…", &text[..text.floor_char_boundary(300)])
    } else {
        text
    }
}

/// How many scalar values an answer holds (to say how much a check compared).
pub fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(o) => o.values().map(leaves).sum(),
        Value::Array(a) => a.iter().map(leaves).sum(),
        _ => 1,
    }
}
