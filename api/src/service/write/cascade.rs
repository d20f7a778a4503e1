//! The followed records a delete takes with it through the database's `ON DELETE CASCADE`
//! (a pairing's UCAP, the UCAP's projects, the involvements in any of them): the change feed
//! gets a delete event for each, so that a mirror never keeps a record the database dropped.
//! Link rows (participants, theme links, an activity's pairings) are not records: the
//! deleted record's own event says they are gone.

use entity::{involvement, project, ucap};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::error::AppError;

/// A record a cascade deletes: entity, row id, last version.
pub type Gone = (&'static str, i32, i32);

/// What deleting `entity` row `id` takes with it, read before the delete.
pub async fn cascaded(
    db: &impl ConnectionTrait,
    entity: &str,
    id: i32,
) -> Result<Vec<Gone>, AppError> {
    use involvement::Column as I;
    let (ucaps, projects, involvements) = match entity {
        "Pairing" => {
            let ucaps = rows::<ucap::Entity>(db, ucap::Column::PairingId.eq(id).into()).await?;
            let projects = in_ucaps(db, &ucaps).await?;
            let condition = Condition::any()
                .add(I::PairingId.eq(id))
                .add(I::UcapId.is_in(ids(&ucaps)))
                .add(I::ProjectId.is_in(ids(&projects)));
            (ucaps, projects, condition)
        }
        "Ucap" => {
            let projects =
                rows::<project::Entity>(db, project::Column::UcapId.eq(id).into()).await?;
            let condition = Condition::any()
                .add(I::UcapId.eq(id))
                .add(I::ProjectId.is_in(ids(&projects)));
            (Vec::new(), projects, condition)
        }
        "Project" => (Vec::new(), Vec::new(), I::ProjectId.eq(id).into()),
        "Stakeholder" => (Vec::new(), Vec::new(), I::StakeholderId.eq(id).into()),
        _ => return Ok(Vec::new()),
    };
    let involvements = rows::<involvement::Entity>(db, involvements).await?;
    let mut gone = Vec::new();
    for (entity, list) in [
        ("Ucap", ucaps),
        ("Project", projects),
        ("Involvement", involvements),
    ] {
        gone.extend(list.into_iter().map(|(id, version)| (entity, id, version)));
    }
    Ok(gone)
}

async fn in_ucaps(
    db: &impl ConnectionTrait,
    ucaps: &[(i32, i32)],
) -> Result<Vec<(i32, i32)>, AppError> {
    if ucaps.is_empty() {
        return Ok(Vec::new());
    }
    rows::<project::Entity>(db, project::Column::UcapId.is_in(ids(ucaps)).into()).await
}

fn ids(rows: &[(i32, i32)]) -> Vec<i32> {
    rows.iter().map(|(id, _)| *id).collect()
}

/// The (id, version) of the rows of `E` that match `condition`.
async fn rows<E: EntityTrait>(
    db: &impl ConnectionTrait,
    condition: Condition,
) -> Result<Vec<(i32, i32)>, AppError> {
    Ok(E::find()
        .select_only()
        .column_as(sea_orm::sea_query::Expr::col("id"), "id")
        .column_as(sea_orm::sea_query::Expr::col("version"), "version")
        .filter(condition)
        .into_tuple::<(i32, i32)>()
        .all(db)
        .await?)
}
