//! Query limits, checked on the parsed document before validation and execution: depth,
//! aliases, root fields and a cost that counts connections.
//!
//! The cost of an operation is the sum of the cost of its field selections, fragments and
//! inline fragments expanded where they are spread (both branches of a `... on City` /
//! `... on Region` pair count: the rule is conservative):
//!
//! - a field without a selection set (a scalar or an enum) costs 0;
//! - a field with a selection set (an object, a list of objects) costs 1 plus the cost of its
//!   selection; short bounded lists (a pairing's participants, themes) are not multiplied;
//! - a connection (a field whose type is `…Connection`) costs 1, plus its page size times the
//!   cost of its `nodes` and `edges` selections, plus the cost of its other selections
//!   (`pageInfo` once). The page size is `first` or `last` (the larger if both; variables
//!   resolved), or the default page (20) when neither is given;
//! - `nodes(ids:)` costs 1 plus the number of ids times the cost of its selection.
//!
//! So a page of 100 pairings with their participants' places and countries costs
//! 1 + 100 × (1 + 1 + 1 + 1) = 401, and 100 pairings × 100 cities × 100 pairings costs over a
//! million. The figures are upper bounds on the objects a query can touch, as GitHub's and
//! Shopify's public APIs count them; async-graphql's own complexity does not multiply by page
//! sizes.
//!
//! A fragment spread inside itself (a cycle, which validation rejects later) is not followed,
//! and the walk stops after `MAX_VISITS` selections: a document of fragments each spreading
//! the next several times would otherwise expand exponentially.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType,
    Selection, SelectionSet, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ErrorExtensions, Name, Positioned, ServerError, Value, Variables};

use crate::service::page::DEFAULT_PAGE;

/// Selections visited (after expanding fragments) before the walk gives up.
const MAX_VISITS: usize = 100_000;

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most levels of nested fields (`{ a { b } }` is 2 deep).
    pub max_depth: usize,
    /// Most aliased fields.
    pub max_aliases: usize,
    /// Most fields at the top level of an operation.
    pub max_root_fields: usize,
    /// Most cost (see the module documentation).
    pub max_cost: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
            max_cost: 25_000,
        }
    }
}

/// What the walk found for the operation a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub operation_type: OperationType,
    pub operation_name: Option<String>,
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
    pub cost: u64,
    /// The walk stopped at `MAX_VISITS`: the figures are lower bounds.
    pub truncated: bool,
}

/// The return type of every field of the schema's object and interface types, read once from
/// the SDL (async-graphql keeps its registry to itself; walking the document here, before
/// execution, needs no schema extension, which would wrap every field's resolution).
#[derive(Debug, Clone, Default)]
pub struct TypeTable {
    /// type → field → the named type it returns (lists and non-null unwrapped).
    fields: HashMap<String, HashMap<String, String>>,
    query: String,
    mutation: Option<String>,
    subscription: Option<String>,
}

impl TypeTable {
    /// From the schema's SDL (`Schema::sdl`).
    pub fn from_sdl(sdl: &str) -> Self {
        fn named(ty: &Type) -> &str {
            match &ty.base {
                BaseType::Named(name) => name.as_str(),
                BaseType::List(inner) => named(inner),
            }
        }
        let mut table = TypeTable {
            query: "Query".into(),
            mutation: Some("Mutation".into()),
            subscription: Some("Subscription".into()),
            ..TypeTable::default()
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!(
                "the schema's own SDL does not parse: query costs will not see connections"
            );
            return table;
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(query) = &schema.node.query {
                        table.query = query.node.to_string();
                    }
                    table.mutation = schema.node.mutation.as_ref().map(|m| m.node.to_string());
                    table.subscription = schema
                        .node
                        .subscription
                        .as_ref()
                        .map(|s| s.node.to_string());
                }
                TypeSystemDefinition::Type(ty) => {
                    let fields = match &ty.node.kind {
                        TypeKind::Object(object) => &object.fields,
                        TypeKind::Interface(interface) => &interface.fields,
                        _ => continue,
                    };
                    let fields = fields
                        .iter()
                        .map(|f| {
                            (
                                f.node.name.node.to_string(),
                                named(&f.node.ty.node).to_owned(),
                            )
                        })
                        .collect();
                    table.fields.insert(ty.node.name.node.to_string(), fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        table
    }

    fn field_type(&self, parent: &str, field: &str) -> Option<&str> {
        self.fields.get(parent)?.get(field).map(String::as_str)
    }
}

/// The operation a request selects, as execution will choose it; `None` when the name is
/// unknown or missing where it is needed (execution reports that error).
pub fn select_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a Positioned<OperationDefinition>)> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some((None, op)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get_key_value(name).map(|(n, op)| (Some(n), op))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(n, op)| (Some(n), op))
        }
        _ => None,
    }
}

/// Measures the operation `operation_name` selects.
pub fn analyze(
    doc: &ExecutableDocument,
    types: &TypeTable,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Option<Analysis> {
    let (name, operation) = select_operation(doc, operation_name)?;
    let operation = &operation.node;
    let root_type = match operation.ty {
        OperationType::Query => Some(types.query.as_str()),
        OperationType::Mutation => types.mutation.as_deref(),
        OperationType::Subscription => types.subscription.as_deref(),
    };
    let mut walker = Walker {
        doc,
        types,
        operation,
        variables,
        fragments: Vec::new(),
        visits: 0,
        depth: 0,
        aliases: 0,
        truncated: false,
    };
    let root_fields = walker.count_root_fields(&operation.selection_set.node);
    let cost = walker.selection_set(&operation.selection_set.node, root_type, 0);
    Some(Analysis {
        operation_type: operation.ty,
        operation_name: name.map(|n| n.to_string()),
        depth: walker.depth,
        aliases: walker.aliases,
        root_fields,
        cost,
        truncated: walker.truncated,
    })
}

/// The first limit `analysis` exceeds, as a GraphQL error with its code, the limit and the
/// computed figure.
pub fn check(analysis: &Analysis, limits: &Limits) -> Result<(), ServerError> {
    // (figure, limit, code, what the figure counts), in the order they are checked.
    let checks: [(u64, u64, &str, &str); 4] = [
        (
            analysis.depth as u64,
            limits.max_depth as u64,
            "QUERY_TOO_DEEP",
            "levels of nested fields",
        ),
        (
            analysis.aliases as u64,
            limits.max_aliases as u64,
            "TOO_MANY_ALIASES",
            "aliased fields",
        ),
        (
            analysis.root_fields as u64,
            limits.max_root_fields as u64,
            "TOO_MANY_ROOT_FIELDS",
            "top-level fields",
        ),
        (
            if analysis.truncated {
                u64::MAX
            } else {
                analysis.cost
            },
            limits.max_cost,
            "QUERY_TOO_COMPLEX",
            "cost",
        ),
    ];
    let Some(&(actual, limit, code, what)) =
        checks.iter().find(|(actual, limit, ..)| actual > limit)
    else {
        return Ok(());
    };
    let truncated = analysis.truncated && code == "QUERY_TOO_COMPLEX";
    // When the walk stopped early, the figure reported is what it counted so far.
    let actual = if truncated { analysis.cost } else { actual };
    let message = if truncated {
        format!(
            "the query expands to more than {MAX_VISITS} field selections (fragments spread \
             inside fragments): its cost exceeds the most allowed, {limit}"
        )
    } else if code == "QUERY_TOO_COMPLEX" {
        format!(
            "the query's cost is {actual}; the most allowed is {limit} (a connection costs its \
             page size times the cost of what is selected under it: ask for smaller pages or \
             fewer nested connections)"
        )
    } else {
        format!("the operation has {actual} {what}; the most allowed is {limit}")
    };
    let mut error = ServerError::new(message, None);
    error.extensions = async_graphql::Error::new("")
        .extend_with(|_, e| {
            e.set("code", code);
            e.set("limit", limit);
            e.set("actual", actual);
        })
        .extensions;
    Err(error)
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    types: &'a TypeTable,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    /// Fragments being expanded on the current path (cycle guard).
    fragments: Vec<&'a str>,
    visits: usize,
    depth: usize,
    aliases: usize,
    truncated: bool,
}

/// How the selections of a set are counted.
#[derive(Clone, Copy)]
enum Mode {
    /// Each selection once.
    Plain,
    /// Inside a connection: `nodes` and `edges` times the page size, the rest once.
    Connection(u64),
}

impl<'a> Walker<'a> {
    /// Fields at the top level, fragments expanded.
    fn count_root_fields(&mut self, set: &'a SelectionSet) -> usize {
        let mut count = 0;
        for selection in &set.items {
            match &selection.node {
                Selection::Field(_) => count += 1,
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.fragments.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.doc.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.fragments.push(name);
                        count += self.count_root_fields(&fragment.node.selection_set.node);
                        self.fragments.pop();
                    }
                }
                Selection::InlineFragment(inline) => {
                    count += self.count_root_fields(&inline.node.selection_set.node);
                }
            }
        }
        count
    }

    /// The cost of a selection set on `parent_type` (when known), whose fields sit at
    /// `depth + 1`.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        parent_type: Option<&'a str>,
        depth: usize,
    ) -> u64 {
        self.selections(set, parent_type, depth, Mode::Plain)
    }

    fn selections(
        &mut self,
        set: &'a SelectionSet,
        parent_type: Option<&'a str>,
        depth: usize,
        mode: Mode,
    ) -> u64 {
        let mut cost = 0u64;
        for selection in &set.items {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                self.truncated = true;
                return cost;
            }
            let item = match &selection.node {
                Selection::Field(field) => {
                    let item = self.field(&field.node, parent_type, depth + 1);
                    match mode {
                        Mode::Connection(page)
                            if matches!(field.node.name.node.as_str(), "nodes" | "edges") =>
                        {
                            page.saturating_mul(item)
                        }
                        _ => item,
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.fragments.contains(&name) {
                        continue;
                    }
                    let Some(fragment) = self.doc.fragments.get(&spread.node.fragment_name.node)
                    else {
                        continue;
                    };
                    self.fragments.push(name);
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    let cost =
                        self.selections(&fragment.node.selection_set.node, Some(on), depth, mode);
                    self.fragments.pop();
                    cost
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|t| t.node.on.node.as_str())
                        .or(parent_type);
                    self.selections(&inline.node.selection_set.node, on, depth, mode)
                }
            };
            cost = cost.saturating_add(item);
        }
        cost
    }

    fn field(&mut self, field: &'a Field, parent_type: Option<&'a str>, depth: usize) -> u64 {
        self.depth = self.depth.max(depth);
        if field.alias.is_some() {
            self.aliases += 1;
        }
        let set = &field.selection_set.node;
        if set.items.is_empty() {
            return 0;
        }
        let name = field.name.node.as_str();
        let types = self.types;
        let field_type = parent_type.and_then(|t| types.field_type(t, name));
        if field_type.is_some_and(|t| t.ends_with("Connection")) {
            let page = self.page_size(field);
            let inner = self.selections(set, field_type, depth, Mode::Connection(page));
            return 1u64.saturating_add(inner);
        }
        let children = self.selection_set(set, field_type, depth);
        let count = if parent_type == Some(types.query.as_str()) && name == "nodes" {
            self.list_len(field, "ids")
        } else {
            1
        };
        1u64.saturating_add(count.saturating_mul(children))
    }

    /// The page size of a connection field: `first` or `last`, or the default page.
    fn page_size(&self, field: &Field) -> u64 {
        let size = |arg: &str| match self.argument(field, arg) {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        match (size("first"), size("last")) {
            (None, None) => DEFAULT_PAGE,
            (a, b) => a.unwrap_or(0).max(b.unwrap_or(0)),
        }
    }

    /// The length of a list argument (a literal or a variable); 1 when it is not a list.
    fn list_len(&self, field: &Field, arg: &str) -> u64 {
        match self.argument(field, arg) {
            Some(Value::List(items)) => items.len() as u64,
            _ => 1,
        }
    }

    /// An argument's value, variables resolved from the request or their defaults.
    fn argument(&self, field: &Field, arg: &str) -> Option<Value> {
        let value = field.get_argument(arg)?;
        value
            .node
            .clone()
            .into_const_with(|name| {
                if let Some(value) = self.variables.get(&name) {
                    return Ok(value.clone());
                }
                self.operation
                    .variable_definitions
                    .iter()
                    .find(|d| d.node.name.node == name)
                    .and_then(|d| d.node.default_value.as_ref())
                    .map(|v| v.node.clone())
                    .ok_or(())
            })
            .ok()
    }
}
