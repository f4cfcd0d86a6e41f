//! TOTP codes from an independent implementation: PyPI `pyotp`, in the Python that
//! `scripts/with-python-tools.sh` provides.

/// `pyotp`'s code of `secret` at `unix_seconds` (its defaults: SHA-1, 6 digits, 30 s).
pub fn pyotp_code(secret: &str, unix_seconds: i64) -> String {
    crate::python::run_text([
        "-c",
        "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
        secret,
        &unix_seconds.to_string(),
    ])
}

/// The time now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
