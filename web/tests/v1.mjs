// Headless-Chromium test of the ported JSON-RPC 1.0 service (the warp
// `warp_v1_ws` example, web/v1.html, web/sansrpc.js in 1.0 mode): start the
// server on a free 127.0.0.1 port, open its page, and check that the page
// receives the server's `hi` notification, calls `hello` and gets
// ["hi, the page"], and answers the server's `ask` call later (on a click),
// which the server acknowledges with `thanks`. Every message on the wire
// must be in 1.0 form. Screenshot: artifacts/browser-v1.png.
//
//   node tests/v1.mjs /path/to/warp_v1_ws
//
// Exits non-zero on failure. Chromium: $CHROMIUM or /usr/bin/chromium.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.resolve(here, "../../artifacts");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TIMEOUT_MS = 15000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

async function main() {
  const binary = process.argv[2];
  if (!binary) throw new Error("usage: node tests/v1.mjs /path/to/warp_v1_ws");
  const port = await freePort();
  const child = spawn(binary, [`127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  let exited = null;
  child.once("exit", (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + 30000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`the server exited early (${JSON.stringify(exited)}):\n${output.join("")}`);
    if (Date.now() > deadline) throw new Error(`the server did not listen on ${port}:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), "sansrpc-chromium-v1-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1000, height: 720 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(`console: ${m.text()}`);
  });
  const text = (id) => page.textContent(`#${id}`);
  const waitText = (id, want) =>
    page.waitForFunction(([i, w]) => document.getElementById(i).textContent === w, [id, want], { timeout: TIMEOUT_MS });
  try {
    await page.goto(`http://127.0.0.1:${port}/`, { timeout: TIMEOUT_MS });
    await waitText("hi", "the server");
    await waitText("hello", '["hi, the page"]');
    await waitText("question", "what is your name?");
    // The server's call is still unanswered: nothing came back yet.
    if ((await text("thanks")) !== "nothing yet") throw new Error("thanks arrived before the page answered");
    await page.fill("#answer", "a deferred answer");
    await page.click("#reply");
    await waitText("thanks", "got: a deferred answer");

    const lines = (await text("log")).split("\n").filter((l) => l.length > 0);
    const messages = lines.filter((l) => /^(-->|<--) /.test(l)).map((l) => [l.slice(0, 3), JSON.parse(l.slice(4))]);
    const find = (dir, pred, what) => {
      const m = messages.find(([d, msg]) => d === dir && pred(msg));
      if (!m) throw new Error(`no ${dir} ${what} in the log:\n${lines.join("\n")}`);
      return m[1];
    };
    // Every message is 1.0: no jsonrpc member; requests carry params and id;
    // responses carry result, error and id.
    for (const [dir, msg] of messages) {
      if ("jsonrpc" in msg) throw new Error(`a 2.0 message on a 1.0 connection: ${dir} ${JSON.stringify(msg)}`);
      const keys = Object.keys(msg).sort().join(",");
      if (keys !== "id,method,params" && keys !== "error,id,result") {
        throw new Error(`not a 1.0 message: ${dir} ${JSON.stringify(msg)}`);
      }
    }
    find("<--", (m) => m.method === "hi" && m.id === null && m.params[0] === "the server", "hi notification");
    find("-->", (m) => m.method === "hello" && m.id === null && m.params[0] === "the client", "hello notification");
    const call = find("-->", (m) => m.method === "hello" && m.id !== null, "hello call");
    const answer = find("<--", (m) => m.id === call.id && "result" in m, "hello answer");
    if (JSON.stringify(answer) !== JSON.stringify({ result: ["hi, the page"], error: null, id: call.id })) {
      throw new Error(`unexpected hello answer ${JSON.stringify(answer)}`);
    }
    const ask = find("<--", (m) => m.method === "ask" && m.id !== null, "ask call");
    const reply = find("-->", (m) => m.id === ask.id && "result" in m, "deferred ask answer");
    if (JSON.stringify(reply) !== JSON.stringify({ result: ["a deferred answer"], error: null, id: ask.id })) {
      throw new Error(`unexpected ask answer ${JSON.stringify(reply)}`);
    }
    if (!output.join("").includes('the page answered ask: ["a deferred answer"]')) {
      throw new Error(`the server did not report the answer:\n${output.join("")}`);
    }
    if (pageErrors.length > 0) throw new Error(`errors in the page:\n${pageErrors.join("\n")}`);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "browser-v1.png"), fullPage: true });
    console.log(`ok   v1: hi received, hello -> ${JSON.stringify(answer)}, ask answered later -> ${JSON.stringify(reply)}`);
  } catch (e) {
    try {
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, "browser-v1-failed.png"), fullPage: true });
    } catch {
      // The page may be gone; the error says why.
    }
    throw new Error(`${e.message}\n--- server output ---\n${output.join("")}`);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    child.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(`FAIL v1: ${e.message ?? e}`);
  process.exit(1);
});
