//! Repository hygiene: module docs, the layer map of ARCHITECTURE.md, the README's first lines,
//! and no import cycle between the modules of `strongroom-core`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    assert!(files.len() > 20, "found the sources");
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc line: {missing:?}"
    );
}

/// The crates' internal dependencies, as ARCHITECTURE.md draws them: each may use only those below it.
#[test]
fn dependencies_point_down_the_layers() {
    let allowed: &[(&str, &[&str])] = &[
        ("domain", &[]),
        ("crypto", &[]),
        ("store", &["strongroom-domain"]),
        ("blobs", &[]),
        (
            "core",
            &[
                "strongroom-blobs",
                "strongroom-crypto",
                "strongroom-domain",
                "strongroom-store",
            ],
        ),
        (
            "http",
            &["strongroom-core", "strongroom-domain", "strongroom-store"],
        ),
        (
            "cli",
            &[
                "strongroom-blobs",
                "strongroom-core",
                "strongroom-crypto",
                "strongroom-domain",
                "strongroom-http",
                "strongroom-store",
            ],
        ),
    ];
    for (dir, ok) in allowed {
        let manifest =
            std::fs::read_to_string(root().join("crates").join(dir).join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap()
            .split("\n[")
            .next()
            .unwrap();
        for line in deps.lines() {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("");
            if name.starts_with("strongroom") {
                assert!(
                    ok.contains(&name),
                    "crates/{dir} must not depend on {name} (see ARCHITECTURE.md)"
                );
            }
        }
    }
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut lines = readme.lines();
    assert!(lines.next().unwrap().contains("serve --demo"));
    assert!(lines.next().unwrap().contains("bash .ci/run"));
}

/// The items a core file defines at its top level (`pub` or `pub(crate)`), by name.
fn defined_items(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let Some(rest) = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
        else {
            continue;
        };
        let rest = rest.strip_prefix("async ").unwrap_or(rest);
        for kw in [
            "const ", "static ", "struct ", "enum ", "fn ", "type ", "trait ",
        ] {
            if let Some(r) = rest.strip_prefix(kw) {
                let name: String = r
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        }
    }
    out
}

/// The `crate::<capability>::…` references of a file: (capability, item name).
fn crate_references(src: &str) -> Vec<(String, String)> {
    let ident = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let cap_len = ident(rest);
        let cap = rest[..cap_len].to_owned();
        let mut path = &rest[cap_len..];
        let mut last = cap.clone();
        while let Some(p) = path.strip_prefix("::") {
            if let Some(group) = p.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for name in group[..end].split(',') {
                    let name = name.split(" as ").next().unwrap_or("").trim();
                    let name = name.rsplit("::").next().unwrap_or("");
                    out.push((cap.clone(), name.to_owned()));
                }
                last.clear();
                break;
            }
            let n = ident(p);
            p[..n].clone_into(&mut last);
            path = &p[n..];
        }
        if !last.is_empty() && last != cap {
            out.push((cap, last));
        }
    }
    out
}

/// Depth-first search from `f`; panics on a back edge, naming the cycle.
fn visit(
    f: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    done: &mut BTreeSet<String>,
    path: &mut Vec<String>,
) {
    if done.contains(f) {
        return;
    }
    if let Some(i) = path.iter().position(|p| p == f) {
        panic!("import cycle: {} -> {f}", path[i..].join(" -> "));
    }
    path.push(f.to_owned());
    for next in edges.get(f).into_iter().flatten() {
        visit(next, edges, done, path);
    }
    path.pop();
    done.insert(f.to_owned());
}

/// No import cycle between the modules (files) of `strongroom-core`: an item used from another
/// capability's file points at the file that defines it, and those edges form no loop.
#[test]
fn core_modules_import_each_other_in_no_cycle() {
    let src_dir = root().join("crates/core/src");
    let mut files = Vec::new();
    rust_files(&src_dir, &mut files);
    let rel = |p: &Path| {
        p.strip_prefix(&src_dir)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| (rel(p), std::fs::read_to_string(p).unwrap()))
        .collect();
    let capability = |f: &str| {
        f.split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned()
    };
    let mut defs: HashMap<String, Vec<String>> = HashMap::new();
    for (f, s) in &sources {
        for name in defined_items(s) {
            defs.entry(name).or_default().push(f.clone());
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, s) in &sources {
        for (cap, name) in crate_references(s) {
            for d in defs.get(&name).into_iter().flatten() {
                if d != f && capability(d) == cap {
                    edges.entry(f.clone()).or_default().insert(d.clone());
                }
            }
        }
    }
    assert!(edges.len() > 10, "the reference scan found almost nothing");
    let mut done = BTreeSet::new();
    for f in edges.keys() {
        visit(f, &edges, &mut done, &mut Vec::new());
    }
    // And between the capabilities (the folders): a layering, each using only those below.
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, ds) in &edges {
        for d in ds {
            let (from, to) = (capability(f), capability(d));
            if from != to {
                folders.entry(from).or_default().insert(to);
            }
        }
    }
    assert!(folders.len() > 5, "the folder scan found almost nothing");
    let mut done = BTreeSet::new();
    for f in folders.keys() {
        visit(f, &folders, &mut done, &mut Vec::new());
    }
}
