// <support-chat>: a live conversation view.
//
// Without attributes it is the user's chat: every conversation of the
// signed-in user in one thread, oldest to newest, with a marker where one
// was resolved and the next began; it writes with `POST /messages`. With
// `conversation="<id>"` it shows that one conversation from the team's
// side and replies into it. Attributes: `api` (API base; default the
// page's `<meta name="support-api">`), `conversation`, `perspective`
// (`user` or `admin`), `me` (the viewer's id), `label`.
//
// Messages show at once when sent (with a client id), are confirmed by the
// server, and stay with a Retry button when sending fails; retrying reuses
// the client id, so the server cannot store it twice. Live events come from
// the shared connection, from the position of the load's first read on
// (events during the load are held, then applied); every message is keyed
// by id, so replays and reloads never show one twice. What the viewer
// actually sees (on screen, tab focused) is marked seen. With
// `conversation`, it tells the page of every change to that conversation
// with a `support-conversation` event (`detail`: the conversation).
//
// Under the last message it says who is writing (`typing` signals, until
// they expire or that person's message arrives), and while the viewer
// writes it tells the other side, at most every 2 s. The user's chat says
// whether the team is online, or how soon it usually replies (`GET
// /presence`, then `presence` signals).

import { h, meta, reconcile } from './dom.js';
import { SupportClient, newClientId } from './api.js';
import { live } from './live.js';
import { ChatModel, TypingState, typingSentence } from './chat-model.js';
import { fullTime, presenceSentence, shortTime } from './format.js';
import './support-message.js';
import './support-input.js';

const PAGE = 50;
// Typing signals sent at most this often (the server ignores more).
const TYPING_EVERY_MS = 2000;
// After the viewer's message, the server drops typing signals this long
// (typed before the message, they would show the indicator again).
const QUIET_AFTER_SEND_MS = 500;

export class SupportChat extends HTMLElement {
  static get observedAttributes() { return ['owner-name']; }

  /** `owner-name`: the user's display name, shown on their messages (the desk). */
  attributeChangedCallback() {
    if (this.model) this.render();
  }

  connectedCallback() {
    if (this.model) return;
    this.client = SupportClient.for(this);
    this.conversationId = this.getAttribute('conversation') || '';
    this.perspective = this.getAttribute('perspective') || (this.conversationId ? 'admin' : 'user');
    this.me = this.getAttribute('me') || meta('support-me');
    this.model = new ChatModel({ perspective: this.perspective, me: this.me });
    this.nodes = new Map();
    this.queue = [];
    this.sending = false;
    this.visible = new Set();
    this.ready = false;
    this.build();

    this.observer = new IntersectionObserver((entries) => this.onIntersect(entries), {
      root: this.scroller, threshold: [0, 0.25, 0.5, 1],
    });
    this.onFocus = () => this.flushSeen();
    window.addEventListener('focus', this.onFocus);
    document.addEventListener('visibilitychange', this.onFocus);
    const connection = live(this.client.base);
    // Follows the stream from where the load leaves off.
    this.feed = connection.follow((event) => this.onLive(event), () => this.resync());
    this.unwatch = connection.watch((state) => this.showConnection(state));
    this.typing = new TypingState(() => this.renderTyping());
    this.typedAt = 0;
    this.quietUntil = 0;
    this.quietTimer = null;
    this.unsignal = [connection.onSignal('typing', (signal) => this.onTyping(signal))];
    if (this.perspective === 'user' && !this.conversationId) {
      this.presenceSignals = 0;
      this.unsignal.push(connection.onSignal('presence', (presence) => {
        this.presenceSignals += 1;
        this.showPresence(presence);
      }));
      this.loadPresence();
    }
    this.load();
  }

  disconnectedCallback() {
    if (!this.model) return;
    this.feed.close();
    this.unwatch();
    for (const stop of this.unsignal) stop();
    this.typing.clear();
    clearTimeout(this.quietTimer);
    this.quietTimer = null;
    this.observer.disconnect();
    window.removeEventListener('focus', this.onFocus);
    document.removeEventListener('visibilitychange', this.onFocus);
  }

  build() {
    this.classList.add('sp-chat');
    const label = this.getAttribute('label') || 'Conversation';
    this.banner = h('div', { class: 'sp-banner', role: 'status', hidden: true });
    this.earlier = h('button', { type: 'button', class: 'sp-earlier', hidden: true }, 'Show earlier messages');
    this.earlier.addEventListener('click', () => this.loadEarlier());
    this.state = h('div', { class: 'sp-chat-state', role: 'status' });
    this.log = h('div', { class: 'sp-log', role: 'log', 'aria-label': label, 'aria-live': 'polite' });
    // Always there (a live region announces changes only once it exists), and
    // always as tall, so that someone starting to write moves nothing.
    this.typingText = h('span', { class: 'sp-typing-text' });
    this.typingRow = h('div', { class: 'sp-typing', role: 'status', 'aria-live': 'polite' },
      h('span', { class: 'sp-typing-dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
      this.typingText);
    this.scroller = h('div', { class: 'sp-scroll', tabindex: '0', role: 'region', 'aria-label': label },
      h('div', { class: 'sp-scroll-inner' }, this.earlier, this.state, this.log, this.typingRow));
    this.jump = h('button', { type: 'button', class: 'sp-jump', hidden: true }, 'New messages ↓');
    this.jump.addEventListener('click', () => this.scrollToBottom(true));
    this.input = h('support-input', {
      label: this.conversationId ? 'Reply' : 'Message to support',
      placeholder: this.conversationId ? 'Write a reply…' : 'Write a message…',
      'form-id': 'sp-compose',
    });
    this.presenceText = h('span', { class: 'sp-presence-text' });
    this.presence = h('p', { class: 'sp-presence', role: 'status', hidden: true },
      h('span', { class: 'sp-presence-dot', 'aria-hidden': 'true' }), this.presenceText);
    this.append(this.presence, this.banner, this.scroller, this.jump, this.input);

    this.addEventListener('support-send', (e) => this.send(e.detail.content));
    this.addEventListener('support-typing', () => this.composing());
    this.log.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-action]');
      const item = button && button.closest('support-message');
      if (!item) return;
      if (button.dataset.action === 'retry') this.retry(item.dataset.clientId);
      if (button.dataset.action === 'discard') this.discard(item.dataset.clientId);
    });
    this.scroller.addEventListener('scroll', () => {
      if (this.nearBottom()) this.jump.hidden = true;
    }, { passive: true });
  }

  // Loading

  /**
   * Records the position a read reflects: live events are followed from
   * the oldest (the first read), so nothing between the reads is lost.
   */
  reading() {
    const reads = { position: null };
    reads.at = (page) => {
      const at = page && page.last_event_id;
      if (typeof at === 'number' && (reads.position === null || at < reads.position)) reads.position = at;
      return page;
    };
    return reads;
  }

  async load() {
    this.feed.hold();
    this.showState('Loading…');
    const reads = this.reading();
    try {
      if (this.conversationId) {
        // The messages first: their position also covers the conversation read after.
        const page = reads.at(await this.client.messages(this.conversationId, { limit: PAGE }));
        this.model.upsertConversation(await this.client.conversation(this.conversationId));
        this.model.addOlderPage(this.conversationId, page.items, page.has_more);
      } else {
        for (const conv of await this.allConversations(reads)) this.model.upsertConversation(conv);
        // The newest conversation, and earlier ones while there is little to read.
        let previous = this.model.previousUnloaded();
        while (previous && (this.model.messageCount() < 20 || !this.model.oldestLoaded())) {
          const page = reads.at(await this.client.messages(previous.conv.id, { limit: PAGE }));
          this.model.addOlderPage(previous.conv.id, page.items, page.has_more);
          previous = this.model.previousUnloaded();
          if (this.model.ordered().filter((e) => e.loaded).length >= 3) break;
        }
      }
      this.ready = true;
      // What arrived during the load, then everything live.
      this.feed.from(reads.position);
      this.showState('');
      this.render({ toBottom: true });
    } catch (error) {
      // Not holding the stream up: until a load succeeds (Try again),
      // live events are ignored and that load reads what they changed.
      this.feed.from(reads.position);
      this.showError(error);
    }
  }

  async allConversations(reads) {
    const all = [];
    let cursor = null;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = reads.at(await this.client.conversations({ status: 'all', limit: 100, cursor }));
      all.push(...page.items);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return all;
  }

  async loadEarlier() {
    const oldest = this.model.oldestLoaded();
    if (!oldest || this.loadingEarlier) return;
    this.loadingEarlier = true;
    this.earlier.disabled = true;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    try {
      if (oldest.hasOlder) {
        const first = this.model.oldestMessage(oldest.conv.id);
        const page = await this.client.messages(oldest.conv.id, {
          limit: PAGE, before: first ? first.id : undefined,
        });
        this.model.addOlderPage(oldest.conv.id, page.items, page.has_more);
      } else {
        const previous = this.model.previousUnloaded();
        if (previous) {
          const page = await this.client.messages(previous.conv.id, { limit: PAGE });
          this.model.addOlderPage(previous.conv.id, page.items, page.has_more);
        }
      }
      this.render();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch (error) {
      this.flash(error);
    } finally {
      this.loadingEarlier = false;
      this.earlier.disabled = false;
    }
  }

  /**
   * After the stream skipped events (or could not resume): reload and
   * merge, then follow on from the reload (events meanwhile are held).
   */
  async resync() {
    if (!this.ready) {
      this.feed.from(null);
      return;
    }
    const reads = this.reading();
    try {
      if (this.conversationId) {
        await this.catchUp(this.conversationId, reads);
        this.model.upsertConversation(await this.client.conversation(this.conversationId));
      } else {
        for (const conv of await this.allConversations(reads)) {
          const known = this.model.conversations.has(conv.id);
          this.model.upsertConversation(conv);
          if (!known || this.model.isLoaded(conv.id)) await this.catchUp(conv.id, reads);
        }
      }
      this.feed.from(reads.position);
      this.render();
    } catch {
      // The next reconnection tries again.
      this.feed.from(reads.position);
    }
  }

  /** Everything after the newest message we have, then fresh receipts. */
  async catchUp(id, reads) {
    let last = this.model.newestMessage(id);
    if (last) {
      for (;;) {
        const page = reads.at(await this.client.messages(id, { after: last.id, limit: 200 }));
        for (const message of page.items) this.model.upsertMessage(message);
        if (!page.has_more || page.items.length === 0) break;
        last = page.items[page.items.length - 1];
      }
    }
    const newest = reads.at(await this.client.messages(id, { limit: PAGE }));
    this.model.addOlderPage(id, newest.items, newest.has_more);
  }

  // Live events

  concerns(conversationId) {
    return !this.conversationId || conversationId === this.conversationId;
  }

  onLive({ name, data }) {
    // Whoever wrote it has stopped writing (for a user: the team has).
    if (name === 'message.created' && this.concerns(data.conversation_id)
      && this.typing.ended(data, { anyAdmin: this.perspective === 'user' })) this.renderTyping();
    if (!this.ready) return;
    if (name === 'conversation.created' || name === 'conversation.updated') {
      if (!this.concerns(data.id)) return;
      const known = this.model.conversations.has(data.id);
      this.model.upsertConversation(data);
      if (!known && name === 'conversation.created') this.model.adoptNew(data.id, { created: true });
      else if (!this.model.isLoaded(data.id) && !this.conversationId
        && data.status === 'open') this.fetchConversation(data.id);
    } else if (name === 'message.created') {
      if (!this.concerns(data.conversation_id)) return;
      if (this.model.isLoaded(data.conversation_id)) {
        const fresh = this.model.upsertMessage(data);
        if (fresh && !this.model.mine(data)) this.arrived = true;
      } else {
        this.fetchConversation(data.conversation_id);
        return;
      }
    } else if (name === 'message.seen') {
      if (!this.concerns(data.conversation_id)) return;
      this.model.applySeen(data);
    }
    this.renderSoon();
  }

  async fetchConversation(id) {
    try {
      this.model.upsertConversation(await this.client.conversation(id));
      const page = await this.client.messages(id, { limit: PAGE });
      this.model.addOlderPage(id, page.items, page.has_more);
      this.arrived = true;
      this.renderSoon();
    } catch {
      // Shown by the next reload.
    }
  }

  // Sending

  send(content) {
    const clientId = newClientId();
    this.model.addPending(clientId, content);
    this.queue.push(clientId);
    this.render({ toBottom: true });
    this.pump();
  }

  retry(clientId) {
    const send = this.model.pending.get(clientId);
    if (!send) return;
    send.state = 'sending';
    send.error = null;
    this.queue.push(clientId);
    this.render();
    this.pump();
  }

  discard(clientId) {
    this.model.pending.delete(clientId);
    this.render();
    this.input.focus();
  }

  /** Sends queued messages one at a time, in the order written. */
  async pump() {
    if (this.sending) return;
    this.sending = true;
    while (this.queue.length) {
      const clientId = this.queue.shift();
      const send = this.model.pending.get(clientId);
      if (!send) continue;
      try {
        if (this.conversationId) {
          this.model.upsertMessage(await this.client.reply(this.conversationId, send.content, clientId));
        } else {
          const sent = await this.client.send(send.content, clientId);
          this.model.upsertConversation(sent.conversation);
          this.model.upsertMessage(sent.message);
          this.model.adoptNew(sent.conversation.id);
        }
        // Sent: writing the next one is news as soon as the server's quiet
        // moment after a message is over (its throttle starts over too).
        this.typedAt = 0;
        this.quietUntil = Date.now() + QUIET_AFTER_SEND_MS;
      } catch (error) {
        send.state = 'failed';
        send.error = error;
        if (error.signedOut) this.showError(error);
      }
      this.render({ toBottom: true });
    }
    this.sending = false;
  }

  // Typing and presence

  /** The viewer edits the message box: tells the other side, at most every 2 s. */
  composing() {
    const id = this.typingTarget();
    const now = Date.now();
    if (!id) return;
    if (now < this.quietUntil) {
      // Typed within the moment after a message: signalled once it is over.
      if (!this.quietTimer) {
        this.quietTimer = setTimeout(() => {
          this.quietTimer = null;
          this.composing();
        }, this.quietUntil - now);
      }
      return;
    }
    if (now - this.typedAt < TYPING_EVERY_MS) return;
    this.typedAt = now;
    this.client.typing(id).catch(() => {
      // Only a hint: the next keystrokes try again.
    });
  }

  /**
   * Where the viewer's next message goes: the conversation shown, or the
   * user's open one (none when the next message starts a conversation).
   */
  typingTarget() {
    if (this.conversationId) return this.conversationId;
    if (!this.ready) return null;
    const ordered = this.model.ordered();
    const newest = ordered[ordered.length - 1];
    return newest && newest.conv.status === 'open' ? newest.conv.id : null;
  }

  onTyping(signal) {
    if (!signal || !signal.conversation_id || !this.concerns(signal.conversation_id)) return;
    if (signal.user_id && signal.user_id === this.me) return;
    // A user hears of the team only.
    if (this.perspective === 'user' && signal.role !== 'admin') return;
    this.typing.add(signal);
    this.renderTyping();
  }

  renderTyping() {
    const line = typingSentence(this.typing.list((id) => this.concerns(id)), {
      perspective: this.perspective, ownerName: this.getAttribute('owner-name'),
    });
    if (line === this.typingText.textContent) return;
    const stick = this.nearBottom();
    this.typingText.textContent = line;
    this.typingRow.classList.toggle('sp-typing--on', Boolean(line));
    if (stick) this.scrollToBottom(false);
  }

  /** The team's presence, unless a `presence` signal came first (it is newer). */
  async loadPresence() {
    const before = this.presenceSignals;
    try {
      const presence = await this.client.presence();
      if (this.presenceSignals === before) this.showPresence(presence);
    } catch {
      // The next `presence` signal tells.
    }
  }

  showPresence(presence) {
    if (!presence) return;
    const text = presenceSentence(presence);
    this.presenceText.textContent = text;
    this.presence.dataset.state = presence.team_online ? 'online' : 'away';
    this.presence.hidden = !text;
  }

  // Seen marks

  onIntersect(entries) {
    for (const entry of entries) {
      // Half of it on screen, or half the screen for a long one.
      const rootHeight = entry.rootBounds ? entry.rootBounds.height : 0;
      const seen = entry.isIntersecting && (entry.intersectionRatio >= 0.5
        || entry.intersectionRect.height >= rootHeight / 2);
      if (seen) this.visible.add(entry.target);
      else this.visible.delete(entry.target);
    }
    this.flushSeen();
  }

  /** Marks the newest visible message of the other side seen, per conversation. */
  flushSeen() {
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    const newest = new Map();
    for (const el of this.visible) {
      const { message } = el;
      if (!message || !el.isConnected || this.model.mine(message)
        || this.model.seenByViewer(message)) {
        this.observer.unobserve(el);
        this.visible.delete(el);
        continue;
      }
      const best = newest.get(message.conversation_id);
      if (!best || message.seq > best.seq) newest.set(message.conversation_id, message);
    }
    for (const [conversationId, message] of newest) {
      const before = this.model.cursor(conversationId);
      this.model.setCursor(conversationId, message.seq);
      this.client.seen(conversationId, message.id).catch(() => {
        this.model.resetCursor(conversationId, before);
      });
    }
  }

  // Rendering

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 96;
  }

  scrollToBottom(smooth) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    this.jump.hidden = true;
  }

  renderSoon() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render();
    });
  }

  render({ toBottom = false } = {}) {
    if (!this.ready) return;
    const stick = toBottom || this.nearBottom();
    const items = this.model.timeline();
    const used = new Map();
    const nodes = items.map((item) => {
      const node = this.node(item);
      used.set(item.key, node);
      return node;
    });
    this.nodes = used;
    reconcile(this.log, nodes);
    this.earlier.hidden = !this.model.hasEarlier();
    if (items.length === 0) {
      this.showState(this.conversationId
        ? 'No messages yet.'
        : 'Hi! How can we help? Write your question below and the support team will answer here.');
    } else {
      this.showState('');
    }
    this.updateInput();
    this.announceConversation();
    if (stick) this.scrollToBottom(false);
    else if (this.arrived) this.jump.hidden = false;
    this.arrived = false;
    for (const node of nodes) {
      if (node.message && !this.model.mine(node.message) && !this.model.seenByViewer(node.message)) {
        this.observer.observe(node);
      }
    }
    this.flushSeen();
    this.dispatchEvent(new CustomEvent('support-rendered', { bubbles: true }));
  }

  node(item) {
    let node = this.nodes.get(item.key);
    if (item.kind === 'message' || item.kind === 'pending') {
      if (!node || node.localName !== 'support-message') node = h('support-message');
      node.update({
        message: item.message, send: item.send, mine: item.mine, grouped: item.grouped,
        perspective: this.perspective, me: this.me, ownerName: this.getAttribute('owner-name') || '',
      });
      return node;
    }
    const signature = `${item.kind}:${item.conv.status}:${item.conv.closed_at}:${item.last}`;
    if (node && node.dataset.signature === signature) return node;
    node = this.marker(item);
    node.dataset.signature = signature;
    return node;
  }

  marker(item) {
    const { conv } = item;
    if (item.kind === 'start') {
      return h('div', { class: 'sp-marker sp-marker--start', 'data-marker': 'start' },
        h('span', null, `Conversation started · ${shortTime(conv.created_at)}`));
    }
    if (item.kind === 'new') {
      return h('div', { class: 'sp-marker sp-marker--new', 'data-marker': 'new', 'data-conversation': conv.id },
        h('span', { title: fullTime(conv.created_at) }, `New conversation · ${shortTime(conv.created_at)}`));
    }
    const when = conv.closed_at || conv.updated_at;
    const hint = item.last && !this.conversationId
      ? 'Write below to start a new conversation.'
      : item.last ? 'A reply reopens it.' : null;
    return h('div', { class: 'sp-marker sp-marker--resolved', 'data-marker': 'resolved', 'data-conversation': conv.id },
      h('span', { title: fullTime(when) },
        h('span', { class: 'sp-marker-icon', 'aria-hidden': 'true' }, '✓'),
        ` Resolved · ${shortTime(when)}`),
      hint ? h('small', null, hint) : null);
  }

  /** Tells the page (the desk's header) when the conversation changed. */
  announceConversation() {
    if (!this.conversationId) return;
    const entry = this.model.conversations.get(this.conversationId);
    if (!entry || !entry.conv) return;
    const signature = JSON.stringify(entry.conv);
    if (signature === this.announced) return;
    this.announced = signature;
    this.dispatchEvent(new CustomEvent('support-conversation', { bubbles: true, detail: { ...entry.conv } }));
  }

  updateInput() {
    if (!this.conversationId) return;
    const entry = this.model.conversations.get(this.conversationId);
    const closed = entry && entry.conv && entry.conv.status === 'closed';
    this.input.placeholder = closed ? 'Write a reply (this reopens the conversation)…' : 'Write a reply…';
  }

  showState(text) {
    this.state.textContent = text;
    this.state.hidden = !text;
  }

  showConnection(state) {
    const lost = state === 'reconnecting';
    this.banner.hidden = !lost;
    this.banner.textContent = lost ? 'Connection lost. Reconnecting…' : '';
    this.classList.toggle('sp-chat--offline', lost);
  }

  showError(error) {
    const login = meta('support-login');
    this.state.replaceChildren(
      h('p', null, error.signedOut
        ? 'You are signed out.'
        : `Cannot load the conversation: ${error.detail || error.message}`),
      error.signedOut && login ? h('a', { class: 'sp-button', href: login }, 'Sign in') : null,
      !error.signedOut ? h('button', { type: 'button', class: 'sp-button', onclick: () => this.load() }, 'Try again') : null,
    );
    this.state.hidden = false;
  }

  flash(error) {
    this.banner.hidden = false;
    this.banner.textContent = error.detail || 'Something went wrong.';
    setTimeout(() => this.showConnection(live(this.client.base).state), 4000);
  }
}

if (!customElements.get('support-chat')) customElements.define('support-chat', SupportChat);
