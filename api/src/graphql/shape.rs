//! The schema's shape as the query limits need it, read once from the SDL: what every field
//! returns, and, for costing introspection like data, how long each introspection list is
//! (a type's fields, interfaces, possible types, enum values, input fields; a field's
//! arguments; the directives).
//!
//! async-graphql keeps its registry to itself, and the SDL it prints leaves out the built-in
//! scalars and the introspection types, so those are added here from the specification's text.

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

/// The introspection types and built-ins of the GraphQL specification (October 2021, with the
/// `includeDeprecated` arguments and `@oneOf` async-graphql serves), which `Schema::sdl` omits.
const BUILT_INS: &str = r#"
scalar String
scalar Int
scalar Float
scalar Boolean
scalar ID
type __Schema {
  description: String
  types: [__Type!]!
  queryType: __Type!
  mutationType: __Type
  subscriptionType: __Type
  directives: [__Directive!]!
}
type __Type {
  kind: __TypeKind!
  name: String
  description: String
  specifiedByURL: String
  fields(includeDeprecated: Boolean = false): [__Field!]
  interfaces: [__Type!]
  possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
  inputFields(includeDeprecated: Boolean = false): [__InputValue!]
  ofType: __Type
  isOneOf: Boolean
}
enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
type __Field {
  name: String!
  description: String
  args(includeDeprecated: Boolean = false): [__InputValue!]!
  type: __Type!
  isDeprecated: Boolean!
  deprecationReason: String
}
type __InputValue {
  name: String!
  description: String
  type: __Type!
  defaultValue: String
  isDeprecated: Boolean!
  deprecationReason: String
}
type __EnumValue {
  name: String!
  description: String
  isDeprecated: Boolean!
  deprecationReason: String
}
type __Directive {
  name: String!
  description: String
  locations: [__DirectiveLocation!]!
  args(includeDeprecated: Boolean = false): [__InputValue!]!
  isRepeatable: Boolean!
}
enum __DirectiveLocation { QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD
  INLINE_FRAGMENT VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION
  INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT INPUT_FIELD_DEFINITION }
directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @deprecated(reason: String) on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
directive @specifiedBy(url: String!) on SCALAR
directive @oneOf on INPUT_OBJECT
"#;

/// A reference to a type as a field or argument declares it: the named type and how many
/// wrappers (`NON_NULL`, `LIST`) stand around it, i.e. how long its `ofType` chain is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    pub name: String,
    pub wrappers: u32,
}

impl TypeRef {
    fn of(ty: &Type) -> Self {
        // The SDL is our own schema's: its nesting is a handful of levels.
        let outer = u32::from(!ty.nullable);
        match &ty.base {
            BaseType::Named(name) => TypeRef {
                name: name.to_string(),
                wrappers: outer,
            },
            BaseType::List(inner) => {
                let inner = TypeRef::of(inner);
                TypeRef {
                    wrappers: inner.wrappers + 1 + outer,
                    ..inner
                }
            }
        }
    }

    fn named(name: &str) -> Self {
        TypeRef {
            name: name.to_owned(),
            wrappers: 0,
        }
    }
}

/// A field: what it returns and its arguments' types.
#[derive(Debug, Clone)]
pub struct FieldShape {
    pub ty: TypeRef,
    pub args: Vec<TypeRef>,
}

/// A named type's introspection lists.
#[derive(Debug, Clone, Default)]
pub struct TypeShape {
    pub fields: HashMap<String, FieldShape>,
    pub interfaces: Vec<String>,
    pub possible_types: Vec<String>,
    pub enum_values: u64,
    pub input_fields: Vec<TypeRef>,
}

/// The whole schema's shape.
#[derive(Debug, Clone, Default)]
pub struct TypeTable {
    pub types: HashMap<String, TypeShape>,
    /// The arguments of each directive.
    pub directives: Vec<Vec<TypeRef>>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
}

impl TypeTable {
    /// From the schema's SDL (`Schema::sdl`), with the built-ins added.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut table = TypeTable {
            query: "Query".into(),
            mutation: Some("Mutation".into()),
            subscription: Some("Subscription".into()),
            ..TypeTable::default()
        };
        let mut directives = HashMap::new();
        for text in [sdl, BUILT_INS] {
            match async_graphql::parser::parse_schema(text) {
                Ok(document) => {
                    for definition in document.definitions {
                        table.add(definition, &mut directives);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "a schema text does not parse: costs will be low")
                }
            }
        }
        table.directives = directives.into_values().collect();
        table.link_possible_types();
        let query = table.query.clone();
        let root = table.types.entry(query).or_default();
        let schema = FieldShape {
            ty: TypeRef {
                name: "__Schema".into(),
                wrappers: 1,
            },
            args: vec![],
        };
        let ty = FieldShape {
            ty: TypeRef::named("__Type"),
            args: vec![TypeRef::named("String")],
        };
        root.fields.insert("__schema".into(), schema);
        root.fields.insert("__type".into(), ty);
        table
    }

    fn add(
        &mut self,
        definition: TypeSystemDefinition,
        directives: &mut HashMap<String, Vec<TypeRef>>,
    ) {
        match definition {
            TypeSystemDefinition::Schema(schema) => {
                let schema = schema.node;
                if let Some(query) = schema.query {
                    self.query = query.node.to_string();
                }
                self.mutation = schema.mutation.map(|m| m.node.to_string());
                self.subscription = schema.subscription.map(|s| s.node.to_string());
            }
            TypeSystemDefinition::Directive(directive) => {
                let args = directive.node.arguments.iter();
                let args = args.map(|a| TypeRef::of(&a.node.ty.node)).collect();
                directives.insert(directive.node.name.node.to_string(), args);
            }
            TypeSystemDefinition::Type(ty) => {
                let name = ty.node.name.node.to_string();
                self.types.insert(name, type_shape(ty.node.kind));
            }
        }
    }

    /// Fills each interface's possible types with the objects that implement it.
    fn link_possible_types(&mut self) {
        let mut implementers: HashMap<String, Vec<String>> = HashMap::new();
        for (name, shape) in &self.types {
            for interface in &shape.interfaces {
                implementers
                    .entry(interface.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
        for (interface, objects) in implementers {
            if let Some(shape) = self.types.get_mut(&interface) {
                shape.possible_types.extend(objects);
            }
        }
    }

    /// The named type a field of `parent` returns.
    pub fn field_type(&self, parent: &str, field: &str) -> Option<&str> {
        let field = self.types.get(parent)?.fields.get(field)?;
        Some(field.ty.name.as_str())
    }

    /// A field of `parent`, with its arguments.
    pub fn field(&self, parent: &str, field: &str) -> Option<&FieldShape> {
        self.types.get(parent)?.fields.get(field)
    }
}

fn type_shape(kind: TypeKind) -> TypeShape {
    let fields = |fields: &[async_graphql::Positioned<_>]| {
        fields
            .iter()
            .map(
                |f: &async_graphql::Positioned<async_graphql::parser::types::FieldDefinition>| {
                    let shape = FieldShape {
                        ty: TypeRef::of(&f.node.ty.node),
                        args: f
                            .node
                            .arguments
                            .iter()
                            .map(|a| TypeRef::of(&a.node.ty.node))
                            .collect(),
                    };
                    (f.node.name.node.to_string(), shape)
                },
            )
            .collect()
    };
    let names = |names: &[async_graphql::Positioned<async_graphql::Name>]| {
        names.iter().map(|n| n.node.to_string()).collect()
    };
    match kind {
        TypeKind::Object(object) => TypeShape {
            fields: fields(&object.fields),
            interfaces: names(&object.implements),
            ..TypeShape::default()
        },
        TypeKind::Interface(interface) => TypeShape {
            fields: fields(&interface.fields),
            interfaces: names(&interface.implements),
            ..TypeShape::default()
        },
        TypeKind::Union(union) => TypeShape {
            possible_types: names(&union.members),
            ..TypeShape::default()
        },
        TypeKind::Enum(e) => TypeShape {
            enum_values: e.values.len() as u64,
            ..TypeShape::default()
        },
        TypeKind::InputObject(input) => TypeShape {
            input_fields: input
                .fields
                .iter()
                .map(|f| TypeRef::of(&f.node.ty.node))
                .collect(),
            ..TypeShape::default()
        },
        TypeKind::Scalar => TypeShape::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_ins_and_the_schema_are_both_read() {
        let table = TypeTable::from_sdl(
            "interface Node { id: ID! } type Query { a: [A!]! node: Node } \
             type A implements Node { id: ID! b(x: [Int!]): String }",
        );
        assert_eq!(table.field_type("Query", "a"), Some("A"));
        let a = &table.types["Query"].fields["a"].ty;
        assert_eq!((a.name.as_str(), a.wrappers), ("A", 3));
        assert_eq!(table.types["Node"].possible_types, vec!["A".to_owned()]);
        assert_eq!(table.types["A"].fields["b"].args[0].wrappers, 2);
        assert!(table.types.contains_key("__Type"));
        assert_eq!(table.field_type("Query", "__schema"), Some("__Schema"));
        assert_eq!(table.types["__TypeKind"].enum_values, 8);
        assert_eq!(table.directives.len(), 5);
    }
}
