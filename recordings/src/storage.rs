//! The recordings' file system: how much room is left, and whether an error means it
//! ran out. The writer thread watches the free space so that a filling disk stops the
//! recording while every file can still be closed cleanly, instead of cutting the
//! files wherever each one happens to hit the wall.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes an unprivileged process may still write on the file system holding `path`
/// (`statvfs`: available blocks times the fragment size).
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    let mut stat = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to memory
    // large enough for a `statvfs`, which the call fills in when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised the whole structure.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::useless_conversion)] // The field widths differ between targets.
    let (available, fragment) = (u64::from(stat.f_bavail), u64::from(stat.f_frsize));
    Ok(available.saturating_mul(fragment))
}

/// Whether `error` means the file system (or the user's quota on it) is full.
pub fn is_storage_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::StorageFull
        || matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_folder_has_some_room_and_a_missing_one_is_an_error() {
        let free = free_bytes(&std::env::temp_dir()).expect("statvfs of the temporary folder");
        assert!(free > 0);
        assert!(free_bytes(Path::new("/nonexistent/seduta/folder")).is_err());
    }

    #[test]
    fn enospc_and_edquot_are_a_full_disk_and_others_are_not() {
        assert!(is_storage_full(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_storage_full(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(!is_storage_full(&io::Error::from_raw_os_error(libc::EIO)));
        assert!(!is_storage_full(&io::Error::other("x")));
    }
}
