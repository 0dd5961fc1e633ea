// Swagger UI in Debian's headless Chromium, as a newcomer uses it: log in through "Try it out"
// on the login operation, authorize with the returned token, call GET /api/v1/me and see 200.
//
// Starts the service's debug binary (DTI_BIN) in demo mode with a fresh data directory: no
// DATABASE_URL, so it starts its private PostgreSQL cluster and loads the seeds (the demo
// accounts) into the empty database, as a first run does. The browser is Debian's chromium
// (CHROMIUM, default /usr/bin/chromium); nothing is downloaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.DTI_BIN ?? '../../target/debug/dti-api';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server;
let base;
let dataDir;
let browser;

/** Starts the service and resolves with its base URL, read from what it prints. */
function startService() {
  dataDir = mkdtempSync(join(tmpdir(), 'dti-browser-'));
  server = spawn(BIN, ['serve'], {
    cwd: '../..',
    env: {
      ...process.env,
      DATABASE_URL: '',
      APP_MODE: 'demo',
      DATA_DIR: dataDir,
      APP_PORT: '0',
      APP_WORKERS: '2',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not start in 90 s')), 90_000);
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on('exit', (code) => reject(new Error(`the service exited (${code}): ${out}`)));
  });
}

before(async () => {
  base = await startService();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM'); // a clean stop also stops the private cluster
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Expands an operation, presses "Try it out" then "Execute", and returns its result block. */
async function tryItOut(page, operationId) {
  const op = page.locator(`#operations-auth-${operationId}`);
  const tryOut = op.getByRole('button', { name: 'Try it out' });
  // a click while the page is still rendering can be lost: click until the operation opens
  for (let attempt = 0; !(await tryOut.isVisible()); attempt++) {
    assert.ok(attempt < 5, `operation ${operationId} does not open`);
    await op.locator('.opblock-summary').first().click();
    await tryOut.waitFor({ timeout: 3_000 }).catch(() => {});
  }
  await tryOut.click();
  await op.getByRole('button', { name: 'Execute' }).click();
  const status = op.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 15_000 });
  return { op, status: (await status.innerText()).trim() };
}

test('log in, authorize and call GET /api/v1/me in Swagger UI', { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/swagger-ui/`);
  await page.locator('#operations-auth-login').waitFor({ timeout: 20_000 });

  // the login example is a real demo account
  const login = await tryItOut(page, 'login');
  assert.equal(login.status, '200');
  const body = await login.op.locator('.live-responses-table tbody .response-col_description pre.microlight').first().innerText();
  const token = JSON.parse(body).access_token;
  assert.ok(token && token.split('.').length === 3, `a JWT in: ${body}`);

  await page.locator('.auth-wrapper button.authorize').click();
  const modal = page.locator('.modal-ux');
  // the users' scheme (the metrics token has a scheme of its own)
  const bearer = modal.locator('.auth-container').filter({ hasText: 'bearer (http' }).first();
  await bearer.locator('input').fill(token);
  await bearer.locator('button.modal-btn.authorize').click();
  await modal.locator('button.btn-done').first().click();

  const me = await tryItOut(page, 'me');
  assert.equal(me.status, '200');
  const who = await me.op.locator('.live-responses-table tbody .response-col_description pre.microlight').first().innerText();
  assert.equal(JSON.parse(who).username, 'admin');

  // the authorisation survives a reload
  await page.reload();
  await page.locator('.auth-wrapper button.authorize.locked').waitFor({ timeout: 20_000 });
  const again = await tryItOut(page, 'me');
  assert.equal(again.status, '200');
});
