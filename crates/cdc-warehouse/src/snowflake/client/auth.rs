//! Key-pair authentication: the JWT Snowflake's drivers send with `AUTHENTICATOR = SNOWFLAKE_JWT`.
//!
//! ```text
//!  PEM text (+ passphrase) ──KeyPair::from_pem──▶ RSA key + public-key fingerprint
//!                                                      │
//!  account, user, now ──────KeyPair::login_jwt─────────▶ RS256 JWT for the login request
//! ```
//!
//! Snowflake identifies the key by the fingerprint in the `iss` claim: `SHA256:` + base64 of the SHA-256 of the
//! public key's DER SubjectPublicKeyInfo, the value `DESCRIBE USER` shows as `RSA_PUBLIC_KEY_FP`. The account in
//! the claims is the bare account identifier, uppercased ([`jwt_account`]). See Snowflake's "Key-pair
//! authentication and key-pair rotation" and "Generate a JWT token" documentation.
//!
//! Key material never reaches `Debug` or `Display`: [`KeyPair`] prints only its fingerprint and size, and
//! [`AuthError`] names formats and algorithms, never bytes or the passphrase.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use pkcs8::der::zeroize::Zeroizing;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use sha2::{Digest as _, Sha256};

/// Snowflake's key-pair docs: "This authentication method requires, as a minimum, a 2048-bit RSA key pair."
const MIN_KEY_BITS: usize = 2048;

/// The formats [`KeyPair::from_pem`] reads, for error messages.
const ACCEPTED: &str = "accepted are PEM PKCS#8 (BEGIN PRIVATE KEY), encrypted PKCS#8 \
                        (BEGIN ENCRYPTED PRIVATE KEY) and PKCS#1 (BEGIN RSA PRIVATE KEY)";

/// The JWT header: fixed, so encoded once per token without a JSON round trip.
const JWT_HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// Why a private key cannot be used for key-pair authentication.
///
/// Messages name formats and algorithms only: never key bytes or the passphrase.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the private key is not PEM text; {accepted}", accepted = ACCEPTED)]
    NotPem {
        #[source]
        source: pkcs8::der::Error,
    },
    #[error("unsupported private key format \"BEGIN {label}\"; {accepted}", accepted = ACCEPTED)]
    UnsupportedFormat { label: String },
    #[error(
        "the private key uses OpenSSL's legacy PEM encryption (Proc-Type header); convert it to encrypted \
         PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    LegacyEncryption,
    #[error("the {format} private key is malformed")]
    Malformed {
        format: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseRequired,
    #[error("cannot decrypt the private key: wrong passphrase")]
    WrongPassphrase,
    #[error(
        "the private key is encrypted with an unsupported scheme; re-encrypt it with \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    UnsupportedEncryption {
        #[source]
        source: pkcs8::Error,
    },
    #[error("the private key is not an RSA key (algorithm {algorithm}); Snowflake key-pair auth needs RSA")]
    NotRsa { algorithm: String },
    #[error("the RSA key has {bits} bits; Snowflake requires at least {MIN_KEY_BITS}")]
    KeyTooSmall { bits: usize },
}

/// A loaded private key, ready to sign login JWTs.
pub struct KeyPair {
    signing_key: SigningKey<Sha256>,
    /// Computed once: it goes into every token, and it is what an operator compares with `RSA_PUBLIC_KEY_FP`.
    fingerprint: String,
    bits: usize,
}

impl std::fmt::Debug for KeyPair {
    /// By hand, so that the private key can never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("fingerprint", &self.fingerprint).field("bits", &self.bits).finish()
    }
}

impl KeyPair {
    /// PEM text: unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), encrypted PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY",
    /// needs passphrase), or PKCS#1 ("BEGIN RSA PRIVATE KEY").
    ///
    /// A passphrase given for an unencrypted key is ignored, as OpenSSL does.
    pub fn from_pem(pem: &str, passphrase: Option<&str>) -> Result<KeyPair, AuthError> {
        let pem = pem.trim();
        // pem-rfc7468 rejects headers outright; name the real problem instead of "malformed PEM".
        if pem.contains("Proc-Type:") {
            return Err(AuthError::LegacyEncryption);
        }
        // Zeroizing: the DER of an unencrypted key is the key. Decoding only the PEM layer here leaves DER
        // errors to the branches below, which know the format they expected.
        let (label, der) = pkcs8::der::pem::decode_vec(pem.as_bytes())
            .map_err(|source| AuthError::NotPem { source: source.into() })?;
        let der = Zeroizing::new(der);
        let key = match label {
            "PRIVATE KEY" => rsa_from_pkcs8(&der, "PKCS#8")?,
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(AuthError::PassphraseRequired)?;
                let encrypted = EncryptedPrivateKeyInfo::try_from(der.as_slice())
                    .map_err(|source| malformed("encrypted PKCS#8", source))?;
                let decrypted = encrypted.decrypt(passphrase).map_err(|source| match source {
                    // CBC padding that does not check out is the only sign of a wrong passphrase. pkcs5 0.7
                    // reports it as EncryptFailed even when decrypting, so both mean the same here.
                    pkcs8::Error::EncryptedPrivateKey(
                        pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
                    ) => AuthError::WrongPassphrase,
                    source => AuthError::UnsupportedEncryption { source },
                })?;
                // A wrong passphrase passes the padding check about once in 256 tries and then yields garbage.
                rsa_from_pkcs8(decrypted.as_bytes(), "encrypted PKCS#8").map_err(|error| match error {
                    AuthError::Malformed { .. } => AuthError::WrongPassphrase,
                    error => error,
                })?
            }
            "RSA PRIVATE KEY" => {
                RsaPrivateKey::from_pkcs1_der(&der).map_err(|source| malformed("PKCS#1", source))?
            }
            "EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" | "DSA PRIVATE KEY" => {
                return Err(AuthError::NotRsa { algorithm: label.trim_end_matches(" PRIVATE KEY").into() })
            }
            label => return Err(AuthError::UnsupportedFormat { label: label.to_owned() }),
        };
        KeyPair::new(key)
    }

    fn new(key: RsaPrivateKey) -> Result<KeyPair, AuthError> {
        // Also what keeps signing infallible: PKCS#1 v1.5 fails only for keys too short for the digest.
        let bits = key.size() * 8;
        if bits < MIN_KEY_BITS {
            return Err(AuthError::KeyTooSmall { bits });
        }
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|source| AuthError::Malformed { format: "RSA public", source: Box::new(source) })?;
        let fingerprint = format!("SHA256:{}", STANDARD.encode(Sha256::digest(spki.as_bytes())));
        Ok(KeyPair { signing_key: SigningKey::new(key), fingerprint, bits })
    }

    /// "SHA256:" + standard base64 of SHA-256 over the DER SubjectPublicKeyInfo of the public key (what
    /// Snowflake shows as RSA_PUBLIC_KEY_FP).
    pub fn public_key_fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// RS256 JWT: header {"alg":"RS256","typ":"JWT"}; claims iss = "{ACCOUNT}.{USER}.{fingerprint}", sub =
    /// "{ACCOUNT}.{USER}", iat = now, exp = now + lifetime (seconds since epoch). ACCOUNT and USER uppercased;
    /// ACCOUNT per [`jwt_account`].
    ///
    /// Snowflake rejects tokens whose `exp` is more than an hour after `iat`; the caller picks `lifetime`.
    pub fn login_jwt(&self, account: &str, user: &str, now: SystemTime, lifetime: Duration) -> String {
        let subject = format!("{}.{}", jwt_account(account), user.to_uppercase());
        // A clock before 1970 is a broken host; the server rejects the token and says so.
        let iat = now.duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0);
        let claims = serde_json::json!({
            "iss": format!("{subject}.{}", self.fingerprint),
            "sub": subject,
            "iat": iat,
            "exp": iat.saturating_add(lifetime.as_secs()),
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(JWT_HEADER), URL_SAFE_NO_PAD.encode(claims.to_string()));
        // Random blinding hides the private-key operation's timing. Cannot fail: `new` accepted only keys of
        // at least 2048 bits, and the rsa crate validated the key's components when it parsed them.
        let signature = self.signing_key.sign_with_rng(&mut rsa::rand_core::OsRng, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// The account part of JWT claims, per Snowflake's key-pair docs: uppercased; a locator with region/cloud
/// ("xy12345.us-east-2.aws") keeps only the part before the first dot; "orgname-acctname" stays whole; a
/// ".global" suffix is dropped.
///
/// For a global (replication) identifier Snowflake's own samples keep only the part before the first hyphen
/// ("xy12345-ab12cd.global" → "XY12345"), so this does too.
pub fn jwt_account(account: &str) -> String {
    let account = account.trim().to_uppercase();
    let bare = match account.strip_suffix(".GLOBAL") {
        Some(global) => global.split('-').next(),
        None => account.split('.').next(),
    };
    bare.unwrap_or(&account).to_owned()
}

/// Parses PKCS#8 DER, refusing non-RSA keys by algorithm before the RSA decoder gives a vaguer error.
fn rsa_from_pkcs8(der: &[u8], format: &'static str) -> Result<RsaPrivateKey, AuthError> {
    let info = PrivateKeyInfo::try_from(der).map_err(|source| malformed(format, source))?;
    if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
        return Err(AuthError::NotRsa { algorithm: algorithm_name(info.algorithm.oid) });
    }
    RsaPrivateKey::try_from(info).map_err(|source| malformed(format, source))
}

fn malformed(format: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> AuthError {
    AuthError::Malformed { format, source: Box::new(source) }
}

/// Names the key algorithms people are likely to try instead of RSA; others as their OID.
fn algorithm_name(oid: pkcs8::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "EC".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;

    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::signature::Verifier as _;
    use rsa::RsaPublicKey;

    use super::*;

    const PASSPHRASE: &str = "correct horse battery staple";

    /// Runs `openssl args…` with `input` on stdin and returns stdout. Pipes rather than files: nothing to clean
    /// up, and the keys never touch the disk.
    fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the openssl CLI must be installed to run these tests");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    /// One 2048-bit key in every accepted form, generated once: RSA key generation is the slow part.
    struct Keys {
        pkcs8: String,
        pkcs8_aes: String,
        pkcs8_des3: String,
        pkcs8_sha1_prf: String,
        pkcs1: String,
        public_pem: String,
        /// What `openssl rsa -pubout -outform DER | openssl dgst -sha256 -binary | base64` prints.
        openssl_fingerprint: String,
    }

    fn keys() -> &'static Keys {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        KEYS.get_or_init(|| {
            let pkcs8 = openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], b"");
            let pass = format!("pass:{PASSPHRASE}");
            let encrypt = |extra: &[&str]| {
                let mut args = vec!["pkcs8", "-topk8", "-passout", &pass];
                args.extend_from_slice(extra);
                text(openssl(&args, &pkcs8))
            };
            let der = openssl(&["rsa", "-pubout", "-outform", "DER"], &pkcs8);
            let digest = openssl(&["dgst", "-sha256", "-binary"], &der);
            Keys {
                pkcs8_aes: encrypt(&["-v2", "aes-256-cbc"]),
                // The command in Snowflake's key-pair docs.
                pkcs8_des3: encrypt(&["-v2", "des3"]),
                // What OpenSSL before 1.1 wrote by default.
                pkcs8_sha1_prf: encrypt(&["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"]),
                pkcs1: text(openssl(&["rsa", "-traditional"], &pkcs8)),
                public_pem: text(openssl(&["rsa", "-pubout"], &pkcs8)),
                openssl_fingerprint: format!("SHA256:{}", text(openssl(&["base64"], &digest)).trim()),
                pkcs8: text(pkcs8),
            }
        })
    }

    /// Splits a JWT and returns (header JSON, claims JSON, signing input, signature bytes).
    fn parts(jwt: &str) -> (serde_json::Value, serde_json::Value, String, Vec<u8>) {
        let [header, claims, signature]: [&str; 3] = jwt.split('.').collect::<Vec<_>>().try_into().unwrap();
        let json = |part: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
        (json(header), json(claims), format!("{header}.{claims}"), URL_SAFE_NO_PAD.decode(signature).unwrap())
    }

    #[test]
    fn every_accepted_form_loads_and_has_the_fingerprint_openssl_computes() {
        let keys = keys();
        // Key files edited on Windows, or pasted into YAML with its indentation.
        let crlf = keys.pkcs8.replace('\n', "\r\n");
        let padded = format!("\n  {}  \n", keys.pkcs1);
        let forms = [
            ("pkcs8", &keys.pkcs8, None),
            ("pkcs8 with CRLF", &crlf, None),
            ("pkcs1 with surrounding blanks", &padded, None),
            ("pkcs8 aes-256-cbc", &keys.pkcs8_aes, Some(PASSPHRASE)),
            ("pkcs8 des3", &keys.pkcs8_des3, Some(PASSPHRASE)),
            ("pkcs8 hmacWithSHA1", &keys.pkcs8_sha1_prf, Some(PASSPHRASE)),
            ("pkcs1", &keys.pkcs1, None),
        ];
        for (form, pem, passphrase) in forms {
            let key = KeyPair::from_pem(pem, passphrase).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(key.public_key_fingerprint(), keys.openssl_fingerprint, "{form}");
        }
    }

    #[test]
    fn login_jwt_is_signed_by_the_key_and_carries_snowflakes_claims() {
        let keys = keys();
        let key = KeyPair::from_pem(&keys.pkcs8, None).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        let jwt = key.login_jwt("xy12345.us-east-2.aws", "etl_user", now, Duration::from_secs(3600));

        let (header, claims, signing_input, signature) = parts(&jwt);
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let fingerprint = &keys.openssl_fingerprint;
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": format!("XY12345.ETL_USER.{fingerprint}"),
                "sub": "XY12345.ETL_USER",
                "iat": 1_704_164_645,
                "exp": 1_704_168_245,
            })
        );
        // Verified with the public key as openssl exported it, independent of our parsing.
        let public = RsaPublicKey::from_public_key_pem(&keys.public_pem).unwrap();
        let signature = Signature::try_from(signature.as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(public).verify(signing_input.as_bytes(), &signature).unwrap();
    }

    #[test]
    fn an_encrypted_key_with_a_wrong_or_missing_passphrase_says_so_without_echoing_it() {
        let keys = keys();
        let wrong = "not the passphrase";
        for pem in [&keys.pkcs8_aes, &keys.pkcs8_des3] {
            let error = KeyPair::from_pem(pem, Some(wrong)).unwrap_err();
            assert!(matches!(error, AuthError::WrongPassphrase), "{error:?}");
            assert!(error.to_string().contains("wrong passphrase"), "{error}");
            for shown in [error.to_string(), format!("{error:?}")] {
                assert!(!shown.contains(wrong) && !shown.contains(PASSPHRASE), "{shown}");
            }
        }
        let error = KeyPair::from_pem(&keys.pkcs8_aes, None).unwrap_err();
        assert!(matches!(error, AuthError::PassphraseRequired), "{error:?}");
        assert!(error.to_string().contains("no passphrase"), "{error}");
    }

    #[test]
    fn debug_shows_the_fingerprint_but_no_key_material() {
        let keys = keys();
        let key = KeyPair::from_pem(&keys.pkcs8_aes, Some(PASSPHRASE)).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("KeyPair {{ fingerprint: {:?}, bits: 2048 }}", keys.openssl_fingerprint));
        assert!(!shown.contains(PASSPHRASE));
    }

    #[test]
    fn a_key_that_is_not_rsa_is_refused_by_name() {
        let ec = text(openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], b""));
        let ed25519 = text(openssl(&["genpkey", "-algorithm", "ED25519"], b""));
        let sec1 = text(openssl(&["ec"], ec.as_bytes()));
        for (pem, algorithm) in [(&ec, "EC"), (&ed25519, "Ed25519"), (&sec1, "EC")] {
            let error = KeyPair::from_pem(pem, None).unwrap_err();
            assert!(matches!(&error, AuthError::NotRsa { algorithm: a } if a == algorithm), "{error:?}");
            assert!(error.to_string().contains("not an RSA key"), "{error}");
        }
    }

    #[test]
    fn a_key_below_2048_bits_is_refused() {
        let small = text(openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], b""));
        let error = KeyPair::from_pem(&small, None).unwrap_err();
        assert!(matches!(error, AuthError::KeyTooSmall { bits: 1024 }), "{error:?}");
    }

    #[test]
    fn text_that_is_not_a_usable_private_key_names_the_accepted_formats() {
        let error = KeyPair::from_pem("not a key", None).unwrap_err();
        assert!(matches!(error, AuthError::NotPem { .. }), "{error:?}");
        assert!(error.to_string().contains("BEGIN RSA PRIVATE KEY"), "{error}");

        let error = KeyPair::from_pem(&keys().public_pem, None).unwrap_err();
        assert!(
            matches!(&error, AuthError::UnsupportedFormat { label } if label == "PUBLIC KEY"),
            "{error:?}"
        );
        assert!(error.to_string().contains("BEGIN RSA PRIVATE KEY"), "{error}");

        let truncated = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let error = KeyPair::from_pem(truncated, None).unwrap_err();
        assert!(matches!(error, AuthError::Malformed { format: "PKCS#8", .. }), "{error:?}");
    }

    #[test]
    fn a_legacy_encrypted_pkcs1_key_gets_a_conversion_hint() {
        let pass = format!("pass:{PASSPHRASE}");
        let legacy =
            text(openssl(&["rsa", "-traditional", "-aes256", "-passout", &pass], keys().pkcs8.as_bytes()));
        let error = KeyPair::from_pem(&legacy, Some(PASSPHRASE)).unwrap_err();
        assert!(matches!(error, AuthError::LegacyEncryption), "{error:?}");
        assert!(error.to_string().contains("openssl pkcs8 -topk8"), "{error}");
    }

    #[test]
    fn jwt_account_is_the_bare_uppercased_account_identifier() {
        for (account, expected) in [
            ("xy12345", "XY12345"),
            ("xy12345.us-east-2.aws", "XY12345"),
            ("xy12345.eu-west-1", "XY12345"),
            ("myorg-myaccount", "MYORG-MYACCOUNT"),
            ("myorg-my_account", "MYORG-MY_ACCOUNT"),
            ("xy12345-ab12cd.global", "XY12345"),
        ] {
            assert_eq!(jwt_account(account), expected, "{account}");
        }
    }
}
