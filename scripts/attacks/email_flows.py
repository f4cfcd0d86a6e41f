"""Attack run on the email flows (§8): racing resets with one token, racing login-code guesses,
oversized and mistyped bodies. Prints what each got; a 5xx or an ERROR log line is a bug.

Usage: python3 scripts/attacks/email_flows.py target/debug/keygate
"""
import sys
import json, os, socket, subprocess, tempfile, threading, time, urllib.request, urllib.error, glob, re, email
d = tempfile.mkdtemp()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, KEYGATE__ENVIRONMENT="test", KEYGATE__DATABASE__PATH=d, KEYGATE__SERVER__PORT=str(port),
           KEYGATE_CONFIG_DIR=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config"), RUST_LOG="warn",
           KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES="1000", KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES="100000")
p = subprocess.Popen([sys.argv[1], "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(d + "/log", "w"))
B = f"http://127.0.0.1:{port}"
def call(path, body):
    req = urllib.request.Request(B + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
for _ in range(50):
    try: urllib.request.urlopen(B + "/health"); break
    except Exception: time.sleep(0.1)
call("/register", {"username": "victim", "email": "victim@example.com", "password": "vivid-otter-42-lamp"})
def newest(subject):
    for _ in range(100):
        files = [f for f in glob.glob(d + "/outbox/*.eml") if subject in open(f).read()]
        if files:
            f = max(files, key=os.path.getmtime)
            m = email.message_from_file(open(f))
            return next(x for x in m.walk() if x.get_content_type() == "text/plain").get_payload(decode=True).decode()
        time.sleep(0.05)
# 1. racing resets with one token: exactly one wins
call("/password/forgot", {"email": "victim@example.com"})
token = re.search(r"token=([A-Za-z0-9]+)", newest("Reset your password")).group(1)
results = []
def reset(i):
    results.append(call("/password/reset", {"token": token, "new_password": f"racing-passphrase-{i}-xyz"})[0])
ts = [threading.Thread(target=reset, args=(i,)) for i in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
print("racing resets:", sorted(results))
# 2. racing code guesses: 40 wrong + the right one at once
call("/login/code/request", {"email": "victim@example.com"})
code = re.search(r"\b(\d{6})\b", newest("login code")).group(1)
wrong = "000000" if code != "000000" else "111111"
res = []
def guess(c): res.append((c == code, call("/login/code", {"email": "victim@example.com", "code": c})[0]))
ts = [threading.Thread(target=guess, args=(wrong,)) for _ in range(40)] + [threading.Thread(target=guess, args=(code,))]
[t.start() for t in ts]; [t.join() for t in ts]
print("code race:", {k: sum(1 for r in res if r == k) for k in set(res)})
# 3. huge and odd bodies
for body in [{"email": "x" * 900000}, {"email": ["list"]}, {"identifier": {"a": 1}}, {"token": "t" * 500000, "new_password": "p" * 500000}]:
    path = "/password/reset" if "token" in body else "/password/forgot"
    st, b = call(path, body); print(path, st, b[:80])
p.terminate(); p.wait()
print("5xx-free log:", "ERROR" not in open(d + "/log").read())
