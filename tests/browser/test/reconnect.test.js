// Scenario 3: the connection drops and comes back; what was sent meanwhile
// appears, nothing twice. A send that failed is retried without a
// duplicate, even when the server had stored it and only the answer was
// lost.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, messageTexts, openAs, person, waitLive,
} from '../lib/harness.js';

function count(texts, text) {
  return texts.filter((t) => t === text).length;
}

test('after a server restart both pages catch up with nothing missing or doubled', async (t) => {
  const server = await Server.start('reconnect');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const alice = person('alice', 'user', 'Alice');
  const ada = person('ada', 'admin', 'Ada');
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'First question' });

  const user = await openAs(browser, server, alice);
  const admin = await openAs(browser, server, ada);
  await user.page.goto(server.url('/support'));
  await admin.page.goto(server.url(`/admin/support/${conversation.id}`));
  await waitLive(user.page);
  await waitLive(admin.page);
  await user.page.locator('support-message', { hasText: 'First question' }).waitFor();

  // The server goes away: both pages notice.
  await server.stop();
  await user.page.locator('support-status[data-state="reconnecting"]').waitFor();
  await user.page.getByText('Connection lost. Reconnecting…').waitFor();
  await admin.page.locator('support-status[data-state="reconnecting"]').waitFor();

  // The user writes meanwhile: the message stays, marked, with Retry.
  const box = user.page.getByRole('textbox', { name: 'Message to support' });
  await box.fill('Are you still there?');
  await box.press('Enter');
  const failed = user.page.locator('support-message[data-state="failed"]', { hasText: 'Are you still there?' });
  await failed.getByRole('button', { name: 'Retry' }).waitFor();

  // The server comes back on the same database, and the team answers
  // before the pages have reconnected.
  await server.launch();
  const missed = ['While you were away 1', 'While you were away 2', 'While you were away 3'];
  for (const content of missed) {
    await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content });
  }

  await waitLive(user.page);
  await waitLive(admin.page);
  for (const content of missed) {
    await user.page.locator('support-message', { hasText: content }).waitFor();
    await admin.page.locator('support-message', { hasText: content }).waitFor();
  }

  // The failed send goes through on Retry, once.
  await failed.getByRole('button', { name: 'Retry' }).click();
  await user.page.locator('support-message[data-state="sent"]', { hasText: 'Are you still there?' }).waitFor();
  await admin.page.locator('support-message', { hasText: 'Are you still there?' }).waitFor();

  // Later events still flow, and nothing shows twice anywhere.
  await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Yes, still here!' });
  await user.page.locator('support-message', { hasText: 'Yes, still here!' }).waitFor();
  const expected = ['First question', ...missed, 'Are you still there?', 'Yes, still here!'];
  for (const side of [user, admin]) {
    const texts = await messageTexts(side.page);
    for (const text of expected) assert.equal(count(texts, text), 1, `${text} once in ${texts}`);
    assert.equal(texts.length, expected.length);
  }
  const history = await server.api(alice, 'GET', `/conversations/${conversation.id}/messages`);
  assert.deepEqual(history.items.map((m) => m.content), expected);

  // Going offline and back (the browser's own network) catches up too.
  await user.context.setOffline(true);
  await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Sent while offline' });
  await user.context.setOffline(false);
  await user.page.locator('support-message', { hasText: 'Sent while offline' }).waitFor();
  await eventually(async () => count(await messageTexts(user.page), 'Sent while offline') === 1);

  // The pages logged the refused requests of the outage, nothing else.
  for (const side of [user, admin]) {
    assert.deepEqual(side.problems.filter((p) => !p.includes('ERR_CONNECTION_REFUSED')
      && !p.includes('ERR_INTERNET_DISCONNECTED')), []);
  }
});

test('a send whose answer was lost is retried without a duplicate', async (t) => {
  const server = await Server.start('retry');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const alice = person('alice', 'user', 'Alice');
  const user = await openAs(browser, server, alice);
  // No live stream: its event would confirm the message by itself. (The
  // page opens it from its load's position: `events?last_event_id=…`.)
  await user.page.route('**/api/support/events*', (route) => route.abort());
  await user.page.goto(server.url('/support'));
  await user.page.getByText('How can we help?').waitFor();

  // The request reaches the server, which stores the message; the answer
  // never reaches the page.
  let delivered = 0;
  await user.page.route('**/api/support/messages', async (route) => {
    const response = await route.fetch();
    delivered += response.status() === 201 ? 1 : 0;
    await route.abort('connectionreset');
  });
  const box = user.page.getByRole('textbox', { name: 'Message to support' });
  await box.fill('Only once, please');
  await box.press('Enter');
  const failed = user.page.locator('support-message[data-state="failed"]', { hasText: 'Only once, please' });
  await failed.waitFor();
  assert.equal(delivered, 1, 'the server stored it');

  await user.page.unroute('**/api/support/messages');
  await failed.getByRole('button', { name: 'Retry' }).click();
  await user.page.locator('support-message[data-state="sent"]', { hasText: 'Only once, please' }).waitFor();

  const { items } = await server.api(alice, 'GET', '/conversations');
  assert.equal(items.length, 1);
  const history = await server.api(alice, 'GET', `/conversations/${items[0].id}/messages`);
  assert.deepEqual(history.items.map((m) => m.content), ['Only once, please']);
  assert.equal(count(await messageTexts(user.page), 'Only once, please'), 1);
});
