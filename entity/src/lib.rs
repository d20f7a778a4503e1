//! sea-orm entities of the IUC relation graph, one module per table. Relations between them are
//! loaded by the api crate's batched loaders (`WHERE key IN (…)`), so the entities declare no
//! `Relation` variants: the foreign keys live in the migrations.

pub mod activity;
pub mod activity_pairing;
pub mod activity_stakeholder;
pub mod api_key;
pub mod audit_event;
pub mod change_event;
pub mod city;
pub mod country;
pub mod derivation_rule;
pub mod document;
pub mod enums;
pub mod involvement;
pub mod pairing;
pub mod pairing_participant;
pub mod pairing_sdg;
pub mod pairing_theme;
pub mod programme;
pub mod programme_region;
pub mod programme_region_country;
pub mod project;
pub mod region;
pub mod sdg;
pub mod stakeholder;
pub mod theme;
pub mod ucap;
pub mod ucap_section;
pub mod ucap_section_type;
