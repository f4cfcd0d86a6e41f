//! The Python that `scripts/with-python-tools.sh` provides, with the independent libraries
//! the black-box tests check Keygate against (PyJWT, pyotp, fido2, werkzeug, bcrypt, …).

use std::ffi::OsStr;

/// Runs `python <args>` and returns what it printed; panics (never skips) when the Python
/// is missing or the script fails, with its error output.
pub fn run<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let python = std::env::var("KEYGATE_TEST_PYTHON").expect(
        "KEYGATE_TEST_PYTHON names the test Python (scripts/with-python-tools.sh, which make \
         test runs, provides it)",
    );
    let output = std::process::Command::new(python)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// [`run`], its output as trimmed text.
pub fn run_text<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    String::from_utf8_lossy(&run(args)).trim().to_owned()
}
