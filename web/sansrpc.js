// sansrpc.js — a small JSON-RPC 2.0 (and 1.0) client for browsers, over WebSocket.
//
// One JSON-RPC message per text frame. Calls, notifications and batches to
// the server; methods the server may call (or notify) on the page. No
// build step: import it as an ES module.
//
// JSON-RPC 1.0: `connect(url, { version: 1 })`. Requests are then
// `{method, params: [...], id}` (params always an array), notifications carry
// `"id": null`, answers both ways are `{result, error, id}` with one of
// `result`/`error` null, and batches are refused (1.0 has none). As in the
// 1.0 origin library, `request(method, params, callback)` hands the callback
// `(result, error)`, and a handler may return `DEFER` to answer later with
// `respond(id, result, error)`; the id is in the handler's second argument.
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

/** Returned by a handler: no answer now; send it later with `respond(id, ...)`. */
export const DEFER = Symbol("sansrpc.defer");

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
   * @param {{timeoutMs?: number, version?: 1 | 2, log?: (direction: string, text: string) => void}} options
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.version = options.version === 1 ? 1 : 2;
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

  /** The error of a response, as a JsonRpcError, or null on success. */
  _errorOf(r) {
    if (this.version === 1) {
      // 1.0: any non-null value is an error; sansrpc sends {code, message}.
      if (r.error === undefined || r.error === null) return null;
      const e = r.error;
      if (typeof e === "object" && typeof e.code === "number" && typeof e.message === "string") {
        return new JsonRpcError(e.code, e.message, e.data);
      }
      return new JsonRpcError(-32000, typeof e === "string" ? e : "Server error", e);
    }
    return "error" in r ? new JsonRpcError(r.error.code, r.error.message, r.error.data) : null;
  }

  /** A request in this client's version; `id` undefined makes a notification. */
  _request(method, params, id) {
    if (this.version === 1) {
      return { method, params: params === undefined ? [] : params, id: id === undefined ? null : id };
    }
    const req = { jsonrpc: "2.0", method };
    if (params !== undefined) req.params = params;
    if (id !== undefined) req.id = id;
    return req;
  }

  /** A response in this client's version: `error` null for success. */
  _response(id, result, error) {
    if (this.version === 1) {
      return error === null || error === undefined
        ? { result: result === undefined ? null : result, error: null, id }
        : { result: null, error, id };
    }
    return error === null || error === undefined
      ? { jsonrpc: "2.0", result: result === undefined ? null : result, id }
      : { jsonrpc: "2.0", error, id };
  }

  /** Calls `method`; resolves with the result, rejects with a JsonRpcError. */
  call(method, params, { timeoutMs = this.timeoutMs } = {}) {
    const id = this.nextId++;
    const answer = this._expect(id, timeoutMs).then((r) => {
      const error = this._errorOf(r);
      if (error) throw error;
      return r.result;
    });
    this._send(this._request(method, params, id));
    return answer;
  }

  /**
   * Calls `method` the 1.0 origin's way: `callback(result, error)` gets the
   * result and `null`, or `null` and the error (a JsonRpcError).
   */
  request(method, params, callback = () => {}, options = {}) {
    this.call(method, params, options).then(
      (result) => callback(result, null),
      (error) => callback(null, error),
    );
  }

  /** Sends a notification: nothing comes back. */
  notify(method, params) {
    this._send(this._request(method, params, undefined));
  }

  /**
   * Answers the server's call `id` whose handler returned DEFER: `error`
   * null (or omitted) sends `result`, otherwise the error (a JsonRpcError or
   * a `{code, message, data}` object).
   */
  respond(id, result, error = null) {
    const e = error instanceof JsonRpcError
      ? { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) }
      : error;
    this._send(this._response(id, result, e));
  }

  /**
   * Sends a batch of `{method, params, notification}` entries; resolves with
   * one entry per call, in order: the result, or a JsonRpcError.
   */
  async batch(entries, { timeoutMs = this.timeoutMs } = {}) {
    if (this.version === 1) throw new JsonRpcError(INVALID_REQUEST, "JSON-RPC 1.0 has no batches");
    const requests = [];
    const answers = [];
    for (const e of entries) {
      const req = { jsonrpc: "2.0", method: e.method };
      if (e.params !== undefined) req.params = e.params;
      if (!e.notification) {
        req.id = this.nextId++;
        answers.push(
          this._expect(req.id, timeoutMs).then((r) => this._errorOf(r) ?? r.result),
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
      this._send(this._response(null, null, { code: PARSE_ERROR, message: "Parse error" }));
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
        answers.push(Promise.resolve(this._response(null, null, { code: INVALID_REQUEST, message: "Invalid Request" })));
      }
    }
    const out = (await Promise.all(answers)).filter((a) => a !== null);
    if (out.length > 0) this._send(Array.isArray(message) ? out : out[0]);
  }

  async _serve(request) {
    // 2.0: a request without an id is a notification; 1.0: one whose id is null.
    const isCall = this.version === 1 ? request.id !== null && request.id !== undefined : "id" in request;
    const handler = this.methods.get(request.method);
    let response;
    if (!handler) {
      response = this._response(request.id, null, { code: METHOD_NOT_FOUND, message: "Method not found" });
    } else {
      try {
        const result = await handler(request.params, { id: isCall ? request.id : undefined, method: request.method });
        // Deferred: the page answers later with respond(id, ...).
        if (result === DEFER) return null;
        response = this._response(request.id, result, null);
      } catch (e) {
        const err = e instanceof JsonRpcError
          ? { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) }
          : { code: INTERNAL_ERROR, message: "Internal error", data: String(e) };
        response = this._response(request.id, null, err);
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
