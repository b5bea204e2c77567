// A third-party JSON-RPC 2.0 server for sansrpc-conformance's interop test:
// jayson (npm), set up as in its README (`jayson.server({...})`, then
// `server.http().listen(...)` and `server.tcp().listen(...)`), with the
// methods of the JSON-RPC 2.0 specification's section-7 examples so the
// `spec-examples` profile can run.
//
// Usage: node jayson_server.js --http HOST:PORT [--tcp HOST:PORT]
//
// HTTP: POST to any path. TCP: jayson's own newline-delimited stream server.
'use strict';

const jayson = require('jayson');

// jayson passes positional params as an array and named params as an
// object; an unexpected shape is answered with -32602 Invalid params.
function invalidParams(server, callback) {
  return callback(server.error(-32602, 'Invalid params'));
}

const isNumber = (x) => typeof x === 'number';

const server = new jayson.Server({
  ping(args, callback) {
    callback(null, 'pong');
  },
  subtract(args, callback) {
    if (Array.isArray(args) && args.length === 2 && args.every(isNumber)) {
      return callback(null, args[0] - args[1]);
    }
    if (args && !Array.isArray(args) && isNumber(args.minuend) && isNumber(args.subtrahend)) {
      return callback(null, args.minuend - args.subtrahend);
    }
    return invalidParams(server, callback);
  },
  sum(args, callback) {
    if (!Array.isArray(args) || !args.every(isNumber)) {
      return invalidParams(server, callback);
    }
    callback(null, args.reduce((a, b) => a + b, 0));
  },
  update(args, callback) {
    callback(null, null);
  },
  notify_hello(args, callback) {
    callback(null, null);
  },
  get_data(args, callback) {
    callback(null, ['hello', 5]);
  },
});

function hostPort(text) {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i) || '127.0.0.1', port: Number(text.slice(i + 1)) };
}

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const { host, port } = hostPort(argv[i + 1] || '');
  if (argv[i] === '--http') {
    server.http().listen(port, host, () => console.log(`http://${host}:${port}/`));
  } else if (argv[i] === '--tcp') {
    server.tcp().listen(port, host, () => console.log(`tcp://${host}:${port}`));
  } else {
    console.error('usage: node jayson_server.js --http HOST:PORT [--tcp HOST:PORT]');
    process.exit(2);
  }
}
