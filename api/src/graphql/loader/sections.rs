//! A UCAP's sections with their section types, in one statement:
//!
//! ```sql
//! SELECT s.… AS s_…, t.… AS t_…
//! FROM ucap_section s JOIN ucap_section_type t ON t.id = s.section_type_id
//! WHERE s.ucap_id IN (keys) ORDER BY s.ucap_id, t.position, s.id
//! ```
//!
//! `Ucap.sections` always needs the types, to put the sections in the plan's order: loaded
//! level by level, they cost every page that shows sections one more statement and one more
//! wave (a pairing's page: see "Beside the peer" in docs/performance.md).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{ucap_section, ucap_section_type};

use super::{Columns, LoadError, ROWS_PER_PARENT, Reader, prefixed_columns, rows_for_keys};
use crate::service::decode;

/// A section and its type.
pub type SectionWithType = (Arc<ucap_section::Model>, Arc<ucap_section_type::Model>);

/// Sections by UCAP, each with its type, in the types' order.
pub struct SectionsWithTypes {
    reader: Reader,
    /// `SELECT … WHERE s.ucap_id ` (the keys and the order follow).
    select: String,
    /// The values a plan brings, about.
    per_key: usize,
}

impl SectionsWithTypes {
    pub fn new(reader: Reader, columns: Columns) -> Self {
        let mut list = Vec::new();
        prefixed_columns::<ucap_section::Entity>("s", columns, &mut list);
        prefixed_columns::<ucap_section_type::Entity>("t", columns, &mut list);
        let select = format!(
            "SELECT {} FROM ucap_section s \
             JOIN ucap_section_type t ON t.id = s.section_type_id WHERE s.ucap_id ",
            list.join(", ")
        );
        Self {
            reader,
            per_key: ROWS_PER_PARENT * list.len(),
            select,
        }
    }
}

impl Loader<i32> for SectionsWithTypes {
    type Value = Arc<Vec<SectionWithType>>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, LoadError> {
        let rows = rows_for_keys(
            &self.reader,
            &self.select,
            keys,
            " ORDER BY s.ucap_id, t.position, s.id",
            self.per_key,
        )
        .await?;
        let sections = decode::prefixed::<ucap_section::Entity>(&rows, "s_").map_err(Arc::new)?;
        let types = decode::prefixed::<ucap_section_type::Entity>(&rows, "t_").map_err(Arc::new)?;
        // A handful of types shared by every plan: one allocation per type, not per section.
        let mut shared: HashMap<i32, Arc<ucap_section_type::Model>> = HashMap::new();
        let mut grouped: HashMap<i32, Vec<SectionWithType>> = HashMap::with_capacity(keys.len());
        for (section, kind) in sections.into_iter().zip(types) {
            let kind = shared
                .entry(kind.id)
                .or_insert_with(|| Arc::new(kind))
                .clone();
            grouped
                .entry(section.ucap_id)
                .or_default()
                .push((Arc::new(section), kind));
        }
        Ok(grouped
            .into_iter()
            .map(|(key, list)| (key, Arc::new(list)))
            .collect())
    }
}
