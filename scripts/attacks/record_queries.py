"""Attack run on §11 query inputs against a Keygate binary (embedded store).

Usage: python3 scripts/attacks/record_queries.py target/release/keygate [records]
Environment: ATTACK_SECONDS (40).

Watches /health latency and the server's resident memory while attackers send the largest,
most repeated query inputs the contract allows, and counts racing deletes."""
import json, os, random, string, sys, threading, time

from harness import Server

BIN = sys.argv[1]
RECORDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
server = Server(BIN)
call = server.call
call("POST", "/register", {"username": "attacker", "email": "a@example.com", "password": "vivid-otter-42-lamp"})
st, body = call("POST", "/login", {"username": "attacker", "password": "vivid-otter-42-lamp"})
token = json.loads(body)["access_token"]
auth = {"authorization": f"Bearer {token}"}
st, body = call("POST", "/create_api", {"api_name": "atk", "endpoints": ["items"], "json_schema": {"items": {"type": "object"}},
                                       "indexes": {"items": ["tag", "n", "big"]}}, auth)
assert st == 201, body
key = {"x-api-key": json.loads(body)["api_key"]}

def writer(lo, hi):
    for i in range(lo, hi):
        rec = {"tag": f"t{i % 1000}", "n": i, "big": ("b" * 990) + f"{i:010d}", "pad": "x" * 40}
        call("POST", "/api/atk/items", rec, key)
threads = [threading.Thread(target=writer, args=(k * RECORDS // 16, (k + 1) * RECORDS // 16)) for k in range(16)]
t0 = time.time(); [t.start() for t in threads]; [t.join() for t in threads]
print(f"wrote {RECORDS} records in {time.time() - t0:.1f} s")

rss_kib = server.rss_kib

stop = False
health = []; peak = [0]; statuses = {}
def monitor():
    while not stop:
        t = time.time(); call("GET", "/health"); health.append(time.time() - t)
        peak[0] = max(peak[0], rss_kib()); time.sleep(0.02)

def record(st):
    statuses[st] = statuses.get(st, 0) + 1

in30 = ",".join(f"t{i}" for i in range(30))
sixteen = "&".join([f"n[gte]=1", "n[lte]=100000000", "tag[ne]=zzz", "pad[exists]=true"] + [f"f{i}[exists]=false" for i in range(12)])
queries = [
    f"/api/atk/items?tag[in]={in30}&sort=n&limit=500",
    f"/api/atk/items?tag[in]={in30}&sort=-big&limit=500",
    f"/api/atk/items?n[gte]=1&n[lte]=100000000&n[ne]=5&tag[in]={in30}&big[gte]=b&big[lte]=c&tag[ne]=t1&big[ne]=x&n[gt]=0&n[lt]=99999999&tag[exists]=true&n[exists]=true&big[exists]=true&tag[gte]=t&tag[lte]=u&n[in]=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30&sort=n&limit=500",
    f"/api/atk/items?big[gte]={'b' * 990}&sort=big&count=true&limit=500",
    f"/api/atk/items?n[gte]=0&sort=n&count=true&limit=1",
    f"/api/atk/items?n[gte]=0&sort=-n&count=true&limit=500",
    f"/api/atk/items?fields=" + ",".join(f"f{i}" for i in range(20)) + "&sort=n&limit=500",
]
def attacker(k):
    rnd = random.Random(k)
    while not stop:
        q = rnd.choice(queries)
        st, body = call("GET", q, headers=key)
        record(st)
        if st == 200 and rnd.random() < 0.3:
            cur = json.loads(body).get("next_cursor")
            if cur:
                st, _ = call("GET", q + "&cursor=" + cur, headers=key); record(st)
        if rnd.random() < 0.1:
            forged = "".join(rnd.choice(string.ascii_letters + string.digits + "-_") for _ in range(rnd.choice([10, 1000, 4000])))
            st, _ = call("GET", q + "&cursor=" + forged, headers=key); record(st)

def deleter():
    # Races counts with deletes: removes records as counts run.
    st, body = call("GET", "/api/atk/items?n[lt]=2000&sort=n&limit=500", headers=key)
    ids = [r["record_id"] if "record_id" in r else r.get("id") for r in json.loads(body).get("data", json.loads(body).get("records", []))]
    for rid in ids:
        if stop: break
        st, _ = call("DELETE", f"/api/atk/items/{rid}", headers=key); record(("delete", st))

for q in queries:
    st, body = call("GET", q, headers=key)
    print(st, q[:70], body[:160])
mon = threading.Thread(target=monitor); mon.start()
base_health = []
time.sleep(2)
att = [threading.Thread(target=attacker, args=(k,)) for k in range(16)] + [threading.Thread(target=deleter)]
t0 = time.time(); [t.start() for t in att]
time.sleep(float(os.environ.get("ATTACK_SECONDS", "40")))
stop = True; [t.join() for t in att]; mon.join()
health.sort()
print("statuses", statuses)
print(f"/health samples {len(health)}: p50 {health[len(health)//2]*1000:.1f} ms, p99 {health[int(len(health)*0.99)]*1000:.1f} ms, max {health[-1]*1000:.1f} ms")
print(f"peak RSS {peak[0]/1024:.1f} MiB")
errs = server.stop()
print("server errors:", len(errs)); print("".join(errs[:5]))
