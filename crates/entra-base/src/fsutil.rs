//! Files we read and write. Every file a user names is read through [`read_bounded`], so a
//! device, a directory or a huge file is refused at once instead of read forever. Files that
//! may hold a secret are written whole or not at all, readable by the owner only, and never
//! through a link or into a file someone else planted.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

/// `O_NOFOLLOW`, which std does not name. Where it is unknown it is 0: `create_new` (O_EXCL)
/// alone already refuses a symlink as the last component, so it only adds a second guard.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "arm",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    )
))]
const O_NOFOLLOW: i32 = 0o100000;
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(any(
        target_arch = "arm",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    ))
))]
const O_NOFOLLOW: i32 = 0o400000;
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
const O_NOFOLLOW: i32 = 0x0100;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)))]
#[allow(dead_code)]
const O_NOFOLLOW: i32 = 0;

/// The most a user-named input file (config, manifest, policy, template, certificate, token
/// file, outputs file) may hold. The largest real one is a few KiB; anything near this is
/// a mistake, like `-f` naming a log or a disk image.
pub const INPUT_LIMIT: u64 = 1 << 20;

/// A file [`read_bounded`] refused or could not read. It names what the file is for and
/// where it was named, so the message stands alone.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ReadError {
    /// What the file is for: "config file", "policy file", ...
    pub what: &'static str,
    pub path: PathBuf,
    /// Where it was named, when the path alone does not say: "listed in all.toml".
    pub origin: Option<String>,
    pub problem: ReadProblem,
}

#[derive(Debug)]
pub enum ReadProblem {
    Io(io::Error),
    /// A directory, a device or a socket where a file belongs.
    NotAFile {
        kind: &'static str,
    },
    /// Over the limit: `size` when known up front (a regular file), `None` for a pipe.
    TooLarge {
        size: Option<u64>,
        limit: u64,
    },
    NotUtf8,
}

impl ReadError {
    /// Adds where the file was named (printed in parentheses after its path).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    pub fn is_not_found(&self) -> bool {
        matches!(&self.problem, ReadProblem::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }

    fn describe(&self) -> String {
        let named = match &self.origin {
            Some(origin) => format!("{} {} ({origin})", self.what, self.path.display()),
            None => format!("{} {}", self.what, self.path.display()),
        };
        match &self.problem {
            ReadProblem::Io(e) => format!("cannot read {named}: {e}"),
            ReadProblem::NotAFile { kind } => {
                format!("{named} is not a regular file but {kind}")
            }
            ReadProblem::TooLarge {
                size: Some(size),
                limit,
            } => format!("{named} {}", size_against(*size, *limit)),
            ReadProblem::TooLarge { size: None, limit } => {
                format!(
                    "{named} holds more than the limit of {}",
                    limit_text(*limit)
                )
            }
            ReadProblem::NotUtf8 => format!("{named} is not UTF-8 text"),
        }
    }
}

const MIB: u64 = 1 << 20;

/// "is 2.0 MiB; the limit is 1 MiB", in bytes where MiB would blur the two.
fn size_against(size: u64, limit: u64) -> String {
    let mib = |bytes: u64| format!("{:.1}", bytes as f64 / MIB as f64);
    if size < MIB || mib(size) == mib(limit) {
        format!("is {size} bytes; the limit is {limit} bytes")
    } else {
        format!("is {} MiB; the limit is {}", mib(size), limit_text(limit))
    }
}

fn limit_text(limit: u64) -> String {
    if limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    }
}

/// Reads the UTF-8 text of the file a user named, at most `limit` bytes (usually
/// [`INPUT_LIMIT`]). A regular file is checked before it is opened; a pipe (`-f <(...)`,
/// a FIFO) is read up to the limit and no further; a directory, a device (`/dev/zero`) or
/// a socket is refused without being read. The one way user-named files are read.
pub fn read_bounded(path: &Path, what: &'static str, limit: u64) -> Result<String, ReadError> {
    let fail = |problem| ReadError {
        what,
        path: path.to_path_buf(),
        origin: None,
        problem,
    };
    // Judged before opening: opening a device may block or have effects (a tape, a tty).
    let metadata = std::fs::metadata(path).map_err(|e| fail(ReadProblem::Io(e)))?;
    check_kind(&metadata, limit).map_err(fail)?;
    // A FIFO's open waits for its writer, as `cat` would.
    let file = File::open(path).map_err(|e| fail(ReadProblem::Io(e)))?;
    // Again on what was opened: the path may have been swapped meanwhile.
    let metadata = file.metadata().map_err(|e| fail(ReadProblem::Io(e)))?;
    check_kind(&metadata, limit).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(ReadProblem::Io(e)))?;
    if bytes.len() as u64 > limit {
        return Err(fail(ReadProblem::TooLarge { size: None, limit }));
    }
    String::from_utf8(bytes).map_err(|_| fail(ReadProblem::NotUtf8))
}

fn check_kind(metadata: &std::fs::Metadata, limit: u64) -> Result<(), ReadProblem> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return if metadata.len() > limit {
            Err(ReadProblem::TooLarge {
                size: Some(metadata.len()),
                limit,
            })
        } else {
            Ok(())
        };
    }
    if kind.is_dir() {
        return Err(ReadProblem::NotAFile {
            kind: "a directory",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Ok(());
        }
        let other = if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "something else"
        };
        Err(ReadProblem::NotAFile { kind: other })
    }
    #[cfg(not(unix))]
    Err(ReadProblem::NotAFile {
        kind: "something else",
    })
}

/// Writes `bytes` to `path` through a new temporary file in the same directory (mode 0600,
/// an unguessable name), fsync, rename, fsync of the directory: a crash or a full disk leaves
/// the previous file intact. A symlink at `path` is replaced, never written through.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = parent_of(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} names no file", path.display()),
            )
        })?
        .to_string_lossy();
    // A run killed between write and rename left its copy of the secret behind.
    remove_stale_temporaries(directory, &file_name);
    let temporary = directory.join(format!(".{file_name}.{}.tmp", Uuid::new_v4().simple()));
    // Not ours until created: on failure here there is nothing of ours to clean up.
    let mut file = create_private_new(&temporary)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&temporary, path)
        });
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    // The new file is in place and readable; failing now would wrongly say it is not, so a
    // directory that cannot be synced (some network filesystems) only costs durability.
    if let Err(error) = sync_directory(directory) {
        tracing::warn!("cannot fsync {}: {error}", directory.display());
    }
    Ok(())
}

/// Creates a file that did not exist (O_EXCL, never through a symlink), mode 0600 even when
/// the umask would leave it less (the mode given to open is masked by the umask).
pub fn create_private_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(O_NOFOLLOW);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(error) = file.set_permissions(std::fs::Permissions::from_mode(0o600)) {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(error);
        }
    }
    Ok(file)
}

/// Creates `directory` and the parents it lacks, each mode 0700 whatever the umask.
/// Directories that already exist keep their mode: they are the user's.
pub fn create_private_dir_all(directory: &Path) -> io::Result<()> {
    let mut missing: Vec<&Path> = Vec::new();
    let mut current = Some(directory);
    while let Some(dir) = current {
        if dir.as_os_str().is_empty() || std::fs::metadata(dir).is_ok() {
            break;
        }
        missing.push(dir);
        current = dir.parent();
    }
    for dir in missing.into_iter().rev() {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(dir) {
            Ok(()) => restrict_new_directory(dir)?,
            // Made meanwhile by a concurrent run, or `x/..`: not ours to change.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(error) => return Err(error),
        }
    }
    if std::fs::metadata(directory)?.is_dir() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} exists and is not a directory", directory.display()),
        ))
    }
}

/// Sets 0700 on a directory just made (the umask may have taken bits, even the owner's write),
/// through a descriptor opened without following a link swapped in since.
fn restrict_new_directory(dir: &Path) -> io::Result<()> {
    set_mode_through_descriptor(dir, PRIVATE_DIRECTORY, Kind::Directory, false).map_err(|error| {
        match error.kind() {
            io::ErrorKind::NotADirectory => io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} was replaced while being created", dir.display()),
            ),
            _ => error,
        }
    })
}

/// The mode of a file that may hold a secret.
pub const PRIVATE_FILE: u32 = 0o600;
/// The mode of a directory that holds such files.
pub const PRIVATE_DIRECTORY: u32 = 0o700;

/// What a path must be for its mode to be checked or narrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file, never reached through a link.
    File,
    /// A directory; reached through a link only when the caller says so (the configured
    /// outputs directory may be one its owner made).
    Directory,
}

impl Kind {
    pub fn private_mode(self) -> u32 {
        match self {
            Kind::File => PRIVATE_FILE,
            Kind::Directory => PRIVATE_DIRECTORY,
        }
    }

    fn matches(self, metadata: &std::fs::Metadata) -> bool {
        match self {
            Kind::File => metadata.file_type().is_file(),
            Kind::Directory => metadata.is_dir(),
        }
    }
}

/// `path`'s mode when it grants more than `kind`'s private mode (any bit beyond it: group or
/// other access, execute on a file, setuid and the like); `None` when it is within, missing,
/// or not of `kind` (a link where a file goes is replaced by the next write, never changed).
pub fn wider_mode(path: &Path, kind: Kind) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match kind {
            Kind::File => std::fs::symlink_metadata(path),
            Kind::Directory => std::fs::metadata(path),
        }
        .ok()?;
        let mode = metadata.permissions().mode() & 0o7777;
        (kind.matches(&metadata) && mode & !kind.private_mode() != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, kind);
        None
    }
}

/// Sets `kind`'s private mode on an existing `path`, through a descriptor that is checked to be
/// of `kind` first, so nothing swapped in meanwhile is changed. A file is never opened through
/// a link.
pub fn narrow_mode(path: &Path, kind: Kind) -> io::Result<()> {
    set_mode_through_descriptor(path, kind.private_mode(), kind, kind == Kind::Directory)
}

fn set_mode_through_descriptor(
    path: &Path,
    mode: u32,
    kind: Kind,
    follow_link: bool,
) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mut options = OpenOptions::new();
        options.read(true);
        if !follow_link {
            options.custom_flags(O_NOFOLLOW);
        }
        let handle = options.open(path)?;
        if !kind.matches(&handle.metadata()?) {
            let (error_kind, what) = match kind {
                Kind::File => (io::ErrorKind::InvalidInput, "a regular file"),
                Kind::Directory => (io::ErrorKind::NotADirectory, "a directory"),
            };
            return Err(io::Error::new(
                error_kind,
                format!("{} is not {what}", path.display()),
            ));
        }
        handle.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode, kind, follow_link);
    Ok(())
}

/// Removes the regular files named like our temporaries of `file_name` (`.{file_name}.{hex}.tmp`;
/// the hex is a random name, or a pid from older versions). Links and directories are left
/// alone, and nothing is followed. Best effort: the write goes on either way.
fn remove_stale_temporaries(directory: &Path, file_name: &str) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return; // the write itself will report why the directory cannot be used
    };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !is_temporary_of(&name, &prefix) {
            continue;
        }
        let path = entry.path();
        let is_regular_file =
            std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if is_regular_file {
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(
                    "cannot remove the stale temporary file {}: {error}",
                    path.display()
                );
            }
        }
    }
}

fn is_temporary_of(name: &OsStr, prefix: &str) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|middle| !middle.is_empty() && middle.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `directory` durable.
fn sync_directory(directory: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(directory)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = directory;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    fn read(path: &Path) -> Result<String, ReadError> {
        read_bounded(path, "config file", INPUT_LIMIT)
    }

    #[test]
    fn a_small_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "tenant_id = 'x'\n").unwrap();
        assert_eq!(read(&path).unwrap(), "tenant_id = 'x'\n");
        let exact = dir.path().join("exact.toml");
        std::fs::write(&exact, "#".repeat(INPUT_LIMIT as usize)).unwrap();
        assert_eq!(read(&exact).unwrap().len(), INPUT_LIMIT as usize);
    }

    #[test]
    fn a_file_over_the_limit_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, "#".repeat(2 << 20)).unwrap();
        let error = read(&path).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "config file {} is 2.0 MiB; the limit is 1 MiB",
                path.display()
            )
        );
        std::fs::write(&path, "#".repeat(INPUT_LIMIT as usize + 1)).unwrap();
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .ends_with(" is 1048577 bytes; the limit is 1048576 bytes"));
    }

    #[test]
    fn a_directory_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(dir.path()).unwrap_err().origin("-f");
        assert_eq!(
            error.to_string(),
            format!(
                "config file {} (-f) is not a regular file but a directory",
                dir.path().display()
            )
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_that_says_so() {
        let error = read(Path::new("/nonexistent/t.toml")).unwrap_err();
        assert!(error.is_not_found());
        assert!(error
            .to_string()
            .starts_with("cannot read config file /nonexistent/t.toml: "));
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, [0xff, 0xfe, b'a']).unwrap();
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .ends_with("is not UTF-8 text"));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_at_once() {
        let started = std::time::Instant::now();
        for device in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            let error = read(Path::new(device)).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("config file {device} is not a regular file but a character device")
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("t.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, "tenant_id = 'x'\n"))
        };
        assert_eq!(read(&fifo).unwrap(), "tenant_id = 'x'\n");
        writer.join().unwrap().unwrap();
        // An endless writer: stopped at the limit, not read forever.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut file = OpenOptions::new().write(true).open(fifo)?;
                let chunk = vec![b'#'; 64 << 10];
                loop {
                    file.write_all(&chunk)?; // ends with EPIPE once the reader is gone
                }
            })
        };
        let error: ReadError = read(&fifo).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "config file {} holds more than the limit of 1 MiB",
                fifo.display()
            )
        );
        let stopped: io::Result<()> = writer.join().unwrap();
        assert!(stopped.is_err());
    }

    #[test]
    fn writes_whole_files_readable_by_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs.json");
        std::fs::write(&path, "old").unwrap();
        write_private_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert_eq!(entries(dir.path()), ["outputs.json"], "no temporary left");
    }

    #[test]
    fn a_failed_rename_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the file should go: the rename over it fails.
        let path = dir.path().join("outputs.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("kept"), "previous").unwrap();
        assert!(write_private_atomically(&path, b"new").is_err());
        assert_eq!(
            std::fs::read_to_string(path.join("kept")).unwrap(),
            "previous"
        );
        assert_eq!(entries(dir.path()), ["outputs.json"], "no temporary left");
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("outputs.json");
        assert!(write_private_atomically(&path, b"new").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_target_is_replaced_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "not yours").unwrap();
        let path = dir.path().join("outputs.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_private_atomically(&path, b"secret").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret");
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn stale_temporaries_go_and_links_and_directories_stay() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, "not yours").unwrap();
        let d = dir.path();
        // Left by crashed runs: this version's random names and older versions' pids.
        std::fs::write(
            d.join(".outputs.json.0123456789abcdef0123456789abcdef.tmp"),
            "old secret",
        )
        .unwrap();
        std::fs::write(d.join(".outputs.json.4242.tmp"), "old secret").unwrap();
        // Named like one, but a link, a directory, or another file's.
        std::os::unix::fs::symlink(&victim, d.join(".outputs.json.abcd.tmp")).unwrap();
        std::fs::create_dir(d.join(".outputs.json.beef.tmp")).unwrap();
        std::fs::write(d.join(".outputs.json.beef.tmp/inside"), "x").unwrap();
        std::fs::write(d.join(".outputs.json.x.abcd.tmp"), "other").unwrap();
        std::fs::write(d.join(".pandora-itsm.md.abcd.tmp"), "other").unwrap();

        write_private_atomically(&d.join("outputs.json"), b"new").unwrap();

        assert_eq!(
            entries(d),
            [
                ".outputs.json.abcd.tmp",
                ".outputs.json.beef.tmp",
                ".outputs.json.x.abcd.tmp",
                ".pandora-itsm.md.abcd.tmp",
                "outputs.json",
            ]
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours");
        assert!(d.join(".outputs.json.beef.tmp/inside").exists());
    }

    #[cfg(unix)]
    #[test]
    fn create_private_new_refuses_an_existing_file_or_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "not yours").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_private_new(&victim).is_err());
        assert!(create_private_new(&link).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_private_new(&dangling).is_err());
        assert!(
            !dir.path().join("nowhere").exists(),
            "not created through a link"
        );
    }

    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn o_nofollow_is_this_platforms_value() {
        const ELOOP: i32 = 40;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("file"), dir.path().join("link")).unwrap();
        let open = |flags| {
            OpenOptions::new()
                .read(true)
                .custom_flags(flags)
                .open(dir.path().join("link"))
        };
        assert!(open(0).is_ok());
        let refused = open(O_NOFOLLOW).map(|_| ()).unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(ELOOP), "{refused}");
    }

    #[cfg(unix)]
    #[test]
    fn new_directories_are_private_and_existing_ones_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
        let leaf = existing.join("a/b");
        create_private_dir_all(&leaf).unwrap();
        assert_eq!(mode(&existing), 0o755);
        assert_eq!(mode(&existing.join("a")), 0o700);
        assert_eq!(mode(&leaf), 0o700);
        create_private_dir_all(&leaf).unwrap(); // and again: nothing to do
        create_private_dir_all(&existing.join("a/missing/../c")).unwrap();
        assert_eq!(mode(&existing.join("a/c")), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn wider_modes_are_found_and_narrowed_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let chmod = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, mode, wider) in [
            ("open", 0o644, true),
            ("executable", 0o700, true),
            ("private", 0o600, false),
            ("read-only", 0o400, false),
        ] {
            std::fs::write(d.join(name), "secret").unwrap();
            chmod(&d.join(name), mode);
            assert_eq!(
                wider_mode(&d.join(name), Kind::File),
                wider.then_some(mode),
                "{name}"
            );
        }
        narrow_mode(&d.join("open"), Kind::File).unwrap();
        assert_eq!(mode(&d.join("open")), 0o600);
        assert_eq!(wider_mode(&d.join("missing"), Kind::File), None);

        // A link where a file goes is not the file: neither reported nor followed.
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, "not yours").unwrap();
        chmod(&victim, 0o644);
        std::os::unix::fs::symlink(&victim, d.join("link")).unwrap();
        assert_eq!(wider_mode(&d.join("link"), Kind::File), None);
        assert!(narrow_mode(&d.join("link"), Kind::File).is_err());
        assert_eq!(mode(&victim), 0o644);
        // Nor a directory where a file goes.
        std::fs::create_dir(d.join("sub")).unwrap();
        chmod(&d.join("sub"), 0o755);
        assert_eq!(wider_mode(&d.join("sub"), Kind::File), None);
        assert!(narrow_mode(&d.join("sub"), Kind::File).is_err());
        assert_eq!(mode(&d.join("sub")), 0o755);

        // The configured directory may be a link its owner made: it is followed.
        assert_eq!(wider_mode(&d.join("sub"), Kind::Directory), Some(0o755));
        std::os::unix::fs::symlink(d.join("sub"), d.join("sub-link")).unwrap();
        narrow_mode(&d.join("sub-link"), Kind::Directory).unwrap();
        assert_eq!(mode(&d.join("sub")), 0o700);
        assert_eq!(wider_mode(&d.join("sub"), Kind::Directory), None);
        assert!(narrow_mode(&d.join("private"), Kind::Directory).is_err());
    }

    #[test]
    fn a_file_where_the_directory_goes_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("taken"), "a file").unwrap();
        assert!(create_private_dir_all(&dir.path().join("taken")).is_err());
        assert!(create_private_dir_all(&dir.path().join("taken/below")).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("taken")).unwrap(),
            "a file"
        );
    }
}
