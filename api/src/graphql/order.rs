//! Response fields in the order of the selection set, as the GraphQL specification orders
//! them (CollectFields: document order, depth-first through fragments).
//!
//! async-graphql 7.2 resolves an object's fields concurrently and inserts each into the
//! response as it finishes (`do_resolve_container`, a `FuturesUnordered`), so one request could
//! come back with `pageInfo` before or after `totalCount` depending on timing: different bytes
//! and a different `ETag` for the same request. Here every object of the answer is put back in
//! selection order after execution. Keys the selection set does not name (none today) keep
//! their place at the end.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Orders every object of `data` as the operation `operation` of `document` selects it.
pub fn by_selection(data: &mut Value, document: &ExecutableDocument, operation: Option<&str>) {
    let selection = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => &op.node.selection_set.node,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => &op.node.selection_set.node,
            None => return,
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => &op.node.selection_set.node,
            None => return,
        },
        _ => return,
    };
    Plan::of(&[selection], document).apply(data);
}

/// The order of one level of the answer, and of the levels below each key: built once from
/// the document (the size of the query), then applied to every object of the answer.
struct Plan<'a> {
    keys: Vec<&'a Name>,
    /// The plan below each key (same index as `keys`), for keys with a selection set.
    children: Vec<Option<Plan<'a>>>,
}

impl<'a> Plan<'a> {
    fn of(sets: &[&'a SelectionSet], document: &'a ExecutableDocument) -> Self {
        let mut keys = Vec::new();
        let mut subs: HashMap<&'a Name, Vec<&'a SelectionSet>> = HashMap::new();
        collect(sets, document, &mut keys, &mut subs);
        let children = keys
            .iter()
            .map(|key| {
                let sets = subs.get(key)?;
                let selects = sets.iter().any(|s| !s.items.is_empty());
                selects.then(|| Plan::of(sets, document))
            })
            .collect();
        Plan { keys, children }
    }

    /// Where `key` goes (keys the query does not name go last).
    fn place(&self, key: &Name) -> usize {
        self.keys
            .iter()
            .position(|k| *k == key)
            .unwrap_or(usize::MAX)
    }

    /// Orders `value` and everything below it. Most objects are in order already (those whose
    /// fields resolve serially, see `object/mod.rs`): they are only walked, not sorted.
    fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.apply(item);
                }
            }
            Value::Object(map) => {
                let (mut last, mut in_order) = (0, true);
                for (key, child) in map.iter_mut() {
                    let place = self.place(key);
                    in_order &= place >= last;
                    last = place;
                    if let Some(Some(plan)) = self.children.get(place) {
                        plan.apply(child);
                    }
                }
                if !in_order {
                    map.sort_by(|a, _, b, _| self.place(a).cmp(&self.place(b)));
                }
            }
            _ => {}
        }
    }
}

/// The response keys that `sets` select, in first-appearance order, with the sub-selections
/// of each (a key selected twice merges its sub-selections, as field merging does).
fn collect<'a>(
    sets: &[&'a SelectionSet],
    document: &'a ExecutableDocument,
    keys: &mut Vec<&'a Name>,
    subs: &mut HashMap<&'a Name, Vec<&'a SelectionSet>>,
) {
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    subs.entry(key)
                        .or_insert_with(|| {
                            keys.push(key);
                            Vec::new()
                        })
                        .push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    collect(&[&fragment.node.selection_set.node], document, keys, subs);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        collect(&[&fragment.node.selection_set.node], document, keys, subs);
                    }
                }
            }
        }
    }
}
