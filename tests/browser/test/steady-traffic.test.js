// Scenario: the desk under steady traffic. Live events keep coming (a
// message every 100 ms), and the inbox and the overview still refresh at a
// bounded delay: they do not wait for a pause that never comes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, openAs, person, sleep, waitLive,
} from '../lib/harness.js';

// The burst: one message every TICK ms for BURST ms.
const TICK = 100;
const BURST = 5000;
// How long a message sent during the burst may wait to show in the inbox.
const INBOX_LAG = 1500;
// How long the overview's figures may stay behind while events keep coming.
const OVERVIEW_LAG = 4500;

/** The "Messages" figure of the overview, as a number (NaN while none). */
async function messageFigure(page) {
  const value = page.locator('support-analytics .sp-tile--wide .sp-tile-value');
  if ((await value.count()) === 0) return NaN;
  return Number(await value.textContent());
}

/** The inbox's rows: the user's name and the last message's text. */
function inboxRows(page) {
  return page.locator('conversation-preview').evaluateAll((nodes) => nodes.map((n) => ({
    user: n.querySelector('.sp-preview-user').textContent,
    text: n.querySelector('.sp-preview-text').textContent,
  })));
}

test('the inbox and the overview refresh while messages keep arriving', async (t) => {
  const server = await Server.start('steady-traffic');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const ada = person('ada', 'admin', 'Ada');
  const steady = person('steady', 'user', 'Steady Sam');
  await server.api(steady, 'POST', '/messages', { content: 'Steady 0' });
  const before = 1;

  const { page, problems } = await openAs(browser, server, ada);
  await page.goto(server.url('/admin/support'));
  await waitLive(page);
  await eventually(async () => (await messageFigure(page)) === before);
  await page.locator('conversation-preview', { hasText: 'Steady 0' }).waitFor();

  // The burst: Sam writes every TICK ms; now and then someone new starts a
  // conversation (its row is new, and its message stays its last).
  const sent = [];
  const newcomers = [];
  const started = Date.now();
  const writing = (async () => {
    for (let n = 1; Date.now() - started < BURST; n += 1) {
      const due = started + n * TICK;
      if (n % 10 === 5) {
        const who = person(`newcomer${n}`, 'user', `Newcomer ${n}`);
        const content = `Hello from newcomer ${n}`;
        const at = Date.now();
        await server.api(who, 'POST', '/messages', { content });
        newcomers.push({ user: who.name, content, at });
      } else {
        const content = `Steady ${n}`;
        const at = Date.now();
        await server.api(steady, 'POST', '/messages', { content });
        sent.push({ n, at });
      }
      await sleep(Math.max(0, due - Date.now()));
    }
  })();

  // Watched while it lasts: how long the oldest message not shown in Sam's
  // row has waited, the time each newcomer's row took to show, and the
  // overview's figure.
  let inboxLag = 0;
  const shownAfter = new Map();
  let overviewFirstChange = null;
  while (Date.now() - started < BURST) {
    const now = Date.now();
    const rows = await inboxRows(page);
    const sam = rows.find((r) => r.user === steady.name);
    const shown = sam ? Number(sam.text.replace('Steady ', '')) : 0;
    const waiting = sent.find((m) => m.n > shown);
    if (waiting) inboxLag = Math.max(inboxLag, now - waiting.at);
    for (const { user, content, at } of newcomers) {
      if (!shownAfter.has(user) && rows.some((r) => r.user === user && r.text === content)) {
        shownAfter.set(user, now - at);
      }
    }
    if (overviewFirstChange === null && (await messageFigure(page)) > before) {
      overviewFirstChange = now - started;
    }
    await sleep(50);
  }
  const burstEnded = Date.now() - started;
  await writing;

  const lags = newcomers.map(({ user }) => shownAfter.get(user) ?? null);
  const line = `${sent.length + newcomers.length} messages in ${(burstEnded / 1000).toFixed(1)} s; `
    + `Sam's row behind by up to ${inboxLag} ms; newcomers shown after ${JSON.stringify(lags)} ms; `
    + `overview first updated at ${overviewFirstChange} ms`;
  t.diagnostic(line);

  assert.ok(inboxLag <= INBOX_LAG, `the inbox kept a message waiting for more than ${INBOX_LAG} ms: ${line}`);
  // Every newcomer written before the burst's last INBOX_LAG ms shows before it ends.
  for (const { user, at } of newcomers) {
    if (at - started > BURST - INBOX_LAG) continue;
    const lag = shownAfter.get(user);
    assert.ok(lag !== undefined && lag <= INBOX_LAG, `${user} shown after ${lag} ms: ${line}`);
  }
  assert.ok(overviewFirstChange !== null && overviewFirstChange <= OVERVIEW_LAG,
    `the overview stayed stale during the burst: ${line}`);

  // Once it is over, both show all of it.
  const total = before + sent.length + newcomers.length;
  const last = sent[sent.length - 1];
  await page.locator('conversation-preview', { hasText: `Steady ${last.n}` }).waitFor({ timeout: 3000 });
  await eventually(async () => (await messageFigure(page)) === total, { timeout: 6000 });
  assert.equal(await page.locator('conversation-preview').count(), 1 + newcomers.length);
  assert.deepEqual(problems, []);
});
