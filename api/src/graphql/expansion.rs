//! How large and how deep every operation of a document is once its fragments are expanded,
//! measured without expanding them: each fragment is measured once and its figures reused
//! wherever it is spread, so the work is linear in the document however often fragments
//! spread each other (`{ ...F0 } fragment F0 on Query { ...F1 ...F1 } …` doubles at every
//! level: 28 levels expand to hundreds of millions of selections).
//!
//! Every operation is measured, not only the one the request selects: async-graphql walks all
//! of them (its recursion-depth check) before it validates. A fragment that spreads itself,
//! directly or through others, is refused here: expanding it never ends, and the walks that
//! come later do not all guard against it. The recursion of this walk follows the nesting it
//! measures and stops as soon as that passes the limit, so its depth is bounded by the limit.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The expanded figures of a selection set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expanded {
    /// Selections (fields, spreads, inline fragments) after expansion.
    pub selections: u64,
    /// Levels of selection sets below this one, counted as async-graphql's recursion-depth
    /// check counts them: a field with a selection, a fragment spread and an inline fragment
    /// each open one.
    pub nesting: usize,
}

/// Why a document's shape is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// The fragment spreads itself (the names are the cycle, in order).
    Cycle(Vec<String>),
    /// Nesting passed the limit; the figure is how deep the walk got before it stopped.
    TooDeep(usize),
}

/// The largest figures over all the document's operations.
pub fn measure(doc: &ExecutableDocument, max_nesting: usize) -> Result<Expanded, ShapeError> {
    let mut walk = Walk {
        doc,
        memo: HashMap::new(),
        stack: Vec::new(),
        max_nesting,
    };
    let mut largest = Expanded::default();
    for (_, operation) in doc.operations.iter() {
        let figures = walk.set(&operation.node.selection_set.node, 0)?;
        largest.selections = largest.selections.max(figures.selections);
        largest.nesting = largest.nesting.max(figures.nesting);
    }
    Ok(largest)
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    /// Figures of the fragments measured so far.
    memo: HashMap<&'a str, Expanded>,
    /// Fragments being measured, innermost last (a cycle shows up here).
    stack: Vec<&'a str>,
    max_nesting: usize,
}

impl<'a> Walk<'a> {
    /// `level`: the nesting at which this set sits.
    fn set(&mut self, set: &'a SelectionSet, level: usize) -> Result<Expanded, ShapeError> {
        if level > self.max_nesting {
            return Err(ShapeError::TooDeep(level));
        }
        let mut figures = Expanded::default();
        for selection in &set.items {
            let (own, below) = match &selection.node {
                Selection::Field(field) if field.node.selection_set.node.items.is_empty() => {
                    (1, None)
                }
                Selection::Field(field) => (
                    1,
                    Some(self.set(&field.node.selection_set.node, level + 1)?),
                ),
                Selection::InlineFragment(inline) => (
                    1,
                    Some(self.set(&inline.node.selection_set.node, level + 1)?),
                ),
                Selection::FragmentSpread(spread) => (
                    1,
                    self.fragment(&spread.node.fragment_name.node, level + 1)?,
                ),
            };
            figures.selections = figures.selections.saturating_add(own);
            if let Some(below) = below {
                figures.selections = figures.selections.saturating_add(below.selections);
                figures.nesting = figures.nesting.max(below.nesting + 1);
            }
        }
        Ok(figures)
    }

    /// A fragment's figures (`None` for an unknown fragment, which validation reports).
    fn fragment(&mut self, name: &'a str, level: usize) -> Result<Option<Expanded>, ShapeError> {
        if let Some(figures) = self.memo.get(name) {
            // The memo holds the figures from the fragment's own top; here it sits deeper.
            if level + figures.nesting > self.max_nesting {
                return Err(ShapeError::TooDeep(level + figures.nesting));
            }
            return Ok(Some(*figures));
        }
        if let Some(at) = self.stack.iter().position(|f| *f == name) {
            let mut cycle: Vec<String> = self.stack[at..].iter().map(|f| f.to_string()).collect();
            cycle.push(name.to_owned());
            return Err(ShapeError::Cycle(cycle));
        }
        let Some((key, fragment)) = self.doc.fragments.get_key_value(name) else {
            return Ok(None);
        };
        self.stack.push(key.as_str());
        let figures = self.set(&fragment.node.selection_set.node, level);
        self.stack.pop();
        let figures = figures?;
        self.memo.insert(key.as_str(), figures);
        Ok(Some(figures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure_text(text: &str, max: usize) -> Result<Expanded, ShapeError> {
        let doc = async_graphql::parser::parse_query(text).expect("the test document parses");
        measure(&doc, max)
    }

    #[test]
    fn a_doubling_fragment_chain_is_measured_in_linear_time() {
        let mut text = String::from("{ ...F0 }");
        for i in 0..40 {
            text.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        text.push_str(" fragment F40 on Query { __typename }");
        let figures = measure_text(&text, 100).unwrap();
        // 2 + 4 + … + 2^41 spreads and 2^40 fields: far beyond any limit, found at once.
        assert!(figures.selections > 1 << 41, "{figures:?}");
        assert_eq!(figures.nesting, 41);
        assert_eq!(measure_text(&text, 30), Err(ShapeError::TooDeep(31)));
    }

    #[test]
    fn cycles_are_refused_with_their_path() {
        let text = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A ...A }";
        assert_eq!(
            measure_text(text, 30),
            Err(ShapeError::Cycle(vec!["A".into(), "B".into(), "A".into()]))
        );
        let selfish = "query A { a } query Other { ...S } fragment S on Query { ...S ...S }";
        assert!(matches!(
            measure_text(selfish, 30),
            Err(ShapeError::Cycle(_))
        ));
    }

    #[test]
    fn nesting_counts_fields_spreads_and_inline_fragments() {
        let figures = measure_text(
            "{ a { ... on A { ...F } } } fragment F on A { b { c } }",
            30,
        )
        .unwrap();
        // a{ (1) ... on A{ (2) ...F (3) b{ (4) c
        assert_eq!(figures.nesting, 4);
        assert_eq!(figures.selections, 5);
        // A fragment measured once is still checked where it is spread deeper.
        let text = "{ x { ...F } y { z { w { ...F } } } } fragment F on A { b { c } }";
        assert!(matches!(measure_text(text, 4), Err(ShapeError::TooDeep(5))));
        assert!(measure_text(text, 5).is_ok());
    }
}
