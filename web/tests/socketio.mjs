// Headless-Chromium test of the Socket.IO examples (sansrpc-socketio's
// `socketio_ping`, the origin's page and server, and `socketio_warp`, the
// same page beside warp routes): for each NAME=PATH, start the server on a
// free 127.0.0.1 port, open its page, wait for "connected", click Ping, and
// require the exact line `<-- {"jsonrpc":"2.0","result":"pong","id":1}` in
// the browser console and in the page's log. The socket.io client comes
// from the server itself (npm package), so any request to another host
// fails the test. Screenshots: artifacts/browser-NAME.png.
//
//   node tests/socketio.mjs socketio_ping=/path/to/socketio_ping socketio_warp=/path/to/socketio_warp
//
// Exits non-zero if any server fails. Chromium: $CHROMIUM or /usr/bin/chromium.

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
const WANT = '<-- {"jsonrpc":"2.0","result":"pong","id":1}';

const port = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });

const listening = (p) =>
  new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port: p }, () => resolve(!!sock.destroy() || true));
    sock.once("error", () => resolve(false));
  });

async function check(browser, name, binary) {
  const p = await port();
  const child = spawn(binary, [`127.0.0.1:${p}`], { stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  let exited = null;
  child.once("exit", (code, signal) => (exited = { code, signal }));
  const page = await browser.newPage();
  try {
    const until = Date.now() + 30000;
    while (!(await listening(p))) {
      if (exited || Date.now() > until) throw new Error(`the server did not listen (${JSON.stringify(exited)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const problems = [];
    const consoleLines = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => {
      consoleLines.push(m.text());
      // Failed loads are reported with their URL by the response check.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
    });
    page.on("request", (r) => {
      const host = new URL(r.url()).host;
      if (host !== `127.0.0.1:${p}`) problems.push(`a request to another host: ${r.url()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    await page.goto(`http://127.0.0.1:${p}/`, { timeout: TIMEOUT_MS });
    await page.waitForFunction(() => document.getElementById("status").textContent === "connected", null, { timeout: TIMEOUT_MS });
    await page.click("button");
    await page.waitForFunction(() => document.getElementById("status").textContent === "pong", null, { timeout: TIMEOUT_MS });
    const log = (await page.textContent("#log")).split("\n");
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, `browser-${name}.png`), fullPage: true });
    if (!log.includes('--> {"jsonrpc":"2.0","method":"ping","id":1}')) throw new Error(`no --> line in the page log:\n${log.join("\n")}`);
    if (!log.includes(WANT)) throw new Error(`no "${WANT}" in the page log:\n${log.join("\n")}`);
    if (!consoleLines.includes(WANT)) throw new Error(`no "${WANT}" in the console:\n${consoleLines.join("\n")}`);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    console.log(`ok   ${name}: ${WANT}`);
  } catch (e) {
    throw new Error(`${name}: ${e.message}\n--- server output ---\n${output.join("")}`);
  } finally {
    await page.close();
    child.kill("SIGTERM");
  }
}

async function main() {
  const targets = process.argv.slice(2).map((a) => a.split(/=(.*)/s, 2));
  if (targets.length === 0 || targets.some((t) => t.length !== 2)) throw new Error("usage: node tests/socketio.mjs NAME=PATH...");
  const profile = mkdtempSync(path.join(os.tmpdir(), "sansrpc-chromium-socketio-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 900, height: 500 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  let failed = 0;
  try {
    for (const [name, binary] of targets) {
      try {
        await check(browser, name, binary);
      } catch (e) {
        failed += 1;
        console.error(`FAIL ${e.message}`);
      }
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (failed > 0) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
