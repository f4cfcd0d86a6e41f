"""Attack run on the second factor (§9): racing uses of one TOTP code (one token and many
tokens), racing recovery codes, a flood of passkey ceremony starts, oversized and mistyped
ceremony answers. Prints what each got; a 5xx or an ERROR log line is a bug.

Usage: .pytools/venv/bin/python scripts/attacks/second_factor.py target/release/keygate
(needs pyotp: the Python of scripts/with-python-tools.sh has it)
"""
import json, os, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request
import pyotp

d = tempfile.mkdtemp()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, KEYGATE__ENVIRONMENT="test", KEYGATE__DATABASE__PATH=d, KEYGATE__SERVER__PORT=str(port),
           KEYGATE_CONFIG_DIR=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config"),
           RUST_LOG="warn", KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES="1000",
           KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES="100000",
           KEYGATE__AUTH__THROTTLE__CEREMONIES_PER_ADDRESS="60")
p = subprocess.Popen([sys.argv[1], "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(d + "/log", "w"))
B = f"http://127.0.0.1:{port}"


def call(path, body=None, token=None, method="POST", raw=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(B + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


for _ in range(100):
    try:
        urllib.request.urlopen(B + "/health"); break
    except Exception:
        time.sleep(0.1)

# Beside the attack: /health latency and the server's resident memory, sampled all along.
samples, rss = [], []
watching = True


def watch():
    while watching:
        started = time.perf_counter()
        try:
            urllib.request.urlopen(B + "/health", timeout=10).read()
            samples.append(time.perf_counter() - started)
        except Exception:
            samples.append(float("inf"))
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmRSS:"):
                rss.append(int(line.split()[1]) / 1024)
        time.sleep(0.02)


threading.Thread(target=watch, daemon=True).start()
call("/register", {"username": "victim", "email": "victim@example.com", "password": "vivid-otter-42-lamp"})
token = call("/login", {"username": "victim", "password": "vivid-otter-42-lamp"})[1]["access_token"]
secret = call("/mfa/totp", {}, token)[1]["secret"]
totp = pyotp.TOTP(secret)
codes = call("/mfa/totp/confirm", {"code": totp.now()}, token)[1]["recovery_codes"]


def mfa_token():
    return call("/login", {"username": "victim", "password": "vivid-otter-42-lamp"})[1]["mfa_token"]


def race(bodies):
    results = []
    threads = [threading.Thread(target=lambda b=b: results.append(call("/login/mfa", b)[0])) for b in bodies]
    [t.start() for t in threads]; [t.join() for t in threads]
    return sorted(results)


# 1. One token, one fresh code, 20 at once: one 200.
next_code = totp.at(time.time() + 30)
t = mfa_token()
print("one token, one code x20:", race([{"mfa_token": t, "code": next_code}] * 20))
# 2. Twenty tokens, one fresh code (the next step's), at once: one 200 (the step is spent).
later = totp.at(time.time() + 30)  # same step as above: already spent
tokens = [mfa_token() for _ in range(20)]
print("spent code on 20 tokens:", race([{"mfa_token": t, "code": later} for t in tokens]))
# 3. One recovery code on 20 tokens at once: one 200.
tokens = [mfa_token() for _ in range(20)]
print("one recovery code x20:", race([{"mfa_token": t, "recovery_code": codes[0]} for t in tokens]))
# 4. Oversized and mistyped second steps.
t = mfa_token()
for body in [{"mfa_token": t, "code": "1" * 1_000_000}, {"mfa_token": t, "recovery_code": "x" * 1_000_000},
             {"mfa_token": ["a"], "code": "123456"}, {"mfa_token": t, "code": 123456}, {"mfa_token": None}]:
    print("odd second step:", call("/login/mfa", body)[0])
start = call("/passkeys/register/start", {}, token)  # before the flood uses up the window
print("register start:", start[0])
# 5. A flood of passkey login starts from one address: 429 after the window's 60.
statuses = [call("/login/passkey/start", {})[0] for _ in range(80)]
print("ceremony flood:", {s: statuses.count(s) for s in set(statuses)})
# 6. Oversized and deep ceremony answers.
deep = ('{"challenge_id": "' + "c" * 43 + '", "credential": {"response": ' + '{"a": ' * 5000 + '{}'
        + '}' * 5000 + '}}').encode()
print("deep passkey answer:", call("/login/passkey/finish", raw=deep)[0])
for credential in [{"id": "x" * 900_000, "type": "public-key"}, {"response": {"clientDataJSON": "!" * 500_000}}]:
    print("odd passkey answer:", call("/login/passkey/finish", {"challenge_id": "c" * 43, "credential": credential})[0])
print("deep registration answer:", call("/passkeys/register/finish", token=token, raw=(
    '{"challenge_id": "' + start[1].get("challenge_id", "x") + '", "credential": {"response": '
    + '{"a": ' * 5000 + '{}' + '}' * 5000 + '}}').encode())[0])
# 7. Many concurrent mfa_token requests and wrong codes (throttle permitting), and passkey
# starts from 20 threads, to load the server while it is watched.
def burst():
    for _ in range(20):
        t = call("/login", {"username": "victim", "password": "vivid-otter-42-lamp"})[1].get("mfa_token")
        if t:
            call("/login/mfa", {"mfa_token": t, "code": "000000"})
threads = [threading.Thread(target=burst) for _ in range(20)]
[t.start() for t in threads]; [t.join() for t in threads]
time.sleep(0.5)
watching = False
ordered = sorted(samples)
print(f"/health: {len(ordered)} samples, p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
      f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")
print(f"resident memory: start {rss[0]:.1f} MiB, peak {max(rss):.1f} MiB, end {rss[-1]:.1f} MiB")
p.terminate(); p.wait()
log = open(d + "/log").read()
print("5xx or ERROR in log:", "ERROR" in log or '"status":5' in log)
