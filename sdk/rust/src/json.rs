//! JSON documents (`serde_json`) and paths into them, for collectors that
//! turn a JSON API into metrics.
//!
//! A path is a dotted list of keys, with `[N]` for an array element and
//! `*` (or `[*]`) for every element or member: `data.items[*].count`,
//! `$.stats.*.hits`. A leading `$` or `.` is allowed.

pub use serde_json::{Map, Value};

/// Parses a JSON document.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    All,
}

fn steps(path: &str) -> Result<Vec<Step>, String> {
    let path = path.strip_prefix('$').unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        match key {
            "" => {}
            "*" => out.push(Step::All),
            key => out.push(Step::Key(key.to_owned())),
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| format!("path {path:?}: unclosed ["))?;
            let index = &inner[..end];
            out.push(if index == "*" {
                Step::All
            } else {
                Step::Index(
                    index
                        .parse()
                        .map_err(|_| format!("path {path:?}: [{index}] is not an index"))?,
                )
            });
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("path {path:?}: unexpected {rest:?}"));
        }
    }
    Ok(out)
}

/// Every value `path` reaches in `value`, in document order.
pub fn select<'a>(value: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![value];
    for step in steps(path)? {
        let mut next = Vec::new();
        for v in current {
            match (&step, v) {
                (Step::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                (Step::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                (Step::All, Value::Array(items)) => next.extend(items.iter()),
                (Step::All, Value::Object(map)) => next.extend(map.values()),
                _ => {}
            }
        }
        current = next;
    }
    Ok(current)
}

/// A value as a sample value: numbers, booleans (1/0) and numeric strings.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a label value: strings as they are, other scalars printed.
pub fn label(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_select_keys_indexes_and_wildcards() {
        let doc = parse(br#"{"data":{"items":[{"n":"a","c":1},{"n":"b","c":"2.5"}],"ok":true}}"#)
            .unwrap();
        let counts: Vec<f64> = select(&doc, "data.items[*].c")
            .unwrap()
            .into_iter()
            .filter_map(number)
            .collect();
        assert_eq!(counts, [1.0, 2.5]);
        assert_eq!(
            select(&doc, "$.data.items[1].n").unwrap(),
            [&Value::from("b")]
        );
        assert_eq!(number(select(&doc, ".data.ok").unwrap()[0]), Some(1.0));
        assert_eq!(
            select(&doc, "data.*.n").unwrap().len(),
            0,
            "* over an object's values"
        );
        assert_eq!(select(&doc, "data.items.*.n").unwrap().len(), 2);
        assert!(select(&doc, "data.items[x]").is_err());
        assert!(select(&doc, "missing.key").unwrap().is_empty());
    }
}
