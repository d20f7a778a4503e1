//! The fuzzer's cases: each is made from the seed and its own number alone, so that any case
//! can be made again (`--case K`) whatever ran before it or beside it.

/// splitmix64: small, fast and good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, case: u64) -> Rng {
        let mut rng = Rng(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next();
        rng
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// How a case's bytes reach the server.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// All at once.
    Whole,
    /// In this many pieces with this many milliseconds between them.
    Slow { pieces: usize, pause_ms: u64 },
    /// Only this many bytes, then the client stops writing (half-close).
    Truncated { keep: usize },
}

/// One request: raw HTTP bytes, how they are sent, and what kind of case made them.
pub struct Case {
    pub kind: &'static str,
    pub bytes: Vec<u8>,
    pub delivery: Delivery,
}

/// Valid documents to mutate: the load benchmark's operations and others that reach the rest
/// of the schema (mutations, introspection, fragments, directives, variables).
const CORPUS: &[&str] = &[
    "query($t: [String!]) { pairings(filter: { themes: $t }, first: 50) { pageInfo { hasNextPage endCursor } nodes { slug title participants { side role place { ... on City { name country { code name } } ... on Region { name country { code name } } } } themes { slug name } } } }",
    "query($s: String!) { pairing(slug: $s) { title summary status start { text } programmeRegion { name } countries { code name } participants { side role place { ... on City { name population leader country { name } } } } themes { name scheme } sdgs { number name } ucap { status sections { sectionType { name } body } projects(first: 20) { totalCount nodes { kind title city { name } } } } stakeholders(first: 20) { totalCount nodes { role stakeholder { name helix city { name } } } } activities(first: 20) { totalCount nodes { date { text } kind title place } } } }",
    "{ pairings(first: 20) { nodes { title participants { place { ... on City { name pairings(first: 10) { nodes { title themes { name } } } } } } } } }",
    "query($p: String) { cities(filter: { nameStartsWith: $p }, first: 20) { nodes { slug name country { code } } } }",
    "{ summary { pairings cities regions countries sides { side countries cities regions } pairingKinds { kind pairings } themes { theme { slug name } pairings cities regions citiesAndRegions } } }",
    "query Q($first: Int = 5, $after: String) { cities(first: $first, after: $after) { totalCount edges { cursor node { id slug name population } } pageInfo { hasNextPage endCursor } } }",
    "query { a: cities(last: 3) { nodes { ...C } } b: regions(first: 2) { nodes { name } } } fragment C on City { name country { code name } }",
    "query($skip: Boolean!) { summary @skip(if: $skip) { pairings } __typename @include(if: true) }",
    "{ __schema { queryType { name } types { name kind fields(includeDeprecated: true) { name args { name type { name kind ofType { name } } } type { name kind ofType { name kind } } } } } }",
    "{ __type(name: \"City\") { name fields { name type { name ofType { name } } } } }",
    "{ node(id: \"Q2l0eToxMjM=\") { id ... on City { name } } }",
    "mutation { createCity(input: { slug: \"fuzz\", name: \"Fuzz\", kind: CITY, country: \"AA\" }) { city { id version } } }",
    "mutation($id: ID!) { deleteCity(input: { id: $id, version: 1 }) { deletedId } }",
    "query { themes { slug name scheme } sdgs { number name } countries(first: 5) { nodes { code name } } }",
];

/// Tokens worth inserting: punctuation, introspection, fragments, extreme numbers and strings
/// with escapes that decode to NUL, lone surrogates and non-characters.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "...",
    ":",
    "!",
    "=",
    "$x",
    "@skip(if: true)",
    "@include(if: false)",
    "@deprecated",
    "__typename",
    "__schema { types { name } }",
    "__type(name: \"Query\") { name }",
    "...F",
    "... on City { name }",
    "fragment F on Query { __typename }",
    "99999999999999999999999999999999",
    "-2147483649",
    "2147483648",
    "1e999999",
    "-0.0e-400",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\"\\uDFFF\\uD800\"",
    "\"\\uFFFF\"",
    "\"\\x\"",
    "\"\"\"block \\\"\"\" \"\"\"",
    "null",
    "true",
    "first: -1",
    "first: 100000",
    "last: 0",
    "after: \"AAAA\"",
    "query",
    "mutation",
    "subscription",
    "#",
    "&",
    "|",
    "ID!",
    "$",
    "\u{0}",
    "\u{FEFF}",
];

/// Makes case number `case` of the run seeded with `seed`.
pub fn make(seed: u64, case: u64) -> Case {
    let mut rng = Rng::new(seed, case);
    match rng.below(100) {
        0..=31 => mutated(&mut rng),
        32..=34 => dense(&mut rng, case),
        35..=44 => deep(&mut rng),
        45..=51 => fragments(&mut rng),
        52..=56 => introspection(&mut rng),
        57..=71 => odd_json(&mut rng),
        72..=78 => random_bytes(&mut rng),
        79..=88 => odd_http(&mut rng),
        89..=94 => truncated(&mut rng),
        _ => slow(&mut rng),
    }
}

/// A POST of a JSON body to `/graphql`.
pub fn post(kind: &'static str, body: Vec<u8>) -> Case {
    Case {
        kind,
        bytes: http(
            "POST",
            "/graphql",
            &[("Content-Type", "application/json")],
            &body,
        ),
        delivery: Delivery::Whole,
    }
}

/// Raw HTTP/1.1 request bytes (the connection closes after it).
pub fn http(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `{"query": document}` with, sometimes, variables of random shapes.
fn graphql_body(rng: &mut Rng, document: &str) -> Vec<u8> {
    let variables = match rng.below(6) {
        0 => "{\"t\": [\"stream-g1-0\"], \"s\": \"g1-pairing-1\", \"p\": \"va\"}".to_owned(),
        1 => "{\"first\": 1e400, \"t\": [null], \"s\": \"\\ud800\", \"p\": \"\\u0000\"}".to_owned(),
        2 => format!(
            "{{\"first\": {}}}",
            rng.pick(&["-1", "2147483648", "1.5", "\"5\"", "[]"])
        ),
        _ => "null".to_owned(),
    };
    let query = serde_json::Value::from(document);
    format!("{{\"query\": {query}, \"variables\": {variables}}}").into_bytes()
}

/// A corpus document with one to six token-level mutations.
fn mutated(rng: &mut Rng) -> Case {
    let mut tokens = tokenize(rng.pick(CORPUS));
    for _ in 0..1 + rng.below(6) {
        mutate(rng, &mut tokens);
    }
    let document = tokens.join(" ");
    post("mutated document", graphql_body(rng, &document))
}

fn mutate(rng: &mut Rng, tokens: &mut Vec<String>) {
    if tokens.is_empty() {
        tokens.push("{".into());
    }
    let at = rng.below(tokens.len());
    match rng.below(6) {
        0 => {
            tokens.remove(at);
        }
        1 => tokens.insert(at, rng.pick(TOKENS).to_owned()),
        2 => {
            // Repeat a run of tokens: makes long lists, many fields, deep sets.
            let len = 1 + rng.below(20.min(tokens.len() - at));
            let run: Vec<String> = tokens[at..at + len].to_vec();
            for _ in 0..1 + rng.below(50) {
                tokens.splice(at..at, run.iter().cloned());
            }
        }
        3 => {
            let other = rng.below(tokens.len());
            tokens.swap(at, other);
        }
        4 => {
            let other = rng.below(tokens.len());
            tokens[at] = tokens[other].clone();
        }
        _ => tokens.truncate(at),
    }
}

/// GraphQL tokens, roughly: names, numbers, strings, `...`, other characters one by one.
fn tokenize(document: &str) -> Vec<String> {
    let chars: Vec<char> = document.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '-' {
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.-".contains(chars[i])) {
                i += 1;
            }
        } else if chars[i..].starts_with(&['.', '.', '.']) {
            i += 3;
        } else {
            i += 1;
        }
        tokens.push(chars[start..i.min(chars.len())].iter().collect());
    }
    tokens
}

/// A document of nested selection sets with one-letter names, new each time (the case number
/// in a comment): the largest syntax tree per byte of text that parses (about 250 bytes of
/// tree per byte), up to the body limit. It will not validate; it must still not cost more
/// than its share of memory while parsed, or in the parsed-document cache.
fn dense(rng: &mut Rng, case: u64) -> Case {
    let size = rng.pick(&[4_000, 16_000, 50_000, 95_000]);
    let sets = "a{b{c{d}}} ".repeat(size / 11);
    post(
        "dense document",
        graphql_body(rng, &format!("# {case}\n{{ {sets}}}")),
    )
}

/// A nesting depth: mostly modest, sometimes far past any sensible limit.
fn depth(rng: &mut Rng) -> usize {
    rng.pick(&[16, 64, 300, 1_000, 2_500, 5_000, 20_000])
}

/// Deep nesting of lists, objects, selection sets, inline fragments, JSON.
fn deep(rng: &mut Rng) -> Case {
    let d = depth(rng);
    let nest = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(d), close.repeat(d))
    };
    let (kind, body) = match rng.below(7) {
        0 => {
            let list = nest("[", "\"x\"", "]");
            let q =
                format!("{{ pairings(filter: {{ themes: {list} }}, first: 1) {{ totalCount }} }}");
            ("deep list value", graphql_body(rng, &q))
        }
        1 => {
            let object = nest("{a: ", "1", "}");
            let q = format!("{{ cities(filter: {object}, first: 1) {{ totalCount }} }}");
            ("deep object value", graphql_body(rng, &q))
        }
        2 => (
            "deep selection set",
            graphql_body(rng, &nest("{ a ", "", "}")),
        ),
        3 => {
            let q = nest("{ ... on Query ", "{ __typename }", "}");
            ("deep inline fragments", graphql_body(rng, &q))
        }
        4 => {
            let q = "query($t: [String!]) { pairings(filter: { themes: $t }, first: 1) { totalCount } }";
            let v = nest("[", "\"x\"", "]");
            let body = format!("{{\"query\": \"{q}\", \"variables\": {{\"t\": {v}}}}}");
            ("deep variables", body.into_bytes())
        }
        5 => {
            let body = format!(
                "{{\"query\": \"{{ __typename }}\", \"extensions\": {}}}",
                nest("{\"a\":", "1", "}")
            );
            ("deep JSON extensions", body.into_bytes())
        }
        _ => ("deep JSON array", nest("[", "", "]").into_bytes()),
    };
    post(kind, body)
}

/// Fragment spreads: exponential bombs at the root and below it, cycles, many spreads.
fn fragments(rng: &mut Rng) -> Case {
    let n = 5 + rng.below(40);
    let (kind, document) = match rng.below(5) {
        0 => (
            "root fragment bomb",
            bomb("Query", "{ ...F0 }", n, "__typename"),
        ),
        1 => (
            "nested fragment bomb",
            bomb(
                "Pairing",
                "{ pairings(first: 1) { nodes { ...F0 } } }",
                n,
                "slug",
            ),
        ),
        2 => (
            "fragment cycle",
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_owned(),
        ),
        3 => {
            let spreads = "...F ".repeat(n * 200);
            let q = format!("{{ {spreads} }} fragment F on Query {{ summary {{ pairings }} }}");
            ("many spreads", q)
        }
        _ => {
            let chain: String = (0..n * 20)
                .map(|i| format!("fragment F{i} on Query {{ ...F{} }} ", i + 1))
                .collect();
            let q = format!(
                "{{ ...F0 }} {chain} fragment F{} on Query {{ __typename }}",
                n * 20
            );
            ("fragment chain", q)
        }
    };
    let body = graphql_body(rng, &document);
    post(kind, body)
}

/// `n` fragments, each spreading the next twice (2^n leaves), the last selecting `leaf`.
fn bomb(on: &str, operation: &str, n: usize, leaf: &str) -> String {
    let mut document = operation.to_owned();
    for i in 0..n {
        document.push_str(&format!(
            " fragment F{i} on {on} {{ ...F{j} ...F{j} }}",
            j = i + 1
        ));
    }
    document.push_str(&format!(" fragment F{n} on {on} {{ {leaf} }}"));
    document
}

/// Introspection nested through `fields { type { fields ... } }` and `ofType`, with aliases.
fn introspection(rng: &mut Rng) -> Case {
    let levels = rng.pick(&[3, 6, 10, 20, 40]);
    let mut inner = "name".to_owned();
    for _ in 0..levels {
        inner = match rng.below(3) {
            0 => format!("name fields {{ name type {{ {inner} }} }}"),
            1 => format!("name ofType {{ {inner} }}"),
            _ => format!("name interfaces {{ {inner} }} possibleTypes {{ {inner} }}"),
        };
    }
    let copies = 1 + rng.below(8);
    let selections: String = (0..copies)
        .map(|i| format!("s{i}: __schema {{ types {{ {inner} }} }} "))
        .collect();
    let body = graphql_body(rng, &format!("{{ {selections} }}"));
    post("nested introspection", body)
}

/// JSON bodies that are odd: duplicate keys, invalid UTF-8, lone surrogates, NUL, huge
/// numbers, wrong types, batches, trailing garbage.
fn odd_json(rng: &mut Rng) -> Case {
    let bodies: &[&[u8]] = &[
        b"{\"query\":\"{ __typename }\",\"query\":\"{ summary { pairings } }\"}",
        b"{\"query\":\"{ cities(filter: { nameStartsWith: \\\"\\ud800\\\" }) { nodes { name } } }\"}",
        b"{\"query\":\"query($p: String) { cities(filter: { nameStartsWith: $p }) { nodes { name } } }\",\"variables\":{\"p\":\"\\u0000\\udc00\"}}",
        b"{\"query\":\"{ pairing(slug: \\\"\\u0000\\\") { title } }\"}",
        b"{\"query\":\"{ __typename \xff\xfe }\"}",
        b"{\"query\":\"{ cities(filter: { nameStartsWith: \\\"\xc3\\\" }) { nodes { name } } }\"}",
        b"{\"query\":\"query($f: Int) { cities(first: $f) { totalCount } }\",\"variables\":{\"f\":1e400}}",
        b"{\"query\":\"query($f: Int) { cities(first: $f) { totalCount } }\",\"variables\":{\"f\":-99999999999999999999999}}",
        b"{\"query\":12345}",
        b"{\"query\":[\"{ __typename }\"]}",
        b"{\"query\":null,\"extensions\":{\"persistedQuery\":{\"version\":1,\"sha256Hash\":12}}}",
        b"{\"extensions\":{\"persistedQuery\":{\"version\":2,\"sha256Hash\":\"../../etc/passwd\"}}}",
        b"{\"query\":\"{ __typename }\",\"variables\":\"x\",\"operationName\":{}}",
        b"[]",
        b"[[{\"query\":\"{ __typename }\"}]]",
        b"[1, \"a\", null, {}]",
        b"{\"query\":\"{ __typename }\"} trailing",
        b"\xef\xbb\xbf{\"query\":\"{ __typename }\"}",
        b"",
        b"   ",
        b"null",
        b"{\"query\":\"{ node(id: \\\"\\u0000\\\") { id } }\"}",
        b"{\"query\":\"mutation { createCity(input: { slug: \\\"a\\u0000b\\\", name: \\\"\\ud800\\\", kind: CITY, country: \\\"AA\\\" }) { city { id } } }\"}",
    ];
    let body = match rng.below(bodies.len() + 3) {
        n if n < bodies.len() => bodies[n].to_vec(),
        n if n == bodies.len() => {
            let one = "{\"query\":\"{ summary { pairings } }\"},";
            format!("[{}{{}}]", one.repeat(1 + rng.below(200))).into_bytes()
        }
        n if n == bodies.len() + 1 => {
            let keys: String = (0..1 + rng.below(5000))
                .map(|i| format!("\"k{i}\":{i},"))
                .collect();
            format!("{{\"query\":\"{{ __typename }}\",\"variables\":{{{keys}\"z\":0}}}}")
                .into_bytes()
        }
        _ => {
            let name = "x".repeat(rng.below(90_000));
            format!("{{\"query\":\"query {name} {{ __typename }}\",\"operationName\":\"{name}\"}}")
                .into_bytes()
        }
    };
    post("odd JSON", body)
}

/// Random bytes, or random printable text, as a JSON body.
fn random_bytes(rng: &mut Rng) -> Case {
    let len = rng.below(4096);
    let printable = rng.chance(50);
    let body: Vec<u8> = (0..len)
        .map(|_| {
            let b = rng.next() as u8;
            if printable { b' ' + b % 95 } else { b }
        })
        .collect();
    post("random bytes", body)
}

/// Other content types, methods, paths and headers.
fn odd_http(rng: &mut Rng) -> Case {
    let document = tokenize(rng.pick(CORPUS)).join(" ");
    let json = serde_json::json!({ "query": document }).to_string();
    let query_string = format!("/graphql?query={}", percent(&document));
    let long_path = format!("/graphql?{}", "a".repeat(rng.below(20_000)));
    let long_header = "x".repeat(rng.below(70_000));
    let bytes = match rng.below(14) {
        0 => http(
            "POST",
            "/graphql",
            &[("Content-Type", "text/plain")],
            json.as_bytes(),
        ),
        1 => http(
            "POST",
            "/graphql",
            &[("Content-Type", "application/graphql")],
            document.as_bytes(),
        ),
        2 => http(
            "POST",
            "/graphql",
            &[("Content-Type", "multipart/form-data; boundary=x")],
            json.as_bytes(),
        ),
        3 => http(
            "POST",
            "/graphql",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("query={}", percent(&document)).as_bytes(),
        ),
        4 => http("POST", "/graphql", &[], json.as_bytes()),
        5 => http(
            "GET",
            &query_string,
            &[("Accept", "application/graphql-response+json")],
            b"",
        ),
        6 => http(
            rng.pick(&["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FUZZ"]),
            "/graphql",
            &[("Content-Type", "application/json")],
            json.as_bytes(),
        ),
        7 => http(
            "GET",
            rng.pick(&[
                "/",
                "/healthz?x=1",
                "/readyz",
                "/metrics",
                "//graphql",
                "/graphql/..%2f..%2fetc",
                "/%00",
                "/graphql?query=%ff%fe",
            ]),
            &[],
            b"",
        ),
        8 => http("GET", &long_path, &[], b""),
        9 => http(
            "POST",
            "/graphql",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer iuc_{long_header}")),
            ],
            json.as_bytes(),
        ),
        10 => http(
            "POST",
            "/graphql",
            &[
                ("Content-Type", "application/json"),
                (
                    "Authorization",
                    rng.pick(&["Bearer", "Bearer iuc_0000", "Basic YTpi", "Bearer \u{7f}"]),
                ),
            ],
            json.as_bytes(),
        ),
        11 => http(
            "POST",
            "/graphql",
            &[
                ("Content-Type", "application/json"),
                (
                    "Content-Length",
                    rng.pick(&["-1", "abc", "99999999999999999999", "1, 2"]),
                ),
            ],
            json.as_bytes(),
        ),
        12 => http(
            "POST",
            "/graphql",
            &[
                ("Content-Type", "application/json"),
                ("Transfer-Encoding", "chunked"),
                ("Content-Length", "0"),
            ],
            format!("{:x}\r\n{json}\r\n0\r\n\r\n", json.len()).as_bytes(),
        ),
        _ => http(
            "POST",
            "/graphql",
            &[("Content-Type", "application/json; charset=utf-16")],
            json.as_bytes(),
        ),
    };
    Case {
        kind: "odd HTTP",
        bytes,
        delivery: Delivery::Whole,
    }
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A request whose body stops short of its `Content-Length`.
fn truncated(rng: &mut Rng) -> Case {
    let mut case = mutated(rng);
    let keep = rng.below(case.bytes.len().max(1));
    case.kind = "truncated body";
    case.delivery = Delivery::Truncated { keep };
    case
}

/// A request sent in pieces, slowly (up to about 3 s).
fn slow(rng: &mut Rng) -> Case {
    let mut case = mutated(rng);
    case.kind = "slow body";
    case.delivery = Delivery::Slow {
        pieces: 2 + rng.below(10),
        pause_ms: 50 + rng.below(250) as u64,
    };
    case
}
