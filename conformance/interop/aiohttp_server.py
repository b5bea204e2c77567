"""A third-party JSON-RPC 2.0 server for sansrpc-conformance's interop test.

Python's `jsonrpcserver` (v5 API) behind `aiohttp`, set up as in the
jsonrpcserver aiohttp example, plus the methods of the JSON-RPC 2.0
specification's section-7 examples, so the `spec-examples` profile can run.

Usage:
    python aiohttp_server.py HOST:PORT [--tcp HOST:PORT]

HTTP: POST "/" (as in the example). With `--tcp`, the
same dispatcher is also served as newline-delimited JSON over TCP (one
message per line, one answer line; nothing is written for notifications).
"""
import asyncio
import sys

from aiohttp import web
from jsonrpcserver import Result, Success, async_dispatch, method


@method
async def ping() -> Result:
    return Success("pong")


# The methods of the specification's section-7 examples. Plain signatures:
# jsonrpcserver binds positional params to *args and named params to
# **kwargs and answers -32602 Invalid params itself when they do not fit.
@method
async def subtract(minuend, subtrahend) -> Result:
    return Success(minuend - subtrahend)


@method
async def sum(*values) -> Result:  # noqa: A001 - the spec's method name
    total = 0
    for value in values:
        total += value
    return Success(total)


@method
async def update(*values) -> Result:
    return Success(None)


@method
async def notify_hello(*values) -> Result:
    return Success(None)


@method
async def get_data() -> Result:
    return Success(["hello", 5])


async def handle(request: web.Request) -> web.Response:
    return web.Response(
        text=await async_dispatch(await request.text()),
        content_type="application/json",
    )


async def handle_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            response = await async_dispatch(line.decode("utf-8", errors="replace"))
            if response:
                writer.write(response.encode("utf-8") + b"\n")
                await writer.drain()
    except (ValueError, ConnectionError):
        pass  # a line over the reader's limit, or the peer went away
    finally:
        writer.close()


def split_host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def main(argv: list[str]) -> None:
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--tcp"):
        sys.exit(f"usage: {argv[0]} HOST:PORT [--tcp HOST:PORT]")
    host, port = split_host_port(argv[1])

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"http://{host}:{port}/", flush=True)

    if len(argv) == 4:
        tcp_host, tcp_port = split_host_port(argv[3])
        server = await asyncio.start_server(handle_tcp, tcp_host, tcp_port, limit=1 << 20)
        print(f"tcp://{tcp_host}:{tcp_port}", flush=True)
        await server.start_serving()

    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv))
    except KeyboardInterrupt:
        pass
