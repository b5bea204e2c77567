#!/usr/bin/env python3
"""Calls a sansrpc HTTP reference server with a client nobody here wrote.

Usage: http_client.py URL          (e.g. http://127.0.0.1:5000/)

The server must serve `sansrpc::reference::router()` at URL. Uses
jsonrpcclient 4 to build requests and parse responses, and `requests` for
HTTP. Prints PASS/FAIL per check and exits non-zero if any check failed.
"""

import sys

import requests
from jsonrpcclient import Error, Ok, notification, parse, request

TIMEOUT = 10  # seconds per HTTP call: a hung server fails the check, not the run


def call(url, payload):
    response = requests.post(url, json=payload, timeout=TIMEOUT)
    return response


def expect_ok(url, payload, want):
    response = call(url, payload)
    if response.status_code != 200:
        return f"status {response.status_code}, want 200"
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"content type {response.headers.get('Content-Type')!r}"
    parsed = parse(response.json())
    if not isinstance(parsed, Ok):
        return f"got {parsed!r}, want Ok({want!r})"
    if parsed.result != want or parsed.id != payload["id"]:
        return f"got {parsed!r}, want result {want!r} with id {payload['id']!r}"
    return None


def check_ping(url):
    return expect_ok(url, request("ping"), "pong")


def check_subtract_positional(url):
    return expect_ok(url, request("subtract", params=(42, 23)), 19)


def check_subtract_named(url):
    return expect_ok(url, request("subtract", params={"subtrahend": 23, "minuend": 42}), 19)


def check_method_not_found(url):
    payload = request("no_such_method")
    response = call(url, payload)
    if response.status_code != 200:
        return f"status {response.status_code}, want 200 (JSON-RPC errors are 200)"
    parsed = parse(response.json())
    if not isinstance(parsed, Error) or parsed.code != -32601 or parsed.id != payload["id"]:
        return f"got {parsed!r}, want Error(code=-32601)"
    return None


def check_notification(url):
    response = call(url, notification("update", params=(1, 2, 3)))
    if response.status_code != 204 or response.content != b"":
        return f"status {response.status_code} body {response.content!r}, want 204 and no body"
    return None


def check_batch(url):
    batch = [request("ping"), notification("update"), request("subtract", params=(1, 2))]
    response = call(url, batch)
    if response.status_code != 200:
        return f"status {response.status_code}, want 200"
    parsed = list(parse(response.json()))
    want = [Ok("pong", batch[0]["id"]), Ok(-1, batch[2]["id"])]
    if parsed != want:
        return f"got {parsed!r}, want {want!r}"
    return None


CHECKS = [
    ("ping", check_ping),
    ("subtract positional", check_subtract_positional),
    ("subtract named", check_subtract_named),
    ("method not found", check_method_not_found),
    ("notification", check_notification),
    ("batch", check_batch),
]


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url = sys.argv[1]
    failed = 0
    for name, check in CHECKS:
        try:
            problem = check(url)
        except Exception as e:  # a crash of one check is that check's failure
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {problem}")
    print(f"summary: {failed} of {len(CHECKS)} checks failed" if failed else f"summary: all {len(CHECKS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
