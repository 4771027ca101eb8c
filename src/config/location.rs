//! Maps key paths (`app.redirect_uris[1]`) and byte offsets to lines and columns, so every
//! config error can say where it is.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path to a value in the config, printed the way a user would write it:
/// `permissions[0].delegated[2]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    fn parent(&self) -> Option<Self> {
        let mut parent = self.clone();
        parent.0.pop().map(|_| parent)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

impl LineColumn {
    /// The line and column (in characters) of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line, column }
    }
}

struct Entry {
    path: KeyPath,
    key_span: Option<Range<usize>>,
    value_span: Range<usize>,
}

/// Every key and value of a TOML document with its byte span.
pub struct SpanIndex {
    entries: Vec<Entry>,
}

impl SpanIndex {
    /// Indexes `text`. A document with syntax errors is indexed as far as it parses, so a
    /// syntax error can still name the key it is in.
    pub fn new(text: &str) -> Self {
        let mut entries = Vec::new();
        let (table, _errors) = DeTable::parse_recoverable(text);
        index_table(table.get_ref(), &KeyPath::root(), &mut entries);
        Self { entries }
    }

    /// The byte offset where `path`'s value starts, or the nearest ancestor's when `path`
    /// is absent (a missing key is reported at the table that should hold it).
    pub fn offset_of(&self, path: &KeyPath) -> Option<usize> {
        let mut current = Some(path.clone());
        while let Some(p) = current {
            if let Some(entry) = self.entries.iter().find(|e| e.path == p) {
                return Some(entry.key_span.as_ref().map_or(entry.value_span.start, |k| {
                    if p == *path {
                        entry.value_span.start
                    } else {
                        k.start
                    }
                }));
            }
            current = p.parent();
        }
        None
    }

    /// The innermost key path whose key or value contains `offset` (or ends right at it:
    /// an unterminated value's error points just past it).
    pub fn path_at(&self, offset: usize) -> Option<KeyPath> {
        self.entries
            .iter()
            .filter(|e| {
                (e.value_span.start..=e.value_span.end).contains(&offset)
                    || e.key_span.as_ref().is_some_and(|k| k.contains(&offset))
            })
            .max_by_key(|e| e.path.0.len())
            .map(|e| e.path.clone())
    }
}

fn index_table(table: &DeTable<'_>, path: &KeyPath, entries: &mut Vec<Entry>) {
    for (key, value) in table {
        let child = path.key(key.get_ref());
        entries.push(Entry {
            path: child.clone(),
            key_span: Some(key.span()),
            value_span: value.span(),
        });
        index_value(value.get_ref(), &child, entries);
    }
}

fn index_value(value: &DeValue<'_>, path: &KeyPath, entries: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => index_table(table, path, entries),
        DeValue::Array(array) => {
            for (i, item) in array.iter().enumerate() {
                let child = path.index(i);
                entries.push(Entry {
                    path: child.clone(),
                    key_span: None,
                    value_span: item.span(),
                });
                index_value(item.get_ref(), &child, entries);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "tenant_id = \"x\"\n[app]\nredirect_uris = [\"a\", \"b\"]\n\n[[permissions]]\nresource = \"Microsoft Graph\"\n";

    #[test]
    fn key_paths_print_like_toml() {
        let path = KeyPath::root()
            .key("permissions")
            .index(0)
            .key("delegated")
            .index(2);
        assert_eq!(path.to_string(), "permissions[0].delegated[2]");
    }

    #[test]
    fn finds_values_by_path() {
        let index = SpanIndex::new(DOC);
        let offset = index
            .offset_of(&KeyPath::root().key("app").key("redirect_uris").index(1))
            .unwrap();
        assert_eq!(
            LineColumn::of_offset(DOC, offset),
            LineColumn {
                line: 3,
                column: 23
            }
        );
        let offset = index
            .offset_of(&KeyPath::root().key("permissions").index(0).key("resource"))
            .unwrap();
        assert_eq!(LineColumn::of_offset(DOC, offset).line, 6);
    }

    #[test]
    fn a_missing_key_points_at_its_parent() {
        let index = SpanIndex::new(DOC);
        let offset = index
            .offset_of(&KeyPath::root().key("app").key("display_name"))
            .unwrap();
        assert_eq!(LineColumn::of_offset(DOC, offset).line, 2);
    }

    #[test]
    fn finds_the_innermost_path_at_an_offset() {
        let index = SpanIndex::new(DOC);
        let offset = DOC.find("\"b\"").unwrap();
        assert_eq!(
            index.path_at(offset).unwrap().to_string(),
            "app.redirect_uris[1]"
        );
    }
}
