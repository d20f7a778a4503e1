//! Pairings: their inputs and payloads; the rules are in `service::write::pairing`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject};

use super::*;
use crate::graphql::object::SourceInput;
use crate::graphql::object::{Pairing, PairingKind, PairingStatus, ParticipantRole, Side};
use crate::service::write::pairing::{self, NewPairing, PairingChanges, Participant};

/// A participant of a pairing: a city or a region, on one side.
#[derive(InputObject, Clone)]
pub struct ParticipantInput {
    /// The city or the region taking part.
    pub place: CityOrRegionInput,
    /// The side it is on.
    pub side: Side,
    /// Lead, or associated member of a cluster.
    #[graphql(default_with = "ParticipantRole::Lead")]
    pub role: ParticipantRole,
}

/// A city or a region, by its global ID: give exactly one of the two.
#[derive(OneofObject, Clone)]
pub enum CityOrRegionInput {
    /// A city's global ID.
    City(ID),
    /// A region's global ID.
    Region(ID),
}

/// A new pairing.
#[derive(InputObject)]
pub struct CreatePairingInput {
    /// URL-safe key, unique among pairings, e.g. `rome-yantai`.
    pub slug: String,
    /// City-to-city or region-to-region.
    pub kind: PairingKind,
    /// Title, e.g. `Rome – Yantai`.
    pub title: String,
    /// A one-paragraph summary.
    pub summary: String,
    /// A longer description.
    pub description: Option<String>,
    /// Slug of the programme region of the partner side, e.g. `china`.
    pub programme_region: String,
    /// When the cooperation started, as a partial date (`2018`, `2019-H1`, `2018-07`, …).
    pub start: Option<String>,
    /// Where the cooperation stands.
    pub status: PairingStatus,
    /// The participants: at least one on each side, none twice.
    pub participants: Vec<ParticipantInput>,
    /// Global IDs of the themes it works on.
    #[graphql(default)]
    pub themes: Vec<ID>,
    /// Numbers (1–17) of the Sustainable Development Goals it addresses.
    #[graphql(default)]
    pub sdgs: Vec<i32>,
    /// The sources you cite (your own `PARTNER` source is recorded by the server).
    #[graphql(default)]
    pub sources: Vec<SourceInput>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to a pairing: fields left out stay as they are; a list given replaces the list.
#[derive(InputObject)]
pub struct UpdatePairingInput {
    /// The pairing's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug (unique among pairings).
    pub slug: Option<String>,
    /// New kind.
    pub kind: Option<PairingKind>,
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// New programme region (slug).
    pub programme_region: Option<String>,
    /// New start (partial date); `null` clears it.
    pub start: MaybeUndefined<String>,
    /// New status.
    pub status: Option<PairingStatus>,
    /// Replaces the participants (at least one on each side, none twice).
    pub participants: Option<Vec<ParticipantInput>>,
    /// Replaces the theme links (global IDs of themes).
    pub themes: Option<Vec<ID>>,
    /// Replaces the SDG links (numbers 1–17).
    pub sdgs: Option<Vec<i32>>,
    /// Replaces the sources you cite (your own `PARTNER` source is recorded by the server).
    pub sources: Option<Vec<SourceInput>>,
    /// Editorial notes; `null` clears them.
    pub notes: MaybeUndefined<String>,
}

/// The pairing created or changed.
#[derive(SimpleObject)]
pub struct PairingPayload {
    /// The pairing as it is now.
    pub pairing: Pairing,
}

/// Decodes the participants' global IDs.
fn participants(inputs: &[ParticipantInput]) -> Result<Vec<Participant>> {
    let mut wanted = Vec::with_capacity(inputs.len());
    for (i, p) in inputs.iter().enumerate() {
        let field = format!("input.participants[{i}]");
        // The schema's `@oneOf` makes sure that exactly one of the two is given.
        let (city_id, region_id) = match &p.place {
            CityOrRegionInput::City(city) => (
                Some(input_id(
                    city,
                    NodeType::City,
                    &format!("{field}.place.city"),
                )?),
                None,
            ),
            CityOrRegionInput::Region(region) => (
                None,
                Some(input_id(
                    region,
                    NodeType::Region,
                    &format!("{field}.place.region"),
                )?),
            ),
        };
        wanted.push(Participant {
            city_id,
            region_id,
            side: p.side.into(),
            role: p.role.into(),
        });
    }
    Ok(wanted)
}

fn theme_ids(ids: &[ID]) -> Result<Vec<i32>> {
    input_ids(ids, NodeType::Theme, |i| format!("input.themes[{i}]"))
}

#[derive(Default)]
pub struct PairingMutation;

/// Pairings.
#[Object]
impl PairingMutation {
    /// Creates a pairing with its participants and theme and SDG links (administrators, or a
    /// partner whose city or region is among the participants).
    async fn create_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new pairing.")] input: CreatePairingInput,
    ) -> Result<PairingPayload> {
        let w = begin(ctx).await?;
        let new = NewPairing {
            participants: participants(&input.participants)?,
            themes: theme_ids(&input.themes)?,
            slug: input.slug,
            kind: input.kind.into(),
            title: input.title,
            summary: input.summary,
            description: input.description,
            programme_region: input.programme_region,
            start: input.start,
            status: input.status.into(),
            sdgs: input.sdgs,
            sources: SourceInput::all(input.sources),
            notes: input.notes,
        };
        let saved = pairing::create(&w.writer(), new).await?;
        w.commit().await?;
        Ok(PairingPayload {
            pairing: Pairing(saved.into()),
        })
    }

    /// Changes a pairing, its participants and its theme and SDG links (administrators, or a
    /// partner taking part in the pairing).
    async fn update_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdatePairingInput,
    ) -> Result<PairingPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Pairing, "input.id")?;
        let changes = PairingChanges {
            participants: input
                .participants
                .as_deref()
                .map(participants)
                .transpose()?,
            themes: input.themes.as_deref().map(theme_ids).transpose()?,
            slug: input.slug,
            kind: input.kind.map(Into::into),
            title: input.title,
            summary: input.summary,
            description: input.description.into(),
            programme_region: input.programme_region,
            start: input.start.into(),
            status: input.status.map(Into::into),
            sdgs: input.sdgs,
            sources: input.sources.map(SourceInput::all),
            notes: input.notes.into(),
        };
        let saved = pairing::update(&w.writer(), id, input.version, changes).await?;
        w.commit().await?;
        Ok(PairingPayload {
            pairing: Pairing(saved.into()),
        })
    }

    /// Deletes a pairing with its participants, theme and SDG links, UCAP (sections, projects),
    /// involvements and activity links (administrators, or a partner taking part). Refused
    /// while an activity is linked to this pairing alone: delete the activity or link it to
    /// another pairing first.
    async fn delete_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pairing to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Pairing, "input.id")?;
        let removed = pairing::delete(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Pairing, id, removed))
    }
}
