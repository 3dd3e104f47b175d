//! Writing files the way files are written: the one writer for every file pgvac writes (report
//! output, snapshots, history).
//!
//! A reader of FILE (node_exporter, a cron job, `jq`) must see either the old content or the
//! whole new one, and FILE must stay what it was to everyone else:
//!
//! - a regular file, or a symlink to one, is replaced atomically: a temporary file in the
//!   *target's* directory (the symlink is resolved, so it keeps pointing at the new content),
//!   then a rename over the target. The new file keeps the old one's permission bits, and its
//!   owner and group where the process may set them (root may; another user keeps the group if
//!   it is one of theirs);
//! - a file that does not exist is created with the mode the umask gives (0644 under umask 022),
//!   as `>` in a shell would;
//! - anything that is not a regular file (a device such as `/dev/null`, a FIFO, a socket, or
//!   anything under `/dev/` or `/proc/`, such as `/dev/stdout`) is written to directly, never
//!   renamed over;
//! - the file and, after a rename, its directory are fsynced before the write is reported done.
//!
//! Built on `tempfile` (already a dependency): `atomic-write-file` does the rename and keeps
//! mode and owner, but it replaces a symlink instead of its target and renames over devices and
//! FIFOs, so the decisions above would still be ours, and it brings `nix` and `rand` with it.

use std::fs::{self, File, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Errors of writing a file, each one line naming the file.
#[derive(Debug, thiserror::Error)]
#[error("could not write {}: {message}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub message: String,
}

/// How a path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Replace (or create) this regular file through a temporary file in its directory.
    Replace {
        /// The file itself, symlinks resolved.
        file: PathBuf,
        /// The existing file's mode and owner, when there is one.
        existing: Option<(u32, u32, u32)>,
    },
    /// Open and write in place: a device, a FIFO, `/dev/stdout`.
    Direct(PathBuf),
}

/// Symlinks a path may go through before it is taken for a loop (as Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// Decide how `path` is written.
fn target(path: &Path) -> io::Result<Target> {
    if is_special_tree(path) {
        return Ok(Target::Direct(path.to_path_buf()));
    }
    // Resolve the last component's symlinks (the directories may be symlinks: a rename inside
    // the final directory works through them).
    let mut file = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&file) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&file)?;
                file = match file.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
                if is_special_tree(&file) {
                    return Ok(Target::Direct(path.to_path_buf()));
                }
            }
            Ok(meta) if meta.file_type().is_file() => {
                return Ok(Target::Replace {
                    file,
                    existing: Some((meta.mode() & 0o7777, meta.uid(), meta.gid())),
                });
            }
            Ok(_) => return Ok(Target::Direct(path.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Target::Replace {
                    file,
                    existing: None,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// `/dev/...` and `/proc/...`: device nodes and the process's own file descriptors, never
/// renamed over whatever they look like.
fn is_special_tree(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

/// Write `path` with what `write` streams into it, as described in the module documentation.
/// On an error nothing is replaced (a direct write may have written part).
pub fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> Result<(), WriteError> {
    let error = |message: String| WriteError {
        path: path.to_path_buf(),
        message,
    };
    match target(path).map_err(|e| error(e.to_string()))? {
        Target::Direct(file) => {
            let opened = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&file)
                .map_err(|e| error(e.to_string()))?;
            let mut out = BufWriter::new(opened);
            write(&mut out).map_err(|e| error(format!("{e:#}")))?;
            let opened = out.into_inner().map_err(|e| error(e.error().to_string()))?;
            // A device or FIFO may not support fsync; that is no failure of the write.
            let _ = opened.sync_all();
            Ok(())
        }
        Target::Replace { file, existing } => replace(&file, existing, write).map_err(error),
    }
}

fn replace(
    file: &Path,
    existing: Option<(u32, u32, u32)>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> Result<(), String> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // 0666 before the umask: what a new file gets from `>`.
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| format!("could not create a file in {}: {e}", dir.display()))?;
    if let Some((mode, uid, gid)) = existing {
        keep_owner(temp.as_file(), uid, gid);
        temp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
    }
    let mut out = BufWriter::new(temp);
    write(&mut out).map_err(|e| format!("{e:#}"))?;
    let temp = out.into_inner().map_err(|e| e.error().to_string())?;
    temp.as_file().sync_all().map_err(|e| e.to_string())?;
    temp.persist(file).map_err(|e| e.error.to_string())?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("could not sync the directory {}: {e}", dir.display()))
}

/// Give the new file the old one's owner and group where this process may: root may set both;
/// another user may set a group it belongs to. What it may not set stays its own.
fn keep_owner(file: &File, uid: u32, gid: u32) {
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(_) => return,
    };
    if meta.uid() == uid && meta.gid() == gid {
        return;
    }
    if std::os::unix::fs::fchown(file, Some(uid), Some(gid)).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(gid));
    }
}

/// Write to stdout, buffered, flushed at the end.
pub fn write_stdout(
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> Result<(), WriteError> {
    let error = |message: String| WriteError {
        path: PathBuf::from("stdout"),
        message,
    };
    // A reader that stops early (`pgvac rules | head`) closes the pipe: that ends the output,
    // and is no failure of pgvac (ripgrep's convention).
    let closed = |e: &anyhow::Error| {
        e.chain().any(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        })
    };
    let mut stdout = BufWriter::new(io::stdout().lock());
    match write(&mut stdout) {
        Err(e) if closed(&e) => return Ok(()),
        Err(e) => return Err(error(format!("{e:#}"))),
        Ok(()) => {}
    }
    match stdout.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| error(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn hello(out: &mut dyn Write) -> anyhow::Result<()> {
        out.write_all(b"hello\n")?;
        Ok(())
    }

    fn umask() -> u32 {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
    }

    #[test]
    fn a_new_file_gets_the_umask_mode_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_file(&path, hello).unwrap();
        assert_eq!(text(&path), "hello\n");
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_file_keeps_its_mode_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgvac.prom");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        let before = fs::metadata(&path).unwrap().ino();
        write_file(&path, hello).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(text(&path), "hello\n");
        assert_eq!(meta.mode() & 0o777, 0o640);
        assert_ne!(
            meta.ino(),
            before,
            "replaced by a rename, not rewritten in place"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old\n").unwrap();
        let result = write_file(&path, |out| {
            out.write_all(b"half")?;
            anyhow::bail!("the renderer failed")
        });
        let message = result.unwrap_err().to_string();
        assert!(message.contains("the renderer failed"), "{message}");
        assert!(message.contains("report.json"), "{message}");
        assert_eq!(text(&path), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_is_written_through_and_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("report.json");
        fs::write(&real, "old\n").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o604)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real/report.json", &link).unwrap();
        write_file(&link, hello).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(text(&real), "hello\n");
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o604);
        // The temporary file was made beside the target, not beside the link.
        assert_eq!(fs::read_dir(&real_dir).unwrap().count(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("new.json", &link).unwrap();
        write_file(&link, hello).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(text(&dir.path().join("new.json")), "hello\n");
    }

    #[test]
    fn a_fifo_is_written_to_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        write_file(&fifo, hello).unwrap();
        assert_eq!(reader.join().unwrap(), "hello\n");
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn paths_under_dev_and_proc_are_written_directly() {
        assert_eq!(
            target(Path::new("/dev/stdout")).unwrap(),
            Target::Direct(PathBuf::from("/dev/stdout"))
        );
        assert_eq!(
            target(Path::new("/proc/self/fd/1")).unwrap(),
            Target::Direct(PathBuf::from("/proc/self/fd/1"))
        );
    }

    #[test]
    fn a_missing_directory_is_one_line_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/report.json");
        let message = write_file(&path, hello).unwrap_err().to_string();
        assert!(message.starts_with("could not write "), "{message}");
        assert_eq!(message.lines().count(), 1);
        assert!(!path.exists());
    }
}
