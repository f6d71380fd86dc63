// Scenario 1: a user writes, the desk sees it live, answers, sees it read,
// resolves; the user's next message starts a new conversation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, messageTexts, openAs, person, waitLive,
} from '../lib/harness.js';

test('a user and an admin talk live, the admin resolves, the next message starts anew', async (t) => {
  const server = await Server.start('conversation');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const alice = person('alice', 'user', 'Alice Example');
  const ada = person('ada', 'admin', 'Ada Lovelace');
  const user = await openAs(browser, server, alice);
  const admin = await openAs(browser, server, ada);

  await admin.page.goto(server.url('/admin/support'));
  await admin.page.getByText('No conversations here yet.').waitFor();
  await user.page.goto(server.url('/support'));
  await waitLive(user.page);
  await waitLive(admin.page);

  // The user writes; Enter sends.
  const box = user.page.getByRole('textbox', { name: 'Message to support' });
  await box.fill('Hello, my invoice is wrong');
  await box.press('Enter');
  await user.page.locator('support-message[data-state="sent"]', { hasText: 'Hello, my invoice is wrong' }).waitFor();
  assert.equal(await box.inputValue(), '', 'the box is emptied after sending');

  // The desk's inbox shows it live, under the name the host gave alice,
  // unread and awaiting a reply.
  const row = admin.page.locator('conversation-preview', { hasText: 'Alice Example' });
  assert.equal(await row.locator('.sp-preview-user').textContent(), 'Alice Example');
  assert.equal(await row.locator('.sp-preview-user').getAttribute('title'), 'alice');
  await row.locator('.sp-badge[data-unread="1"]').waitFor();
  await row.getByText('Awaiting reply').waitFor();
  await row.getByText('Hello, my invoice is wrong').waitFor();

  // Shift+Enter adds a line instead of sending.
  await box.pressSequentially('It says March');
  await box.press('Shift+Enter');
  await box.pressSequentially('but I paid in February');
  assert.equal(await box.inputValue(), 'It says March\nbut I paid in February');
  await box.press('Enter');
  await eventually(async () => (await messageTexts(user.page)).includes('It says March\nbut I paid in February'));
  await row.locator('.sp-badge[data-unread="2"]').waitFor();

  // The admin opens the conversation (no reload) and replies.
  await row.locator('a').click();
  await admin.page.waitForURL(/\/admin\/support\/[0-9a-f-]{36}$/);
  await admin.page.locator('.sp-conv-title', { hasText: 'Alice Example' }).waitFor();
  const march = admin.page.locator('support-message.sp-msg--user', { hasText: 'It says March' });
  await march.waitFor();
  // Her messages carry her name on the desk too.
  await eventually(async () => (await admin.page.locator('support-message.sp-msg--user .sp-msg-author').first().textContent()) === 'Alice Example');
  // Seeing the messages clears the badge.
  await row.locator('.sp-badge').waitFor({ state: 'detached' });
  const reply = admin.page.getByRole('textbox', { name: 'Reply' });
  await reply.fill('Hi Alice, let me check that for you.');
  await reply.press('Enter');

  // The user sees the answer live, from the admin, on the other side.
  const answer = user.page.locator('support-message.sp-msg--admin', { hasText: 'Hi Alice, let me check that for you.' });
  await answer.waitFor();
  assert.match(await answer.getAttribute('class'), /sp-msg--theirs/);
  assert.match(await answer.locator('.sp-msg-author').textContent(), /ada/);
  assert.match(await answer.locator('time').getAttribute('datetime'), /^\d{4}-\d{2}-\d{2}T/);
  // ... and since the user's page shows it, the admin sees "Seen".
  await admin.page.locator('support-message.sp-msg--mine', { hasText: 'Hi Alice' })
    .locator('.sp-msg-status--seen', { hasText: 'Seen' }).waitFor();

  // The admin resolves; the user sees the marker live.
  await admin.page.getByRole('button', { name: 'Mark resolved' }).click();
  await admin.page.getByRole('button', { name: 'Reopen' }).waitFor();
  await user.page.locator('[data-marker="resolved"]').waitFor();
  await user.page.getByText('Write below to start a new conversation.').waitFor();

  // The user's next message starts a new conversation, marked in the thread.
  await box.fill('One more thing: can I change my address?');
  await box.press('Enter');
  await user.page.locator('[data-marker="new"]').waitFor();
  const order = await user.page.locator('.sp-log > *').evaluateAll((nodes) => nodes.map((n) => (
    n.dataset.marker ? `[${n.dataset.marker}]` : n.querySelector('.sp-text').textContent)));
  assert.deepEqual(order, [
    '[start]',
    'Hello, my invoice is wrong',
    'It says March\nbut I paid in February',
    'Hi Alice, let me check that for you.',
    '[resolved]',
    '[new]',
    'One more thing: can I change my address?',
  ]);

  // The server agrees: two conversations, the first resolved.
  const { items } = await server.api(alice, 'GET', '/conversations');
  assert.deepEqual(items.map((c) => c.status), ['open', 'closed']);

  // The desk shows the new conversation first, live; the old one resolved.
  await admin.page.locator('conversation-preview').first().getByText('One more thing').waitFor();
  await admin.page.locator('conversation-preview', { hasText: 'Hi Alice, let me check' }).getByText('Resolved').waitFor();

  // A reload shows the same thread.
  await user.page.reload();
  await eventually(async () => (await messageTexts(user.page)).length === 4);
  assert.equal(await user.page.locator('[data-marker="resolved"]').count(), 1);
  assert.equal(await user.page.locator('[data-marker="new"]').count(), 1);

  assert.deepEqual(user.problems, []);
  assert.deepEqual(admin.problems, []);
});
