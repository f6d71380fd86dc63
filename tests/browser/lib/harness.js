// The test fixture: the example server as a child process on a free
// loopback port with its own SQLite file, tokens minted here (HS256 with
// the test secret), and Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = path.resolve(here, '../../..');
const TARGET = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, 'target');
/** Where the run leaves screenshots and server logs. */
export const OUTPUT = process.env.BROWSER_OUTPUT || path.join(TARGET, 'browser-tests');
export const SCREENSHOTS = path.join(OUTPUT, 'screenshots');
export const SECRET = 'browser-tests-secret-of-a-reasonable-length';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  // Without these Chromium reaches out to the network at start, and on a
  // closed network its own connections get refused.
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function binary() {
  return process.env.SUPPORT_EXAMPLE_BIN || path.join(TARGET, 'debug', 'support-example');
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Servers still running when this process ends (a crash, an interrupt)
// are not left behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A running example server. `demo`: no secret, so demo mode and its login
 * page. `env`: more of the server's settings (e.g. `SUPPORT_TYPING_EXPIRY_MS`).
 */
export class Server {
  static async start(name, { demo = false, env = {} } = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), 'support-browser-'));
    const server = new Server(name, dir, await freePort(), demo, env);
    await server.launch();
    return server;
  }

  constructor(name, dir, port, demo, env = {}) {
    this.name = name;
    this.dir = dir;
    this.port = port;
    this.demo = demo;
    this.env = env;
    this.base = `http://127.0.0.1:${port}`;
    this.launches = 0;
    mkdirSync(OUTPUT, { recursive: true });
  }

  async launch() {
    this.launches += 1;
    const env = {
      ...process.env,
      SUPPORT_DATABASE_URL: `sqlite:${path.join(this.dir, 'support.db')}`,
      SUPPORT_BIND: `127.0.0.1:${this.port}`,
      RUST_LOG: 'info,sqlx=warn,tower_http=warn',
      ...this.env,
    };
    delete env.SUPPORT_JWT_SECRET;
    if (!this.demo) env.SUPPORT_JWT_SECRET = SECRET;
    const log = createWriteStream(path.join(OUTPUT, `${this.name}.server.log`), {
      flags: this.launches === 1 ? 'w' : 'a',
    });
    this.child = spawn(binary(), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.pipe(log);
    this.child.stderr.pipe(log);
    const { child } = this;
    running.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        resolve();
      });
    });
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        const response = await fetch(`${this.base}/api/support/openapi.json`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (this.child.exitCode !== null) throw new Error(`the server exited: see ${log.path}`);
      if (Date.now() > deadline) throw new Error(`the server did not start: see ${log.path}`);
      await sleep(100);
    }
  }

  /** Graceful stop (SIGTERM), then SIGKILL if it hangs. */
  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const killed = await Promise.race([this.exited.then(() => false), sleep(10000).then(() => true)]);
    if (killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Stops and starts again on the same port and database. */
  async restart() {
    await this.stop();
    await this.launch();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  url(p) {
    return `${this.base}${p}`;
  }

  /** Calls the API with a bearer token: the parsed body (or null). */
  async api(who, method, p, body) {
    const response = await fetch(`${this.base}/api/support${p}`, {
      method,
      headers: {
        Authorization: `Bearer ${who.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${p}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

/** Someone with a token signed by the test secret. */
export function person(sub, role = 'user', name = undefined) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'HS256', typ: 'JWT' });
  const payload = encode({ sub, role, name, exp: Math.floor(Date.now() / 1000) + 3600 });
  const signature = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
  return { id: sub, role, name, token: `${header}.${payload}.${signature}` };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * A browser context signed in as `who` (or signed out), with a page that
 * records script errors and dialogs.
 */
export async function openAs(browser, server, who, { viewport = DESKTOP, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, locale: 'en-GB', timezoneId: 'UTC' });
  if (who) {
    await context.addCookies([{
      name: 'support_token', value: who.token, url: server.base, httpOnly: true, sameSite: 'Strict',
    }]);
  }
  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return { context, page, problems, dialogs };
}

/** Saves a screenshot under SCREENSHOTS and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The texts of the chat's messages, in order. */
export async function messageTexts(page) {
  return page.locator('support-message .sp-text').allTextContents();
}

/** Retries `check` (which throws or returns false) until it passes. */
export async function eventually(check, { timeout = 10000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return result;
      last = new Error('condition not met');
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw last;
    await sleep(interval);
  }
}

/** Waits until the page's live connection is open. */
export async function waitLive(page) {
  await page.locator('support-status[data-state="open"]').waitFor();
}

export { sleep };
