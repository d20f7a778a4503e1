//! GeoJSON (RFC 7946) for maps, streamed a page at a time like the other downloads
//! (`download.rs`): one `FeatureCollection`, one feature per line.
//!
//! - **Places**: every city and region with coordinates (in a filtered download, those taking
//!   part in a chosen pairing) as a `Point`, cities first, each by slug. Its `id` is the
//!   GraphQL global id; its properties say what it is and which of the (chosen) pairings it
//!   takes part in.
//! - **Pairings**: a pairing as lines between its participants that have coordinates: one
//!   segment from each European participant to each partner participant (in the pairing's
//!   order); a pairing whose located participants are all on one side joins them in order.
//!   One segment is a `LineString`, more a `MultiLineString`. A pairing with fewer than two
//!   located participants has no line and is left out.
//!
//! Positions are `[longitude, latitude]` (RFC 7946 §3.1.1), as stored; no `crs`, no `bbox`,
//! no foreign members.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::enums::Side;
use entity::*;
use sea_orm::{ActiveEnum, DatabaseTransaction};
use serde_json::{Value, json};

use super::download::{DownloadError, Extent, PAGE, Reference, Sink, and, keys_in, slug_page};
use super::export::{referenced, rows};
use super::sql::Sql;
use crate::id::{self, NodeType};
use crate::partial_date::PartialDate;

const OPEN: &str = "{\"type\":\"FeatureCollection\",\"features\":[";
const CLOSE: &str = "\n]}\n";

/// Features written so far: the separator before the next.
struct Features(usize);

impl Features {
    async fn write(&mut self, out: &mut Sink, feature: &Value) -> Result<(), DownloadError> {
        out.write(if self.0 == 0 { "\n" } else { ",\n" }).await?;
        out.write(&feature.to_string()).await?;
        self.0 += 1;
        Ok(())
    }
}

/// `latitude` and `longitude` known, and (filtered) taking part in a chosen pairing.
fn located(extent: &Extent, column: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push("latitude IS NOT NULL AND longitude IS NOT NULL");
    if let Some(by_pairing) = &extent.scope.by_pairing {
        let mut sub = Sql::default();
        sub.push("SELECT ")
            .push(column)
            .push(" FROM pairing_participant WHERE ")
            .append(by_pairing);
        sql.push(" AND ").append(&super::export::within("id", &sub));
    }
    sql
}

pub(super) async fn write_places(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let countries: HashMap<i32, &str> = reference
        .countries
        .iter()
        .map(|c| (c.id, c.code.as_str()))
        .collect();
    let mut features = Features(0);
    out.write(OPEN).await?;
    let condition = located(extent, "city_id");
    let mut after: Option<String> = None;
    loop {
        let page = slug_page::<city::Entity>(txn, Some(&condition), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let mut pairings =
            place_pairings(txn, extent, "city_id", page.iter().map(|c| c.id)).await?;
        for c in &page {
            let place = Place {
                id: id::encode(NodeType::City, c.id).to_string(),
                typename: "City",
                slug: &c.slug,
                name: &c.name,
                kind: Some(c.kind.to_value()),
                country: countries.get(&c.country_id).copied(),
                population: c.population,
                position: (c.longitude, c.latitude),
            };
            features
                .write(
                    out,
                    &place.feature(pairings.remove(&c.id).unwrap_or_default()),
                )
                .await?;
        }
        if !full {
            break;
        }
    }
    let condition = located(extent, "region_id");
    let mut after: Option<String> = None;
    loop {
        let page = slug_page::<region::Entity>(txn, Some(&condition), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let mut pairings =
            place_pairings(txn, extent, "region_id", page.iter().map(|r| r.id)).await?;
        for r in &page {
            let place = Place {
                id: id::encode(NodeType::Region, r.id).to_string(),
                typename: "Region",
                slug: &r.slug,
                name: &r.name,
                kind: None,
                country: countries.get(&r.country_id).copied(),
                population: r.population,
                position: (r.longitude, r.latitude),
            };
            features
                .write(
                    out,
                    &place.feature(pairings.remove(&r.id).unwrap_or_default()),
                )
                .await?;
        }
        if !full {
            break;
        }
    }
    out.write(CLOSE).await
}

struct Place<'a> {
    id: String,
    typename: &'static str,
    slug: &'a str,
    name: &'a str,
    kind: Option<String>,
    country: Option<&'a str>,
    population: Option<i64>,
    position: (Option<f64>, Option<f64>),
}

impl Place<'_> {
    fn feature(self, pairings: BTreeSet<String>) -> Value {
        let (lon, lat) = self.position;
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": { "type": "Point", "coordinates": [lon, lat] },
            "properties": {
                "id": self.id,
                "typename": self.typename,
                "slug": self.slug,
                "name": self.name,
                "kind": self.kind,
                "country": self.country,
                "population": self.population,
                "pairing_count": pairings.len(),
                "pairings": pairings,
            },
        })
    }
}

/// The slugs of the (chosen) pairings each place of a page takes part in, by place id: two
/// statements.
async fn place_pairings(
    txn: &DatabaseTransaction,
    extent: &Extent,
    column: &str,
    ids: impl IntoIterator<Item = i32>,
) -> Result<HashMap<i32, BTreeSet<String>>, DownloadError> {
    let mine = keys_in(column, ids);
    let participants = rows::<pairing_participant::Entity>(
        txn,
        and(Some(&mine), extent.scope.by_pairing.clone()).as_ref(),
    )
    .await?;
    let pairing_ids: BTreeSet<i32> = participants.iter().map(|p| p.pairing_id).collect();
    let slugs: HashMap<i32, String> =
        referenced::<pairing::Entity>(txn, false, &pairing_ids, |m| m.id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.slug))
            .collect();
    let mut by_place: HashMap<i32, BTreeSet<String>> = HashMap::new();
    for p in participants {
        let place = if column == "city_id" {
            p.city_id
        } else {
            p.region_id
        };
        if let (Some(place), Some(slug)) = (place, slugs.get(&p.pairing_id)) {
            by_place.entry(place).or_default().insert(slug.clone());
        }
    }
    Ok(by_place)
}

pub(super) async fn write_pairings(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let regions: HashMap<i32, &str> = reference
        .programme_regions
        .iter()
        .map(|r| (r.id, r.slug.as_str()))
        .collect();
    let themes: HashMap<i32, &str> = reference
        .themes
        .iter()
        .map(|t| (t.id, t.slug.as_str()))
        .collect();
    let mut features = Features(0);
    out.write(OPEN).await?;
    let mut after: Option<String> = None;
    loop {
        let page =
            slug_page::<pairing::Entity>(txn, extent.pairings.as_ref(), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let children = PageChildren::read(txn, &page).await?;
        for p in &page {
            let Some(geometry) = children.geometry(p.id) else {
                continue;
            };
            let mut theme_slugs: Vec<&str> = children
                .themes
                .get(&p.id)
                .into_iter()
                .flatten()
                .filter_map(|t| themes.get(t).copied())
                .collect();
            theme_slugs.sort_unstable();
            let start = match (p.start_date, p.start_precision) {
                (Some(d), Some(precision)) => Some(PartialDate::new(d, precision).to_string()),
                _ => None,
            };
            let id = id::encode(NodeType::Pairing, p.id).to_string();
            let feature = json!({
                "type": "Feature",
                "id": id,
                "geometry": geometry,
                "properties": {
                    "id": id,
                    "slug": p.slug,
                    "title": p.title,
                    "kind": p.kind.to_value(),
                    "status": p.status.to_value(),
                    "programme_region": regions.get(&p.programme_region_id).copied(),
                    "start": start,
                    "themes": theme_slugs,
                    "participants": children.participant_slugs(p.id),
                },
            });
            features.write(out, &feature).await?;
        }
        if !full {
            break;
        }
    }
    out.write(CLOSE).await
}

/// A page of pairings' participants (in order), their places and the pairings' theme ids:
/// four statements.
struct PageChildren {
    participants: BTreeMap<i32, Vec<pairing_participant::Model>>,
    themes: HashMap<i32, Vec<i32>>,
    cities: HashMap<i32, city::Model>,
    regions: HashMap<i32, region::Model>,
}

impl PageChildren {
    async fn read(
        txn: &DatabaseTransaction,
        page: &[pairing::Model],
    ) -> Result<Self, DownloadError> {
        let by_pairing = keys_in("pairing_id", page.iter().map(|p| p.id));
        let mut participants: BTreeMap<i32, Vec<pairing_participant::Model>> = BTreeMap::new();
        for p in rows::<pairing_participant::Entity>(txn, Some(&by_pairing)).await? {
            participants.entry(p.pairing_id).or_default().push(p);
        }
        for list in participants.values_mut() {
            list.sort_by_key(|p| (p.position, p.id));
        }
        let mut themes: HashMap<i32, Vec<i32>> = HashMap::new();
        for t in rows::<pairing_theme::Entity>(txn, Some(&by_pairing)).await? {
            themes.entry(t.pairing_id).or_default().push(t.theme_id);
        }
        let all = participants.values().flatten();
        let city_ids: BTreeSet<i32> = all.clone().filter_map(|p| p.city_id).collect();
        let region_ids: BTreeSet<i32> = all.filter_map(|p| p.region_id).collect();
        let cities = referenced::<city::Entity>(txn, false, &city_ids, |m| m.id).await?;
        let regions = referenced::<region::Entity>(txn, false, &region_ids, |m| m.id).await?;
        Ok(Self {
            participants,
            themes,
            cities: cities.into_iter().map(|c| (c.id, c)).collect(),
            regions: regions.into_iter().map(|r| (r.id, r)).collect(),
        })
    }

    /// A participant's place: its slug and position (`[longitude, latitude]`) when known.
    fn place(&self, p: &pairing_participant::Model) -> Option<(&str, Option<[f64; 2]>)> {
        let (slug, lon, lat) = match (p.city_id, p.region_id) {
            (Some(id), _) => self
                .cities
                .get(&id)
                .map(|c| (c.slug.as_str(), c.longitude, c.latitude))?,
            (None, Some(id)) => self
                .regions
                .get(&id)
                .map(|r| (r.slug.as_str(), r.longitude, r.latitude))?,
            (None, None) => return None,
        };
        Some((slug, lon.zip(lat).map(|(lon, lat)| [lon, lat])))
    }

    fn participant_slugs(&self, pairing: i32) -> Vec<&str> {
        self.participants
            .get(&pairing)
            .into_iter()
            .flatten()
            .filter_map(|p| self.place(p).map(|(slug, _)| slug))
            .collect()
    }

    /// The pairing's lines (see the module's documentation), or `None` when it has fewer
    /// than two located participants.
    fn geometry(&self, pairing: i32) -> Option<Value> {
        let located: Vec<(Side, [f64; 2])> = self
            .participants
            .get(&pairing)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.side, self.place(p)?.1?)))
            .collect();
        let mut segments: Vec<[[f64; 2]; 2]> = Vec::new();
        for (side, from) in &located {
            if *side != Side::European {
                continue;
            }
            for (other, to) in &located {
                if *other != Side::European {
                    segments.push([*from, *to]);
                }
            }
        }
        if segments.is_empty() {
            segments = located.windows(2).map(|w| [w[0].1, w[1].1]).collect();
        }
        match segments.as_slice() {
            [] => None,
            [one] => Some(json!({ "type": "LineString", "coordinates": one })),
            many => Some(json!({ "type": "MultiLineString", "coordinates": many })),
        }
    }
}
