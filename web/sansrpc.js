// sansrpc.js — a small JSON-RPC 2.0 client for browsers, over WebSocket.
//
// One JSON-RPC message per text frame. Calls, notifications and batches to
// the server; methods the server may call (or notify) on the page. No
// build step: import it as an ES module.
//
//   import { connect } from "/sansrpc.js";
//   const rpc = await connect("ws://127.0.0.1:5000/ws");
//   rpc.register("page.info", () => ({ title: document.title }));
//   console.log(await rpc.call("ping"));           // "pong"
//   rpc.notify("log", ["hello"]);
//   const [a, b] = await rpc.batch([{ method: "ping" }, { method: "sum", params: [1, 2] }]);

/** An error object received from the peer (or made locally for timeouts). */
export class JsonRpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "JsonRpcError";
    this.code = code;
    this.data = data;
  }
}

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INTERNAL_ERROR = -32603;

function isRequest(m) {
  return m !== null && typeof m === "object" && typeof m.method === "string";
}

function isResponse(m) {
  return m !== null && typeof m === "object" && !("method" in m) && ("result" in m || "error" in m);
}

/** A JSON-RPC connection over one WebSocket. */
export class Client {
  /**
   * @param {WebSocket} socket an open (or opening) WebSocket
   * @param {{timeoutMs?: number, log?: (direction: string, text: string) => void}} options
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.log = options.log ?? (() => {});
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.methods = new Map();
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (ev) => {
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new JsonRpcError(INTERNAL_ERROR, "connection closed", { code: ev.code }));
        }
        this.pending.clear();
        resolve(ev);
      });
    });
    socket.addEventListener("message", (ev) => this._receive(ev.data));
  }

  /** Registers `handler(params)` for calls and notifications from the server. */
  register(method, handler) {
    this.methods.set(method, handler);
    return this;
  }

  _send(message) {
    const text = JSON.stringify(message);
    this.log("-->", text);
    this.socket.send(text);
  }

  _expect(id, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new JsonRpcError(INTERNAL_ERROR, `no answer within ${timeoutMs} ms`, { id }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /** Calls `method`; resolves with the result, rejects with a JsonRpcError. */
  call(method, params, { timeoutMs = this.timeoutMs } = {}) {
    const id = this.nextId++;
    const answer = this._expect(id, timeoutMs).then((r) => {
      if ("error" in r) throw new JsonRpcError(r.error.code, r.error.message, r.error.data);
      return r.result;
    });
    this._send(params === undefined ? { jsonrpc: "2.0", method, id } : { jsonrpc: "2.0", method, params, id });
    return answer;
  }

  /** Sends a notification: nothing comes back. */
  notify(method, params) {
    this._send(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /**
   * Sends a batch of `{method, params, notification}` entries; resolves with
   * one entry per call, in order: the result, or a JsonRpcError.
   */
  async batch(entries, { timeoutMs = this.timeoutMs } = {}) {
    const requests = [];
    const answers = [];
    for (const e of entries) {
      const req = { jsonrpc: "2.0", method: e.method };
      if (e.params !== undefined) req.params = e.params;
      if (!e.notification) {
        req.id = this.nextId++;
        answers.push(
          this._expect(req.id, timeoutMs).then((r) =>
            "error" in r ? new JsonRpcError(r.error.code, r.error.message, r.error.data) : r.result,
          ),
        );
      }
      requests.push(req);
    }
    if (requests.length === 0) throw new JsonRpcError(INVALID_REQUEST, "a batch needs at least one entry");
    this._send(requests);
    return Promise.all(answers);
  }

  /** Closes the connection. */
  close(code = 1000, reason = "") {
    this.socket.close(code, reason);
    return this.closed;
  }

  async _receive(text) {
    this.log("<--", text);
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this._send({ jsonrpc: "2.0", error: { code: PARSE_ERROR, message: "Parse error" }, id: null });
      return;
    }
    const entries = Array.isArray(message) ? message : [message];
    const answers = [];
    for (const m of entries) {
      if (isResponse(m)) {
        const p = this.pending.get(m.id);
        if (p) {
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          p.resolve(m);
        }
      } else if (isRequest(m)) {
        answers.push(this._serve(m));
      } else {
        answers.push(Promise.resolve({ jsonrpc: "2.0", error: { code: INVALID_REQUEST, message: "Invalid Request" }, id: null }));
      }
    }
    const out = (await Promise.all(answers)).filter((a) => a !== null);
    if (out.length > 0) this._send(Array.isArray(message) ? out : out[0]);
  }

  async _serve(request) {
    const isCall = "id" in request;
    const handler = this.methods.get(request.method);
    let response;
    if (!handler) {
      response = { jsonrpc: "2.0", error: { code: METHOD_NOT_FOUND, message: "Method not found" }, id: request.id };
    } else {
      try {
        const result = await handler(request.params);
        response = { jsonrpc: "2.0", result: result === undefined ? null : result, id: request.id };
      } catch (e) {
        const err = e instanceof JsonRpcError
          ? { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) }
          : { code: INTERNAL_ERROR, message: "Internal error", data: String(e) };
        response = { jsonrpc: "2.0", error: err, id: request.id };
      }
    }
    return isCall ? response : null;
  }
}

/** Opens a WebSocket to `url` and resolves with a Client once it is open. */
export function connect(url, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const client = new Client(socket, options);
    socket.addEventListener("open", () => resolve(client), { once: true });
    socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
  });
}
