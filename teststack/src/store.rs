//! Durable state in `--state-dir`: one SQLite database holding the stack's keys, its CA
//! certificates and the transparency log's entries.
//!
//! The database runs in WAL mode with `synchronous=FULL`, so an appended entry is on disk before
//! the HTTP answer that acknowledges it is sent. Keys are PKCS#8 DER in the database file, which
//! is created 0600 in a 0700 directory: this is a test stack, not an HSM.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state database {path} is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

/// One stored log entry.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub index: u64,
    pub leaf_hash: [u8; 32],
    pub body: Vec<u8>,
    pub integrated_time: i64,
}

/// What a new entry is indexed by, for `POST /api/v1/index/retrieve`.
#[derive(Debug, Clone)]
pub struct EntryIndex {
    /// `sha256:<hex>` (the algorithm as sent).
    pub data_hash: String,
    /// The rfc822Name SAN of the certificate, if the entry carries one.
    pub email: Option<String>,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo of the signing key.
    pub key_sha256: String,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

pub const DB_FILE: &str = "teststack.db";

impl Store {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let path = dir.join(DB_FILE);
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        restrict_file(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS entries (
                 idx INTEGER PRIMARY KEY,
                 leaf_hash BLOB NOT NULL UNIQUE,
                 body BLOB NOT NULL,
                 integrated_time INTEGER NOT NULL,
                 data_hash TEXT NOT NULL,
                 email TEXT,
                 key_sha256 TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS entries_data_hash ON entries(data_hash);
             CREATE INDEX IF NOT EXISTS entries_email ON entries(email);
             CREATE INDEX IF NOT EXISTS entries_key ON entries(key_sha256);",
        )
        .map_err(sql)?;
        Ok(Store { conn, path })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT v FROM meta WHERE k = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Returns the value under `key`, or stores `make()` there first. Used for keys and CA
    /// certificates, which are made once and kept across restarts.
    pub fn get_or_init(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(v) = self.get_meta(key)? {
            return Ok(v);
        }
        let v = make().map_err(|detail| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("cannot create {key}: {detail}"),
        })?;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO meta (k, v) VALUES (?1, ?2)",
                params![key, v],
            )
            .map_err(|e| self.err(e))?;
        // Another process may have won the race; the stored value is the truth.
        self.get_meta(key)?.ok_or_else(|| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("{key} vanished after insert"),
        })
    }

    /// Appends an entry at `index` (which must be the current entry count) durably.
    pub fn append(&self, entry: &StoredEntry, index_by: &EntryIndex) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO entries (idx, leaf_hash, body, integrated_time, data_hash, email, key_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    entry.index as i64,
                    entry.leaf_hash.as_slice(),
                    entry.body,
                    entry.integrated_time,
                    index_by.data_hash,
                    index_by.email,
                    index_by.key_sha256
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn row_to_entry(&self, row: (i64, Vec<u8>, Vec<u8>, i64)) -> Result<StoredEntry, StoreError> {
        let (idx, leaf, body, integrated_time) = row;
        let leaf_hash: [u8; 32] = leaf.try_into().map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("entry {idx} has a leaf hash that is not 32 bytes"),
        })?;
        Ok(StoredEntry {
            index: idx as u64,
            leaf_hash,
            body,
            integrated_time,
        })
    }

    fn one(&self, sql: &str, p: impl rusqlite::Params) -> Result<Option<StoredEntry>, StoreError> {
        let row = self
            .conn
            .query_row(sql, p, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|r| self.row_to_entry(r)).transpose()
    }

    pub fn entry_by_index(&self, index: u64) -> Result<Option<StoredEntry>, StoreError> {
        self.one(
            "SELECT idx, leaf_hash, body, integrated_time FROM entries WHERE idx = ?1",
            params![index as i64],
        )
    }

    pub fn entry_by_leaf(&self, leaf: &[u8; 32]) -> Result<Option<StoredEntry>, StoreError> {
        self.one(
            "SELECT idx, leaf_hash, body, integrated_time FROM entries WHERE leaf_hash = ?1",
            params![leaf.as_slice()],
        )
    }

    /// All leaf hashes in index order, to rebuild the Merkle tree at start-up.
    pub fn leaf_hashes(&self) -> Result<Vec<[u8; 32]>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT idx, leaf_hash FROM entries ORDER BY idx")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (idx, leaf) = row.map_err(|e| self.err(e))?;
            if idx as usize != out.len() {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("entry indexes are not contiguous at {idx}"),
                });
            }
            out.push(leaf.try_into().map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("entry {idx} has a leaf hash that is not 32 bytes"),
            })?);
        }
        Ok(out)
    }

    /// Indexes of the entries matching each given criterion, combined with AND or OR.
    pub fn search(
        &self,
        data_hash: Option<&str>,
        email: Option<&str>,
        key_sha256: Option<&str>,
        all: bool,
    ) -> Result<Vec<u64>, StoreError> {
        let mut clauses = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        for (col, v) in [
            ("data_hash", data_hash),
            ("email", email),
            ("key_sha256", key_sha256),
        ] {
            if let Some(v) = v {
                values.push(v);
                clauses.push(format!("{col} = ?{}", values.len()));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let joiner = if all { " AND " } else { " OR " };
        let sql = format!(
            "SELECT idx FROM entries WHERE {} ORDER BY idx LIMIT 1000",
            clauses.join(joiner)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map(|i| i as u64).map_err(|e| self.err(e)))
            .collect()
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

fn restrict_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_meta_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(s.get_or_init("k", || Ok(b"one".to_vec())).unwrap(), b"one");
            let e = StoredEntry {
                index: 0,
                leaf_hash: [7; 32],
                body: b"{}".to_vec(),
                integrated_time: 42,
            };
            let ix = EntryIndex {
                data_hash: "sha256:ab".into(),
                email: Some("a@b".into()),
                key_sha256: "cd".into(),
            };
            s.append(&e, &ix).unwrap();
            // The same leaf twice is refused by the database itself.
            assert!(s.append(&StoredEntry { index: 1, ..e }, &ix).is_err());
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.get_or_init("k", || Ok(b"two".to_vec())).unwrap(), b"one");
        assert_eq!(s.leaf_hashes().unwrap(), vec![[7; 32]]);
        assert_eq!(s.entry_by_index(0).unwrap().unwrap().integrated_time, 42);
        assert!(s.entry_by_index(1).unwrap().is_none());
        assert_eq!(
            s.search(Some("sha256:ab"), None, Some("zz"), false)
                .unwrap(),
            vec![0]
        );
        assert!(
            s.search(Some("sha256:ab"), None, Some("zz"), true)
                .unwrap()
                .is_empty()
        );
    }
}
