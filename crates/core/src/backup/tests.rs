//! The snapshot format: round trip, deduplication, and every kind of damage named.

use super::*;
use std::collections::HashMap;
use strongroom_crypto::Key32;
use strongroom_store::exec::Cell;

fn keys() -> BackupKeys {
    BackupKeys::derive(&Key32::from_bytes([3; 32]))
}

/// Two tables, the second large enough for several chunks; rows look like sealed data (random
/// bytes do not compress, like real ciphertext).
fn dump(seed: u8) -> Dump {
    let row = |i: u32| {
        let mut sealed = Vec::with_capacity(120);
        let mut x = i.wrapping_mul(2_654_435_761) ^ u32::from(seed);
        for _ in 0..120 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            sealed.push(x.to_le_bytes()[0]);
        }
        vec![
            Cell::Uuid(Some(uuid::Uuid::from_u128(u128::from(i)))),
            Cell::Text(Some(format!("row {i}"))),
            Cell::Bytes(Some(sealed)),
            Cell::Int(None),
        ]
    };
    Dump {
        schema_version: 11,
        tables: vec![
            TableDump {
                table: "tenants".into(),
                columns: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                rows: (0..3).map(row).collect(),
            },
            TableDump {
                table: "records".into(),
                columns: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                rows: (0..8000).map(row).collect(),
            },
        ],
    }
}

fn target(p: &Packed) -> HashMap<ChunkId, Vec<u8>> {
    p.chunks.iter().cloned().collect()
}

#[test]
fn a_snapshot_unpacks_to_what_was_packed() {
    let (k, d) = (keys(), dump(1));
    let p = pack(&k, "s1", 11, d.tables.iter(), |_| None).unwrap();
    assert!(p.manifest.tables[1].chunks.len() > 3, "{:?}", p.manifest);
    let stored = target(&p);
    let sealed = seal_manifest(&k, &p.manifest).unwrap();
    let m = open_manifest(&k, "s1", &sealed).unwrap();
    assert_eq!(unpack(&k, &m, |id| stored.get(id).cloned()).unwrap(), d);
}

/// One row changed in the middle of a large table: the next snapshot shares all but a few
/// chunks with the first, so a second run stores only what changed.
#[test]
fn an_unchanged_chunk_is_the_same_chunk_in_the_next_snapshot() {
    let k = keys();
    let a = dump(1);
    let mut b = a.clone();
    b.tables[1].rows[4000][1] = Cell::Text(Some("changed".into()));
    let (pa, pb) = (
        pack(&k, "a", 11, a.tables.iter(), |_| None).unwrap(),
        pack(&k, "b", 11, b.tables.iter(), |_| None).unwrap(),
    );
    let old = target(&pa);
    let new: Vec<_> = pb
        .chunks
        .iter()
        .filter(|(id, _)| !old.contains_key(id))
        .collect();
    assert!(!new.is_empty());
    assert!(
        new.len() <= 2,
        "{} of {} chunks are new",
        new.len(),
        pb.chunks.len()
    );
    // Packed against what the target holds: only the new chunks are sealed, the others are
    // named with their stored sizes, and the snapshot unpacks whole from both.
    let have: HashMap<_, _> = old.iter().map(|(id, c)| (*id, c.len() as u64)).collect();
    let pc = pack(&k, "c", 11, b.tables.iter(), |id| have.get(id).copied()).unwrap();
    assert_eq!(pc.chunks.len(), new.len());
    let mut stored = old.clone();
    stored.extend(pc.chunks.iter().cloned());
    assert_eq!(
        unpack(&k, &pc.manifest, |id| stored.get(id).cloned()).unwrap(),
        b
    );
}

/// Each kind of damage to the target is found, and named: the table and the chunk.
#[test]
#[allow(
    clippy::many_single_char_names,
    reason = "a scenario: keys, dump, packed, manifest, target"
)]
fn a_damaged_target_is_named_not_restored() {
    let (k, d) = (keys(), dump(1));
    let p = pack(&k, "s1", 11, d.tables.iter(), |_| None).unwrap();
    let m = &p.manifest;
    let first = unhex(&m.tables[1].chunks[1].id).unwrap();
    let second = unhex(&m.tables[1].chunks[2].id).unwrap();
    let name = m.tables[1].chunks[1].id.clone();

    // A flipped byte.
    let mut t = target(&p);
    t.get_mut(&first).unwrap()[40] ^= 1;
    assert_eq!(
        unpack(&k, m, |id| t.get(id).cloned()),
        Err(BackupError::Rejected {
            table: "records".into(),
            chunk: name.clone()
        })
    );
    // A deleted chunk.
    let mut t = target(&p);
    t.remove(&first);
    assert_eq!(
        unpack(&k, m, |id| t.get(id).cloned()),
        Err(BackupError::Missing {
            table: "records".into(),
            chunk: name.clone()
        })
    );
    // Two chunks swapped (sizes made equal, so only authentication can tell).
    let mut t = target(&p);
    let (x, y) = (t[&first].clone(), t[&second].clone());
    let mut m2 = m.clone();
    m2.tables[1].chunks[1].size = y.len() as u64;
    t.insert(first, y);
    t.insert(second, x);
    assert_eq!(
        unpack(&k, &m2, |id| t.get(id).cloned()),
        Err(BackupError::Rejected {
            table: "records".into(),
            chunk: name.clone()
        })
    );
    // A truncated chunk: the size the manifest promises does not hold.
    let mut t = target(&p);
    t.get_mut(&first).unwrap().pop();
    assert!(matches!(
        unpack(&k, m, |id| t.get(id).cloned()),
        Err(BackupError::WrongSize { table, chunk, .. }) if table == "records" && chunk == name
    ));
    // A truncated or renamed manifest.
    let sealed = seal_manifest(&k, m).unwrap();
    assert_eq!(
        open_manifest(&k, "s1", &sealed[..sealed.len() - 1]),
        Err(BackupError::Manifest("s1".into()))
    );
    assert_eq!(
        open_manifest(&k, "s2", &sealed),
        Err(BackupError::Manifest("s2".into()))
    );
    // A manifest edited by whoever holds the target (a chunk dropped) does not open either.
    let mut tampered = sealed.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 1;
    assert!(open_manifest(&k, "s1", &tampered).is_err());
}
