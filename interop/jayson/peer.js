// jayson (JSON-RPC 1.0/2.0 for Node) in version-1 mode, the third-party 1.0
// peer of sansrpc's interoperability tests (tests/tests/jayson_v1.rs).
//
//   node peer.js server HTTP_PORT TCP_PORT WS_PORT
//       A jayson version-1 server over HTTP (POST /), newline-delimited
//       TCP and WebSocket (one message per frame) on 127.0.0.1. Methods: echo([v]) -> v; hello([name]) ->
//       ["hi, " + name]; fail() -> error {code: 7, message: "seven"};
//       note([v]) stores v (send it as a notification); notes() -> the
//       stored values. Prints "ready" once all three listen.
//
//   node peer.js client URL
//       A jayson version-1 client (URL http://127.0.0.1:PORT/ or
//       tcp://127.0.0.1:PORT) calling a sansrpc server: prints one JSON line
//       per step, {"step", "error", "result"}, then "done".
"use strict";

const jayson = require("jayson");

const notes = [];
const methods = {
  echo: (args, cb) => cb(null, args[0]),
  hello: (args, cb) => cb(null, ["hi, " + args[0]]),
  fail: (_args, cb) => cb({ code: 7, message: "seven" }),
  note: (args, cb) => {
    notes.push(args[0]);
    cb(null, true);
  },
  notes: (_args, cb) => cb(null, notes.slice()),
};

function server(httpPort, tcpPort, wsPort) {
  const s = new jayson.Server(methods, { version: 1 });
  let listening = 0;
  const up = () => {
    listening += 1;
    if (listening === 3) console.log("ready");
  };
  s.http().listen(Number(httpPort), "127.0.0.1", up);
  s.tcp().listen(Number(tcpPort), "127.0.0.1", up);
  s.websocket({ port: Number(wsPort), host: "127.0.0.1" }).on("listening", up);
}

function client(url) {
  const u = new URL(url);
  const options = { host: u.hostname, port: Number(u.port), version: 1 };
  const c = u.protocol === "tcp:" ? jayson.Client.tcp(options) : jayson.Client.http({ ...options, path: u.pathname });
  const call = (method, params, id) =>
    new Promise((resolve) => {
      const done = (err, response) => resolve({ err, response });
      if (id === undefined) c.request(method, params, done);
      else c.request(method, params, id, done);
    });
  const steps = [
    ["echo", "echo", ["Hello JSON-RPC"], 1],
    ["subtract", "subtract", [42, 23], "s-1"],
    ["named", "subtract", { minuend: 42, subtrahend: 23 }, 3],
    ["unknown", "nope", [], 4],
    ["bad-params", "subtract", ["a", 1], 5],
    ["uuid-id", "ping", [], undefined],
    ["notification", "update", [1], null],
  ];
  (async () => {
    for (const [step, method, params, id] of steps) {
      const { err, response } = await call(method, params, id);
      // jayson passes the whole response object for version 1.
      const line = { step, transport: u.protocol.replace(":", "") };
      if (err) line.transportError = String(err.message ?? err);
      else line.response = response === undefined ? null : response;
      console.log(JSON.stringify(line));
    }
    console.log("done");
  })();
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "server") server(...args);
else if (mode === "client") client(...args);
else {
  console.error("usage: node peer.js server HTTP_PORT TCP_PORT WS_PORT | client URL");
  process.exit(2);
}
