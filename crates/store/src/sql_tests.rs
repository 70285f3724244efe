//! `sql.rs`'s guarantees that check themselves: every statement of that file (read from its source,
//! so no list is kept by hand) binds in order and is confined to one tenant, unless it
//! touches only installation-wide tables or is a named tenant lookup; and no SQL is
//! written anywhere else in the crate.
use super::{BACKUP_STATEMENTS, BACKUP_TABLES, INSTALLATION_WIDE, TENANT_LOOKUPS};

/// Every `$n` must first appear after `$1..$(n-1)`, or SQLite would bind it to the wrong value.
fn placeholders_ascend(sql: &str) -> bool {
    let mut seen: Vec<u32> = Vec::new();
    let mut rest = sql;
    while let Some(pos) = rest.find('$') {
        rest = &rest[pos + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u32>() else {
            continue;
        };
        if !seen.contains(&n) {
            if n as usize != seen.len() + 1 {
                return false;
            }
            seen.push(n);
        }
    }
    true
}

/// The string literals of a piece of Rust source, in order (no raw strings here).
fn literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
        } else if c == '"' {
            let mut lit = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            lit.push(n);
                        }
                    }
                    '"' => break,
                    c => lit.push(c),
                }
            }
            out.push(lit);
        }
    }
    out
}

/// Every statement of this file: (constant name, SQL). A `concat!` is one statement; an
/// array holds several.
fn statements() -> Vec<(String, String)> {
    let src = include_str!("sql.rs");
    let src = &src[..src.find("#[cfg(test)]").unwrap()];
    let mut out = Vec::new();
    for item in src.split("pub const ").skip(1) {
        let name: String = item
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let body = &item[item.find('=').unwrap()..item.find(";\n").unwrap()];
        if matches!(
            name.as_str(),
            "INSTALLATION_WIDE" | "TENANT_LOOKUPS" | "BACKUP_TABLES" | "NOT_BACKED_UP"
        ) {
            continue;
        }
        let lits = literals(body);
        if body.contains("concat!") || !body.trim_start_matches('=').trim().starts_with('&') {
            out.push((name, lits.concat()));
        } else {
            for (i, l) in lits.into_iter().enumerate() {
                out.push((format!("{name}[{i}]"), l));
            }
        }
    }
    out
}

fn tables(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "FROM" | "JOIN" | "INTO" | "UPDATE"))
        .map(|w| w[1].to_owned())
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect()
}

/// Whether an INSERT writes the tenant: `tenant_id` is one of its columns.
fn insert_names_tenant(sql: &str) -> bool {
    sql.starts_with("INSERT INTO")
        && sql.find('(').zip(sql.find(')')).is_some_and(|(a, b)| {
            sql[a..b]
                .split(',')
                .any(|c| c.trim().trim_start_matches('(') == "tenant_id")
        })
}

#[test]
fn every_statement_binds_in_order_and_stays_in_its_tenant() {
    let all = statements();
    assert!(all.len() > 100, "found only {} statements", all.len());
    let wide: Vec<&str> = INSTALLATION_WIDE.iter().map(|(t, _)| *t).collect();
    let mut unconfined = Vec::new();
    for (name, sql) in &all {
        assert!(
            placeholders_ascend(sql),
            "{name}: placeholders out of order: {sql}"
        );
        let touched = tables(sql);
        let confined = sql.contains("tenant_id = $")
            || insert_names_tenant(sql)
            || (!touched.is_empty() && touched.iter().all(|t| wide.contains(&t.as_str())))
            || TENANT_LOOKUPS.contains(&name.as_str());
        if !confined {
            unconfined.push(format!("{name}: {sql}"));
        }
    }
    assert!(
        unconfined.is_empty(),
        "statements without a tenant filter:\n{}",
        unconfined.join("\n")
    );
    assert!(!placeholders_ascend("SELECT $2, $1"));
    assert!(!insert_names_tenant("INSERT INTO x (a, b) VALUES ($1, $2)"));
    assert!(insert_names_tenant(
        "INSERT INTO x (tenant_id, b) VALUES ($1, $2)"
    ));
}

/// The one kind of statement that reads whole tables is a backup's, made from
/// `BACKUP_TABLES`; its inserts write every row back with its `tenant_id`, and bind in order.
#[test]
fn backup_statements_read_whole_tables_and_write_the_tenant() {
    let mut names: Vec<&str> = BACKUP_TABLES.iter().map(|t| t.name).collect();
    assert_eq!(BACKUP_STATEMENTS.len(), names.len());
    for (t, st) in BACKUP_TABLES.iter().zip(BACKUP_STATEMENTS.iter()) {
        assert!(placeholders_ascend(&st.insert), "{}", st.insert);
        assert!(insert_names_tenant(&st.insert), "{}", st.insert);
        assert!(
            st.select.ends_with(&format!(" FROM {}", t.name)),
            "{}",
            st.select
        );
        assert_eq!(tables(&st.select), [t.name]);
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), BACKUP_TABLES.len(), "a table listed twice");
}

/// SQL lives in this file only: the operations run it, they do not write it. Every
/// source file of the crate is read, so a new one is covered without editing this test.
#[test]
fn no_sql_outside_this_file() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "found only {} files", files.len());
    for file in files
        .iter()
        .filter(|f| !f.ends_with("sql.rs") && !f.ends_with("sql_tests.rs"))
    {
        let src = std::fs::read_to_string(file).unwrap();
        let src = src.find("#[cfg(test)]").map_or(&src[..], |i| &src[..i]);
        for lit in literals(src) {
            let first = lit.split_whitespace().next().unwrap_or("");
            assert!(
                !matches!(first, "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH"),
                "{}: SQL outside sql.rs: {lit}",
                file.display()
            );
        }
    }
}
