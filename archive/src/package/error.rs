use std::path::PathBuf;

use thiserror::Error;

use crate::record::RecordError;
use crate::verbale::VerbaleError;

/// Why a package could not be built or written.
#[derive(Debug, Error)]
pub enum PackageError {
    /// The record is inconsistent; nothing was built.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// An included file's package name is not acceptable.
    #[error("file name `{name}`: {reason}")]
    BadFileName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Two files would have the same name in the package.
    #[error("file name `{0}` is used twice")]
    DuplicateName(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An included file changed between hashing and writing: the package would not
    /// match its manifest.
    #[error("`{0}` changed while the package was being written")]
    FileChanged(String),
    /// The folder to write into already holds files.
    #[error("{0} exists and is not empty")]
    FolderNotEmpty(PathBuf),
    /// The draft verbale could not be made.
    #[error(transparent)]
    Verbale(#[from] VerbaleError),
    /// The zip stream failed.
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Writing the SInCRO XML failed.
    #[error("sincro.xml: {0}")]
    Xml(std::io::Error),
    /// Writing a generated file failed.
    #[error("{0}: {1}")]
    Generate(&'static str, String),
}

impl PackageError {
    /// A stable code for the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            PackageError::Record(e) => e.code(),
            PackageError::BadFileName { .. } => "package_bad_file_name",
            PackageError::DuplicateName(_) => "package_duplicate_name",
            PackageError::Io { .. } => "package_io",
            PackageError::FileChanged(_) => "package_file_changed",
            PackageError::FolderNotEmpty(_) => "package_folder_not_empty",
            PackageError::Verbale(_) => "package_verbale",
            PackageError::Zip(_) => "package_zip",
            PackageError::Xml(_) => "package_sincro",
            PackageError::Generate(..) => "package_generate",
        }
    }
}
