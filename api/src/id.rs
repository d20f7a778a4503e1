//! Opaque global IDs (the Relay convention): base64 of `Type:id`. Clients must treat them as
//! opaque; the server decodes them to route `node(id:)` and to check a mutation's input.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

/// The types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    Country,
    ProgrammeRegion,
    Theme,
    Sdg,
    City,
    Region,
    Pairing,
    Participant,
    Ucap,
    UcapSectionType,
    Project,
    Stakeholder,
    Activity,
    Involvement,
}

impl NodeType {
    const ALL: [NodeType; 14] = [
        NodeType::Country,
        NodeType::ProgrammeRegion,
        NodeType::Theme,
        NodeType::Sdg,
        NodeType::City,
        NodeType::Region,
        NodeType::Pairing,
        NodeType::Participant,
        NodeType::Ucap,
        NodeType::UcapSectionType,
        NodeType::Project,
        NodeType::Stakeholder,
        NodeType::Activity,
        NodeType::Involvement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeType::Country => "Country",
            NodeType::ProgrammeRegion => "ProgrammeRegion",
            NodeType::Theme => "Theme",
            NodeType::Sdg => "Sdg",
            NodeType::City => "City",
            NodeType::Region => "Region",
            NodeType::Pairing => "Pairing",
            NodeType::Participant => "Participant",
            NodeType::Ucap => "Ucap",
            NodeType::UcapSectionType => "UcapSectionType",
            NodeType::Project => "Project",
            NodeType::Stakeholder => "Stakeholder",
            NodeType::Activity => "Activity",
            NodeType::Involvement => "Involvement",
        }
    }
}

/// The global ID of row `id` of type `kind`.
pub fn encode(kind: NodeType, id: i32) -> ID {
    encode_name(kind.name(), id)
}

/// The global ID of row `id` of the type named `name` (the audit trail stores type names).
pub fn encode_name(name: &str, id: i32) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{name}:{id}")))
}

/// Decodes a global ID; a malformed one is the client's error (`BAD_USER_INPUT`).
pub fn decode(id: &str) -> Result<(NodeType, i32), AppError> {
    let bad = || {
        AppError::BadUserInput(format!(
            "{id:?} is not a valid ID: use an `id` returned by this API"
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, number) = text.split_once(':').ok_or_else(bad)?;
    let kind = NodeType::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(bad)?;
    let number: i32 = number.parse().map_err(|_| bad())?;
    Ok((kind, number))
}

/// Decodes a global ID that must be of type `kind`.
pub fn decode_as(id: &str, kind: NodeType) -> Result<i32, AppError> {
    match decode(id)? {
        (k, number) if k == kind => Ok(number),
        (other, _) => Err(AppError::BadUserInput(format!(
            "{id:?} is the ID of a {}, not of a {}",
            other.name(),
            kind.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let id = encode(NodeType::City, 42);
        assert_eq!(decode(&id).unwrap(), (NodeType::City, 42));
        assert!(decode("nope").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("Spaceship:1")).is_err());
        assert!(decode_as(&id, NodeType::Pairing).is_err());
    }
}
