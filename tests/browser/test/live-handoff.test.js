// Scenario 4: pages opened while messages keep arriving. A page loads its
// data and follows the live stream from the position the load reflects,
// so what was written during the load shows, once: every time, the page
// shows exactly what the server has once writing stops.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, openAs, person, sleep,
} from '../lib/harness.js';

// Page opens per test, at most, and the time they may take (both tests
// together about a minute; an open takes 0.3 to 0.6 s with the debug
// server, so the time usually decides: the count is printed).
const USER_OPENS = Number(process.env.HANDOFF_USER_OPENS || 200);
const ADMIN_OPENS = Number(process.env.HANDOFF_ADMIN_OPENS || 100);
const USER_SECONDS = Number(process.env.HANDOFF_USER_SECONDS || 25);
const ADMIN_SECONDS = Number(process.env.HANDOFF_ADMIN_SECONDS || 21);
// Writes per open stay under a page of messages (50), so the page shows them all.
const MAX_WRITES = 40;

/** Calls `write(n)` for n = 1, 2, … from two loops at once until stopped. */
function keepWriting(write) {
  let stopped = false;
  let n = 0;
  const loop = async () => {
    while (!stopped && n < MAX_WRITES) {
      n += 1;
      await write(n);
    }
  };
  const done = Promise.all([loop(), loop()]);
  return async () => {
    stopped = true;
    await done;
    return n;
  };
}

/** The ids of the messages shown, in order. */
function shownIds(page) {
  return page.locator('support-chat support-message').evaluateAll(
    (nodes) => nodes.map((n) => n.dataset.id || `pending:${n.dataset.clientId}`),
  );
}

/** What the page misses and shows twice, compared with `expected` ids. */
function compare(shown, expected) {
  const seen = new Map();
  for (const id of shown) seen.set(id, (seen.get(id) || 0) + 1);
  return {
    missed: expected.filter((id) => !seen.has(id)).length,
    doubled: [...seen.values()].filter((n) => n > 1).length,
    extra: [...seen.keys()].filter((id) => !expected.includes(id)).length,
  };
}

/** Waits (a while) until the page shows `expected`; the differences left. */
async function settle(page, expected) {
  let result;
  try {
    await eventually(async () => {
      result = compare(await shownIds(page), expected);
      return result.missed + result.doubled + result.extra === 0;
    }, { timeout: 2000, interval: 50 });
  } catch {
    // `result` tells what is still wrong.
  }
  return result;
}

function tally(totals, result) {
  totals.opens += 1;
  totals.missed += result.missed;
  totals.doubled += result.doubled;
  totals.extra += result.extra;
  if (result.missed + result.doubled + result.extra) totals.wrong += 1;
}

function summary(what, totals, started) {
  return `${what}: ${totals.opens} opens, ${totals.wrong} wrong, ${totals.missed} missed, `
    + `${totals.doubled} doubled, ${totals.extra} extra, ${totals.writes} writes during loads, `
    + `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

test('a user chat opened while replies arrive shows every reply once', async (t) => {
  const server = await Server.start('handoff-user');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const ada = person('ada', 'admin', 'Ada');
  const { context, page, problems } = await openAs(browser, server, null);
  const totals = { opens: 0, wrong: 0, missed: 0, doubled: 0, extra: 0, writes: 0 };
  const started = Date.now();

  for (let i = 0; i < USER_OPENS && Date.now() - started < USER_SECONDS * 1000; i += 1) {
    // A user of their own per open: one conversation, all of it on screen.
    const user = person(`user${i}`, 'user', `User ${i}`);
    const { conversation } = await server.api(user, 'POST', '/messages', { content: `Question ${i}` });
    await context.addCookies([{
      name: 'support_token', value: user.token, url: server.base, httpOnly: true, sameSite: 'Strict',
    }]);

    const stop = keepWriting((n) => server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, {
      content: `Reply ${i}.${n}`,
    }));
    await page.goto(server.url('/support'), { waitUntil: 'commit' });
    await page.locator('support-chat support-message').first().waitFor();
    await sleep(i % 4 === 0 ? 0 : 40);
    totals.writes += await stop();

    const { items } = await server.api(user, 'GET', `/conversations/${conversation.id}/messages?limit=100`);
    const result = await settle(page, items.map((m) => m.id));
    tally(totals, result);
  }

  const line = summary('user chat', totals, started);
  t.diagnostic(line);
  assert.equal(totals.missed, 0, line);
  assert.equal(totals.doubled, 0, line);
  assert.equal(totals.extra, 0, line);
  assert.deepEqual(problems, []);
});

test('the desk opened while messages arrive shows them all, once, in the chat and the inbox', async (t) => {
  const server = await Server.start('handoff-admin');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const ada = person('ada', 'admin', 'Ada');
  const { page, problems } = await openAs(browser, server, ada);
  const totals = { opens: 0, wrong: 0, missed: 0, doubled: 0, extra: 0, writes: 0 };
  const inbox = { wrong: 0 };
  const started = Date.now();

  for (let i = 0; i < ADMIN_OPENS && Date.now() - started < ADMIN_SECONDS * 1000; i += 1) {
    const user = person(`desk${i}`, 'user', `Desk user ${i}`);
    const { conversation } = await server.api(user, 'POST', '/messages', { content: `Question ${i}` });

    // The user keeps writing; every few messages someone new starts a
    // conversation, which nothing touches afterwards.
    const stop = keepWriting(async (n) => {
      if (n % 6 === 0) {
        await server.api(person(`new${i}-${n}`), 'POST', '/messages', { content: `Newcomer ${i}.${n}` });
      } else {
        await server.api(user, 'POST', '/messages', { content: `More ${i}.${n}` });
      }
    });
    await page.goto(server.url(`/admin/support/${conversation.id}`), { waitUntil: 'commit' });
    await page.locator('support-chat support-message').first().waitFor();
    await sleep(i % 4 === 0 ? 0 : 40);
    totals.writes += await stop();

    const { items } = await server.api(ada, 'GET', `/conversations/${conversation.id}/messages?limit=100`);
    tally(totals, await settle(page, items.map((m) => m.id)));

    // The inbox: its first rows are the server's, with their last messages.
    const top = await server.api(ada, 'GET', '/conversations?status=open&limit=5');
    const want = top.items.map((c) => `${c.id} ${c.last_message.content}`);
    let rows;
    try {
      await eventually(async () => {
        rows = await page.locator('conversation-preview').evaluateAll((nodes) => nodes.slice(0, 5)
          .map((n) => `${n.dataset.id} ${n.querySelector('.sp-preview-text').textContent}`));
        return JSON.stringify(rows) === JSON.stringify(want);
      }, { timeout: 2000, interval: 50 });
    } catch {
      inbox.wrong += 1;
    }
  }

  const line = `${summary('desk chat', totals, started)}; inbox wrong after ${inbox.wrong} of ${totals.opens} opens`;
  t.diagnostic(line);
  assert.equal(totals.missed, 0, line);
  assert.equal(totals.doubled, 0, line);
  assert.equal(totals.extra, 0, line);
  assert.equal(inbox.wrong, 0, line);
  assert.deepEqual(problems, []);
});

test('a chat whose load is answered late gets what was written meanwhile, once', async (t) => {
  const server = await Server.start('handoff-late');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const ada = person('ada', 'admin', 'Ada');
  const alice = person('alice', 'user', 'Alice');
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'First question' });
  const { page, problems } = await openAs(browser, server, ada);

  // The chat reads its messages first; the answer is held back. Then a
  // message is written, and only then does the inbox read: the stream
  // starts from the inbox's position, after that message.
  let chatRead;
  const read = new Promise((resolve) => { chatRead = resolve; });
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let written;
  const between = new Promise((resolve) => { written = resolve; });
  // (One-shot by hand: routes with `times` mix up concurrent handlers.)
  let chatHeld = false;
  await page.route(/\/api\/support\/conversations\/[^/?]+\/messages\?/, async (route) => {
    if (chatHeld || route.request().method() !== 'GET') return route.continue();
    chatHeld = true;
    const response = await route.fetch();
    chatRead();
    await gate;
    return route.fulfill({ response });
  });
  let inboxHeld = false;
  await page.route(/\/api\/support\/conversations\?/, async (route) => {
    if (inboxHeld) return route.continue();
    inboxHeld = true;
    await between;
    return route.continue();
  });

  await page.goto(server.url(`/admin/support/${conversation.id}`), { waitUntil: 'commit' });
  await read;
  await server.api(alice, 'POST', '/messages', { content: 'Between the reads' });
  written();
  const row = page.locator('conversation-preview', { hasText: 'alice' });
  await row.getByText('Between the reads').waitFor();
  // The stream is live and delivers more while the chat's load is still out.
  for (let n = 1; n <= 3; n += 1) {
    await server.api(alice, 'POST', '/messages', { content: `While loading ${n}` });
  }
  await row.getByText('While loading 3').waitFor();
  release();

  const { items } = await server.api(ada, 'GET', `/conversations/${conversation.id}/messages`);
  assert.equal(items.length, 5);
  const result = await settle(page, items.map((m) => m.id));
  assert.deepEqual(result, { missed: 0, doubled: 0, extra: 0 });
  // And it goes on live.
  await server.api(alice, 'POST', '/messages', { content: 'Afterwards' });
  await page.locator('support-chat support-message', { hasText: 'Afterwards' }).waitFor();
  assert.equal(await page.locator('support-chat support-message').count(), 6);
  assert.deepEqual(problems, []);
});
