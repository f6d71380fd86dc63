// Demo mode: the login page sets the pages' cookie and sends each person
// to their page; pages carry a strict Content-Security-Policy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PHONE, Server, launchBrowser, openAs, screenshot, waitLive,
} from '../lib/harness.js';

test('the demo login signs in a user and the admin, each to their page', async (t) => {
  const server = await Server.start('demo-login', { demo: true });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });

  // Signed out, the pages send visitors to the login.
  const user = await openAs(browser, server, null);
  await user.page.goto(server.url('/support'));
  assert.equal(new URL(user.page.url()).pathname, '/demo/login');
  await screenshot(user.page, 'demo-login-desktop');
  await user.page.setViewportSize(PHONE);
  await screenshot(user.page, 'demo-login-phone');
  await user.page.getByRole('button', { name: /Alice Example/ }).click();
  await user.page.waitForURL(server.url('/support'));
  await waitLive(user.page);
  await user.page.getByRole('textbox', { name: 'Message to support' }).fill('Hello from the demo');
  await user.page.keyboard.press('Enter');
  await user.page.locator('support-message[data-state="sent"]').waitFor();

  // The cookie is out of the scripts' reach and never leaves the site.
  const [cookie] = (await user.context.cookies()).filter((c) => c.name === 'support_token');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  assert.equal(await user.page.evaluate(() => document.cookie.includes('support_token')), false);

  // The desk is the team's.
  const denied = await user.page.goto(server.url('/admin/support'));
  assert.equal(denied.status(), 403);
  await user.page.getByText('This page is for the support team.').waitFor();

  const admin = await openAs(browser, server, null);
  await admin.page.goto(server.url('/demo/login'));
  await admin.page.getByRole('button', { name: /Ada/ }).click();
  await admin.page.waitForURL(server.url('/admin/support'));
  await admin.page.locator('conversation-preview', { hasText: 'Hello from the demo' }).waitFor();

  // Every page carries the policy: no inline script or style, no framing.
  for (const [side, path] of [[user, '/support'], [admin, '/admin/support'], [admin, '/demo/login']]) {
    const response = await side.page.request.get(server.url(path), { maxRedirects: 0 });
    assert.equal(response.status(), 200, path);
    const csp = response.headers()['content-security-policy'] || '';
    assert.match(csp, /script-src 'self'/, path);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.equal(response.headers()['x-content-type-options'], 'nosniff', path);
  }

  // Only the refused desk was logged.
  assert.deepEqual(user.problems.filter((p) => !p.includes('403 (Forbidden)')), []);
  assert.deepEqual(admin.problems, []);
});
