//! Secrets by reference.
//!
//! A configuration file should say *where* a secret lives, not hold it: the file is read by
//! people, copied into tickets and backed up, while an API key must not be. So every secret in
//! the daemon's TOML (and in each connector's `[channels.connection]` table) is a [`SecretRef`]:
//!
//! ```toml
//! api_key = { env = "ODOO_API_KEY" }                  # an environment variable
//! api_key = { file = "/etc/odoo-channels/odoo.key" }   # a file (one trailing newline trimmed)
//! api_key = { credential = "odoo_api_key" }            # systemd LoadCredential=: $CREDENTIALS_DIRECTORY/odoo_api_key
//! api_key = "inline-secret"                            # allowed, but flagged (and refused in a world-readable file)
//! ```
//!
//! The reference is resolved only when the secret is needed ([`SecretRef::resolve`]), so a key
//! that is rotated in its file is picked up by the next resolution without a restart. The value
//! comes back as a [`secrecy::SecretString`]; neither `Debug` nor `Display` of a `SecretRef`
//! ever shows it: they show the reference (`env:ODOO_API_KEY`), or `inline(redacted)`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The environment variable systemd sets to the directory holding `LoadCredential=` files.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// Where a secret is found. See the module documentation for the TOML forms.
#[derive(Clone)]
pub enum SecretRef {
    /// The value of an environment variable.
    Env(String),
    /// The contents of a file, less one trailing newline.
    File(PathBuf),
    /// A systemd credential: the file `$CREDENTIALS_DIRECTORY/<name>`.
    Credential(String),
    /// The secret itself, written in the configuration file.
    Inline(SecretString),
}

/// Why a secret could not be resolved. Every variant names the reference, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{name}` is not set")]
    EnvUnset { name: String },
    #[error("environment variable `{name}` is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("cannot read secret file {}: {source}", path.display())]
    FileUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("secret file {} is not valid UTF-8", path.display())]
    FileNotUnicode { path: PathBuf },
    #[error(
        "credential `{name}` needs $CREDENTIALS_DIRECTORY, which is not set \
         (run under systemd with LoadCredential={name}:<path>, or use {{ file = \"...\" }})"
    )]
    NoCredentialsDirectory { name: String },
    #[error(
        "invalid credential name `{name}`: it must be a plain file name (no `/`, not `.` or `..`)"
    )]
    InvalidCredentialName { name: String },
    #[error("secret {reference} is empty")]
    Empty { reference: String },
}

impl SecretRef {
    /// Whether the secret is written in the configuration file itself.
    pub fn is_inline(&self) -> bool {
        matches!(self, SecretRef::Inline(_))
    }

    /// Resolve the reference against the process environment and file system.
    pub fn resolve(&self) -> Result<SecretString, SecretError> {
        self.resolve_with(|name| std::env::var_os(name))
    }

    /// Resolve with an explicit environment lookup (tests, and callers that snapshot the
    /// environment). File and credential references still read the file system.
    pub fn resolve_with(
        &self,
        getenv: impl Fn(&str) -> Option<OsString>,
    ) -> Result<SecretString, SecretError> {
        let value = match self {
            SecretRef::Inline(s) => {
                use secrecy::ExposeSecret;
                s.expose_secret().to_owned()
            }
            SecretRef::Env(name) => match getenv(name) {
                None => return Err(SecretError::EnvUnset { name: name.clone() }),
                Some(v) => v
                    .into_string()
                    .map_err(|_| SecretError::EnvNotUnicode { name: name.clone() })?,
            },
            SecretRef::File(path) => read_secret_file(path)?,
            SecretRef::Credential(name) => {
                validate_credential_name(name)?;
                let dir = getenv(CREDENTIALS_DIRECTORY)
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| SecretError::NoCredentialsDirectory { name: name.clone() })?;
                read_secret_file(&Path::new(&dir).join(name))?
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty {
                reference: self.to_string(),
            });
        }
        Ok(SecretString::from(value))
    }
}

fn validate_credential_name(name: &str) -> Result<(), SecretError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(SecretError::InvalidCredentialName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| SecretError::FileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let mut text = String::from_utf8(bytes).map_err(|_| SecretError::FileNotUnicode {
        path: path.to_owned(),
    })?;
    // `echo key > file` and editors add one newline; a secret never ends with one.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Credential(name) => write!(f, "credential:{name}"),
            SecretRef::Inline(_) => f.write_str("inline(redacted)"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl<'de> serde::Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

struct SecretRefVisitor;

const SOURCES: &[&str] = &["env", "file", "credential"];

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a secret reference: { env = \"NAME\" }, { file = \"/path\" }, \
             { credential = \"name\" }, or an inline string",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretRef, E> {
        Ok(SecretRef::Inline(SecretString::from(v)))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SecretRef, E> {
        Ok(SecretRef::Inline(SecretString::from(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let mut found: Option<SecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            let r = match key.as_str() {
                "env" => {
                    if value.is_empty() {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Str(""),
                            &"a variable name",
                        ));
                    }
                    SecretRef::Env(value)
                }
                "file" => {
                    if value.is_empty() {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Str(""),
                            &"a file path",
                        ));
                    }
                    SecretRef::File(PathBuf::from(value))
                }
                "credential" => {
                    validate_credential_name(&value).map_err(de::Error::custom)?;
                    SecretRef::Credential(value)
                }
                other => return Err(de::Error::unknown_field(other, SOURCES)),
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret reference takes exactly one of `env`, `file` or `credential`",
                ));
            }
            found = Some(r);
        }
        found.ok_or_else(|| {
            de::Error::custom("empty secret reference: set one of `env`, `file` or `credential`")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    #[derive(serde::Deserialize)]
    struct Holder {
        s: SecretRef,
    }

    fn parse(toml_value: &str) -> Result<SecretRef, String> {
        // channels-core does not depend on toml; JSON exercises the same visitor paths
        // (string and map) that TOML does.
        serde_json::from_str::<Holder>(&format!("{{\"s\": {toml_value}}}"))
            .map(|h| h.s)
            .map_err(|e| e.to_string())
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).map(OsString::from)
    }

    #[test]
    fn parses_every_form() {
        assert!(matches!(parse(r#"{"env":"K"}"#).unwrap(), SecretRef::Env(n) if n == "K"));
        assert!(
            matches!(parse(r#"{"file":"/x/y"}"#).unwrap(), SecretRef::File(p) if p == Path::new("/x/y"))
        );
        assert!(
            matches!(parse(r#"{"credential":"odoo"}"#).unwrap(), SecretRef::Credential(n) if n == "odoo")
        );
        let inline = parse(r#""hunter2""#).unwrap();
        assert!(inline.is_inline());
        assert!(!parse(r#"{"env":"K"}"#).unwrap().is_inline());
    }

    #[test]
    fn rejects_bad_references() {
        let e = parse(r#"{"vault":"x"}"#).unwrap_err();
        assert!(e.contains("unknown field `vault`"), "{e}");
        let e = parse(r#"{"env":"A","file":"/b"}"#).unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
        let e = parse(r#"{}"#).unwrap_err();
        assert!(e.contains("empty secret reference"), "{e}");
        let e = parse(r#"{"credential":"../etc/shadow"}"#).unwrap_err();
        assert!(e.contains("invalid credential name"), "{e}");
        let e = parse(r#"{"env":""}"#).unwrap_err();
        assert!(e.contains("variable name"), "{e}");
        assert!(parse("42").is_err());
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let inline = parse(r#""hunter2""#).unwrap();
        assert!(!format!("{inline:?}").contains("hunter2"));
        assert!(!format!("{inline}").contains("hunter2"));
        assert_eq!(inline.to_string(), "inline(redacted)");
        let r = SecretRef::Env("ODOO_KEY".into());
        assert_eq!(format!("{r:?}"), "SecretRef(env:ODOO_KEY)");
        assert_eq!(
            SecretRef::Credential("c".into()).to_string(),
            "credential:c"
        );
    }

    #[test]
    fn resolves_env() {
        let r = SecretRef::Env("K".into());
        let v = r.resolve_with(env(&[("K", "abc")])).unwrap();
        assert_eq!(v.expose_secret(), "abc");
        let e = r.resolve_with(env(&[])).unwrap_err();
        assert!(matches!(&e, SecretError::EnvUnset { name } if name == "K"));
        assert_eq!(e.to_string(), "environment variable `K` is not set");
        let e = r.resolve_with(env(&[("K", "")])).unwrap_err();
        assert!(matches!(e, SecretError::Empty { .. }));
    }

    #[test]
    fn resolves_file_trimming_one_newline() {
        let dir = tempdir();
        let p = dir.join("key");
        std::fs::write(&p, "secret\n\n").unwrap();
        let v = SecretRef::File(p.clone()).resolve().unwrap();
        assert_eq!(v.expose_secret(), "secret\n", "only one newline is trimmed");
        std::fs::write(&p, "secret\r\n").unwrap();
        assert_eq!(
            SecretRef::File(p.clone())
                .resolve()
                .unwrap()
                .expose_secret(),
            "secret"
        );
        std::fs::write(&p, "  spaced  ").unwrap();
        assert_eq!(
            SecretRef::File(p.clone())
                .resolve()
                .unwrap()
                .expose_secret(),
            "  spaced  "
        );
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            SecretRef::File(p.clone()).resolve().unwrap_err(),
            SecretError::FileNotUnicode { .. }
        ));
        let missing = dir.join("missing");
        let e = SecretRef::File(missing.clone()).resolve().unwrap_err();
        assert!(matches!(&e, SecretError::FileUnreadable { path, .. } if *path == missing));
        assert!(
            e.to_string().contains(&missing.display().to_string()),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn resolves_credentials() {
        let dir = tempdir();
        std::fs::write(dir.join("odoo_api_key"), "k3y\n").unwrap();
        let r = SecretRef::Credential("odoo_api_key".into());
        let d = dir.to_str().unwrap();
        let v = r.resolve_with(env(&[(CREDENTIALS_DIRECTORY, d)])).unwrap();
        assert_eq!(v.expose_secret(), "k3y");
        let e = r.resolve_with(env(&[])).unwrap_err();
        assert!(matches!(e, SecretError::NoCredentialsDirectory { .. }));
        assert!(e.to_string().contains("LoadCredential=odoo_api_key"), "{e}");
        let e = SecretRef::Credential("absent".into())
            .resolve_with(env(&[(CREDENTIALS_DIRECTORY, d)]))
            .unwrap_err();
        assert!(matches!(e, SecretError::FileUnreadable { .. }));
        let e = SecretRef::Credential("../x".into())
            .resolve_with(env(&[(CREDENTIALS_DIRECTORY, d)]))
            .unwrap_err();
        assert!(matches!(e, SecretError::InvalidCredentialName { .. }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn inline_resolves_to_itself() {
        let r = parse(r#""tok""#).unwrap();
        assert_eq!(r.resolve_with(env(&[])).unwrap().expose_secret(), "tok");
    }

    fn tempdir() -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "channels-core-secret-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
