"""Baseline for bench/redfish-poll: a Python Redfish client reading the same resources of N BMCs
as vpmd's poller (service root, Systems, Chassis, every Sensor, EnvironmentMetrics, Controls,
the LogServices entries of every manager and system), one session per BMC, with the same
number of BMCs in flight (threads): a cold sweep (login and walk), a warm one (the same
sessions walk again), and a cold one again with new sessions in the same process.

It uses DMTF's python-redfish-library (`import redfish`) when installed; otherwise the same
calls over python3-requests (what that library does underneath: a requests Session with
X-Auth-Token), and says which in its output. Reads JSON lines of {url} on stdin, prints one
JSON summary."""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

try:
    import redfish  # DMTF python-redfish-library

    LIBRARY = "python-redfish-library " + getattr(redfish, "__version__", "?")
except ImportError:
    redfish = None
    import requests

    LIBRARY = "python3-requests session (python-redfish-library not installed)"


class Client:
    def __init__(self, url, user, password):
        self.gets = 0
        if redfish is not None:
            self.c = redfish.redfish_client(base_url=url, username=user, password=password, timeout=10)
            self.c.login(auth="session")
        else:
            self.url = url
            self.s = requests.Session()
            r = self.s.post(url + "/redfish/v1/SessionService/Sessions",
                            json={"UserName": user, "Password": password}, timeout=10)
            r.raise_for_status()
            self.s.headers["X-Auth-Token"] = r.headers.get("X-Auth-Token", "")
            self.location = r.headers.get("Location")

    def get(self, uri):
        self.gets += 1
        if redfish is not None:
            r = self.c.get(uri)
            if r.status != 200:
                raise RuntimeError(f"GET {uri}: {r.status}")
            return r.dict
        r = self.s.get(self.url + uri, timeout=10)
        r.raise_for_status()
        return r.json()

    def logout(self):
        if redfish is not None:
            self.c.logout()
        elif self.location:
            self.s.delete(self.url + self.location, timeout=10)


def members(c):
    return [m["@odata.id"] for m in c.get("Members", [])]


def poll(c):
    t0 = time.perf_counter()
    gets0 = c.gets
    readings = 0
    root = c.get("/redfish/v1/")
    owners = []  # managers and systems: their LogServices are read, as vpmd reads them
    for s in members(c.get(root["Systems"]["@odata.id"])):
        owners.append(c.get(s))
    for ch in members(c.get(root["Chassis"]["@odata.id"])):
        body = c.get(ch)
        if "Sensors" in body:
            for s in members(c.get(body["Sensors"]["@odata.id"])):
                if c.get(s).get("Reading") is not None:
                    readings += 1
        if "EnvironmentMetrics" in body:
            c.get(body["EnvironmentMetrics"]["@odata.id"])
        if "Controls" in body:
            for x in members(c.get(body["Controls"]["@odata.id"])):
                c.get(x)
    for m in members(c.get(root["Managers"]["@odata.id"])):
        owners.insert(0, c.get(m))
    for mb in owners:
        if "LogServices" in mb:
            for ls in members(c.get(mb["LogServices"]["@odata.id"])):
                svc = c.get(ls)
                if "Entries" in svc:
                    c.get(svc["Entries"]["@odata.id"])
    return {"ms": (time.perf_counter() - t0) * 1000, "gets": c.gets - gets0, "readings": readings}


def cold(url, clients, i):
    t0 = time.perf_counter()
    clients[i] = Client(url, "Administrator", "Password")
    r = poll(clients[i])
    return {**r, "ms": (time.perf_counter() - t0) * 1000, "gets": r["gets"] + 1}


def sweep(pool, fn, n):
    cpu0 = os.times()
    t0 = time.perf_counter()
    results, failures = [], 0
    for f in [pool.submit(fn, i) for i in range(n)]:
        try:
            results.append(f.result())
        except Exception as e:  # noqa: BLE001 - a failed BMC is counted, not fatal
            failures += 1
            print(f"baseline: {e}", file=sys.stderr)
    cpu1 = os.times()
    return {
        "wallMs": (time.perf_counter() - t0) * 1000,
        "cpuMs": ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) * 1000,
        "failures": failures,
        "perBmcMs": [r["ms"] for r in results],
        "gets": sum(r["gets"] for r in results),
        "readings": sum(r["readings"] for r in results),
    }


def main():
    urls = [json.loads(line)["url"] for line in sys.stdin if line.strip()]
    concurrency = int(os.environ.get("CONCURRENCY", "16"))
    clients = [None] * len(urls)
    fresh = [None] * len(urls)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        first = sweep(pool, lambda i: cold(urls[i], clients, i), len(urls))
        # Steady state: the same session, the same walk (what such a poller does every interval).
        again = sweep(pool, lambda i: poll(clients[i]), len(urls))
        # New sessions in the same process (BMCs added or rediscovered in a running poller).
        renewed = sweep(pool, lambda i: cold(urls[i], fresh, i), len(urls))
        for c in clients + fresh:
            if c is not None:
                try:
                    c.logout()
                except Exception:  # noqa: BLE001 - best effort, as at any stop
                    pass
    print(json.dumps({"library": LIBRARY, "cold": first, "warm": again, "coldAgain": renewed}))

main()
