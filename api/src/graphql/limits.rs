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
//! Introspection is costed the same way, with the real lengths of its lists: `__schema {
//! types { fields { … } } }` costs one per type and one per field of each, as many objects as
//! the answer holds. Before this walk, `expansion.rs` has measured the document without
//! expanding it (fragment cycles and nesting refused there), so this walk is bounded; it
//! still stops after `MAX_VISITS` selections, which only introspection's lists can reach.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{ErrorExtensions, Name, Positioned, ServerError, Value, Variables};

use super::shape::{FieldShape, TypeRef, TypeTable};
use crate::service::page::DEFAULT_PAGE;

/// Selections a document may expand to (fragments spread where they are used).
pub const MAX_EXPANDED: u64 = 100_000;
/// Selections the walk visits before it gives up: introspection's lists multiply a selection
/// by their lengths (every type's fields …), which the expansion does not see.
const MAX_VISITS: usize = 1_000_000;

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
    /// Most tokens in a document (checked on the text, before parsing).
    pub max_tokens: usize,
    /// Most nesting of anything: brackets in the text (selection sets, arguments, list and
    /// object values), selection sets with fragments expanded, and JSON in the request.
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
            max_cost: 25_000,
            max_tokens: 10_000,
            max_nesting: 32,
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
        visits: 0,
        depth: 0,
        aliases: 0,
        root_fields: 0,
        truncated: false,
    };
    let cost = walker.selection_set(&operation.selection_set.node, root_type, 0);
    Some(Analysis {
        operation_type: operation.ty,
        operation_name: name.map(|n| n.to_string()),
        depth: walker.depth,
        aliases: walker.aliases,
        root_fields: walker.root_fields,
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
             inside fragments, or introspection's lists): its cost exceeds the most allowed, \
             {limit}"
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
    Err(limit_error(code, message, limit, actual))
}

/// A refusal by a limit: its code, a message with the figures, and `extensions.limit` and
/// `extensions.actual`.
pub fn limit_error(
    code: &'static str,
    message: impl Into<String>,
    limit: u64,
    actual: u64,
) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions = async_graphql::Error::new("")
        .extend_with(|_, e| {
            e.set("code", code);
            e.set("limit", limit);
            e.set("actual", actual);
        })
        .extensions;
    error
}

/// Walks the selected operation. Fragment cycles and nesting were refused before
/// (`expansion.rs`), so its recursion is bounded by the nesting limit.
struct Walker<'a> {
    doc: &'a ExecutableDocument,
    types: &'a TypeTable,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    visits: usize,
    depth: usize,
    aliases: usize,
    root_fields: usize,
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

/// What an introspection object describes, and so how long its lists are.
#[derive(Clone, Copy)]
enum Meta<'t> {
    Schema,
    /// A type, `wrappers` levels of `NON_NULL`/`LIST` around the named type.
    Type(&'t str, u32),
    Field(&'t FieldShape),
    InputValue(&'t TypeRef),
    EnumValue,
    Directive(&'t [TypeRef]),
}

impl<'a> Walker<'a> {
    /// Counts one visit; false once the walk has visited too many selections.
    fn visit(&mut self) -> bool {
        self.visits += 1;
        if self.visits > MAX_VISITS {
            self.truncated = true;
        }
        !self.truncated
    }

    /// Notes a field at `depth` (its depth, its alias, a top-level field).
    fn enter_field(&mut self, field: &Field, depth: usize) {
        self.depth = self.depth.max(depth);
        if field.alias.is_some() {
            self.aliases += 1;
        }
        if depth == 1 {
            self.root_fields += 1;
        }
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
            if !self.visit() {
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
                    let Some(fragment) = self.doc.fragments.get(&spread.node.fragment_name.node)
                    else {
                        continue;
                    };
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    self.selections(&fragment.node.selection_set.node, Some(on), depth, mode)
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
        self.enter_field(field, depth);
        let set = &field.selection_set.node;
        if set.items.is_empty() {
            return 0;
        }
        let name = field.name.node.as_str();
        let types = self.types;
        if parent_type == Some(types.query.as_str()) {
            match name {
                "__schema" => return 1u64.saturating_add(self.meta(set, Meta::Schema, depth)),
                "__type" => return self.type_by_name(field, depth),
                _ => {}
            }
        }
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

    /// `__type(name:)`: the named type, or nothing to count when there is no such type.
    fn type_by_name(&mut self, field: &'a Field, depth: usize) -> u64 {
        let types = self.types;
        let name = match self.argument(field, "name") {
            Some(Value::String(name)) => types.types.get_key_value(&name).map(|(k, _)| k),
            _ => None,
        };
        match name {
            Some(name) => {
                let meta = Meta::Type(name.as_str(), 0);
                1u64.saturating_add(self.meta(&field.selection_set.node, meta, depth))
            }
            None => 1,
        }
    }

    /// The cost of an introspection selection set on `on`: one per object it returns, with
    /// every list as long as the schema makes it.
    fn meta(&mut self, set: &'a SelectionSet, on: Meta<'a>, depth: usize) -> u64 {
        let mut cost = 0u64;
        for selection in &set.items {
            if !self.visit() {
                return cost;
            }
            let item = match &selection.node {
                Selection::Field(field) => self.meta_field(&field.node, on, depth + 1),
                Selection::FragmentSpread(spread) => {
                    match self.doc.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => self.meta(&fragment.node.selection_set.node, on, depth),
                        None => 0,
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.meta(&inline.node.selection_set.node, on, depth)
                }
            };
            cost = cost.saturating_add(item);
        }
        cost
    }

    fn meta_field(&mut self, field: &'a Field, on: Meta<'a>, depth: usize) -> u64 {
        self.enter_field(field, depth);
        let set = &field.selection_set.node;
        if set.items.is_empty() {
            return 0;
        }
        let types = self.types;
        let children: Vec<Meta<'a>> = match (on, field.name.node.as_str()) {
            (Meta::Schema, "types") => types.types.keys().map(|t| Meta::Type(t, 0)).collect(),
            (Meta::Schema, "queryType") => vec![Meta::Type(&types.query, 0)],
            (Meta::Schema, "mutationType") => {
                types.mutation.iter().map(|t| Meta::Type(t, 0)).collect()
            }
            (Meta::Schema, "subscriptionType") => types
                .subscription
                .iter()
                .map(|t| Meta::Type(t, 0))
                .collect(),
            (Meta::Schema, "directives") => types
                .directives
                .iter()
                .map(|d| Meta::Directive(d))
                .collect(),
            (Meta::Type(name, wrappers), "ofType") if wrappers > 0 => {
                vec![Meta::Type(name, wrappers - 1)]
            }
            (Meta::Type(name, 0), list) => self.type_list(name, list),
            (Meta::Field(f), "args") => f.args.iter().map(Meta::InputValue).collect(),
            (Meta::Directive(args), "args") => args.iter().map(Meta::InputValue).collect(),
            (Meta::Field(FieldShape { ty, .. }), "type") | (Meta::InputValue(ty), "type") => {
                vec![Meta::Type(&ty.name, ty.wrappers)]
            }
            _ => Vec::new(),
        };
        let mut cost = 0u64;
        for child in children {
            if self.truncated {
                break;
            }
            cost = cost.saturating_add(1u64.saturating_add(self.meta(set, child, depth)));
        }
        cost
    }

    /// The objects of one of a named type's introspection lists.
    fn type_list(&self, name: &'a str, list: &str) -> Vec<Meta<'a>> {
        let Some(shape) = self.types.types.get(name) else {
            return Vec::new();
        };
        match list {
            "fields" => shape.fields.values().map(Meta::Field).collect(),
            "interfaces" => shape.interfaces.iter().map(|t| Meta::Type(t, 0)).collect(),
            "possibleTypes" => shape
                .possible_types
                .iter()
                .map(|t| Meta::Type(t, 0))
                .collect(),
            "enumValues" => (0..shape.enum_values).map(|_| Meta::EnumValue).collect(),
            "inputFields" => shape.input_fields.iter().map(Meta::InputValue).collect(),
            _ => Vec::new(),
        }
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
