#!/usr/bin/env python3
"""Asks a sansrpc HTTP endpoint for a big answer, gzip-compressed, with a
client nobody here wrote: Python's `requests`, which decodes it.

Usage: http_gzip_client.py URL       (e.g. http://127.0.0.1:7001/api)

The endpoint must serve `bigdata`, answering a text longer than its
compression threshold, and compress it (for clients that accept gzip).
Prints `PASS gzip bigdata <characters>` and exits 0, or prints FAIL and
exits 1.
"""

import sys

import requests

TIMEOUT = 10  # seconds: a hung server fails the check, not the run


def main(url):
    call = {"jsonrpc": "2.0", "method": "bigdata", "id": 1}
    # requests sends "Accept-Encoding: gzip, deflate" and decodes the body.
    response = requests.post(url, json=call, timeout=TIMEOUT, stream=True)
    wire = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding")
    if response.status_code != 200:
        return f"status {response.status_code}, want 200"
    if encoding != "gzip":
        return f"Content-Encoding {encoding!r}, want 'gzip'"
    if "Accept-Encoding" not in response.headers.get("Vary", ""):
        return f"Vary {response.headers.get('Vary')!r} does not name Accept-Encoding"
    # The same call again, decoded by requests as usual.
    decoded = requests.post(url, json=call, timeout=TIMEOUT)
    answer = decoded.json()
    text = answer.get("result")
    if not isinstance(text, str) or answer.get("id") != 1:
        return f"unexpected answer {answer!r}"
    if len(wire) >= len(decoded.content):
        return f"{len(wire)} bytes on the wire for {len(decoded.content)} decoded: not compressed"
    print(f"PASS gzip bigdata {len(text)} ({len(wire)} bytes on the wire for {len(decoded.content)})")
    return None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    failure = main(sys.argv[1])
    if failure:
        print(f"FAIL gzip bigdata: {failure}")
        sys.exit(1)
