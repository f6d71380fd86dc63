// Scenario 2: markup and script in messages show as the literal text they
// are, on both pages, live and after a reload; nothing runs. Names (the
// host's, so anyone's) show as text too: in the typing line and the team
// list.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, messageTexts, openAs, person, sleep, waitLive,
} from '../lib/harness.js';

const PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(2)</script>',
  '<svg onload=alert(3)><b>bold?</b></svg>',
  '"><iframe src="javascript:alert(4)"></iframe>',
  '<a href="javascript:alert(5)">click me</a> &amp; &lt;not an entity&gt;',
  "';alert(6);//",
  '<style>body{display:none}</style>{{constructor.constructor("alert(7)")()}}',
];
const USER_TEXT = PAYLOADS.join('\n');
const ADMIN_TEXT = `Reply: ${PAYLOADS[0]} ${PAYLOADS[1]}`;

async function assertInert(page) {
  const inside = await page.locator('support-message .sp-bubble')
    .locator('img, script, svg, iframe, a, style, b').count();
  assert.equal(inside, 0, 'no element was made from a message');
  assert.equal(await page.evaluate(() => document.querySelectorAll('script:not([src])').length), 0);
}

test('markup and script payloads show as literal text and never run', async (t) => {
  const server = await Server.start('markup');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const user = await openAs(browser, server, person('mallory', 'user', '<b>Mallory</b>'));
  const admin = await openAs(browser, server, person('ada', 'admin', '<i>Ada</i><img src=x onerror=alert(8)>'));

  await user.page.goto(server.url('/support'));
  await admin.page.goto(server.url('/admin/support'));
  await waitLive(user.page);
  await waitLive(admin.page);
  // The viewer's name is escaped by the server's template too.
  assert.equal(await user.page.locator('.sp-who').textContent(), '<b>Mallory</b>');

  const box = user.page.getByRole('textbox', { name: 'Message to support' });
  await box.fill(USER_TEXT);
  await box.press('Enter');
  await user.page.locator('support-message[data-state="sent"]').waitFor();
  assert.deepEqual(await messageTexts(user.page), [USER_TEXT]);

  // The desk: the inbox preview and the conversation show the same text.
  const row = admin.page.locator('conversation-preview', { hasText: 'mallory' });
  await row.waitFor();
  assert.equal(await row.locator('.sp-preview-text').textContent(), USER_TEXT);
  await row.locator('a').click();
  await eventually(async () => (await messageTexts(admin.page)).includes(USER_TEXT));

  // The team list and the typing line show names as text.
  await admin.page.locator('#sp-team .sp-team-name', { hasText: '<i>Ada</i>' }).waitFor();
  assert.equal(await admin.page.locator('#sp-team .sp-team-name').textContent(), '<i>Ada</i><img src=x onerror=alert(8)>');
  await box.fill('Still writing');
  await admin.page.locator('support-chat .sp-typing', { hasText: 'is typing…' }).waitFor();
  assert.equal((await admin.page.locator('support-chat .sp-typing').textContent()).trim(), '<b>Mallory</b> is typing…');
  assert.equal(await admin.page.locator('#sp-team, .sp-typing, .sp-conv-viewers').locator('b, i, img').count(), 0);
  await box.fill('');

  const reply = admin.page.getByRole('textbox', { name: 'Reply' });
  await reply.fill(ADMIN_TEXT);
  await reply.press('Enter');
  await eventually(async () => (await messageTexts(user.page)).includes(ADMIN_TEXT));

  // From history as well as live.
  await user.page.reload();
  await admin.page.reload();
  await eventually(async () => (await messageTexts(user.page)).length === 2);
  await eventually(async () => (await messageTexts(admin.page)).length === 2);
  assert.deepEqual(await messageTexts(user.page), [USER_TEXT, ADMIN_TEXT]);
  assert.deepEqual(await messageTexts(admin.page), [USER_TEXT, ADMIN_TEXT]);

  // Search results are rendered the same way.
  await admin.page.goto(server.url('/admin/support'));
  await admin.page.getByRole('searchbox', { name: 'Search messages' }).fill('alert');
  await admin.page.locator('conversation-preview', { hasText: 'mallory' }).waitFor();

  await sleep(500); // time for any stray handler to fire
  for (const side of [user, admin]) {
    await assertInert(side.page);
    assert.deepEqual(side.dialogs, [], 'no dialog opened');
    assert.deepEqual(side.problems, []);
  }
  await assertInert(user.page);
  assert.equal(await user.page.locator('body').isVisible(), true);
});
