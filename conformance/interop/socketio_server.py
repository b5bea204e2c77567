"""The origin's Socket.IO JSON-RPC server (shared/seeds/000: "JSON-RPC in
Python over Socket.io"), recreated for the conformance suite's
third-party expectations: Flask-SocketIO takes the `message` event and
returns `dispatch(methods, request)` as its acknowledgement.

Two changes from the 2016 text, both forced by today's libraries and
neither touching the JSON-RPC handling: jsonrpcserver 5 registers methods
with `@method` and returns `Success(...)`, and its `dispatch` takes the
request as text, so an object the client sent is turned back into JSON
first; and the address comes from the command line (the origin: port 5000).
Flask-SocketIO runs in its threading mode (simple-websocket) instead of
eventlet.

    python conformance/interop/socketio_server.py 127.0.0.1:5000
"""

import json
import sys

from flask import Flask
from flask_socketio import SocketIO
from jsonrpcserver import Success, dispatch, method

app = Flask(__name__)


@method
def ping():
    return Success("pong")


socketio = SocketIO(app, async_mode="threading")


@socketio.on("message")
def handle_message(request):
    if not isinstance(request, str):
        request = json.dumps(request)
    return dispatch(request)


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1) if len(sys.argv) > 1 else ("127.0.0.1", "5000")
    socketio.run(app, host=host, port=int(port), allow_unsafe_werkzeug=True)
