// socket.io-client 4 (npm) against a sansrpc Socket.IO server: one JSON line
// per exchange on stdout, which adapters/socketio/tests/interop.rs compares
// byte for byte. Also answers the server's call to the page (`page.add`).
//
//   node tests/socketio_client.mjs http://127.0.0.1:PORT websocket|polling
import { io } from "socket.io-client";

const [url, transport] = process.argv.slice(2);
const socket = io(url, { transports: [transport], upgrade: false, reconnection: false, timeout: 10000 });
const out = (label, value) => console.log(`${label} ${JSON.stringify(value)}`);

// The server calls the page: the ack is the answer.
socket.on("message", (request, ack) => {
  out("called", request);
  if (typeof ack === "function") {
    ack({ jsonrpc: "2.0", result: request.params[0] + request.params[1], id: request.id });
  }
});

socket.on("connect_error", (e) => {
  console.error(`connect_error: ${e.message}`);
  process.exit(2);
});

socket.on("connect", async () => {
  out("transport", socket.io.engine.transport.name);
  // The origin page's call: send(msg, ack).
  await new Promise((resolve) =>
    socket.send({ jsonrpc: "2.0", method: "ping", id: 1 }, (response) => {
      out("send", response);
      resolve();
    }),
  );
  out("emitWithAck", await socket.emitWithAck("message", { jsonrpc: "2.0", method: "subtract", params: [42, 23], id: 2 }));
  out(
    "batch",
    await socket.emitWithAck("message", [
      { jsonrpc: "2.0", method: "sum", params: [1, 2, 4], id: "1" },
      { jsonrpc: "2.0", method: "notify_hello", params: [7] },
      { jsonrpc: "2.0", method: "foo.get", params: { name: "myself" }, id: "5" },
    ]),
  );
  out("notification", (await socket.emitWithAck("message", { jsonrpc: "2.0", method: "notify_hello", params: [7] })) ?? null);
  out("string", await socket.emitWithAck("message", JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 3 })));
  out("parse-error", await socket.emitWithAck("message", "{not json"));
  out("both-ways", await socket.emitWithAck("message", { jsonrpc: "2.0", method: "ask_page", id: 4 }));
  socket.disconnect();
  process.exit(0);
});

setTimeout(() => {
  console.error("timed out");
  process.exit(3);
}, 20000);
