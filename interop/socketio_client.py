"""python-socketio's client (PyPI) against a sansrpc Socket.IO server.

One JSON line per exchange on stdout, compared byte for byte by
adapters/socketio/tests/interop.rs. Also answers the server's call to the
page (`page.add`): a python-socketio handler's return value is the ack.

    python interop/socketio_client.py http://127.0.0.1:PORT websocket|polling
"""

import json
import sys

import socketio


def out(label, value):
    print(label, json.dumps(value, separators=(",", ":")), flush=True)


def main():
    url, transport = sys.argv[1], sys.argv[2]
    sio = socketio.Client(reconnection=False)

    @sio.on("message")
    def on_message(request):
        out("called", request)
        return {"jsonrpc": "2.0", "result": request["params"][0] + request["params"][1], "id": request["id"]}

    sio.connect(url, transports=[transport], wait_timeout=10)
    out("transport", sio.transport())
    out("ping", sio.call("message", {"jsonrpc": "2.0", "method": "ping", "id": 1}, timeout=10))
    out(
        "batch",
        sio.call(
            "message",
            [
                {"jsonrpc": "2.0", "method": "sum", "params": [1, 2, 4], "id": "1"},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": "2"},
            ],
            timeout=10,
        ),
    )
    out("notification", sio.call("message", {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}, timeout=10))
    out("string", sio.call("message", json.dumps({"jsonrpc": "2.0", "method": "ping", "id": 3}), timeout=10))
    out("both-ways", sio.call("message", {"jsonrpc": "2.0", "method": "ask_page", "id": 4}, timeout=10))
    sio.disconnect()


if __name__ == "__main__":
    main()
