#!/usr/bin/env python3
"""DMTF's python-redfish-library against vpmd: log in with a session, read the sensor collection
of every chassis with $expand in one request each, check that every sensor came back in full
(@odata.type Sensor, Reading, ReadingUnits), and log out. scripts/redfish-conformance.sh runs it
with the library vendored beside DMTF's validators (Debian does not package it).
usage: redfish-client-check.py URL USER PASSWORD"""
import sys

import redfish

url, user, password = sys.argv[1:4]
client = redfish.redfish_client(base_url=url, username=user, password=password, default_prefix="/redfish/v1/")
client.login(auth="session")
try:
    chassis = client.get("/redfish/v1/Chassis")
    assert chassis.status == 200, chassis.text
    total = 0
    for member in chassis.dict["Members"]:
        sensors = member["@odata.id"] + "/Sensors"
        links = client.get(sensors)
        expanded = client.get(sensors + "?$expand=.")
        assert expanded.status == 200, expanded.text
        body = expanded.dict
        assert body["Members@odata.count"] == links.dict["Members@odata.count"] == len(body["Members"]), sensors
        for s in body["Members"]:
            assert s["@odata.type"].startswith("#Sensor."), s
            assert "Reading" in s and "ReadingUnits" in s, s
        total += len(body["Members"])
    assert total > 0, "no sensors"
    print("python-redfish-library: session login, %d sensors read in %d expanded requests" % (total, len(chassis.dict["Members"])))
finally:
    client.logout()
