//! A pairing's participants with their places and the places' countries, in one statement:
//!
//! ```sql
//! SELECT p.… AS p_…, c.… AS c_…, r.… AS r_…, k.… AS k_…
//! FROM pairing_participant p
//! LEFT JOIN city c ON c.id = p.city_id LEFT JOIN region r ON r.id = p.region_id
//! LEFT JOIN country k ON k.id = COALESCE(c.country_id, r.country_id)
//! WHERE p.pairing_id IN (keys) ORDER BY p.pairing_id, p.position
//! ```
//!
//! Almost every query that asks for a pairing's participants asks for their places, and the
//! places' countries (the pairings table, a pairing's page, its `countries`). Loaded level by
//! level, that is three more statements and three more batches, each with a DataLoader miss per
//! participant. Here the cities, regions and countries go into their loaders' caches before
//! the participants are handed out, so `place` and `country` find them there.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{city, country, pairing_participant, region};

use super::{
    Batcher, ById, Columns, LoadError, ROWS_PER_PARENT, Reader, by_parent, prefixed_columns,
    rows_for_keys,
};
use crate::service::decode::{self, Rows};

/// Participants by pairing, filling the city, region and country caches on the way.
pub struct ParticipantsWithPlaces {
    reader: Reader,
    /// `SELECT … WHERE p.pairing_id ` (the keys and the order follow).
    select: String,
    /// The values a pairing brings, about.
    per_key: usize,
    city: Arc<Batcher<ById<city::Entity>>>,
    region: Arc<Batcher<ById<region::Entity>>>,
    country: Arc<Batcher<ById<country::Entity>>>,
}

impl ParticipantsWithPlaces {
    pub fn new(
        reader: Reader,
        columns: Columns,
        city: Arc<Batcher<ById<city::Entity>>>,
        region: Arc<Batcher<ById<region::Entity>>>,
        country: Arc<Batcher<ById<country::Entity>>>,
    ) -> Self {
        let mut list = Vec::new();
        prefixed_columns::<pairing_participant::Entity>("p", columns, &mut list);
        prefixed_columns::<city::Entity>("c", columns, &mut list);
        prefixed_columns::<region::Entity>("r", columns, &mut list);
        prefixed_columns::<country::Entity>("k", columns, &mut list);
        let select = format!(
            "SELECT {} FROM pairing_participant p \
             LEFT JOIN city c ON c.id = p.city_id \
             LEFT JOIN region r ON r.id = p.region_id \
             LEFT JOIN country k ON k.id = COALESCE(c.country_id, r.country_id) \
             WHERE p.pairing_id ",
            list.join(", ")
        );
        Self {
            reader,
            per_key: ROWS_PER_PARENT * list.len(),
            select,
            city,
            region,
            country,
        }
    }
}

/// The positions of the rows that hold an entity: its id column (`c_id`, …, found once by
/// name) is not NULL. (Looking the column up by name in every row was 2% of the pairings
/// table's instructions.)
fn holding(rows: &Rows, id: &str) -> Vec<usize> {
    let Some(position) = rows.position(id) else {
        return Vec::new();
    };
    (0..rows.len())
        .filter(|row| matches!(rows.int(*row, position), Ok(Some(_))))
        .collect()
}

impl Loader<i32> for ParticipantsWithPlaces {
    type Value = Arc<Vec<Arc<pairing_participant::Model>>>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, LoadError> {
        let rows = rows_for_keys(
            &self.reader,
            &self.select,
            keys,
            " ORDER BY p.pairing_id, p.position",
            self.per_key,
        )
        .await?;

        let participants =
            decode::prefixed::<pairing_participant::Entity>(&rows, "p_").map_err(Arc::new)?;
        let with_city = holding(&rows, "c_id");
        let with_region = holding(&rows, "r_id");
        let with_country = holding(&rows, "k_id");
        let cities =
            decode::prefixed_at::<city::Entity>(&rows, with_city, "c_").map_err(Arc::new)?;
        let regions =
            decode::prefixed_at::<region::Entity>(&rows, with_region, "r_").map_err(Arc::new)?;
        let countries =
            decode::prefixed_at::<country::Entity>(&rows, with_country, "k_").map_err(Arc::new)?;

        // Into the caches first: the participants' fields ask for these next.
        self.city
            .feed_many(cities.into_iter().map(|c| (c.id, Arc::new(c))))
            .await;
        self.region
            .feed_many(regions.into_iter().map(|r| (r.id, Arc::new(r))))
            .await;
        let mut unique: HashMap<i32, Arc<country::Model>> = HashMap::new();
        for country in countries {
            unique
                .entry(country.id)
                .or_insert_with(|| Arc::new(country));
        }
        self.country.feed_many(unique).await;

        Ok(by_parent(
            participants.into_iter().map(|p| (p.pairing_id, p)),
            keys.len(),
        ))
    }
}
