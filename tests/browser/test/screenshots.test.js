// Both pages with a realistic desk, at desktop and phone width, in light
// and dark: screenshots for people to look at, and checks that nothing
// overflows a phone's width.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DESKTOP, PHONE, SCREENSHOTS, Server, launchBrowser, openAs, person, screenshot, sleep, waitLive,
} from '../lib/harness.js';

const ada = person('ada', 'admin', 'Ada Lovelace');

async function seed(server) {
  const say = async (who, content) => (await server.api(who, 'POST', '/messages', { content })).conversation;
  const reply = (id, content) => server.api(ada, 'POST', `/conversations/${id}/messages`, { content });
  const seen = async (who, id) => {
    const { items } = await server.api(who, 'GET', `/conversations/${id}/messages`);
    await server.api(who, 'POST', `/conversations/${id}/seen`, { up_to: items[items.length - 1].id });
  };
  const alice = person('alice', 'user', 'Alice Martin');
  const dan = person('dan', 'user', 'Dan Okafor');
  const bob = person('bob', 'user', 'Bob Chen');
  const erin = person('erin', 'user', 'Erin Novak');
  const carol = person('carol', 'user', 'Carol Diaz');

  let c = await say(dan, 'How do I switch to the yearly plan?');
  await reply(c.id, 'Under Settings → Billing → Change plan. The difference is credited right away.');
  await server.api(ada, 'POST', `/conversations/${c.id}/close`);

  c = await say(alice, "Hi! I can't sign in since this morning: it says my password expired.");
  await reply(c.id, "Sorry about that, Alice. I've sent you a reset link; it's valid for an hour.");
  await say(alice, 'Got it, I am back in. Thank you!');
  await server.api(ada, 'POST', `/conversations/${c.id}/close`);

  c = await say(erin, 'Do you offer a discount for non-profits?');
  await reply(c.id, 'We do: 40% on every plan. Reply with your registration number and I will apply it.');

  c = await say(alice, 'Hello again. My March invoice shows my old address.');
  await reply(c.id, "Thanks for telling us. I've corrected it; the new invoice is on its way by email.");
  await seen(alice, c.id);
  await say(alice, 'Perfect, I have it.\nCould you also add our VAT number? It is FR 12 345 678 901.');

  c = await say(carol, 'The app crashes when I upload a photo from my phone.');
  await reply(c.id, 'Which phone and app version do you use?');
  await say(carol, 'iPhone 13, app version 2.4.1');
  await say(carol, 'It happens with every photo, even small ones.');

  await say(bob, 'Is there a way to export all my data as CSV?');
  return { alice, carol: c };
}

async function noHorizontalScroll(page, what) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${what} overflows: ${scroll} > ${width}`);
}

test('screenshots of both pages, desktop and phone, light and dark', async (t) => {
  const server = await Server.start('screenshots');
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.close();
  });
  const { alice } = await seed(server);
  const { items } = await server.api(ada, 'GET', '/conversations?user_id=carol');
  const carolConversation = items[0].id;
  const saved = [];

  for (const colorScheme of ['light', 'dark']) {
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const suffix = `${size}${colorScheme === 'dark' ? '-dark' : ''}`;

      const user = await openAs(browser, server, alice, { viewport, colorScheme });
      await user.page.goto(server.url('/support'));
      await waitLive(user.page);
      await user.page.getByText('Could you also add our VAT number?').waitFor();
      await sleep(300);
      await noHorizontalScroll(user.page, `user page (${suffix})`);
      saved.push(await screenshot(user.page, `user-${suffix}`));
      assert.deepEqual(user.problems, []);
      await user.context.close();

      const admin = await openAs(browser, server, ada, { viewport, colorScheme });
      await admin.page.goto(server.url('/admin/support'));
      await waitLive(admin.page);
      await admin.page.locator('conversation-preview', { hasText: 'carol' }).waitFor();
      await admin.page.locator('.sp-chart svg').waitFor();
      await sleep(300);
      await noHorizontalScroll(admin.page, `desk (${suffix})`);
      saved.push(await screenshot(admin.page, `desk-${suffix}`));

      await admin.page.goto(server.url(`/admin/support/${carolConversation}`));
      await admin.page.locator('support-message', { hasText: 'It happens with every photo' }).waitFor();
      await admin.page.getByRole('textbox', { name: 'Reply' }).fill("Thanks! We found the bug; a fix ships tomorrow.");
      await sleep(300);
      await noHorizontalScroll(admin.page, `desk conversation (${suffix})`);
      saved.push(await screenshot(admin.page, `desk-conversation-${suffix}`));
      assert.deepEqual(admin.problems, []);
      await admin.context.close();
    }
  }
  console.log(`screenshots: ${SCREENSHOTS}`);
  assert.equal(saved.length, 12);
});
