"""`make fuzz`: Schemathesis, driven by GET /openapi.json, against the release binary.

For each store (embedded, then MongoDB at MONGODB_URI) it starts `target/release/keygate` on a
fresh data directory or database, signs up a user, creates an API with a key and a record, and
runs Schemathesis with both auth schemes filled in (bearer JWT and X-API-Key) and the real API
name, endpoint, ids and data key offered as path parameters half of the time, so the fuzzer
reaches past the 404s. Per store it runs every operation but the ones that end the session,
a key, the API or the account (so they do not starve the rest of credentials), then each of
those on its own, for a fresh user.

Checks: no 5xx, and every response conforms to the document (status, content type, headers,
body schema). Bounded by FUZZ_EXAMPLES per operation, FUZZ_SECONDS for the main run and
FUZZ_ENDING_SECONDS for each ending operation's run. Exits non-zero
on any failure; JUnit reports are left in .fuzz/reports/<store>-<run>/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = Path(os.environ.get("KEYGATE_BIN", ROOT / "target" / "release" / "keygate"))
SCHEMATHESIS = ROOT / ".fuzz" / "venv" / "bin" / "schemathesis"
REPORTS = ROOT / ".fuzz" / "reports"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "180"))
# Each run of one ending operation (logout, deletions) is short: there is one operation to try.
ENDING_SECONDS = int(os.environ.get("FUZZ_ENDING_SECONDS", "30"))
SEED = os.environ.get("FUZZ_SEED", "20261130")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
PASSWORD = "fuzz-Passw0rd-long-enough"
# Operations that end the session, the key, the API or the account the others need: each runs
# last, on its own, for a user of its own.
ENDINGS = {
    "logout": r"^POST (/v1)?/logout$",
    "password": r"^PUT (/v1)?/profile/password$",
    "key-revocation": r"^DELETE (/v1)?/api/\{api\}/keys/\{key_id\}$",
    "api-deletion": r"^DELETE (/v1)?/api/\{api\}$",
    "account-deletion": r"^DELETE (/v1)?/profile$",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, token=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise SystemExit(f"fuzz: set-up {method} {path} answered {error.code}: {error.read()!r}")


def start(store: str, data_dir: Path, database: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KEYGATE__SERVER__PORT": str(port),
        "KEYGATE__DATABASE__PATH": str(data_dir),
        "KEYGATE__LOG__FORMAT": "json",
        "RUST_LOG": "warn",
    }
    if store == "mongodb":
        env["KEYGATE__DATABASE__URL"] = os.environ["MONGODB_URI"]
        env["KEYGATE__DATABASE__NAME"] = database
    log = open(data_dir / "keygate.log", "a")
    server = subprocess.Popen([str(BINARY), "serve"], env=env, stdout=log, stderr=log, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            return server, base
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"fuzz: keygate exited: {(data_dir / 'keygate.log').read_text()}")
            time.sleep(0.1)
    raise SystemExit("fuzz: keygate did not answer /health within 30 s")


def set_up(base: str) -> dict:
    """A user with an API, a key, a record and a data entry; what the fuzzer is given."""
    name = f"fuzz{secrets.token_hex(4)}"
    call(base, "POST", "/register", {"username": name, "email": f"{name}@example.com", "password": PASSWORD})
    token = call(base, "POST", "/login", {"username": name, "password": PASSWORD})["access_token"]
    api = call(
        base,
        "POST",
        "/create_api",
        {
            "api_name": "notes",
            "endpoints": ["items"],
            "json_schema": {
                "items": {
                    "type": "object",
                    "properties": {"title": {"type": "string"}, "done": {"type": "boolean"}},
                    "required": ["title"],
                }
            },
        },
        token,
    )
    api_id = api["api_id"]
    key = call(base, "POST", f"/api/{api_id}/keys", {}, token)
    # The server makes API names unique by adding a suffix: use the name it gave.
    record = call(base, "POST", f"/api/{api['api_name']}/items", {"title": "first"}, token)
    call(base, "POST", "/api/data", {"key": "colour", "value": "blue"}, token)
    return {
        "api_name": api["api_name"],
        "username": name,
        "token": token,
        "api_key": api["api_key"],
        "api_id": api_id,
        "key_id": key.get("key_id") or key.get("id", ""),
        "record_id": record.get("id") or record.get("record_id", ""),
    }


def config(found: dict, relogin: bool) -> str:
    """schemathesis.toml for one run: credentials and parameters worth trying. With `relogin`
    the access token is fetched from POST /login again whenever an answer is 401 (for the
    logout run, where the fuzzer's own successes end the session)."""
    dictionaries = {
        "api_names": [found["api_name"]],
        "endpoints": ["items"],
        "api_ids": [found["api_id"]],
        "key_ids": [found["key_id"]],
        "record_ids": [found["record_id"]],
        "data_keys": ["colour"],
    }
    lines = [f'[auth.openapi.apiKey]\napi_key = "{found["api_key"]}"']
    if relogin:
        lines.append(
            "[auth.dynamic.openapi.bearerAuth]\n"
            'path = "/login"\nmethod = "post"\n'
            f'payload = {{ username = "{found["username"]}", password = "{PASSWORD}" }}\n'
            'extract_selector = "/access_token"'
        )
    else:
        lines.append(f'[auth.openapi.bearerAuth]\nbearer = "{found["token"]}"')
    dictionaries["passwords"] = [PASSWORD]
    for dictionary, values in dictionaries.items():
        lines.append(f"[dictionaries.{dictionary}]\nvalues = {json.dumps(values)}")
    lines.append("[parameters]")
    for parameter, dictionary in [
        ("path.api_name", "api_names"),
        ("path.endpoint", "endpoints"),
        ("path.api", "api_ids"),
        ("path.key_id", "key_ids"),
        ("path.record_id", "record_ids"),
        ("path.key", "data_keys"),
        ("body.password", "passwords"),
    ]:
        lines.append(f'"{parameter}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    return "\n".join(lines) + "\n"


def fuzz(store: str, run: str, base: str, found: dict, selection: list[str], relogin=False) -> tuple[bool, str]:
    report = REPORTS / f"{store}-{run}"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir(parents=True)
    (report / "schemathesis.toml").write_text(config(found, relogin))
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(report / "schemathesis.toml"),
        "run",
        f"{base}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS if run == "main" else ENDING_SECONDS),
        "--seed",
        SEED,
        # One worker: with two, Hypothesis's lambda-description cache raced (a KeyError
        # reported as a flaky "runtime error" in Schemathesis 4.32.5), which is not Keygate's.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--phases",
        "examples,coverage,fuzzing",
        "--continue-on-failure",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        *selection,
    ]
    print(f"\n=== fuzz: {store}, {run} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call(command, cwd=report)
    print(f"=== fuzz: {store}, {run}: exit {code} in {time.monotonic() - started:.0f} s ===", flush=True)
    return code == 0, junit_counts(report)


def junit_counts(report: Path) -> str:
    """Operations, failed checks and runtime errors, from the run's JUnit report."""
    import xml.etree.ElementTree as ElementTree

    operations = failures = errors = 0
    for path in report.glob("junit*.xml"):
        for case in ElementTree.parse(path).getroot().iter("testcase"):
            operations += 1
            failures += len(case.findall("failure"))
            errors += len(case.findall("error"))
    return f"{operations} operations, {failures} failed, {errors} errors"


def main() -> int:
    if not BINARY.is_file():
        raise SystemExit(f"fuzz: no binary at {BINARY}: run `make fuzz`")
    stores = ["embedded"]
    if os.environ.get("MONGODB_URI"):
        stores.append("mongodb")
    else:
        print("fuzz: MONGODB_URI is not set: MongoDB is NOT fuzzed (make fuzz sets it)", file=sys.stderr)
    results = {}
    runs = {"main": ["--exclude-name-regex", "|".join(ENDINGS.values())]}
    runs.update({run: ["--include-name-regex", operations] for run, operations in ENDINGS.items()})
    for store in stores:
        database = f"fuzz_{secrets.token_hex(4)}"
        with tempfile.TemporaryDirectory(prefix="keygate-fuzz-") as data_dir:
            for run, selection in runs.items():
                # A fresh process per run, on the same data: the login throttle (in memory)
                # that the previous run provoked must not refuse this run's set-up.
                server, base = start(store, Path(data_dir), database)
                try:
                    found = set_up(base)
                    results[(store, run)] = fuzz(store, run, base, found, selection, run == "logout")
                finally:
                    server.terminate()
                    server.wait(timeout=60)
            shutil.copy(Path(data_dir) / "keygate.log", REPORTS / f"{store}-keygate.log")
    print("\nfuzz summary:")
    for (store, run), (passed, counts) in results.items():
        print(f"  {store:9} {run:16} {'passed' if passed else 'FAILED'}  ({counts})")
    return 0 if all(passed for passed, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
