#!/usr/bin/env python3
"""DMTF's own Redfish clients against vpmd, used the way their users use them.

python-redfish-library (`redfish.redfish_client`): session login, a collection with `$expand=.`
whose members come back in full, every sensor of every chassis in ONE request per chassis
(`Chassis/<id>/Sensors?$expand=.`) each with a Reading, logout (the token stops working).

Tacklebox's `redfish_utilities`, called as its scripts call them:
  rf_logs          get_log_entries + print_log_entries(details) for every log service of every
                   manager, system and chassis (the audit log included), --first/--max and
                   --starttime too
  rf_sys_inventory get_system_inventory + print_system_inventory (+ write_system_inventory)
  rf_sensor_list   get_sensors + print_sensors
  rf_accounts, rf_manager_config, rf_event_service, rf_certificates (Administrator),
  rf_boot_override (a system with Boot): their get_* and print_* calls
  rf_power_reset   get_system_reset_info (--info: ActionInfo's AllowableValues, PowerState);
                   system_reset only of the types named by --reset (each must be allowed);
                   a type the ActionInfo does NOT allow must be refused with the allowed list.
                   Nothing else is posted: this never powers off a host unless told to.

Prints one line per check and a summary; exits 1 on any failure, 2 on bad usage.
scripts/redfish-clients.sh runs it with the libraries vendored in
../shared/tools/redfish-conformance on PYTHONPATH.

usage: redfish-clients.py URL USER PASSWORD [--role ROLE] [--reset "On PowerCycle"]
"""
import argparse
import contextlib
import io
import os
import sys
import traceback

try:
    import redfish
    import redfish_utilities
except ImportError as e:
    print("redfish-clients: cannot import DMTF's libraries (%s): run it through scripts/redfish-clients.sh" % e)
    sys.exit(2)

# Types tried for the refusal check, the first one the ActionInfo does NOT offer: never an offered one.
REFUSAL_CANDIDATES = ["ForceOff", "GracefulShutdown", "PowerCycle", "ForceRestart", "Nmi", "PushPowerButton"]

failures = []
passes = []


def check(name):
    """Decorator: runs a check, records ok/FAIL with the exception, never stops the run."""

    def wrap(fn):
        def run(*args):
            try:
                detail = fn(*args)
                passes.append(name)
                print("ok   %s%s" % (name, ": " + detail if detail else ""))
            except Exception as e:  # every failure is reported, the next check still runs
                failures.append(name)
                print("FAIL %s: %s: %s" % (name, type(e).__name__, str(e).strip().replace("\n", "; ")))
                if args_ns.verbose:
                    traceback.print_exc()

        return run

    return wrap


def quiet(fn, *args, **kwargs):
    """Runs a Tacklebox print_* function, keeping its table (printed with --verbose)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args, **kwargs)
    if args_ns.verbose:
        sys.stdout.write(out.getvalue())
    return out.getvalue()


def ok_get(client, uri):
    r = client.get(uri)
    if r.status != 200:
        raise AssertionError("GET %s answered %d: %s" % (uri, r.status, r.text[:300]))
    return r.dict


def members(client, uri):
    return [m["@odata.id"] for m in ok_get(client, uri)["Members"]]


# --- python-redfish-library ---------------------------------------------------------------


@check("library: $expand=. returns every member of Chassis, Systems and Managers in full")
def expand_collections(client):
    counts = []
    for coll in ["/redfish/v1/Chassis", "/redfish/v1/Systems", "/redfish/v1/Managers"]:
        links = members(client, coll)
        for query in ["$expand=.", "$expand=*"]:
            body = ok_get(client, coll + "?" + query)
            got = body["Members"]
            assert [m["@odata.id"] for m in got] == links, "%s?%s: members %s, links %s" % (coll, query, got, links)
            for m in got:
                # An expanded member is the resource itself: its type and Id, not only a link.
                assert "Id" in m and "@odata.type" in m and "Collection" not in m["@odata.type"], (
                    "%s?%s: member not expanded: %s" % (coll, query, m)
                )
        counts.append("%s %d" % (coll.rsplit("/", 1)[1], len(links)))
    return ", ".join(counts)


@check("library: every sensor of every chassis in one request per chassis, each with a Reading")
def expand_sensors(client):
    chassis = members(client, "/redfish/v1/Chassis")
    total = with_value = 0
    for c in chassis:
        resource = ok_get(client, c)
        if "Sensors" not in resource:
            continue
        uri = resource["Sensors"]["@odata.id"]
        links = members(client, uri)
        body = ok_get(client, uri + "?$expand=.")
        got = body["Members"]
        # Every sensor listed a moment ago is in the one expanded reply (a new one may have come).
        missing = set(links) - set(m["@odata.id"] for m in got)
        assert len(got) == body["Members@odata.count"] and not missing, "%s: %d expanded, count %s, missing %s" % (
            uri,
            len(got),
            body.get("Members@odata.count"),
            sorted(missing),
        )
        assert "Members@odata.nextLink" not in body, "%s?$expand=.: paged, not one request" % uri
        for s in got:
            assert s["@odata.type"].startswith("#Sensor."), "%s: not a Sensor: %s" % (uri, s)
            assert "Reading" in s, "%s: no Reading" % s["@odata.id"]
            assert "ReadingUnits" in s or "ReadingType" in s, "%s: neither ReadingUnits nor ReadingType" % s["@odata.id"]
            with_value += isinstance(s["Reading"], (int, float))
        if got:
            # The expanded member is the same resource a GET of its own URI returns.
            one = ok_get(client, got[0]["@odata.id"])
            assert one["Id"] == got[0]["Id"] and one["@odata.type"] == got[0]["@odata.type"], got[0]["@odata.id"]
        total += len(got)
    assert total > 0, "no sensors in %d chassis" % len(chassis)
    return "%d sensors (%d with a numeric Reading) in %d requests" % (total, with_value, len(chassis))


@check("library: every sensor of the whole service in one request, $expand=.($levels=3) on Chassis")
def expand_all_sensors(client):
    # Chassis -> its Sensors collection -> each Sensor: three levels, one GET for a poller.
    per_chassis = {}
    for c in members(client, "/redfish/v1/Chassis"):
        resource = ok_get(client, c)
        if "Sensors" in resource:
            per_chassis[c] = set(members(client, resource["Sensors"]["@odata.id"]))
    body = ok_get(client, "/redfish/v1/Chassis?$expand=.($levels=3)")
    total = 0
    for c in body["Members"]:
        want = per_chassis.get(c["@odata.id"])
        if want is None:
            continue
        got = c.get("Sensors", {}).get("Members", [])
        ids = set(s["@odata.id"] for s in got)
        assert not (want - ids), "%s: sensors missing from the one reply: %s" % (c["@odata.id"], sorted(want - ids))
        for s in got:
            assert s.get("@odata.type", "").startswith("#Sensor.") and "Reading" in s, (
                "%s: not an expanded Sensor with a Reading" % s.get("@odata.id")
            )
        total += len(got)
    assert total > 0, "no sensors in the expanded Chassis collection"
    return "%d sensors in %d chassis, 1 request" % (total, len(per_chassis))


@check("library: logout ends the session (its token is refused afterwards)")
def logout(client, url):
    token = client.get_session_key()
    assert token, "no session token after login(auth='session')"
    client.logout()
    probe = redfish.redfish_client(base_url=url, timeout=15)
    r = probe.get("/redfish/v1/Chassis", headers={"X-Auth-Token": token})
    assert r.status == 401, "GET with the logged-out token answered %d" % r.status


# --- Tacklebox (redfish_utilities) ----------------------------------------------------------


@check("rf_logs: every log service of every manager, system and chassis, with details")
def logs(client):
    seen = []
    for container in redfish_utilities.log_container:
        root = ok_get(client, "/redfish/v1/")
        if container.value not in root:
            continue
        for uri in members(client, "/redfish/v1/" + container.value):
            cid = uri.rsplit("/", 1)[1]
            if "LogServices" not in ok_get(client, uri):
                continue
            cid, services = redfish_utilities.get_log_service_ids(client, container, cid)
            for sid in services:
                service = ok_get(client, "/redfish/v1/%s/%s/LogServices/%s" % (container.value, cid, sid))
                count = ok_get(client, service["Entries"]["@odata.id"])["Members@odata.count"]
                entries = redfish_utilities.get_log_entries(client, container, cid, sid)
                quiet(redfish_utilities.print_log_entries, entries, True)
                # Entries may be added meanwhile (each login is audited): at least the count before.
                assert len(entries) >= count, "%s/%s: %d entries read, count %d" % (
                    cid,
                    sid,
                    len(entries),
                    count,
                )
                seen.append("%s/%s %d" % (cid, sid, len(entries)))
                if len(entries) >= 3 and all("Created" in e for e in entries):
                    # rf_logs --first 1 --max 2, and --starttime of the second entry.
                    page = redfish_utilities.get_log_entries(client, container, cid, sid, first=1, max_entries=2)
                    assert [e["Id"] for e in page] == [e["Id"] for e in entries[1:3]], "%s --first 1 --max 2" % sid
                    start = entries[1]["Created"]
                    since = redfish_utilities.get_log_entries(client, container, cid, sid, start_time=start)
                    assert since and all(e["Created"] >= start for e in since), "%s --starttime %s" % (sid, start)
                    assert entries[0]["Id"] not in [e["Id"] for e in since] or entries[0]["Created"] >= start, sid
    assert any("AuditLog" in s for s in seen), "no AuditLog among %s" % seen
    return ", ".join(seen)


@check("rf_sys_inventory: get_system_inventory walks every chassis and system")
def inventory(client, outdir):
    inv = redfish_utilities.get_system_inventory(client)
    quiet(redfish_utilities.print_system_inventory, inv, True, False)
    items = sum(len(c[k]) for c in inv for k in c if isinstance(c[k], list))
    listed = [p["Uri"] for c in inv for p in c["Processors"]]
    processors = len(set(listed))
    sockets = sum(ok_get(client, s).get("ProcessorSummary", {}).get("Count", 0) for s in members(client, "/redfish/v1/Systems"))
    # A system that two chassis link is listed under each: the same processors twice. vpmd serves
    # the host's box as one chassis (its own BMC included), so every item must appear once.
    twice = sorted({u for u in listed if listed.count(u) > 1})
    assert not twice, "rf_sys_inventory lists %s under more than one chassis" % ", ".join(twice)
    assert processors == sockets, "%d processors in the inventory, ProcessorSummary.Count %d" % (processors, sockets)
    if outdir:
        # rf_sys_inventory --write: the utility writes "./NAME.xlsx", relative to the working folder.
        here = os.getcwd()
        os.chdir(outdir)
        try:
            redfish_utilities.write_system_inventory(inv, "inventory")
        finally:
            os.chdir(here)
    return "%d chassis, %d items, %d processor(s) as ProcessorSummary counts" % (len(inv), items, processors)


@check("rf_sensor_list: get_sensors reads every chassis")
def sensor_list(client):
    chassis = redfish_utilities.get_sensors(client)
    quiet(redfish_utilities.print_sensors, chassis)
    return "%d readings in %d chassis" % (sum(len(c["Readings"]) for c in chassis), len(chassis))


@check("rf_accounts, rf_manager_config, rf_event_service, rf_certificates, rf_boot_override: read and print")
def other_reads(client, role):
    done = []
    quiet(redfish_utilities.print_users, redfish_utilities.get_users(client))
    quiet(redfish_utilities.print_manager, redfish_utilities.get_manager(client))
    protocol = redfish_utilities.get_manager_network_protocol(client)
    quiet(redfish_utilities.print_manager_network_protocol, protocol)
    quiet(redfish_utilities.print_event_service, redfish_utilities.get_event_service(client))
    quiet(redfish_utilities.print_event_subscriptions, redfish_utilities.get_event_subscriptions(client))
    done += ["accounts", "manager", "network protocol", "event service"]
    # The HTTPS certificate is ConfigureManager's (DMTF's privilege registry): only it sees it.
    if role == "Administrator":
        certs = redfish_utilities.get_all_certificates(client)
        quiet(redfish_utilities.print_certificates, certs)
        assert certs, "no certificate listed"
        done.append("%d certificate(s)" % len(certs))
    if "Boot" in redfish_utilities.get_system(client).dict:
        quiet(redfish_utilities.print_system_boot, redfish_utilities.get_system_boot(client))
        done.append("boot override")
    return ", ".join(done)


def reset_info(client):
    system = redfish_utilities.get_system(client)
    uri, params = redfish_utilities.get_system_reset_info(client, None, system)
    allowed = next(p.get("AllowableValues", []) for p in params if p["Name"] == "ResetType")
    return system, allowed


@check("rf_power_reset --info: ResetType AllowableValues from the ActionInfo")
def reset_types(client):
    system, allowed = reset_info(client)
    assert allowed, "no AllowableValues for ResetType"
    unknown = [t for t in allowed if t not in redfish_utilities.reset_types]
    assert not unknown, "not DMTF ResetTypes: %s" % unknown
    return "%s; PowerState %s" % (", ".join(allowed), system.dict.get("PowerState"))


def power_state(client):
    return ok_get(client, redfish_utilities.get_system(client).dict["@odata.id"]).get("PowerState")


def do_reset(client, reset_type):
    @check("rf_power_reset --type %s: done" % reset_type)
    def run(client):
        _, allowed = reset_info(client)
        assert reset_type in allowed, "%s is not offered (AllowableValues %s)" % (reset_type, allowed)
        response = redfish_utilities.system_reset(client, None, reset_type)
        response = redfish_utilities.poll_task_monitor(client, response)
        redfish_utilities.verify_response(response)
        chassis = ", ".join(
            "%s %s" % (c.rsplit("/", 1)[1], ok_get(client, c).get("PowerState")) for c in members(client, "/redfish/v1/Chassis")
        )
        return "answered %d; PowerState now: system %s, chassis %s" % (response.status, power_state(client), chassis)

    run(client)


@check("rf_power_reset: a type the ActionInfo does not offer is refused, naming the offered ones")
def refused(client):
    _, allowed = reset_info(client)
    candidates = [t for t in REFUSAL_CANDIDATES if t not in allowed]
    assert candidates, "every candidate is offered (%s): nothing safe to try" % allowed
    t = candidates[0]
    try:
        redfish_utilities.system_reset(client, None, t)
    except Exception as e:
        text = str(e)
        want = "Supported reset types: " + ", ".join(allowed)
        assert want in text, "%s refused without %r: %s" % (t, want, text)
        return "%s refused (400), %s" % (t, want)
    raise AssertionError("%s was accepted though not in AllowableValues %s" % (t, allowed))


@check("rf_power_reset as ReadOnly: refused for want of privilege (403)")
def refused_read_only(client):
    _, allowed = reset_info(client)
    t = allowed[0]
    try:
        redfish_utilities.system_reset(client, None, t)
    except Exception as e:
        assert "403" in str(e) or "InsufficientPrivilege" in str(e), "%s refused, but not for privilege: %s" % (t, e)
        return "%s refused: %s" % (t, str(e).splitlines()[0][:120])
    raise AssertionError("a ReadOnly account did %s" % t)


def main():
    global args_ns
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--role", default="Administrator", help="the account's role (ReadOnly: no reset is tried)")
    p.add_argument("--reset", default="", help="reset types to do through system_reset (only safe ones!)")
    p.add_argument("--out", help="folder for rf_sys_inventory's spreadsheet")
    p.add_argument("--verbose", action="store_true", help="print the Tacklebox tables and tracebacks")
    args_ns = p.parse_args()

    client = redfish.redfish_client(
        base_url=args_ns.url, username=args_ns.user, password=args_ns.password, timeout=30, max_retry=3
    )
    client.login(auth="session")
    print("ok   library: session login as %s (%s)" % (args_ns.user, args_ns.role))
    passes.append("login")
    try:
        expand_collections(client)
        expand_sensors(client)
        expand_all_sensors(client)
        logs(client)
        inventory(client, args_ns.out)
        sensor_list(client)
        other_reads(client, args_ns.role)
        reset_types(client)
        if args_ns.role in ("Administrator", "Operator"):
            refused(client)
            for t in args_ns.reset.split():
                do_reset(client, t)
        elif args_ns.role == "ReadOnly":
            refused_read_only(client)
    finally:
        logout(client, args_ns.url)
    print(
        "%s: %d checks passed, %d failed%s"
        % (
            "redfish clients" if not failures else "FAIL redfish clients",
            len(passes),
            len(failures),
            " (" + "; ".join(failures) + ")" if failures else "",
        )
    )
    return 1 if failures else 0


args_ns = None
if __name__ == "__main__":
    sys.exit(main())
