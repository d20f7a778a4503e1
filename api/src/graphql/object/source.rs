//! Provenance in the API: a record's `sources` (`service::provenance`), the documents they
//! cite and the rules derived facts follow, and the input partners cite sources with.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object};
use entity::{derivation_rule, document};

use super::loaders;
use crate::error::Result;
use crate::service::provenance::{self, Basis};

/// How a source supports a fact.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Basis")]
pub enum SourceBasis {
    /// A document states it: `document`, `section` and `quote` (as printed) say where.
    Stated,
    /// Inferred from a stated fact (`document`, `section`, `quote`: the premise) by a named
    /// `rule`.
    Derived,
    /// Taken from an external dataset (`document`: GeoNames, Wikidata, ISO 3166-1, …) where
    /// `identifier` is the record's id.
    Reference,
    /// An editorial judgement of the dataset's authors, with its `reason` (a corrected spelling
    /// has `printed` and `corrected`).
    Editorial,
    /// Written through the API by a partner `organisation` (from its key), `at` a time.
    Partner,
}

/// Where a record, or one of its fields, comes from.
pub struct Source(pub provenance::Source);

/// One source of a record (`field` null) or of one of its fields. Which of the other fields
/// are set depends on the `basis`.
#[Object]
impl Source {
    /// How the source supports the fact.
    async fn basis(&self) -> SourceBasis {
        self.0.basis.into()
    }
    /// The field this source supports (its GraphQL name, e.g. `status`, `coordinates`), or
    /// null for the record as a whole.
    async fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }
    /// The document cited: a source text or an external dataset.
    async fn document(&self, ctx: &Context<'_>) -> Result<Option<Document>> {
        let Some(key) = &self.0.document else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.sources.document(key).await?.map(Document))
    }
    /// Where in the document: the section or heading the quote is under.
    async fn section(&self) -> Option<&str> {
        self.0.section.as_deref()
    }
    /// The words that state the fact (or, for a derived one, its premise), as printed:
    /// spelling and all, with the line breaks of the extracted text collapsed to spaces.
    async fn quote(&self) -> Option<&str> {
        self.0.quote.as_deref()
    }
    /// For reference data: the record's identifier in the dataset (a GeoNames id, a
    /// Wikidata Q-number, an ISO code).
    async fn identifier(&self) -> Option<&str> {
        self.0.identifier.as_deref()
    }
    /// For a derived fact: the rule it follows from.
    async fn rule(&self, ctx: &Context<'_>) -> Result<Option<DerivationRule>> {
        let Some(slug) = &self.0.rule else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.sources.rule(slug).await?.map(DerivationRule))
    }
    /// For an editorial judgement: what was decided and why.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// For a corrected spelling: the form the document prints.
    async fn printed(&self) -> Option<&str> {
        self.0.printed.as_deref()
    }
    /// For a corrected spelling: the form the record stores.
    async fn corrected(&self) -> Option<&str> {
        self.0.corrected.as_deref()
    }
    /// For a partner's write: the organisation whose key wrote it (an administrator's key
    /// is named by the key's name).
    async fn organisation(&self) -> Option<&str> {
        self.0.organisation.as_deref()
    }
    /// For a partner's write: when it was written.
    async fn at(&self) -> Option<crate::graphql::scalar::DateTime> {
        self.0.at.map(Into::into)
    }
}

/// A record's sources as the API shows them: those of the given bases (all when `basis` is
/// not given) and, when `field` is given, those of that field (with the record's own, which
/// support every field the record has no source of its own for).
pub(crate) fn sources_of(
    stored: &str,
    basis: Option<Vec<SourceBasis>>,
    field: Option<String>,
) -> Vec<Source> {
    let wanted: Option<Vec<Basis>> = basis.map(|b| b.into_iter().map(Basis::from).collect());
    let all = provenance::parse(stored);
    let own = |f: &str| all.iter().any(|s| s.field.as_deref() == Some(f));
    all.iter()
        .filter(|s| wanted.as_ref().is_none_or(|w| w.contains(&s.basis)))
        .filter(|s| match (&field, &s.field) {
            (None, _) => true,
            (Some(f), Some(sf)) => f == sf,
            // The record's own sources speak for a field without sources of its own.
            (Some(f), None) => !own(f),
        })
        .cloned()
        .map(Source)
        .collect()
}

/// What a source cites: one of the programme's source texts, or an external dataset.
pub struct Document(pub Arc<document::Model>);

/// A document sources cite.
#[Object]
impl Document {
    /// Its key: `000`–`004` for the source texts, a slug for a dataset (`geonames`).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// What it is: `pairing_page`, `news_page`, `publication` or `dataset`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Its title, as the document gives it.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Its address, where the source gives one (a dataset's home page).
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// Editorial notes on the document (what it is, how it was read).
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
}

/// A named rule by which a derived fact follows from stated ones.
pub struct DerivationRule(pub Arc<derivation_rule::Model>);

/// A derivation rule.
#[Object]
impl DerivationRule {
    /// Its key.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// From which stated facts, by what reasoning.
    async fn description(&self) -> &str {
        &self.0.description
    }
}

/// How a partner's source supports a fact (the server records the partner's own write).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CitedBasis {
    /// A document states it.
    Stated,
    /// Inferred from a stated fact by a named rule.
    Derived,
    /// From an external dataset.
    Reference,
    /// An editorial judgement, with its reason.
    Editorial,
}

/// A source a writer cites for a record or one of its fields. The server adds the writer's
/// own `PARTNER` source to every write; these say what the write rests on.
#[derive(InputObject, Clone)]
pub struct SourceInput {
    /// How the source supports the fact.
    pub basis: CitedBasis,
    /// The field it supports (GraphQL name); leave out for the record as a whole.
    pub field: Option<String>,
    /// The key of the document cited (`Source.document.key`, e.g. `004`, `geonames`).
    pub document: Option<String>,
    /// The section of a source text.
    pub section: Option<String>,
    /// The words of a source text, as printed.
    pub quote: Option<String>,
    /// The record's identifier in a dataset.
    pub identifier: Option<String>,
    /// A derivation rule's slug.
    pub rule: Option<String>,
    /// An editorial judgement's reason.
    pub reason: Option<String>,
    /// A corrected spelling: as printed.
    pub printed: Option<String>,
    /// A corrected spelling: as stored.
    pub corrected: Option<String>,
}

impl From<SourceInput> for provenance::Source {
    /// The source as stored (its rules are checked with the record's, by the write).
    fn from(input: SourceInput) -> Self {
        let basis = match input.basis {
            CitedBasis::Stated => Basis::Stated,
            CitedBasis::Derived => Basis::Derived,
            CitedBasis::Reference => Basis::Reference,
            CitedBasis::Editorial => Basis::Editorial,
        };
        provenance::Source {
            field: input.field,
            document: input.document,
            section: input.section,
            quote: input.quote,
            identifier: input.identifier,
            rule: input.rule,
            reason: input.reason,
            printed: input.printed,
            corrected: input.corrected,
            ..provenance::Source::new(basis)
        }
    }
}

impl SourceInput {
    /// A list of inputs as sources.
    pub fn all(inputs: Vec<SourceInput>) -> Vec<provenance::Source> {
        inputs.into_iter().map(Into::into).collect()
    }
}
