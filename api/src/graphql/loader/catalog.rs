//! What sources cite: the documents and the derivation rules. Both tables are short (a few
//! rows, written only by the dataset loader), so a request reads each whole, once, the first
//! time a source asks: one statement per table per request at most, whatever the number of
//! sources.

use std::collections::HashMap;
use std::sync::Arc;

use entity::{derivation_rule, document, programme};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::OnceCell;

use super::LoadError;

/// The documents by key and the rules by slug, read on first use.
pub struct SourceCatalog {
    db: DatabaseConnection,
    documents: OnceCell<HashMap<String, Arc<document::Model>>>,
    rules: OnceCell<HashMap<String, Arc<derivation_rule::Model>>>,
    programme: OnceCell<Option<Arc<programme::Model>>>,
}

impl SourceCatalog {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            documents: OnceCell::new(),
            rules: OnceCell::new(),
            programme: OnceCell::new(),
        }
    }

    pub async fn document(&self, key: &str) -> Result<Option<Arc<document::Model>>, LoadError> {
        let all = self
            .documents
            .get_or_try_init(|| async {
                let rows = document::Entity::find().all(&self.db).await?;
                Ok::<_, sea_orm::DbErr>(
                    rows.into_iter()
                        .map(|d| (d.key.clone(), Arc::new(d)))
                        .collect(),
                )
            })
            .await
            .map_err(Arc::new)?;
        Ok(all.get(key).cloned())
    }

    /// The programme's record (one row), whose figures the summary's published figures are.
    pub async fn programme(&self) -> Result<Option<Arc<programme::Model>>, LoadError> {
        let row = self
            .programme
            .get_or_try_init(|| async {
                let row = programme::Entity::find().one(&self.db).await?;
                Ok::<_, sea_orm::DbErr>(row.map(Arc::new))
            })
            .await
            .map_err(Arc::new)?;
        Ok(row.clone())
    }

    pub async fn rule(&self, slug: &str) -> Result<Option<Arc<derivation_rule::Model>>, LoadError> {
        let all = self
            .rules
            .get_or_try_init(|| async {
                let rows = derivation_rule::Entity::find().all(&self.db).await?;
                Ok::<_, sea_orm::DbErr>(
                    rows.into_iter()
                        .map(|r| (r.slug.clone(), Arc::new(r)))
                        .collect(),
                )
            })
            .await
            .map_err(Arc::new)?;
        Ok(all.get(slug).cloned())
    }
}
