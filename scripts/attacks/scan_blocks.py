"""Attack run on queries no index serves (scan blocks) against a Keygate binary (embedded store).

Usage: python3 scripts/attacks/scan_blocks.py target/release/keygate
Environment: ATTACK_SECONDS (40), SMALL_RECORDS (8000), WIDE_RECORDS (200).

One unindexed endpoint just under `records.max_scan`: small records, and wide ones whose field
keys fill a block on their own (200 fields of 900 characters). While 16 threads scan it
(filters, unindexed sorts, counts, cursors), 4 threads race them: PATCHes that grow and shrink
records' field keys (block splits in the middle), deletes, and new records. /health latency and
the server's resident memory are watched throughout. At the end every record the script
believes live must be found by a scan that pages through all of them, and nothing else."""
import json, os, random, sys, threading, time

from harness import Server

BIN = sys.argv[1]
SMALL = int(os.environ.get("SMALL_RECORDS", "8000"))
WIDE = int(os.environ.get("WIDE_RECORDS", "200"))
server = Server(BIN)
call = server.call
call("POST", "/register", {"username": "attacker", "email": "a@example.com", "password": "vivid-otter-42-lamp"})
st, body = call("POST", "/login", {"username": "attacker", "password": "vivid-otter-42-lamp"})
auth = {"authorization": "Bearer " + json.loads(body)["access_token"]}
st, body = call("POST", "/create_api", {"api_name": "scn", "endpoints": ["items"],
                                        "json_schema": {"items": {"type": "object"}}}, auth)
assert st == 201, body
key = {"x-api-key": json.loads(body)["api_key"]}
PATH = "/api/scn/items"

live = set()
live_lock = threading.Lock()


def wide(i):
    return {"n": i, "tag": f"t{i % 100}", **{f"w{k}": f"{k:03d}" + "w" * 897 for k in range(200)}}


def small(i):
    return {"n": i, "tag": f"t{i % 100}", "pad": "the quick brown fox jumps over"}


def writer(k):
    for i in range(k, SMALL + WIDE, 16):
        st, body = call("POST", PATH, wide(i) if i % ((SMALL + WIDE) // max(WIDE, 1)) == 0 else small(i), key)
        assert st == 201, (st, body[:200])
        with live_lock:
            live.add(json.loads(body)["record_id"])


t0 = time.time()
threads = [threading.Thread(target=writer, args=(k,)) for k in range(16)]
[t.start() for t in threads]; [t.join() for t in threads]
print(f"wrote {len(live)} records in {time.time() - t0:.1f} s")


rss_kib = server.rss_kib


stop = False
health, peak, statuses = [], [0], {}
stat_lock = threading.Lock()


def record(what):
    with stat_lock:
        statuses[what] = statuses.get(what, 0) + 1


def monitor():
    while not stop:
        t = time.time(); call("GET", "/health"); health.append(time.time() - t)
        peak[0] = max(peak[0], rss_kib()); time.sleep(0.02)


queries = [
    f"{PATH}?tag=t7&limit=100",
    f"{PATH}?tag=nomatch&limit=20",
    f"{PATH}?sort=-n&limit=500",
    f"{PATH}?sort=w0&limit=50",
    f"{PATH}?w0[exists]=true&count=true&limit=5",
    f"{PATH}?n[gte]=100&sort=n&count=true&limit=200",
    f"{PATH}?w199[gte]=199&w0[lt]=z&tag[in]=" + ",".join(f"t{i}" for i in range(30)) + "&limit=50",
]


def scanner(k):
    rnd = random.Random(k)
    while not stop:
        q = rnd.choice(queries)
        st, body = call("GET", q, headers=key)
        record(st)
        if st == 200 and rnd.random() < 0.5:
            cursor = json.loads(body).get("next_cursor")
            if cursor:
                st, _ = call("GET", q + "&cursor=" + cursor, headers=key); record(st)


def racer(k):
    rnd = random.Random(100 + k)
    while not stop:
        with live_lock:
            victim = rnd.choice(sorted(live)) if live else None
        roll = rnd.random()
        if victim and roll < 0.45:
            # Grow or shrink the record's field keys: a wide record becomes small and back.
            patch = {f"w{j}": (None if rnd.random() < 0.5 else "z" * 900) for j in range(rnd.randrange(1, 120))}
            patch["n"] = rnd.randrange(10 ** 6)
            st, _ = call("PATCH", f"{PATH}/{victim}", patch, key); record(("patch", st))
        elif victim and roll < 0.7:
            with live_lock:
                live.discard(victim)
            st, _ = call("DELETE", f"{PATH}/{victim}", headers=key); record(("delete", st))
        else:
            st, body = call("POST", PATH, small(rnd.randrange(10 ** 6)), key); record(("post", st))
            if st == 201:
                with live_lock:
                    live.add(json.loads(body)["record_id"])


mon = threading.Thread(target=monitor); mon.start()
time.sleep(2)
attackers = [threading.Thread(target=scanner, args=(k,)) for k in range(16)] + \
            [threading.Thread(target=racer, args=(k,)) for k in range(4)]
[t.start() for t in attackers]
time.sleep(float(os.environ.get("ATTACK_SECONDS", "40")))
stop = True; [t.join() for t in attackers]; mon.join()

# Every live record, and nothing else, through a scan that pages (a condition every record
# meets, so the page ends early and cursors go on).
seen, cursor, pages = [], None, 0
while True:
    st, body = call("GET", f"{PATH}?n[exists]=true&limit=500" + (f"&cursor={cursor}" if cursor else ""), headers=key)
    assert st == 200, (st, body[:300])
    page = json.loads(body)
    seen += [r["record_id"] for r in page["records"]]
    pages += 1
    cursor = page.get("next_cursor")
    if not cursor:
        break
st, body = call("GET", f"{PATH}?n[exists]=true&count=true&limit=1", headers=key)
counted = json.loads(body).get("count", json.loads(body).get("total"))
health.sort()
print("statuses", statuses)
print(f"/health samples {len(health)}: p50 {health[len(health)//2]*1000:.1f} ms, "
      f"p99 {health[int(len(health)*0.99)]*1000:.1f} ms, max {health[-1]*1000:.1f} ms")
print(f"peak RSS {peak[0]/1024:.1f} MiB")
print(f"scan after the race: {len(seen)} records in {pages} pages, count {counted}, script believes {len(live)} live")
ok = sorted(seen) == sorted(live) and len(seen) == len(set(seen)) and counted == len(live)
print("scan agrees with the writes:", ok)
errors = server.stop()
print("server errors:", len(errors)); print("".join(errors[:5]))
sys.exit(0 if ok and not errors and not any(isinstance(k, int) and k >= 500 for k in statuses) else 1)
