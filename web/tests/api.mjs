// Headless-Chromium test of the ported Flask example (`actix_api`,
// `warp_api`): for each server binary given as NAME=PATH, start it on a free
// 127.0.0.1 port (once with CORS, once with --no-cors), serve a page from
// another port (another origin), and check from that page that
//
// - `fetch` to the API succeeds with CORS on and fails with it off;
// - a JSONP `<script>` (GET /api/echo?data=...&jsonp=<callback>) calls the
//   page's callback with the JSON-RPC answer;
// - the cookie set by `setcookie` (a credentialed cross-origin fetch) is
//   stored by the browser and visible to the page.
//
// Screenshots: artifacts/browser-api-NAME.png.
//
//   node tests/api.mjs actix=/path/to/actix_api warp=/path/to/warp_api
//
// Exits non-zero if any server fails. Chromium: $CHROMIUM or /usr/bin/chromium.

import { spawn } from "node:child_process";
import http from "node:http";
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

/** Starts `binary ADDR ...args`; resolves once its port accepts connections. */
async function startServer(name, binary, args) {
  const port = await freePort();
  const child = spawn(binary, [`127.0.0.1:${port}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
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

/** The page's origin: a plain page on its own port, no JSON-RPC. */
function startPageServer() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><title>another origin</title><h1>another origin</h1><pre id="log"></pre>');
    });
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}

/** From the page: POST a JSON-RPC call to `url`; the parsed answer, or the error's text. */
function fetchFromPage(page, url, body, credentials) {
  return page.evaluate(
    async ({ url, body, credentials }) => {
      try {
        const r = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          credentials,
        });
        return { ok: true, status: r.status, json: await r.json() };
      } catch (e) {
        return { ok: false, error: String(e) };
      }
    },
    { url, body, credentials },
  );
}

function log(page, line) {
  return page.evaluate((line) => {
    document.getElementById("log").textContent += line + "\n";
  }, line);
}

async function check(browser, pageOrigin, name, binary) {
  const withCors = await startServer(name, binary, []);
  const withoutCors = await startServer(name, binary, ["--no-cors"]);
  const page = await browser.newPage();
  try {
    await page.goto(pageOrigin, { timeout: TIMEOUT_MS });
    const api = `http://127.0.0.1:${withCors.port}/api`;

    // 1. fetch from another origin: allowed with CORS on.
    const echo = { jsonrpc: "2.0", method: "echo", params: { data: "cross-origin" }, id: 1 };
    const allowed = await fetchFromPage(page, api, echo, "omit");
    if (!allowed.ok || allowed.json.result !== "cross-origin") {
      throw new Error(`${name}: fetch with CORS on: ${JSON.stringify(allowed)}`);
    }
    await log(page, `CORS on:  ${JSON.stringify(allowed.json)}`);

    // ... and refused by the browser with CORS off (the server answers, the
    // page may not read it).
    const refused = await fetchFromPage(page, `http://127.0.0.1:${withoutCors.port}/api`, echo, "omit");
    if (refused.ok) throw new Error(`${name}: fetch with CORS off succeeded: ${JSON.stringify(refused)}`);
    // The server itself answers (outside a browser nothing enforces CORS):
    // the page's failure is the browser's CORS check.
    const direct = await fetch(`http://127.0.0.1:${withoutCors.port}/api`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: pageOrigin.replace(/\/$/, "") },
      body: JSON.stringify(echo),
    });
    const directJson = await direct.json();
    if (directJson.result !== "cross-origin" || direct.headers.has("access-control-allow-origin")) {
      throw new Error(`${name}: the CORS-off server: ${direct.status} ${JSON.stringify(directJson)}`);
    }
    await log(page, `CORS off: ${refused.error}`);

    // 2. JSONP through a <script> tag.
    const jsonp = await page.evaluate(
      (src) =>
        new Promise((resolve, reject) => {
          window.jsonpCallback_129620 = (answer) => resolve(answer);
          const s = document.createElement("script");
          s.src = src;
          s.onerror = () => reject(new Error("the JSONP script failed to load"));
          document.head.appendChild(s);
          setTimeout(() => reject(new Error("the JSONP callback was not called")), 10000);
        }),
      `${api}/echo?data=test_data&jsonp=jsonpCallback_129620`,
    );
    if (jsonp.result !== "test_data" || jsonp.id !== "jsonpCallback_129620") {
      throw new Error(`${name}: JSONP answer: ${JSON.stringify(jsonp)}`);
    }
    await log(page, `JSONP:    ${JSON.stringify(jsonp)}`);

    // 3. The cookie of setcookie, from a credentialed cross-origin fetch.
    const set = await fetchFromPage(page, api, { jsonrpc: "2.0", method: "setcookie", id: 2 }, "include");
    if (!set.ok || set.json.result !== "Setted") throw new Error(`${name}: setcookie: ${JSON.stringify(set)}`);
    const cookies = await page.context().cookies(`http://127.0.0.1:${withCors.port}/`);
    const cookie = cookies.find((c) => c.name === "myTestCookie");
    if (!cookie || cookie.value !== "Your IP is 127.0.0.1") {
      throw new Error(`${name}: the browser did not store myTestCookie: ${JSON.stringify(cookies)}`);
    }
    // Cookies are per host, not per port: the page sees it too.
    const seen = await page.evaluate(() => document.cookie);
    if (!seen.includes("myTestCookie=Your IP is 127.0.0.1")) {
      throw new Error(`${name}: document.cookie is ${JSON.stringify(seen)}`);
    }
    await log(page, `cookie:   ${seen}`);

    mkdirSync(artifacts, { recursive: true });
    const shot = path.join(artifacts, `browser-api-${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`ok   ${name}: CORS on/off, JSONP callback, cookie "${cookie.value}"`);
    console.log(`     screenshot: ${path.relative(process.cwd(), shot)}`);
  } catch (e) {
    throw new Error(
      `${e.message}\n--- server output ---\n${withCors.output.join("")}${withoutCors.output.join("")}`,
    );
  } finally {
    await page.context().clearCookies();
    await page.close();
    withCors.child.kill("SIGTERM");
    withoutCors.child.kill("SIGTERM");
  }
}

async function main() {
  const targets = process.argv.slice(2).map((a) => {
    const i = a.indexOf("=");
    if (i <= 0) throw new Error(`expected NAME=PATH, got ${a}`);
    return [a.slice(0, i), a.slice(i + 1)];
  });
  if (targets.length === 0) throw new Error("usage: node tests/api.mjs NAME=PATH...");
  const pages = await startPageServer();
  const pageOrigin = `http://127.0.0.1:${pages.address().port}/`;
  const profile = mkdtempSync(path.join(os.tmpdir(), "sansrpc-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1000, height: 400 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  let failed = 0;
  try {
    for (const [name, binary] of targets) {
      try {
        await check(browser, pageOrigin, name, binary);
      } catch (e) {
        failed += 1;
        console.error(`FAIL ${name}: ${e.message}`);
      }
    }
  } finally {
    await browser.close();
    pages.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (failed > 0) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
