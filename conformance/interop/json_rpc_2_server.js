// A third-party JSON-RPC 2.0 server for sansrpc-conformance's interop test:
// json-rpc-2.0 (npm), set up as in its README (a `JSONRPCServer` with
// `addMethod`, every POST body handed to it, `204` when it returns no
// response), behind Node's own `http` module instead of express, with the
// methods of the JSON-RPC 2.0 specification's section-7 examples.
//
// Usage: node json_rpc_2_server.js HOST:PORT
//
// The README's express example parses the body with express.json() and
// calls `server.receive(body)`; here the raw body goes to
// `server.receiveJSON(text)`, the library's own entry point for JSON text,
// so parse errors are the library's answers, not a body parser's.
'use strict';

const http = require('http');
const { JSONRPCServer, JSONRPCErrorException, JSONRPCErrorCode } = require('json-rpc-2.0');

// The library hands params over as they came; a mismatch is answered with
// -32602 by throwing its JSONRPCErrorException, as its README shows.
function invalidParams() {
  throw new JSONRPCErrorException('Invalid params', JSONRPCErrorCode.InvalidParams);
}
const isNumber = (x) => typeof x === 'number';

const server = new JSONRPCServer();
server.addMethod('ping', () => 'pong');
server.addMethod('subtract', (params) => {
  if (Array.isArray(params) && params.length === 2 && params.every(isNumber)) {
    return params[0] - params[1];
  }
  if (params && !Array.isArray(params) && isNumber(params.minuend) && isNumber(params.subtrahend)) {
    return params.minuend - params.subtrahend;
  }
  return invalidParams();
});
server.addMethod('sum', (params) => {
  if (!Array.isArray(params) || !params.every(isNumber)) {
    return invalidParams();
  }
  return params.reduce((a, b) => a + b, 0);
});
server.addMethod('update', () => null);
server.addMethod('notify_hello', () => null);
server.addMethod('get_data', () => ['hello', 5]);

const [hostPort = ''] = process.argv.slice(2);
const i = hostPort.lastIndexOf(':');
const host = hostPort.slice(0, i) || '127.0.0.1';
const port = Number(hostPort.slice(i + 1));
if (!port) {
  console.error('usage: node json_rpc_2_server.js HOST:PORT');
  process.exit(2);
}

http
  .createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' });
      return res.end();
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      server.receiveJSON(text).then(
        (response) => {
          if (response) {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(response));
          } else {
            res.writeHead(204);
            res.end();
          }
        },
        (error) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
  })
  .listen(port, host, () => console.log(`http://${host}:${port}/`));
