//! The one-to-many and many-to-many relations that nested connections page through: for each,
//! the rows (`FROM`, the child aliased `c`), the parent key expression, and the order.
//! Derived tables (`SELECT DISTINCT …`) make a child appear once per parent even when it is
//! reached through several links; they filter by parent inside ([`FromPart::ParentKeys`]: `IN`
//! the parents' keys), where an index serves the filter, so their cost follows the parents'
//! children, not the table.

use std::hash::{Hash, Hasher};

use super::page::{Ordering, SortCol, SortKind, Source};
use super::sql::Sql;
use FromPart::{ParentKeys, Text};

/// A piece of a relation's `FROM`.
#[derive(Debug)]
pub enum FromPart {
    Text(&'static str),
    /// `IN` the keys of the parents being loaded ([`Sql::in_keys`]): a relation reached through
    /// a union or a `DISTINCT` derived table filters by parent inside it, where an index serves
    /// the filter, rather than after it.
    ParentKeys,
}

/// A relation a nested connection reads.
#[derive(Debug)]
pub struct Relation {
    /// Unique name (also what cursors of this relation carry).
    pub name: &'static str,
    /// The rows, the child aliased `c`.
    pub from: &'static [FromPart],
    pub parent: &'static str,
    pub sort: &'static [(&'static str, SortKind)],
}

impl PartialEq for Relation {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Relation {}
impl Hash for Relation {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// A relation as a loader key: a plain `'static` type (a bare `&'static Relation` in a key trips
/// the compiler's Send analysis of async resolvers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rel(pub &'static Relation);

impl std::ops::Deref for Rel {
    type Target = Relation;
    fn deref(&self) -> &Relation {
        self.0
    }
}

impl Relation {
    /// The rows of the children of `parents`.
    pub fn source(&self, parents: &[i32]) -> Source {
        let mut from = Sql::default();
        for part in self.from {
            match part {
                Text(text) => from.push(text),
                ParentKeys => from.in_keys(parents.iter().copied()),
            };
        }
        Source::rows(from)
    }
    pub fn ordering(&self) -> Ordering {
        Ordering {
            name: self.name.to_owned(),
            cols: self
                .sort
                .iter()
                .map(|(e, k)| SortCol::new(*e, *k))
                .collect(),
            descending: false,
        }
    }
}

const BY_TITLE: &[(&str, SortKind)] = &[("c.title", SortKind::Text), ("c.id", SortKind::I32)];
const BY_NAME: &[(&str, SortKind)] = &[("c.name", SortKind::Text), ("c.id", SortKind::I32)];
const BY_DATE: &[(&str, SortKind)] = &[("c.date", SortKind::Date), ("c.id", SortKind::I32)];
const BY_ID: &[(&str, SortKind)] = &[("c.id", SortKind::I32)];

/// Pairings working on a theme.
pub static THEME_PAIRINGS: Relation = Relation {
    name: "theme.pairings",
    from: &[Text(
        "pairing c JOIN pairing_theme x ON x.pairing_id = c.id",
    )],
    parent: "x.theme_id",
    sort: BY_TITLE,
};
/// Pairings contributing to an SDG.
pub static SDG_PAIRINGS: Relation = Relation {
    name: "sdg.pairings",
    from: &[Text("pairing c JOIN pairing_sdg x ON x.pairing_id = c.id")],
    parent: "x.sdg_id",
    sort: BY_TITLE,
};
/// Pairings a city takes part in.
pub static CITY_PAIRINGS: Relation = Relation {
    name: "city.pairings",
    from: &[Text(
        "pairing c JOIN pairing_participant x ON x.pairing_id = c.id",
    )],
    parent: "x.city_id",
    sort: BY_TITLE,
};
/// Pairings a region takes part in.
pub static REGION_PAIRINGS: Relation = Relation {
    name: "region.pairings",
    from: &[Text(
        "pairing c JOIN pairing_participant x ON x.pairing_id = c.id",
    )],
    parent: "x.region_id",
    sort: BY_TITLE,
};
/// Pairings with a participant (city or region) in a country.
pub static COUNTRY_PAIRINGS: Relation = Relation {
    name: "country.pairings",
    from: &[
        Text(
            "pairing c JOIN (SELECT DISTINCT country_id, pairing_id FROM (\
             SELECT ci.country_id, pp.pairing_id FROM pairing_participant pp JOIN city ci ON ci.id = pp.city_id \
             WHERE ci.country_id ",
        ),
        ParentKeys,
        Text(
            " UNION ALL SELECT r.country_id, pp.pairing_id FROM pairing_participant pp JOIN region r ON r.id = pp.region_id \
             WHERE r.country_id ",
        ),
        ParentKeys,
        Text(") y) x ON x.pairing_id = c.id"),
    ],
    parent: "x.country_id",
    sort: BY_TITLE,
};
/// Pairings a stakeholder is involved in: directly, or through their UCAP or a project.
pub static STAKEHOLDER_PAIRINGS: Relation = Relation {
    name: "stakeholder.pairings",
    from: &[
        Text(
            "pairing c JOIN (SELECT DISTINCT stakeholder_id, pairing_id FROM (\
             SELECT i.stakeholder_id, i.pairing_id FROM involvement i \
             WHERE i.stakeholder_id ",
        ),
        ParentKeys,
        Text(
            " AND i.pairing_id IS NOT NULL \
             UNION ALL SELECT i.stakeholder_id, u.pairing_id FROM involvement i JOIN ucap u ON u.id = i.ucap_id \
             WHERE i.stakeholder_id ",
        ),
        ParentKeys,
        Text(
            " UNION ALL SELECT i.stakeholder_id, u.pairing_id FROM involvement i JOIN project p ON p.id = i.project_id \
             JOIN ucap u ON u.id = p.ucap_id WHERE i.stakeholder_id ",
        ),
        ParentKeys,
        Text(") y) x ON x.pairing_id = c.id"),
    ],
    parent: "x.stakeholder_id",
    sort: BY_TITLE,
};
/// Cities of a country.
pub static COUNTRY_CITIES: Relation = Relation {
    name: "country.cities",
    from: &[Text("city c")],
    parent: "c.country_id",
    sort: BY_NAME,
};
/// Regions of a country.
pub static COUNTRY_REGIONS: Relation = Relation {
    name: "country.regions",
    from: &[Text("region c")],
    parent: "c.country_id",
    sort: BY_NAME,
};
/// Cities in pairings working on a theme.
pub static THEME_CITIES: Relation = Relation {
    name: "theme.cities",
    from: &[
        Text(
            "city c JOIN (SELECT DISTINCT pt.theme_id, pp.city_id FROM pairing_theme pt \
             JOIN pairing_participant pp ON pp.pairing_id = pt.pairing_id WHERE pt.theme_id ",
        ),
        ParentKeys,
        Text(" AND pp.city_id IS NOT NULL) x ON x.city_id = c.id"),
    ],
    parent: "x.theme_id",
    sort: BY_NAME,
};
/// Regions in pairings working on a theme.
pub static THEME_REGIONS: Relation = Relation {
    name: "theme.regions",
    from: &[
        Text(
            "region c JOIN (SELECT DISTINCT pt.theme_id, pp.region_id FROM pairing_theme pt \
             JOIN pairing_participant pp ON pp.pairing_id = pt.pairing_id WHERE pt.theme_id ",
        ),
        ParentKeys,
        Text(" AND pp.region_id IS NOT NULL) x ON x.region_id = c.id"),
    ],
    parent: "x.theme_id",
    sort: BY_NAME,
};
/// The other participants of a city's pairings: its partners, once per shared pairing.
pub static CITY_PARTNERS: Relation = Relation {
    name: "city.partners",
    from: &[Text(
        "pairing_participant c JOIN pairing_participant me ON me.pairing_id = c.pairing_id AND me.id <> c.id",
    )],
    parent: "me.city_id",
    sort: BY_ID,
};
/// The other participants of a region's pairings.
pub static REGION_PARTNERS: Relation = Relation {
    name: "region.partners",
    from: &[Text(
        "pairing_participant c JOIN pairing_participant me ON me.pairing_id = c.pairing_id AND me.id <> c.id",
    )],
    parent: "me.region_id",
    sort: BY_ID,
};
/// Stakeholders located in a city.
pub static CITY_STAKEHOLDERS: Relation = Relation {
    name: "city.stakeholders",
    from: &[Text("stakeholder c")],
    parent: "c.city_id",
    sort: BY_NAME,
};
/// Involvements in a pairing: directly, in its UCAP, or in one of its projects.
pub static PAIRING_INVOLVEMENTS: Relation = Relation {
    name: "pairing.stakeholders",
    from: &[
        Text("(SELECT i.*, i.pairing_id AS owner FROM involvement i WHERE i.pairing_id "),
        ParentKeys,
        Text(
            " UNION ALL SELECT i.*, u.pairing_id AS owner FROM involvement i JOIN ucap u ON u.id = i.ucap_id \
             WHERE u.pairing_id ",
        ),
        ParentKeys,
        Text(
            " UNION ALL SELECT i.*, u.pairing_id AS owner FROM involvement i JOIN project p ON p.id = i.project_id \
             JOIN ucap u ON u.id = p.ucap_id WHERE u.pairing_id ",
        ),
        ParentKeys,
        Text(") c"),
    ],
    parent: "c.owner",
    sort: BY_ID,
};
/// A stakeholder's involvements.
pub static STAKEHOLDER_INVOLVEMENTS: Relation = Relation {
    name: "stakeholder.involvements",
    from: &[Text("involvement c")],
    parent: "c.stakeholder_id",
    sort: BY_ID,
};
/// Involvements in a UCAP itself.
pub static UCAP_INVOLVEMENTS: Relation = Relation {
    name: "ucap.stakeholders",
    from: &[Text("involvement c")],
    parent: "c.ucap_id",
    sort: BY_ID,
};
/// Involvements in a project.
pub static PROJECT_INVOLVEMENTS: Relation = Relation {
    name: "project.stakeholders",
    from: &[Text("involvement c")],
    parent: "c.project_id",
    sort: BY_ID,
};
/// A pairing's timeline.
pub static PAIRING_ACTIVITIES: Relation = Relation {
    name: "pairing.activities",
    from: &[Text(
        "activity c JOIN activity_pairing x ON x.activity_id = c.id",
    )],
    parent: "x.pairing_id",
    sort: BY_DATE,
};
/// Activities held in a city.
pub static CITY_ACTIVITIES: Relation = Relation {
    name: "city.activities",
    from: &[Text("activity c")],
    parent: "c.city_id",
    sort: BY_DATE,
};
/// Activities a stakeholder took part in.
pub static STAKEHOLDER_ACTIVITIES: Relation = Relation {
    name: "stakeholder.activities",
    from: &[Text(
        "activity c JOIN activity_stakeholder x ON x.activity_id = c.id",
    )],
    parent: "x.stakeholder_id",
    sort: BY_DATE,
};
/// A UCAP's projects, in the plan's order.
pub static UCAP_PROJECTS: Relation = Relation {
    name: "ucap.projects",
    from: &[Text("project c")],
    parent: "c.ucap_id",
    sort: &[("c.position", SortKind::I32), ("c.id", SortKind::I32)],
};
/// Projects a stakeholder is involved in.
pub static STAKEHOLDER_PROJECTS: Relation = Relation {
    name: "stakeholder.projects",
    from: &[Text("project c JOIN involvement x ON x.project_id = c.id")],
    parent: "x.stakeholder_id",
    sort: BY_TITLE,
};

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, Value};

    use super::*;

    #[test]
    fn a_derived_table_filters_by_the_parents_inside_each_branch() {
        let from = |backend| COUNTRY_PAIRINGS.source(&[4, 5]).from.statement(backend);
        let pg = from(DbBackend::Postgres);
        assert!(
            pg.sql
                .contains("WHERE ci.country_id = ANY(CAST((SELECT CAST(translate($1,")
        );
        assert!(
            pg.sql
                .contains("WHERE r.country_id = ANY(CAST((SELECT CAST(translate($2,")
        );
        let keys = Value::String(Some("[4,5]".to_owned()));
        assert_eq!(pg.values.unwrap().0, vec![keys.clone(), keys]);
        let sqlite = from(DbBackend::Sqlite);
        assert_eq!(
            sqlite
                .sql
                .matches("IN (SELECT value FROM json_each(?))")
                .count(),
            2
        );
        // One parent is bound as itself.
        let one = COUNTRY_PAIRINGS
            .source(&[4])
            .from
            .statement(DbBackend::Sqlite);
        assert!(one.sql.contains("WHERE ci.country_id = ? UNION ALL"));
    }

    #[test]
    fn a_plain_relation_reads_its_table() {
        let from = COUNTRY_CITIES.source(&[1, 2]).from;
        assert_eq!(from.statement(DbBackend::Postgres).sql, "city c");
    }
}
