// Scenario 5: typing indicators and presence. Whoever writes in the
// composer shows as typing on the other side, until the signal expires or
// their message arrives; the desk shows which admins are online, viewing a
// conversation or replying in it; the user's chat says whether the team is
// online. Typing and presence signals are not in the event log: the pages
// take them past the feeds' dedup by id.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Server, eventually, launchBrowser, messageTexts, openAs, person, sleep, waitLive,
} from '../lib/harness.js';

const GRACE_SECS = 2;
// Short typing expiry, for the indicator that goes by itself.
const QUICK = { SUPPORT_TYPING_EXPIRY_MS: '1500', SUPPORT_PRESENCE_GRACE_SECS: String(GRACE_SECS) };
// Long typing expiry: an indicator gone within a second was ended by a message.
const LASTING = { SUPPORT_TYPING_EXPIRY_MS: '20000', SUPPORT_PRESENCE_GRACE_SECS: String(GRACE_SECS) };

const alice = person('alice', 'user', 'Alice Example');
const ada = person('ada', 'admin', 'Ada Lovelace');
const bob = person('bob', 'admin', 'Bob Stone');

/** The text of the chat's "… is typing" row ('' when nobody writes). */
async function typingLine(page) {
  return ((await page.locator('support-chat .sp-typing').textContent()) || '').trim();
}

/** The times of the page's `POST …/typing` requests, as they happen. */
function typingRequests(page) {
  const times = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/conversations\/[^/]+\/typing$/.test(new URL(request.url()).pathname)) {
      times.push(Date.now());
    }
  });
  return times;
}

/** The inbox's team list: "name state" per member. */
function teamList(page) {
  return page.locator('#sp-team .sp-team-member').evaluateAll((nodes) => nodes.map((n) => (
    `${n.querySelector('.sp-team-name').textContent} ${n.dataset.status}`
    + `${n.querySelector('.sp-team-you') ? ' (you)' : ''}`)));
}

async function openBoth(browser, server, conversationId) {
  const user = await openAs(browser, server, alice);
  const admin = await openAs(browser, server, ada);
  await user.page.goto(server.url('/support'));
  await admin.page.goto(server.url(`/admin/support/${conversationId}`));
  await waitLive(user.page);
  await waitLive(admin.page);
  await user.page.locator('support-message[data-state="sent"]').first().waitFor();
  await admin.page.locator('support-message').first().waitFor();
  return { user, admin };
}

test('an admin writing shows "Support is typing…" to the user until it expires', async (t) => {
  const server = await Server.start('typing-expiry', { env: QUICK });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'Where is my parcel?' });
  const { user, admin } = await openBoth(browser, server, conversation.id);
  assert.equal(await typingLine(user.page), '', 'nobody writes yet');
  const sent = typingRequests(admin.page);

  // One edit of the reply box: one signal.
  await admin.page.getByRole('textbox', { name: 'Reply' }).fill('Let me look');
  const indicator = user.page.getByRole('status').filter({ hasText: 'Support is typing…' });
  await indicator.waitFor();
  const shown = Date.now();
  assert.equal(await typingLine(user.page), 'Support is typing…');
  assert.equal(await indicator.getAttribute('aria-live'), 'polite');
  assert.equal(sent.length, 1);
  // The typer is not told of itself.
  assert.equal(await typingLine(admin.page), '');

  // Still there a moment later, then gone by itself: no message came.
  await sleep(400);
  assert.equal(await typingLine(user.page), 'Support is typing…', 'shown until the expiry');
  await eventually(async () => (await typingLine(user.page)) === '', { timeout: 5000, interval: 50 });
  const lasted = Date.now() - shown;
  assert.ok(lasted >= 900, `gone after ${lasted} ms, before the 1500 ms expiry`);
  assert.deepEqual(await messageTexts(user.page), ['Where is my parcel?']);
  assert.equal(sent.length, 1, 'no more signals without more typing');

  assert.deepEqual(user.problems, []);
  assert.deepEqual(admin.problems, []);
});

test('typing shows on the other side, at most one signal per 2 s, and a message ends it at once', async (t) => {
  const server = await Server.start('typing-message', { env: LASTING });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'Where is my parcel?' });
  const { user, admin } = await openBoth(browser, server, conversation.id);
  const userSent = typingRequests(user.page);

  // The user writes for about 2.6 s: two signals, 2 s apart, not one per key.
  const box = user.page.getByRole('textbox', { name: 'Message to support' });
  await box.pressSequentially('I ordered it on Monday', { delay: 120 });
  assert.equal(userSent.length, 2, `signals at ${userSent.map((at) => at - userSent[0])} ms`);
  assert.ok(userSent[1] - userSent[0] >= 1900, `signals ${userSent[1] - userSent[0]} ms apart`);

  // The desk names the user (the host's name for her).
  await admin.page.getByRole('status').filter({ hasText: 'Alice Example is typing…' }).waitFor();
  assert.equal(await typingLine(admin.page), 'Alice Example is typing…');

  // Her message ends it at once, long before the 20 s expiry.
  await box.press('Enter');
  await admin.page.locator('support-message', { hasText: 'I ordered it on Monday' }).waitFor();
  await eventually(async () => (await typingLine(admin.page)) === '', { timeout: 1000, interval: 50 });

  // Writing again after sending is news once the moment after a message
  // is over (what was typed before it is stale), not 2 s later: both
  // throttles start over with a message.
  const sentAt = Date.now();
  await box.fill('Thanks');
  await sleep(700);
  await box.fill('Thanks!');
  await admin.page.getByRole('status').filter({ hasText: 'Alice Example is typing…' }).waitFor();
  assert.equal(userSent.length, 3);
  assert.ok(userSent[2] - sentAt < 1500, `the third signal ${userSent[2] - sentAt} ms after the message`);
  await box.fill('');

  // The other way round: the admin writes, then sends.
  const reply = admin.page.getByRole('textbox', { name: 'Reply' });
  await reply.fill('Checking with the courier');
  await user.page.getByRole('status').filter({ hasText: 'Support is typing…' }).waitFor();
  await reply.press('Enter');
  await user.page.locator('support-message', { hasText: 'Checking with the courier' }).waitFor();
  await eventually(async () => (await typingLine(user.page)) === '', { timeout: 1000, interval: 50 });

  assert.deepEqual(user.problems, []);
  assert.deepEqual(admin.problems, []);
});

test('two admins on one conversation see each other viewing and replying; the inbox lists the team', async (t) => {
  const server = await Server.start('typing-admins', { env: LASTING });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const { conversation } = await server.api(alice, 'POST', '/messages', { content: 'Can I change my plan?' });
  const first = await openAs(browser, server, ada);
  const second = await openAs(browser, server, bob);
  await first.page.goto(server.url(`/admin/support/${conversation.id}`));
  await second.page.goto(server.url('/admin/support'));
  await waitLive(first.page);
  await waitLive(second.page);

  // The inbox lists both, online, the viewer marked.
  await eventually(async () => JSON.stringify(await teamList(second.page))
    === JSON.stringify(['Ada Lovelace online', 'Bob Stone online (you)']));
  assert.equal(await second.page.getByRole('heading', { name: 'Team' }).count(), 1);

  // Ada views the conversation: her own header does not say so.
  await eventually(async () => {
    const { admins } = await server.api(bob, 'GET', '/presence');
    return admins.some((a) => a.user_id === 'ada' && a.viewing.includes(conversation.id));
  });
  const viewers = (page) => page.locator('.sp-conv-viewers');
  assert.equal(await viewers(first.page).isHidden(), true, 'nobody else views it');

  // Bob opens it: each sees the other.
  await second.page.locator('conversation-preview', { hasText: 'Alice Example' }).locator('a').click();
  await second.page.locator('.sp-conv-title', { hasText: 'Alice Example' }).waitFor();
  await viewers(second.page).filter({ hasText: 'Ada Lovelace is viewing' }).waitFor();
  await viewers(first.page).filter({ hasText: 'Bob Stone is viewing' }).waitFor();
  assert.equal(await viewers(second.page).textContent(), 'Ada Lovelace is viewing');

  // Ada writes: Bob sees her replying; she does not see herself.
  const reply = first.page.getByRole('textbox', { name: 'Reply' });
  await reply.fill('Yes, under Settings');
  await second.page.getByRole('status').filter({ hasText: 'Ada Lovelace is replying…' }).waitFor();
  assert.equal(await typingLine(second.page), 'Ada Lovelace is replying…');
  assert.equal(await typingLine(first.page), '');
  await reply.press('Enter');
  await second.page.locator('support-message', { hasText: 'Yes, under Settings' }).waitFor();
  await eventually(async () => (await typingLine(second.page)) === '', { timeout: 1000, interval: 50 });

  // Bob goes back to the inbox: he no longer views it.
  await second.page.locator('.sp-brand a[data-desk-home]').click();
  await second.page.locator('support-analytics').waitFor();
  await eventually(async () => viewers(first.page).isHidden());

  // Ada closes her page: after the grace period she is no longer listed.
  await first.context.close();
  await eventually(async () => JSON.stringify(await teamList(second.page))
    === JSON.stringify(['Bob Stone online (you)']), { timeout: (GRACE_SECS + 8) * 1000 });

  assert.deepEqual(second.problems, []);
});

test('the user sees the team online while an admin page is open, and not once all have closed', async (t) => {
  const server = await Server.start('presence-user', { env: QUICK });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  // Five conversations answered at once: enough for the server to say how
  // soon the team usually replies (it reads that at start, then every 10 min).
  let conversation;
  for (let i = 0; i < 5; i += 1) {
    ({ conversation } = await server.api(person(`asker${i}`), 'POST', '/messages', { content: 'Hello?' }));
    await server.api(ada, 'POST', `/conversations/${conversation.id}/messages`, { content: 'Hello!' });
  }
  await server.restart();

  const user = await openAs(browser, server, alice);
  await user.page.goto(server.url('/support'));
  await waitLive(user.page);
  await user.page.getByText('How can we help?').waitFor();
  const line = user.page.locator('support-chat .sp-presence');

  // Without the team, the user is told how soon it usually replies.
  const away = await server.api(alice, 'GET', '/presence');
  assert.equal(away.team_online, false);
  assert.equal('admins' in away, false, 'users are not told who is on the team');
  assert.ok(away.usual_first_response_seconds < 60, JSON.stringify(away));
  const offline = async () => (await line.textContent()) === 'Usually replies in under a minute'
    && line.isVisible();
  await eventually(offline, { timeout: 3000 });

  // Two admin pages open: the chat says so, live.
  const desk = await openAs(browser, server, ada);
  await desk.page.goto(server.url('/admin/support'));
  const other = await openAs(browser, server, bob);
  await other.page.goto(server.url(`/admin/support/${conversation.id}`));
  await user.page.getByRole('status').filter({ hasText: 'The team is online' }).waitFor();

  // One closes: the other keeps the team online past the grace period.
  await desk.context.close();
  await sleep((GRACE_SECS + 1.5) * 1000);
  assert.equal(await line.textContent(), 'The team is online');

  // The last one closes: online for the grace period, then no longer.
  await other.context.close();
  await sleep(300);
  assert.equal(await line.textContent(), 'The team is online', 'within the grace period');
  await eventually(offline, { timeout: (GRACE_SECS + 8) * 1000 });

  assert.deepEqual(user.problems, []);
});

test('an idle admin shows as away on the desk, and online again once they do something', async (t) => {
  const server = await Server.start('presence-away', {
    env: { ...LASTING, SUPPORT_AWAY_AFTER_SECS: '2' },
  });
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const first = await openAs(browser, server, ada);
  const second = await openAs(browser, server, bob);
  await first.page.goto(server.url('/admin/support'));
  await second.page.goto(server.url('/admin/support'));
  await waitLive(first.page);
  await waitLive(second.page);
  await eventually(async () => (await teamList(second.page)).includes('Ada Lovelace online'));

  // Nobody does anything: both turn away (the server reports every 5 s).
  await eventually(async () => JSON.stringify(await teamList(second.page))
    === JSON.stringify(['Ada Lovelace away', 'Bob Stone away (you)']), { timeout: 15000 });
  const member = second.page.locator('#sp-team .sp-team-member[data-user="ada"]');
  assert.equal(await member.locator('.sp-team-state').textContent(), 'away', 'away is said in words too');

  // Ada moves the mouse: reported at once (not at the next 30 s beat).
  await first.page.mouse.move(200, 300);
  await first.page.mouse.move(220, 320);
  await eventually(async () => (await teamList(second.page)).includes('Ada Lovelace online'), { timeout: 3000 });
  assert.deepEqual(first.problems, []);
  assert.deepEqual(second.problems, []);
});
