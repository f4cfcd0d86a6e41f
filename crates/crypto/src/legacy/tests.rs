//! Hashes made by the earlier systems' own libraries (werkzeug 3.1.3, bcrypt 4.3.0, passlib
//! 1.7.4, and Django's recipe in Python's hashlib), all of one password.

use super::*;
use keygate_domain::import::HashInspector;

const PASSWORD: &str = "correct horse ünïcode";

const HASHES: &[(&str, LegacyFormat)] = &[
    (
        "pbkdf2:sha256:1000$wkVSFYsRzISnMq0v$1d6ce69b732baab62f34905899cbce7276146ebedcc3a0aeb7c0058b0dc22465",
        LegacyFormat::WerkzeugPbkdf2Sha256,
    ),
    (
        "pbkdf2:sha1:1000$AFoVipnu3rtVT6XG$a71d355b18f640f56015f008af07978c4a4a3aab",
        LegacyFormat::WerkzeugPbkdf2Sha1,
    ),
    (
        "scrypt:1024:8:1$nFnXpjbS7nd7mjH1$76f0a49b378e3a7d748b73bc2ca6c06c060a1e346b9c8e4756d4bb27e580eb9a417d83c46bff49c62e560d7110a953a1e44f1c28c1adf6713f685a86a57b6871",
        LegacyFormat::WerkzeugScrypt,
    ),
    (
        "$2b$04$UH9a3u.isFrJkA4RChtrJevUDtqWsR1tP4Fo/rDvJ1fgzAodCeBeu",
        LegacyFormat::Bcrypt,
    ),
    (
        "$2a$04$UH9a3u.isFrJkA4RChtrJevUDtqWsR1tP4Fo/rDvJ1fgzAodCeBeu",
        LegacyFormat::Bcrypt,
    ),
    (
        "$2y$04$UH9a3u.isFrJkA4RChtrJevUDtqWsR1tP4Fo/rDvJ1fgzAodCeBeu",
        LegacyFormat::Bcrypt,
    ),
    (
        "$pbkdf2-sha256$1000$lnIOYSzFmDMmxBiDkNK6tw$xPtT1BAXMaxRVVM/xnn3J0xCFgFaK/aPjATk0MuCKdE",
        LegacyFormat::PasslibPbkdf2Sha256,
    ),
    (
        "pbkdf2_sha256$1000$NaClsalt12$BtiGZjkhdoivI1zKnB+T5YRNqRIm5J7b2U6boMezs6A=",
        LegacyFormat::DjangoPbkdf2Sha256,
    ),
];

#[test]
fn every_format_verifies_its_password_and_nothing_else() {
    for (hash, format) in HASHES {
        let parsed = LegacyHash::parse(hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
        assert_eq!(parsed.format(), *format);
        assert!(parsed.verify(PASSWORD), "{hash}");
        assert!(!parsed.verify("correct horse unicode"), "{hash}");
        assert!(!parsed.verify(""), "{hash}");
    }
}

#[test]
fn absurd_costs_are_refused_when_read() {
    for hash in [
        "pbkdf2:sha256:1000000000$salt$00",
        "$pbkdf2-sha256$1000000000$c2FsdA$AAAA",
        "pbkdf2_sha256$1000000000$salt$AAAA",
        "scrypt:1073741824:8:1$salt$00",
        "scrypt:32768:8:1000$salt$00",
        "$2b$31$UH9a3u.isFrJkA4RChtrJevUDtqWsR1tP4Fo/rDvJ1fgzAodCeBeu",
    ] {
        assert!(
            matches!(LegacyHash::parse(hash), Err(UnusableHash::TooCostly(_))),
            "{hash}"
        );
    }
}

#[test]
fn unknown_and_malformed_hashes_are_told_apart() {
    for hash in [
        "",
        "plaintext",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
        "md5$x$y",
        "sha256$salt$abc",
    ] {
        assert_eq!(
            LegacyHash::parse(hash),
            Err(UnusableHash::UnknownFormat),
            "{hash}"
        );
    }
    for hash in [
        "pbkdf2:sha256:abc$salt$00",
        "pbkdf2:sha256:1000$salt$zz",
        "scrypt:1000:8:1$salt$00",
        "$2b$04$short",
        "$pbkdf2-sha256$1000$!!$!!",
    ] {
        assert!(
            matches!(LegacyHash::parse(hash), Err(UnusableHash::Malformed(_))),
            "{hash}"
        );
    }
}

/// A PBKDF2 output longer than the format's one block costs all the rounds again per block
/// (48 blocks: 48 times a login), and a row of megabytes costs its parsing: both are refused
/// when read, so at import and at login alike (issue 31, hole 3).
#[test]
fn outputs_longer_than_the_format_makes_and_oversized_rows_are_refused() {
    let block = "1d6ce69b732baab62f34905899cbce7276146ebedcc3a0aeb7c0058b0dc22465";
    let too_long = [
        format!("pbkdf2:sha256:1000$wkVSFYsRzISnMq0v${}", block.repeat(48)),
        format!("pbkdf2:sha1:1000$AFoVipnu3rtVT6XG${block}"),
        format!(
            "$pbkdf2-sha256$1000$lnIOYSzFmDMmxBiDkNK6tw${}",
            UNPADDED.encode([7u8; 64])
        ),
        format!(
            "pbkdf2_sha256$1000$NaClsalt12${}",
            STANDARD.encode([7u8; 64])
        ),
        format!("pbkdf2:sha256:1000${}${block}", "s".repeat(1 << 20)),
    ];
    for hash in &too_long {
        assert!(
            matches!(LegacyHash::parse(hash), Err(UnusableHash::TooCostly(_))),
            "{}…",
            &hash[..40]
        );
        assert!(matches!(
            LegacyHashes::new(&HashingSettings::default()).inspect(hash),
            keygate_domain::import::HashVerdict::Refused(_)
        ));
    }
    let unknown_and_huge = "x".repeat(MAX_HASH_BYTES + 1);
    assert!(matches!(
        LegacyHashes::new(&HashingSettings::default()).inspect(&unknown_and_huge),
        keygate_domain::import::HashVerdict::Refused(_)
    ));
    assert_eq!(
        LegacyHashes::new(&HashingSettings::default()).inspect(&"x".repeat(MAX_HASH_BYTES)),
        keygate_domain::import::HashVerdict::Unknown,
        "an unknown format within the bound is kept, matching nothing"
    );
    let scrypt_long = format!("scrypt:1024:8:1$nFnXpjbS7nd7mjH1${}", "ab".repeat(128));
    assert!(LegacyHash::parse(&scrypt_long).is_err());
}
