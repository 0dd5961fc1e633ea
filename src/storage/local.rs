//! [`LocalDiskStore`]: evidence in a directory, possibly a volume shared by replicas.

use super::*;

/// Blobs as files under a root directory (`root/ab/cd/<sha256>`), safe to share between
/// replicas. Temp files are `.tmp-<uuid>` next to their target; they are removed on every
/// error path, and only a crash mid-write can leave one (never under a valid key).
#[derive(Debug, Clone)]
pub struct LocalDiskStore {
    root: PathBuf,
}

impl LocalDiskStore {
    /// Opens (creating it if needed) the storage root.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        create_private_dirs(&root)?;
        Ok(LocalDiskStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_for(&self, key: &str) -> io::Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Only `[0-9a-f/]`, no empty components, no leading/trailing `/`, no `..`: a key can
/// never name anything outside the root.
pub(super) fn validate_key(key: &str) -> io::Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'/'))
        && !key.contains("..")
        && key.split('/').all(|part| !part.is_empty());
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid storage key",
        ))
    }
}

/// Creates `dir` and its missing parents, readable by the service's own user only (0700);
/// the root's mode is set even when it exists (older versions made it 0755).
pub(super) fn create_private_dirs(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir)
}

/// Creates the missing directories of a key (0700), leaving existing ones as they are.
pub(super) fn create_private_subdirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Deletes the temp file when dropped, unless it was renamed into place.
pub(super) struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

pub(super) fn is_complete(path: &Path, size: usize) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size as u64)
}

impl BlobStore for LocalDiskStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        if is_complete(&path, bytes.len()) {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        create_private_subdirs(dir)?;
        let mut tmp = TempFile(Some(
            dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple())),
        ));
        let tmp_path = tmp.0.clone().unwrap_or_default();
        {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            // evidence is for the service's own user only
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp_path)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        // Another replica may have finished the same content meanwhile: keep theirs.
        if is_complete(&path, bytes.len()) {
            return Ok(()); // `tmp` is dropped, deleting the temp file
        }
        fs::rename(&tmp_path, &path)?;
        tmp.0 = None;
        #[cfg(unix)]
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all(); // make the rename durable; best effort
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        Ok(fs::read(self.path_for(key)?)?)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        // Directories are kept: removing them would race with another replica's put.
        match fs::remove_file(self.path_for(key)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => Ok(other?),
        }
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match fs::metadata(self.path_for(key)?) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn check(&self) -> Result<(), StorageError> {
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(StorageError::Unavailable(
                format!("{} is not a directory", self.root.display()).into(),
            )),
            Err(e) => Err(StorageError::Unavailable(Box::new(e))),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}
