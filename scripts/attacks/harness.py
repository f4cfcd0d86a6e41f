"""What the attack scripts share: a Keygate server of their own on a free loopback port with a
fresh data directory, a JSON caller, its resident memory, and its log's error lines."""
import json, os, socket, subprocess, tempfile, time, urllib.error, urllib.request


class Server:
    """`binary serve` in development mode on the embedded store, quotas lifted; `settings` are
    more environment variables."""

    def __init__(self, binary, **settings):
        self.data = tempfile.mkdtemp()
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        env = dict(os.environ, KEYGATE__ENVIRONMENT="development", KEYGATE__DATABASE__PATH=self.data,
                   KEYGATE__SERVER__PORT=str(port), KEYGATE__LIMITS__MAX_ENTRIES_PER_ACCOUNT="100000000",
                   KEYGATE__LIMITS__MAX_BYTES_PER_ACCOUNT="100000000000", RUST_LOG="warn", **settings)
        self.process = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=open(self.data + "/log", "w"))
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if self.call("GET", "/health")[0] == 200:
                    return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def call(self, method, path, body=None, headers=None, timeout=60):
        """(status, body bytes) of one request; `body` is sent as JSON."""
        req = urllib.request.Request(self.base + path, method=method, headers=headers or {},
                                     data=None if body is None else json.dumps(body).encode())
        if body is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def rss_kib(self):
        """The server's resident memory."""
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        """Stops the server; the ERROR and panic lines of its log."""
        self.process.terminate(); self.process.wait()
        return [line for line in open(self.data + "/log") if "ERROR" in line or "panicked" in line]
