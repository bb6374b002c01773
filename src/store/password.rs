//! The PostgreSQL password, kept out of the store address: from a file (`[store]
//! password_file`, `queue --password-file`) or the environment (`POSTSTELLE_STORE_PASSWORD`).
//!
//! One source only: a password in the address, a file and the variable are alternatives, and
//! two of them at once are an error rather than a silent precedence. The password is never
//! printed: [`StorePassword`]'s `Debug` is redacted, errors name the file or the variable,
//! never the value, and addresses are shown through [`super::display_address`].

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

/// The environment variable that may hold the PostgreSQL password.
pub const PASSWORD_ENV: &str = "POSTSTELLE_STORE_PASSWORD";

/// A PostgreSQL password from outside the store address. Not `Clone`; zeroized on drop.
pub struct StorePassword(Zeroizing<String>);

impl fmt::Debug for StorePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorePassword(***)")
    }
}

impl StorePassword {
    /// The password bytes, for the connection configuration only.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Reads the password file: surrounding white space (a trailing newline) is not part of
    /// it; an empty password is an error.
    ///
    /// # Errors
    /// The file cannot be read or holds nothing; the text names the path.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("store password file {}: {e}", path.display()))?,
        );
        Self::new(&text).ok_or_else(|| {
            format!(
                "store password file {}: the password is empty",
                path.display()
            )
        })
    }

    fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Self(Zeroizing::new(trimmed.to_owned())))
    }

    /// The password for the store at `address`: from `file`, else from `env` (the value of
    /// [`PASSWORD_ENV`], passed in so the rule is testable), else none (a password in the
    /// address, or none at all).
    ///
    /// # Errors
    /// Two sources give a password (address, file, variable); a password is given for a
    /// SQLite store; the file cannot be read or is empty.
    pub fn resolve(
        address: &str,
        file: Option<&Path>,
        env: Option<&str>,
    ) -> Result<Option<Self>, String> {
        let env = env.filter(|v| !v.trim().is_empty());
        let postgres = address.starts_with("postgres://") || address.starts_with("postgresql://");
        if !postgres && (file.is_some() || env.is_some()) {
            return Err(format!(
                "a store password (store.password_file, --password-file or {PASSWORD_ENV}) is only for a postgres:// store"
            ));
        }
        let in_address = postgres && address_has_password(address);
        match (in_address, file, env) {
            (true, Some(_), _) => Err(
                "the store address holds a password and store.password_file (or --password-file) gives one too: keep one"
                    .to_owned(),
            ),
            (true, None, Some(_)) => Err(format!(
                "the store address holds a password and {PASSWORD_ENV} gives one too: keep one"
            )),
            (false, Some(_), Some(_)) => Err(format!(
                "store.password_file (or --password-file) and {PASSWORD_ENV} both give a password: keep one"
            )),
            (false, Some(path), None) => Self::from_file(path).map(Some),
            (false, None, Some(value)) => Ok(Self::new(value)),
            (_, None, None) => Ok(None),
        }
    }

    /// [`StorePassword::resolve`] with the value of [`PASSWORD_ENV`] from this process's
    /// environment (unset or empty: none).
    ///
    /// # Errors
    /// As [`StorePassword::resolve`]; also a variable that is not UTF-8.
    pub fn from_config_or_env(address: &str, file: Option<&Path>) -> Result<Option<Self>, String> {
        let env = match std::env::var(PASSWORD_ENV) {
            Ok(v) => Some(Zeroizing::new(v)),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("{PASSWORD_ENV} is not UTF-8"));
            }
        };
        Self::resolve(address, file, env.as_deref().map(String::as_str))
    }
}

/// Whether a `postgres://` address carries a password (user info or a `password=`
/// parameter). Only the parsed flag is used; a parse error is reported when connecting.
pub(crate) fn address_has_password(address: &str) -> bool {
    address
        .parse::<tokio_postgres::Config>()
        .is_ok_and(|c| c.get_password().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "postgres://gw@db.example/poststelle";

    #[test]
    fn one_source_of_a_password_and_never_its_value_in_a_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pg-password");
        std::fs::write(&file, "s3cr3t-from-file\n").expect("write");
        let from_file = StorePassword::resolve(PG, Some(&file), None)
            .expect("file")
            .expect("some");
        assert_eq!(from_file.as_bytes(), b"s3cr3t-from-file");
        assert_eq!(format!("{from_file:?}"), "StorePassword(***)");
        let from_env = StorePassword::resolve(PG, None, Some("s3cr3t-env"))
            .expect("env")
            .expect("some");
        assert_eq!(from_env.as_bytes(), b"s3cr3t-env");
        assert!(
            StorePassword::resolve(PG, None, None)
                .expect("none")
                .is_none()
        );
        let with_url_password = "postgres://gw:s3cr3t-url@db.example/poststelle";
        assert!(
            StorePassword::resolve(with_url_password, None, None)
                .expect("the address's own")
                .is_none()
        );
        for (address, f, env) in [
            (with_url_password, Some(file.as_path()), None),
            (with_url_password, None, Some("s3cr3t-env")),
            (
                "postgres://gw@db.example/x?password=s3cr3t-url",
                Some(file.as_path()),
                None,
            ),
            (PG, Some(file.as_path()), Some("s3cr3t-env")),
            ("sqlite:data/poststelle.db", Some(file.as_path()), None),
            ("sqlite:data/poststelle.db", None, Some("s3cr3t-env")),
        ] {
            let err = StorePassword::resolve(address, f, env).expect_err("conflict");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn an_unreadable_or_empty_file_is_named_by_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent");
        let err = StorePassword::resolve(PG, Some(&missing), None).expect_err("missing");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").expect("write");
        let err = StorePassword::resolve(PG, Some(&empty), None).expect_err("empty");
        assert!(
            err.contains("empty") && err.contains(&empty.display().to_string()),
            "{err}"
        );
    }
}
