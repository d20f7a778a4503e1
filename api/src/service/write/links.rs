//! Link rows: a parent's list of children in a join table (a pairing's themes and SDGs, an
//! activity's pairings and stakeholders), made equal to the list the writer wants. The one
//! way the mutations and the dataset loader write them.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::ValueType;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, ModelTrait, QueryFilter,
};

/// What a sync changed, row by row (the import's report counts these).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

/// A link table: the column naming the parent and the one naming the child. A link row is
/// identified by the two.
pub struct Link<E: EntityTrait> {
    pub parent: E::Column,
    pub child: E::Column,
}

impl<E: EntityTrait> Link<E> {
    pub const fn new(parent: E::Column, child: E::Column) -> Self {
        Self { parent, child }
    }

    fn child_of(&self, model: &E::Model) -> Result<i32, DbErr> {
        <i32 as ValueType>::try_from(model.get(self.child))
            .map_err(|_| DbErr::Custom(format!("{:?} is not an integer column", self.child)))
    }

    /// The stored links of `parent_id`.
    pub async fn children(
        &self,
        db: &impl ConnectionTrait,
        parent_id: i32,
    ) -> Result<Vec<E::Model>, DbErr> {
        E::find().filter(self.parent.eq(parent_id)).all(db).await
    }

    /// Makes the links of `parent_id` equal to `wanted` (rows of the link table, one per
    /// child): deletes the links no longer wanted (one statement), updates those whose other
    /// columns changed (a role), inserts the missing ones in one statement, leaves equal ones alone.
    pub async fn sync<A>(
        &self,
        db: &impl ConnectionTrait,
        parent_id: i32,
        wanted: Vec<E::Model>,
    ) -> Result<Synced, DbErr>
    where
        E::Model: IntoActiveModel<A> + PartialEq,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        let mut existing = HashMap::new();
        for model in self.children(db, parent_id).await? {
            existing.insert(self.child_of(&model)?, model);
        }
        let mut keep = HashSet::new();
        for model in &wanted {
            keep.insert(self.child_of(model)?);
        }
        let stale: Vec<i32> = existing
            .keys()
            .filter(|child| !keep.contains(*child))
            .copied()
            .collect();
        let mut synced = Synced::default();
        if !stale.is_empty() {
            synced.deleted = E::delete_many()
                .filter(self.parent.eq(parent_id))
                .filter(self.child.is_in(stale))
                .exec(db)
                .await?
                .rows_affected;
        }
        let mut missing = Vec::new();
        for model in wanted {
            match existing.get(&self.child_of(&model)?) {
                Some(old) if *old == model => synced.unchanged += 1,
                Some(_) => {
                    model.into_active_model().reset_all().update(db).await?;
                    synced.updated += 1;
                }
                None => missing.push(model.into_active_model().reset_all()),
            }
        }
        // The missing links in one statement, however many (an import writes thousands).
        synced.inserted = E::insert_many(missing).exec_without_returning(db).await?;
        Ok(synced)
    }
}

/// The link tables the API writes.
pub mod tables {
    use entity::{
        activity_pairing, activity_stakeholder, pairing_sdg, pairing_theme,
        programme_region_country,
    };

    use super::Link;

    pub const PAIRING_THEMES: Link<pairing_theme::Entity> = Link::new(
        pairing_theme::Column::PairingId,
        pairing_theme::Column::ThemeId,
    );
    pub const PAIRING_SDGS: Link<pairing_sdg::Entity> =
        Link::new(pairing_sdg::Column::PairingId, pairing_sdg::Column::SdgId);
    pub const ACTIVITY_PAIRINGS: Link<activity_pairing::Entity> = Link::new(
        activity_pairing::Column::ActivityId,
        activity_pairing::Column::PairingId,
    );
    pub const PROGRAMME_REGION_COUNTRIES: Link<programme_region_country::Entity> = Link::new(
        programme_region_country::Column::ProgrammeRegionId,
        programme_region_country::Column::CountryId,
    );
    pub const ACTIVITY_STAKEHOLDERS: Link<activity_stakeholder::Entity> = Link::new(
        activity_stakeholder::Column::ActivityId,
        activity_stakeholder::Column::StakeholderId,
    );
}
