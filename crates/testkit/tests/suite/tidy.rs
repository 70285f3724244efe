//! Repository hygiene: module docs, the layer map of ARCHITECTURE.md, the README's first lines.

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
