// Headless-Chromium test of the web examples: for each server binary given
// as NAME=PATH, start it on a free 127.0.0.1 port, open its page, wait for
// the server-pushed notice, click Ping, see "pong" in the status and the
// `<--` log line, and save a screenshot to artifacts/browser-NAME.png.
//
//   node tests/browser.mjs warp=/path/to/web-warp actix=/path/to/web-actix
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

/** Starts `binary ADDR`; resolves once its port accepts connections. */
async function startServer(name, binary) {
  const port = await freePort();
  const child = spawn(binary, [`127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  let exited = null;
  child.once("exit", (code, signal) => (exited = { code, signal }));
  child.once("error", (e) => (exited = { error: String(e) }));
  const deadline = Date.now() + 30000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`${name}: the server exited early (${JSON.stringify(exited)}):\n${output.join("")}`);
    if (Date.now() > deadline) throw new Error(`${name}: the server did not listen on ${port}:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child, output };
}

async function check(browser, name, binary) {
  // A failure screenshot from an earlier run would mislead.
  rmSync(path.join(artifacts, `browser-${name}-failed.png`), { force: true });
  const server = await startServer(name, binary);
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    // Failed loads are reported with their URL below.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      pageErrors.push(`console: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    // The examples serve no favicon; the browser asks anyway.
    if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") {
      pageErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    }
  });
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    await page.goto(url, { timeout: TIMEOUT_MS });
    await page.waitForFunction(() => document.getElementById("status").textContent === "connected", null, {
      timeout: TIMEOUT_MS,
    });
    // Pushed by the server on connect, after it called the page's page.info.
    await page.waitForFunction(
      () => document.getElementById("notice").textContent.startsWith("hello from sansrpc-"),
      null,
      { timeout: TIMEOUT_MS },
    );
    await page.click("#ping");
    await page.waitForFunction(() => document.getElementById("status").textContent === "pong", null, {
      timeout: TIMEOUT_MS,
    });
    const log = await page.textContent("#log");
    const lines = log.split("\n");
    const sent = lines.find((l) => l.startsWith("--> ") && l.includes('"method":"ping"'));
    const got = lines.find((l) => l.startsWith("<-- ") && l.includes('"result":"pong"'));
    const called = lines.find((l) => l.startsWith("<-- ") && l.includes('"method":"page.info"'));
    const notice = await page.textContent("#notice");
    mkdirSync(artifacts, { recursive: true });
    const shot = path.join(artifacts, `browser-${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    if (!sent) throw new Error(`${name}: no "--> ... ping" line in the log:\n${log}`);
    if (!got) throw new Error(`${name}: no "<-- ... pong" line in the log:\n${log}`);
    if (!called) throw new Error(`${name}: the server's page.info call is not in the log:\n${log}`);
    if (!notice.includes("page.info")) throw new Error(`${name}: unexpected notice: ${notice}`);
    if (pageErrors.length > 0) throw new Error(`${name}: errors in the page:\n${pageErrors.join("\n")}`);
    console.log(`ok   ${name}: status "pong", ${got}`);
    console.log(`     notice: ${notice}`);
    console.log(`     screenshot: ${path.relative(process.cwd(), shot)}`);
  } catch (e) {
    try {
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, `browser-${name}-failed.png`), fullPage: true });
    } catch {
      // The page may be gone; the error below says why.
    }
    throw new Error(`${e.message}\n--- server output ---\n${server.output.join("")}`);
  } finally {
    await page.close();
    server.child.kill("SIGTERM");
  }
}

async function main() {
  const targets = process.argv.slice(2).map((a) => {
    const i = a.indexOf("=");
    if (i <= 0) throw new Error(`expected NAME=PATH, got ${a}`);
    return [a.slice(0, i), a.slice(i + 1)];
  });
  if (targets.length === 0) throw new Error("usage: node tests/browser.mjs NAME=PATH...");
  const profile = mkdtempSync(path.join(os.tmpdir(), "sansrpc-chromium-"));
  // A fresh profile: Playwright passes it as --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1000, height: 640 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  let failed = 0;
  try {
    for (const [name, binary] of targets) {
      try {
        await check(browser, name, binary);
      } catch (e) {
        failed += 1;
        console.error(`FAIL ${name}: ${e.message}`);
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
