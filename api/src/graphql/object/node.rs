use async_graphql::{Context, ID, Interface};

use super::*;
use crate::id::{NodeType, decode};

/// An object with a global ID: fetch any of them with `node(id:)` or `nodes(ids:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global ID (opaque): pass it to `node(id:)`."
))]
pub enum Node {
    Country(Country),
    ProgrammeRegion(ProgrammeRegion),
    Theme(Theme),
    Sdg(Sdg),
    City(City),
    Region(Region),
    Pairing(Pairing),
    Participant(Participant),
    Ucap(Ucap),
    UcapSectionType(UcapSectionType),
    Project(Project),
    Stakeholder(Stakeholder),
    Activity(Activity),
    Involvement(Involvement),
}

/// The object a global ID names, through the request's batched loaders (so `nodes(ids:)` costs
/// one statement per type). Unknown IDs give `None`; malformed ones `BAD_USER_INPUT`.
pub(crate) async fn load_node(ctx: &Context<'_>, id: &str) -> Result<Option<Node>> {
    let (kind, key) = decode(id)?;
    let l = loaders(ctx)?;
    Ok(match kind {
        NodeType::Country => load_one(&l.country, key)
            .await?
            .map(|m| Node::Country(Country(m))),
        NodeType::ProgrammeRegion => load_one(&l.programme_region, key)
            .await?
            .map(|m| Node::ProgrammeRegion(ProgrammeRegion(m))),
        NodeType::Theme => load_one(&l.theme, key)
            .await?
            .map(|m| Node::Theme(Theme(m))),
        NodeType::Sdg => load_one(&l.sdg, key).await?.map(|m| Node::Sdg(Sdg(m))),
        NodeType::City => load_one(&l.city, key).await?.map(|m| Node::City(City(m))),
        NodeType::Region => load_one(&l.region, key)
            .await?
            .map(|m| Node::Region(Region(m))),
        NodeType::Pairing => load_one(&l.pairing, key)
            .await?
            .map(|m| Node::Pairing(Pairing(m))),
        NodeType::Participant => load_one(&l.participant, key)
            .await?
            .map(|m| Node::Participant(Participant(m))),
        NodeType::Ucap => load_one(&l.ucap, key).await?.map(|m| Node::Ucap(Ucap(m))),
        NodeType::UcapSectionType => load_one(&l.section_type, key)
            .await?
            .map(|m| Node::UcapSectionType(UcapSectionType(m))),
        NodeType::Project => load_one(&l.project, key)
            .await?
            .map(|m| Node::Project(Project(m))),
        NodeType::Stakeholder => load_one(&l.stakeholder, key)
            .await?
            .map(|m| Node::Stakeholder(Stakeholder(m))),
        NodeType::Activity => load_one(&l.activity, key)
            .await?
            .map(|m| Node::Activity(Activity(m))),
        NodeType::Involvement => load_one(&l.involvement, key)
            .await?
            .map(|m| Node::Involvement(Involvement(m))),
    })
}
