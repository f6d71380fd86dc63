// The desk's inbox: paging, filters, search; a long history pages back;
// the support button a host puts in its navigation counts unread replies.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, messageTexts, openAs, person, waitLive,
} from '../lib/harness.js';

test('the inbox pages, filters and searches; long histories page back', async (t) => {
  const server = await Server.start('desk');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const ada = person('ada', 'admin', 'Ada');
  for (let i = 0; i < 34; i += 1) {
    const who = person(`user${String(i).padStart(2, '0')}`);
    await server.api(who, 'POST', '/messages', { content: `Question number ${i}` });
  }
  const zoe = person('zoe');
  const { conversation } = await server.api(zoe, 'POST', '/messages', { content: 'Message 1 about a zebra' });
  for (let i = 2; i <= 60; i += 1) {
    await server.api(zoe, 'POST', '/messages', { content: `Message ${i}` });
  }
  await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Answer to zoe' });

  const admin = await openAs(browser, server, ada);
  await admin.page.goto(server.url('/admin/support'));
  await waitLive(admin.page);
  const rows = admin.page.locator('conversation-preview');
  await eventually(async () => (await rows.count()) === 30);
  // zoe has the newest activity; the others wait for an answer.
  assert.match(await rows.first().textContent(), /zoe/);
  await admin.page.getByRole('button', { name: 'Load more' }).click();
  await eventually(async () => (await rows.count()) === 35);
  await admin.page.getByRole('button', { name: 'Load more' }).waitFor({ state: 'hidden' });

  await admin.page.getByRole('button', { name: 'Awaiting reply' }).click();
  await eventually(async () => (await rows.count()) === 30);
  assert.equal(await admin.page.getByRole('button', { name: 'Awaiting reply' }).getAttribute('aria-pressed'), 'true');
  assert.equal(await rows.filter({ hasText: 'zoe' }).count(), 0, 'zoe was answered');

  await admin.page.getByRole('button', { name: 'Resolved' }).click();
  await admin.page.getByText('No conversations here yet.').waitFor();

  await admin.page.getByRole('button', { name: 'All' }).click();
  await admin.page.getByRole('searchbox', { name: 'Search messages' }).fill('zebra');
  await eventually(async () => (await rows.count()) === 1);
  assert.match(await rows.first().textContent(), /zoe/);

  // The conversation shows the newest 50 messages, and pages back.
  await rows.first().locator('a').click();
  await admin.page.locator('support-message', { hasText: 'Answer to zoe' }).waitFor();
  assert.equal((await messageTexts(admin.page)).length, 50);
  await admin.page.getByRole('button', { name: 'Show earlier messages' }).click();
  await eventually(async () => (await messageTexts(admin.page)).length === 61);
  const texts = await messageTexts(admin.page);
  assert.equal(texts[0], 'Message 1 about a zebra');
  assert.equal(new Set(texts).size, 61);
  await admin.page.getByRole('button', { name: 'Show earlier messages' }).waitFor({ state: 'hidden' });
  await admin.page.locator('[data-marker="start"]').waitFor();

  // Back returns to the overview without a reload.
  await admin.page.goBack();
  await admin.page.locator('support-analytics .sp-tile').first().waitFor();
  assert.deepEqual(admin.problems, []);
});

test('a host page can show the support button with the unread count, live', async (t) => {
  const server = await Server.start('button');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const alice = person('alice');
  const ada = person('ada', 'admin');
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'Hello' });
  await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Hi!' });

  // Any page of the site will do as the host: here the desk's refusal page.
  const host = await openAs(browser, server, alice);
  await host.page.goto(server.url('/admin/support'));
  await host.page.evaluate(() => {
    const meta = document.createElement('meta');
    meta.name = 'support-api';
    meta.content = '/api/support';
    document.head.append(meta);
    const button = document.createElement('support-button');
    button.setAttribute('href', '/support');
    document.body.prepend(button);
  });
  await host.page.addScriptTag({ type: 'module', url: '/support/assets/support.js' });
  await host.page.getByRole('link', { name: 'Support, 1 unread' }).waitFor();
  await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Anything else?' });
  await host.page.getByRole('link', { name: 'Support, 2 unread' }).waitFor();
  assert.equal(await host.page.locator('support-button .sp-badge').textContent(), '2');
  assert.equal(await host.page.locator('support-button a').getAttribute('href'), '/support');
  assert.deepEqual(host.problems.filter((p) => !p.includes('403 (Forbidden)')), []);
});

test('a reply is marked seen only once it is scrolled into view', async (t) => {
  const server = await Server.start('seen');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const zoe = person('zoe');
  const ada = person('ada', 'admin');
  let conversation;
  for (let i = 1; i <= 40; i += 1) {
    ({ conversation } = await server.api(zoe, 'POST', '/messages', { content: `Line ${i}\nof a long story` }));
  }
  const user = await openAs(browser, server, zoe);
  await user.page.goto(server.url('/support'));
  await waitLive(user.page);
  await user.page.getByText('Line 40').waitFor();

  // Reading back in the history: a new reply lands below the fold.
  await user.page.locator('.sp-scroll').evaluate((el) => { el.scrollTop = 0; });
  const { id } = await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Did you read this?' });
  await user.page.getByRole('button', { name: 'New messages ↓' }).waitFor();
  const seenBy = async () => {
    const { items } = await server.api(ada, 'GET', `/conversations/${conversation.id}/messages?limit=1`);
    assert.equal(items[0].id, id);
    return items[0].seen_by.map((r) => r.user_id);
  };
  await new Promise((resolve) => { setTimeout(resolve, 1000); });
  assert.deepEqual(await seenBy(), [], 'not on screen, not seen');

  // Scrolled into view: seen.
  await user.page.getByRole('button', { name: 'New messages ↓' }).click();
  await eventually(async () => (await seenBy()).includes('zoe'));
  assert.deepEqual(user.problems, []);
});
