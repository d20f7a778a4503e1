//! Argument values checked before execution, whatever field they go to: text is plain text
//! (`text::check_plain`: no NUL, no other control character but tab and line breaks) and no
//! longer than its limit,
//! lists are no longer than theirs. Each refusal is `BAD_USER_INPUT` and names the argument
//! (or the variable) and the limit.
//!
//! Checked here, once, rather than by each resolver: a NUL went into PostgreSQL as an internal
//! error and cut SQLite's LIKE patterns short; a 100 KB search or a list of 45,000 SDGs made
//! statements SQLite refuses. Every value reaches this check through the same two doors: the
//! request's variables and the literal arguments of the document.
//!
//! The walk follows values' nesting, which the nesting limit has bounded before (the document
//! in `prescan.rs`, variables' JSON in the HTTP layer).

use async_graphql::parser::types::Directive;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ServerError, Value as ConstValue, Variables};

use crate::error::coded;

/// The longest text and list an argument may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Characters of a text argument of a query (a search, a slug, a cursor).
    pub query_text: usize,
    /// Characters of a text argument of a mutation (a title, a description).
    pub mutation_text: usize,
    /// Items of a list argument.
    pub list: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            query_text: 1_000,
            mutation_text: 20_000,
            list: 500,
        }
    }
}

/// Checks the request's variables and every literal argument of the document.
pub fn check(
    doc: &ExecutableDocument,
    operation_type: OperationType,
    variables: &Variables,
    limits: &InputLimits,
) -> Result<(), ServerError> {
    let text_limit = match operation_type {
        OperationType::Mutation => limits.mutation_text,
        _ => limits.query_text,
    };
    let checker = Checker {
        text_limit,
        list_limit: limits.list,
    };
    for (name, value) in variables.iter() {
        checker.value(value, &Site::new("variable", format!("${name}"), ""))?;
    }
    let mut sets: Vec<&SelectionSet> = Vec::new();
    for (_, operation) in doc.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let name = &definition.node.name.node;
                let site = Site::new("the default value of", format!("${name}"), "");
                checker.value(&default.node, &site)?;
            }
        }
        sets.push(&operation.node.selection_set.node);
    }
    sets.extend(doc.fragments.values().map(|f| &f.node.selection_set.node));
    while let Some(set) = sets.pop() {
        for selection in &set.items {
            checker.directives(selection.node.directives())?;
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    checker.arguments(&field.arguments, &field.name.node)?;
                    sets.push(&field.selection_set.node);
                }
                Selection::InlineFragment(inline) => sets.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Ok(())
}

struct Checker {
    text_limit: usize,
    list_limit: usize,
}

/// A field's or a directive's arguments as the document writes them (variables unresolved).
type Arguments = [(Positioned<Name>, Positioned<async_graphql_value::Value>)];

impl Checker {
    fn arguments(&self, arguments: &Arguments, field: &str) -> Result<(), ServerError> {
        for (name, value) in arguments {
            // Variables are checked on their own; here they stand as null.
            let value = value
                .node
                .clone()
                .into_const_with(|_| Ok::<_, ()>(ConstValue::Null));
            if let Ok(value) = value {
                let site = Site::new("argument", name.node.to_string(), &format!(" of `{field}`"));
                self.value(&value, &site)?;
            }
        }
        Ok(())
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> Result<(), ServerError> {
        for directive in directives {
            let name = format!("@{}", directive.node.name.node);
            self.arguments(&directive.node.arguments, &name)?;
        }
        Ok(())
    }

    /// Checks `value`, which stands at `site`.
    fn value(&self, value: &ConstValue, site: &Site) -> Result<(), ServerError> {
        match value {
            ConstValue::String(text) => self.text(text, site),
            ConstValue::List(items) => {
                if items.len() > self.list_limit {
                    return Err(refuse(format!(
                        "{site} has {} items; the most allowed is {}",
                        items.len(),
                        self.list_limit
                    )));
                }
                items.iter().try_for_each(|item| self.value(item, site))
            }
            ConstValue::Object(fields) => fields
                .iter()
                .try_for_each(|(key, item)| self.value(item, &site.field(key))),
            _ => Ok(()),
        }
    }

    fn text(&self, text: &str, site: &Site) -> Result<(), ServerError> {
        // The one plain-text rule (also the import's); a field's kind is not known here, so
        // tabs and line breaks pass, as in free text.
        if let Err(problem) = crate::text::check_plain(text, true) {
            return Err(refuse(format!("{site} {problem}")));
        }
        // Bytes bound characters from above: count characters only when it can matter.
        if text.len() > self.text_limit {
            let length = text.chars().count();
            if length > self.text_limit {
                return Err(refuse(format!(
                    "{site} is {length} characters long; the most allowed is {}",
                    self.text_limit
                )));
            }
        }
        Ok(())
    }
}

/// Where a value stands, for messages: "argument `filter.search` of `pairings`".
struct Site {
    kind: &'static str,
    path: String,
    of: String,
}

impl Site {
    fn new(kind: &'static str, path: String, of: &str) -> Self {
        Self {
            kind,
            path,
            of: of.to_owned(),
        }
    }

    /// The site of an input object's field.
    fn field(&self, key: &Name) -> Self {
        Self {
            kind: self.kind,
            path: format!("{}.{key}", self.path),
            of: self.of.clone(),
        }
    }
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`{}", self.kind, self.path, self.of)
    }
}

fn refuse(message: String) -> ServerError {
    coded(message, "BAD_USER_INPUT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(query: &str, variables: serde_json::Value) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(query).expect("the document parses");
        let variables = Variables::from_json(variables);
        let limits = InputLimits {
            query_text: 10,
            mutation_text: 20,
            list: 3,
        };
        check(&doc, OperationType::Query, &variables, &limits).map_err(|e| e.message)
    }

    #[test]
    fn text_and_lists_are_checked_wherever_they_stand() {
        assert!(check_text(r#"{ a(s: "fine\ttext") }"#, serde_json::json!({})).is_ok());
        let nul = check_text(r#"{ a(f: {s: "x\u0000"}) }"#, serde_json::json!({})).unwrap_err();
        assert!(
            nul.contains("argument `f.s` of `a`") && nul.contains("U+0000"),
            "{nul}"
        );
        let var = check_text(
            "query($v: X) { a(f: $v) }",
            serde_json::json!({"v": {"t": "\u{7}"}}),
        )
        .unwrap_err();
        assert!(
            var.contains("variable `$v.t`") && var.contains("U+0007"),
            "{var}"
        );
        let long = check_text(
            r#"{ b { ... on B { a(s: "12345678901") } } }"#,
            serde_json::json!({}),
        );
        assert!(
            long.unwrap_err()
                .contains("11 characters long; the most allowed is 10")
        );
        let list = check_text("{ a(l: [1, 2, 3, 4]) }", serde_json::json!({})).unwrap_err();
        assert!(list.contains("4 items; the most allowed is 3"), "{list}");
        let fragment = check_text(
            r#"{ ...F } fragment F on Q { a(s: "\u0000") }"#,
            serde_json::json!({}),
        );
        assert!(fragment.is_err());
        let directive = check_text(r#"{ a @skip(if: "\u0001") }"#, serde_json::json!({}));
        assert!(directive.unwrap_err().contains("`@skip`"));
        // Multi-byte characters count as one each.
        assert!(check_text(r#"{ a(s: "éééééééééé") }"#, serde_json::json!({})).is_ok());
    }
}
