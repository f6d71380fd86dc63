// The support desk: the inbox beside the overview or one conversation.
// Opening a conversation from the inbox changes the URL without reloading
// (links still open in new tabs); Back and Forward work.

import './support.js';
import { h, meta } from './dom.js';
import { SupportClient } from './api.js';
import { fullTime, shortTime } from './format.js';

const adminPath = (meta('support-admin-path') || '/admin/support').replace(/\/+$/, '');
const main = document.getElementById('sp-desk-main');
const list = document.querySelector('conversation-list');
const client = SupportClient.for(null);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function idFromPath(pathname) {
  if (!pathname.startsWith(`${adminPath}/`)) return null;
  const id = decodeURIComponent(pathname.slice(adminPath.length + 1));
  return UUID.test(id) ? id : null;
}

function show(id, { focus = false } = {}) {
  document.body.classList.toggle('sp-desk--conversation', Boolean(id));
  list.selected = id || '';
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
      h('div', { class: 'sp-conv-who' }, title, h('div', { class: 'sp-conv-sub' }, status, started)),
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
