// The support desk: the inbox beside the overview or one conversation.
// Opening a conversation from the inbox changes the URL without reloading
// (links still open in new tabs); Back and Forward work.
//
// Presence: the inbox lists the team (online or away), a conversation's
// header names the other admins viewing it (`GET /presence`, then
// `presence` signals). The desk tells the server which conversation it
// shows (`PUT /presence`) when that changes, when the live stream opens
// (the server keeps it per connection: a restarted server knows nothing),
// when the page goes away, and every 30 s while visible if the admin did
// something since.

import './support.js';
import { h, meta } from './dom.js';
import { SupportClient } from './api.js';
import { live } from './live.js';
import { fullTime, nameList, shortTime } from './format.js';

const adminPath = (meta('support-admin-path') || '/admin/support').replace(/\/+$/, '');
const main = document.getElementById('sp-desk-main');
const list = document.querySelector('conversation-list');
const client = SupportClient.for(null);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Activity is reported at most this often.
const HEARTBEAT_MS = 30000;

function idFromPath(pathname) {
  if (!pathname.startsWith(`${adminPath}/`)) return null;
  const id = decodeURIComponent(pathname.slice(adminPath.length + 1));
  return UUID.test(id) ? id : null;
}

// Presence

/** The team as the server last told it, and who is looking at it. */
const team = {
  me: meta('support-me'),
  presence: null,
  /** `presence` signals so far: a read begun before one is older than it. */
  signals: 0,
  /** The shown conversation's "… is viewing" line: `{id, node}`. */
  viewers: null,
};

function setPresence(presence) {
  if (!presence) return;
  team.presence = presence;
  renderTeam();
  renderViewers();
}

async function loadPresence() {
  if (!team.me) {
    try {
      team.me = (await client.me()).user_id;
    } catch {
      // Everyone is listed as another admin.
    }
  }
  const before = team.signals;
  try {
    const presence = await client.presence();
    if (team.signals === before) setPresence(presence);
  } catch {
    // The next `presence` signal tells.
  }
}

const adminLabel = (admin) => admin.name || admin.user_id;

/** Online first, then away; by name. */
function byPresence(a, b) {
  if (a.status !== b.status) return a.status === 'online' ? -1 : 1;
  return adminLabel(a).localeCompare(adminLabel(b));
}

/** The inbox's list of the team. */
function renderTeam() {
  const section = document.getElementById('sp-team');
  if (!section || !team.presence) return;
  const admins = [...(team.presence.admins || [])].sort(byPresence);
  const members = admins.map((admin) => {
    const away = admin.status !== 'online';
    return h('li', { class: 'sp-team-member', 'data-status': away ? 'away' : 'online', 'data-user': admin.user_id },
      h('span', { class: 'sp-team-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'sp-team-name', title: admin.name ? admin.user_id : null }, adminLabel(admin)),
      admin.user_id === team.me ? h('span', { class: 'sp-team-you' }, '(you)') : null,
      h('span', { class: away ? 'sp-team-state' : 'sp-sr' }, away ? 'away' : 'online'));
  });
  section.querySelector('.sp-team-list').replaceChildren(...members);
  section.hidden = members.length === 0;
}

/** "Bob is viewing": the other admins on the shown conversation. */
function renderViewers() {
  if (!team.viewers) return;
  const { id, node } = team.viewers;
  const others = ((team.presence && team.presence.admins) || [])
    .filter((admin) => admin.user_id !== team.me && (admin.viewing || []).includes(id));
  node.textContent = others.length
    ? `${nameList(others.map(adminLabel))} ${others.length === 1 ? 'is' : 'are'} viewing`
    : '';
  node.hidden = others.length === 0;
}

/** What this desk reports: the conversation shown, and when it last did. */
const activity = { viewing: undefined, sentAt: 0, timer: null, connected: false };

function reportViewing() {
  // Not before the stream is live: the server counts connected admins only.
  if (!activity.connected) return;
  clearTimeout(activity.timer);
  activity.timer = null;
  activity.sentAt = Date.now();
  client.viewing(activity.viewing).catch(() => {
    // Reported again with the next activity.
  });
}

function showing(id) {
  if (id === activity.viewing) return;
  activity.viewing = id;
  reportViewing();
}

/** Whether the team sees this admin as away. */
function away() {
  const admins = (team.presence && team.presence.admins) || [];
  return admins.some((admin) => admin.user_id === team.me && admin.status === 'away');
}

/**
 * Pointer or keyboard: reported at most every 30 s, while visible; at once
 * when the team sees this admin as away.
 */
function interacted() {
  if (document.visibilityState !== 'visible') return;
  if (away() && Date.now() - activity.sentAt > 1000) {
    reportViewing();
    return;
  }
  if (activity.timer) return;
  activity.timer = setTimeout(() => {
    activity.timer = null;
    if (document.visibilityState === 'visible') reportViewing();
  }, Math.max(0, activity.sentAt + HEARTBEAT_MS - Date.now()));
}

for (const name of ['pointerdown', 'pointermove', 'keydown', 'wheel']) {
  document.addEventListener(name, interacted, { passive: true, capture: true });
}
window.addEventListener('pagehide', () => {
  if (activity.viewing) client.viewing(null, { keepalive: true }).catch(() => {});
  activity.viewing = undefined;
});
// Back from the back/forward cache: shown again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) showing(idFromPath(window.location.pathname));
});
// A stream tells the presence once it is live: the server has counted the
// connection by then, so what this desk views is reported from there on.
live(client.base).watch((state) => {
  if (state !== 'open') activity.connected = false;
});
live(client.base).onSignal('presence', (presence) => {
  team.signals += 1;
  setPresence(presence);
  if (!activity.connected) {
    activity.connected = true;
    if (activity.viewing !== undefined) reportViewing();
  }
});

// Views

function show(id, { focus = false } = {}) {
  document.body.classList.toggle('sp-desk--conversation', Boolean(id));
  list.selected = id || '';
  showing(id || null);
  team.viewers = null;
  if (id) {
    main.replaceChildren(conversationView(id));
  } else {
    document.title = 'Support desk';
    main.replaceChildren(h('div', { class: 'sp-dashboard' }, h('support-analytics')));
  }
  if (focus) {
    const heading = main.querySelector('h2');
    if (heading) heading.focus();
  }
}

function conversationView(id) {
  const title = h('h2', { tabindex: '-1', class: 'sp-conv-title' }, 'Conversation');
  const status = h('span', { class: 'sp-tag' });
  const started = h('span', { class: 'sp-conv-meta' });
  const viewers = h('span', { class: 'sp-conv-viewers', hidden: true });
  team.viewers = { id, node: viewers };
  renderViewers();
  const error = h('p', { class: 'sp-conv-error', role: 'alert' });
  const resolve = h('button', { type: 'button', class: 'sp-button sp-button--primary', 'data-action': 'close' }, 'Mark resolved');
  const reopen = h('button', { type: 'button', class: 'sp-button', 'data-action': 'reopen' }, 'Reopen');
  const chat = h('support-chat', { conversation: id, perspective: 'admin', label: 'Messages' });
  let conversation = null;

  const paint = (c) => {
    conversation = { ...(conversation || {}), ...c };
    const who = conversation.user_name || conversation.user_id;
    title.textContent = who;
    title.title = conversation.user_name ? conversation.user_id : '';
    if (conversation.user_name) chat.setAttribute('owner-name', conversation.user_name);
    document.title = `${who} · Support desk`;
    const open = conversation.status === 'open';
    status.textContent = open ? (conversation.awaiting_reply ? 'Awaiting reply' : 'Open') : 'Resolved';
    status.className = `sp-tag ${open ? (conversation.awaiting_reply ? 'sp-tag--awaiting' : 'sp-tag--open') : 'sp-tag--closed'}`;
    started.textContent = `Started ${shortTime(conversation.created_at)}`;
    started.title = fullTime(conversation.created_at);
    resolve.hidden = !open;
    reopen.hidden = open;
  };

  const act = async (button, action) => {
    button.disabled = true;
    error.textContent = '';
    try {
      paint(await action(id));
    } catch (e) {
      error.textContent = e.detail || 'That did not work; try again.';
    } finally {
      button.disabled = false;
    }
  };
  resolve.addEventListener('click', () => act(resolve, (cid) => client.close(cid)));
  reopen.addEventListener('click', () => act(reopen, (cid) => client.reopen(cid)));
  resolve.hidden = true;
  reopen.hidden = true;

  const view = h('section', { class: 'sp-conv', 'aria-labelledby': 'sp-conv-title' },
    h('header', { class: 'sp-conv-head' },
      h('a', { class: 'sp-back', href: adminPath, 'data-desk-home': '' }, h('span', { 'aria-hidden': 'true' }, '← '), 'Inbox'),
      h('div', { class: 'sp-conv-who' }, title, h('div', { class: 'sp-conv-sub' }, status, started, viewers)),
      h('div', { class: 'sp-conv-actions' }, resolve, reopen)),
    error,
    chat);
  title.id = 'sp-conv-title';

  // The chat loads the conversation and follows it live; the header shows
  // what the chat has. Until then, a quick read of its own (which also
  // tells a missing conversation).
  let followed = false;
  chat.addEventListener('support-conversation', (e) => {
    followed = true;
    paint(e.detail);
  });
  client.conversation(id).then((c) => {
    if (!followed) paint(c);
  }).catch((e) => {
    title.textContent = e.status === 404 ? 'Conversation not found' : 'Conversation';
    error.textContent = e.status === 404 ? '' : e.detail || '';
  });
  return view;
}

function navigate(event, href) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
    || event.shiftKey || event.altKey) return;
  const url = new URL(href, window.location.href);
  if (url.origin !== window.location.origin) return;
  event.preventDefault();
  if (url.pathname !== window.location.pathname) window.history.pushState(null, '', url.pathname);
  show(idFromPath(url.pathname), { focus: true });
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a.sp-preview-link, a[data-desk-home]');
  if (link) navigate(event, link.getAttribute('href'));
});
window.addEventListener('popstate', () => show(idFromPath(window.location.pathname)));

show(meta('support-conversation') || null);
loadPresence();
