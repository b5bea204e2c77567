#!/usr/bin/env python3
"""A JSON-RPC 2.0 client over TCP with newline framing, written with nothing
but the standard library, for checking a sansrpc stream server from outside.

Usage: tcp_client.py [HOST [PORT]]   (default 127.0.0.1 5000)

The server must serve the reference methods (`ping`, `subtract`). Prints one
PASS or FAIL line per check and exits 0 only when every check passed.
"""

import json
import socket
import sys

TIMEOUT_SECONDS = 10


def main() -> int:
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    checks = [
        ("ping", {"jsonrpc": "2.0", "method": "ping", "id": 1}, "pong"),
        (
            "subtract by position",
            {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 2},
            19,
        ),
        (
            "subtract by name",
            {
                "jsonrpc": "2.0",
                "method": "subtract",
                "params": {"subtrahend": 23, "minuend": 42},
                "id": "three",
            },
            19,
        ),
    ]
    failures = 0
    with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as sock:
        reader = sock.makefile("rb")
        for name, request, expected in checks:
            sock.sendall(json.dumps(request).encode() + b"\n")
            line = reader.readline()
            try:
                answer = json.loads(line)
            except ValueError:
                print(f"FAIL {name}: not JSON: {line!r}")
                failures += 1
                continue
            ok = (
                answer.get("jsonrpc") == "2.0"
                and answer.get("id") == request["id"]
                and answer.get("result") == expected
                and "error" not in answer
            )
            if ok:
                print(f"PASS {name}: {answer['result']!r}")
            else:
                print(f"FAIL {name}: expected result {expected!r}, got {answer!r}")
                failures += 1
        # A notification gets no answer: the next line answers the next call.
        sock.sendall(b'{"jsonrpc":"2.0","method":"update","params":[1]}\n')
        sock.sendall(b'{"jsonrpc":"2.0","method":"ping","id":4}\n')
        answer = json.loads(reader.readline())
        if answer.get("id") == 4 and answer.get("result") == "pong":
            print("PASS notification: no answer")
        else:
            print(f"FAIL notification: the line after it was {answer!r}")
            failures += 1
    print(f"tcp_client: {len(checks) + 1} checks, {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
