//! The programme in figures, computed from the data: a fixed number of aggregate statements,
//! whatever the size of the data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::enums::{PairingKind, Side, ThemeScheme};
use entity::theme;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};

use super::sql::Sql;

#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub cities: i64,
    pub regions: i64,
    pub countries: i64,
    pub pairings: i64,
}

#[derive(Debug, Clone)]
pub struct SideTotals {
    pub side: Side,
    pub countries: i64,
    pub cities: i64,
    pub regions: i64,
}

#[derive(Debug, Clone)]
pub struct ThemeTotals {
    pub theme: theme::Model,
    pub pairings: i64,
    pub cities: i64,
    pub regions: i64,
}

async fn one_row(db: &impl ConnectionTrait, sql: &str) -> Result<sea_orm::QueryResult, DbErr> {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await?
    .ok_or_else(|| DbErr::Custom("an aggregate returned no row".into()))
}

/// Cities and regions with at least one pairing, their countries, and pairings.
pub async fn totals(db: &impl ConnectionTrait) -> Result<Totals, DbErr> {
    let row = one_row(
        db,
        "SELECT \
           (SELECT COUNT(DISTINCT city_id) FROM pairing_participant) AS cities, \
           (SELECT COUNT(DISTINCT region_id) FROM pairing_participant) AS regions, \
           (SELECT COUNT(DISTINCT COALESCE(ci.country_id, r.country_id)) FROM pairing_participant pp \
              LEFT JOIN city ci ON ci.id = pp.city_id LEFT JOIN region r ON r.id = pp.region_id) AS countries, \
           (SELECT COUNT(*) FROM pairing) AS pairings",
    )
    .await?;
    Ok(Totals {
        cities: row.try_get("", "cities")?,
        regions: row.try_get("", "regions")?,
        countries: row.try_get("", "countries")?,
        pairings: row.try_get("", "pairings")?,
    })
}

/// Per side: distinct countries, cities and regions with a participant on that side.
pub async fn sides(db: &impl ConnectionTrait) -> Result<Vec<SideTotals>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pp.side AS side, COUNT(DISTINCT COALESCE(ci.country_id, r.country_id)) AS countries, \
               COUNT(DISTINCT pp.city_id) AS cities, COUNT(DISTINCT pp.region_id) AS regions \
             FROM pairing_participant pp LEFT JOIN city ci ON ci.id = pp.city_id LEFT JOIN region r ON r.id = pp.region_id \
             GROUP BY pp.side ORDER BY pp.side",
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SideTotals {
                side: row.try_get("", "side")?,
                countries: row.try_get("", "countries")?,
                cities: row.try_get("", "cities")?,
                regions: row.try_get("", "regions")?,
            })
        })
        .collect()
}

/// Pairings per kind.
pub async fn kinds(db: &impl ConnectionTrait) -> Result<Vec<(PairingKind, i64)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT kind, COUNT(*) AS n FROM pairing GROUP BY kind ORDER BY kind",
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "kind")?, row.try_get("", "n")?)))
        .collect()
}

/// Per theme: pairings working on it, and the distinct cities and regions in those pairings
/// (the publication's "number of IUC cities and regions working on each theme").
pub async fn themes(
    db: &impl ConnectionTrait,
    scheme: Option<ThemeScheme>,
) -> Result<Vec<ThemeTotals>, DbErr> {
    let mut sql = Sql::default();
    sql.push(
        "SELECT t.*, COALESCE(x.pairings, 0) AS n_pairings, COALESCE(x.cities, 0) AS n_cities, \
           COALESCE(x.regions, 0) AS n_regions \
         FROM theme t LEFT JOIN (SELECT pt.theme_id, COUNT(DISTINCT pt.pairing_id) AS pairings, \
           COUNT(DISTINCT pp.city_id) AS cities, COUNT(DISTINCT pp.region_id) AS regions \
           FROM pairing_theme pt JOIN pairing_participant pp ON pp.pairing_id = pt.pairing_id GROUP BY pt.theme_id) x \
         ON x.theme_id = t.id",
    );
    if let Some(scheme) = scheme {
        sql.push(" WHERE t.scheme = ")
            .bind(sea_orm::Value::String(Some(sea_orm::ActiveEnum::to_value(
                &scheme,
            ))));
    }
    sql.push(" ORDER BY n_pairings DESC, t.name ASC, t.id ASC");
    let rows = db
        .query_all_raw(sql.statement(db.get_database_backend()))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ThemeTotals {
                theme: theme::Model::from_query_result(row, "")?,
                pairings: row.try_get("", "n_pairings")?,
                cities: row.try_get("", "n_cities")?,
                regions: row.try_get("", "n_regions")?,
            })
        })
        .collect()
}

/// Every figure of the summary at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub totals: Totals,
    pub sides: Vec<SideTotals>,
    pub kinds: Vec<(PairingKind, i64)>,
    pub themes: Vec<ThemeTotals>,
}

/// Computes the whole summary: four aggregate statements over the whole graph.
pub async fn compute(db: &impl ConnectionTrait) -> Result<Snapshot, DbErr> {
    Ok(Snapshot {
        totals: totals(db).await?,
        sides: sides(db).await?,
        kinds: kinds(db).await?,
        themes: themes(db, None).await?,
    })
}

/// The summary aggregates every pairing, so its cost grows with the data. It is computed once
/// and kept for `ttl`; after that the stale copy is served while one background task computes
/// a fresh one (stale-while-revalidate), so no request waits for it but the very first.
/// Several instances each keep their own copy: figures may lag writes by up to `ttl`.
pub struct SummaryCache {
    ttl: Duration,
    current: std::sync::RwLock<Option<(Instant, Arc<Snapshot>)>>,
    refreshing: std::sync::atomic::AtomicBool,
    first: tokio::sync::Mutex<()>,
}

impl SummaryCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            current: std::sync::RwLock::new(None),
            refreshing: std::sync::atomic::AtomicBool::new(false),
            first: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<(Instant, Arc<Snapshot>)> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    fn store(&self, snapshot: Arc<Snapshot>) {
        if let Ok(mut current) = self.current.write() {
            *current = Some((Instant::now(), snapshot));
        }
    }

    /// The summary, computing it now only if there is none yet.
    pub async fn get(
        self: &Arc<Self>,
        db: &sea_orm::DatabaseConnection,
    ) -> Result<Arc<Snapshot>, DbErr> {
        if let Some((at, snapshot)) = self.cached() {
            if at.elapsed() >= self.ttl
                && !self
                    .refreshing
                    .swap(true, std::sync::atomic::Ordering::AcqRel)
            {
                let cache = self.clone();
                let db = db.clone();
                tokio::spawn(async move {
                    match compute(&db).await {
                        Ok(fresh) => cache.store(Arc::new(fresh)),
                        Err(error) => {
                            tracing::warn!(%error, "refreshing the programme summary failed; serving the previous one")
                        }
                    }
                    cache
                        .refreshing
                        .store(false, std::sync::atomic::Ordering::Release);
                });
            }
            return Ok(snapshot);
        }
        // The first request computes it; concurrent first requests wait for that one.
        let _guard = self.first.lock().await;
        if let Some((_, snapshot)) = self.cached() {
            return Ok(snapshot);
        }
        let snapshot = Arc::new(compute(db).await?);
        self.store(snapshot.clone());
        Ok(snapshot)
    }
}
