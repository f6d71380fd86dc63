// The state behind a chat: conversations, their messages by id (so a
// message delivered twice, by the live stream and by a reload, shows once),
// messages still being sent (by client id), and how far the viewer has
// seen, and who is writing. No DOM here.

import { nameList } from './format.js';

function bySeq(a, b) {
  return a.seq - b.seq || (a.id < b.id ? -1 : 1);
}

function byCreation(a, b) {
  return a.conv.created_at < b.conv.created_at ? -1 : a.conv.created_at > b.conv.created_at ? 1
    : (a.conv.id < b.conv.id ? -1 : 1);
}

export class ChatModel {
  /**
   * `perspective`: `user` (the viewer wrote the user messages) or `admin`
   * (the viewer is on the team's side). `me`: the viewer's id, when known.
   */
  constructor({ perspective, me }) {
    this.perspective = perspective;
    this.me = me || '';
    /** id → {conv, messages: Map, loaded, hasOlder} */
    this.conversations = new Map();
    /** clientId → {clientId, content, createdAt, state: 'sending'|'failed', error} */
    this.pending = new Map();
    /** conversation id → the seq up to which the viewer has seen the other side */
    this.cursors = new Map();
  }

  /** Whether a message is from the viewer's side. */
  mine(message) {
    return this.perspective === 'user' ? !message.is_admin_message : message.is_admin_message;
  }

  entry(id) {
    let entry = this.conversations.get(id);
    if (!entry) {
      entry = { conv: null, messages: new Map(), loaded: false, hasOlder: true };
      this.conversations.set(id, entry);
    }
    return entry;
  }

  /** Whether messages of conversation `id` are shown. */
  isLoaded(id) {
    const entry = this.conversations.get(id);
    return Boolean(entry && entry.loaded);
  }

  /** Adds or refreshes a conversation (full objects or event bodies). */
  upsertConversation(conv) {
    const entry = this.entry(conv.id);
    entry.conv = { ...(entry.conv || {}), ...conv };
    return entry;
  }

  /**
   * Shows a conversation we learnt of from a send or an event. `created`:
   * it has just begun (its messages follow as events), so nothing is older.
   */
  adoptNew(id, { created = false } = {}) {
    const entry = this.entry(id);
    if (!entry.loaded) {
      entry.loaded = true;
      entry.hasOlder = !created
        && Boolean(entry.conv && entry.conv.message_count > entry.messages.size);
    }
  }

  /** A page of messages going back in time (`has_more`: older ones exist). */
  addOlderPage(id, items, hasMore) {
    const entry = this.entry(id);
    const before = this.oldestMessage(id);
    for (const message of items) this.upsertMessage(message);
    if (!entry.loaded || !before || (items.length && items[0].seq <= before.seq)) {
      entry.hasOlder = hasMore;
    }
    entry.loaded = true;
  }

  /** Adds a message, or merges what is new about a known one. True when new. */
  upsertMessage(message) {
    const entry = this.entry(message.conversation_id);
    const known = entry.messages.get(message.id);
    if (message.client_id && this.mine(message)) this.pending.delete(message.client_id);
    this.advanceCursorFor(message);
    if (known) {
      for (const receipt of message.seen_by || []) this.addReceipt(known, receipt);
      return false;
    }
    entry.messages.set(message.id, { ...message, seen_by: [...(message.seen_by || [])] });
    return true;
  }

  addReceipt(message, receipt) {
    if (message.seen_by.some((r) => r.user_id === receipt.user_id)) return false;
    message.seen_by.push(receipt);
    return true;
  }

  /** Applies a `message.seen` event. */
  applySeen(event) {
    const entry = this.conversations.get(event.conversation_id);
    if (!entry) return false;
    const upTo = entry.messages.get(event.up_to);
    const byViewer = event.user_id === this.me
      || (this.perspective === 'user' && !event.is_admin);
    if (!upTo) return false;
    if (byViewer) this.setCursor(event.conversation_id, upTo.seq);
    let changed = false;
    for (const message of entry.messages.values()) {
      // An admin reader sees user messages, and the other way round.
      if (message.is_admin_message === event.is_admin || message.seq > upTo.seq) continue;
      changed = this.addReceipt(message, { user_id: event.user_id, seen_at: event.seen_at }) || changed;
    }
    return changed;
  }

  /** Whether the viewer has seen a message of the other side. */
  seenByViewer(message) {
    if (message.seq <= this.cursor(message.conversation_id)) return true;
    return message.seen_by.some((r) => r.user_id === this.me)
      || (this.perspective === 'user' && !this.me && message.seen_by.length > 0);
  }

  cursor(id) {
    return this.cursors.get(id) || 0;
  }

  setCursor(id, seq) {
    if (seq > this.cursor(id)) this.cursors.set(id, seq);
  }

  /** Restores a cursor after a failed mark. */
  resetCursor(id, seq) {
    this.cursors.set(id, seq);
  }

  advanceCursorFor(message) {
    const writtenByViewer = this.perspective === 'user'
      ? !message.is_admin_message
      : message.is_admin_message && message.user_id === this.me;
    // Whoever writes has seen what they answer.
    if (writtenByViewer) this.setCursor(message.conversation_id, message.seq);
    else if ((message.seen_by || []).some((r) => r.user_id === this.me)
      || (this.perspective === 'user' && (message.seen_by || []).length > 0)) {
      this.setCursor(message.conversation_id, message.seq);
    }
  }

  /** A message being sent. */
  addPending(clientId, content) {
    this.pending.set(clientId, {
      clientId, content, createdAt: new Date().toISOString(), state: 'sending', error: null,
    });
  }

  /** Conversations with a known record, oldest first. */
  ordered() {
    return [...this.conversations.values()].filter((e) => e.conv).sort(byCreation);
  }

  /** The oldest conversation on screen. */
  oldestLoaded() {
    return this.ordered().find((e) => e.loaded) || null;
  }

  /** The newest conversation not yet on screen that is older than all on screen. */
  previousUnloaded() {
    const ordered = this.ordered();
    const first = ordered.findIndex((e) => e.loaded);
    if (first <= 0) return first === -1 ? ordered[ordered.length - 1] || null : null;
    return ordered[first - 1];
  }

  /** Whether older messages exist than those on screen. */
  hasEarlier() {
    const oldest = this.oldestLoaded();
    return Boolean(oldest && (oldest.hasOlder || this.previousUnloaded()));
  }

  oldestMessage(id) {
    const entry = this.conversations.get(id);
    if (!entry || entry.messages.size === 0) return null;
    return [...entry.messages.values()].sort(bySeq)[0];
  }

  newestMessage(id) {
    const entry = this.conversations.get(id);
    if (!entry || entry.messages.size === 0) return null;
    const sorted = [...entry.messages.values()].sort(bySeq);
    return sorted[sorted.length - 1];
  }

  /** Number of messages on screen. */
  messageCount() {
    let n = 0;
    for (const entry of this.conversations.values()) if (entry.loaded) n += entry.messages.size;
    return n;
  }

  /**
   * What the chat shows, in order: markers, messages, pending sends. Each
   * item has a stable `key`.
   */
  timeline() {
    const shown = this.ordered().filter((e) => e.loaded);
    const items = [];
    const earlier = this.hasEarlier();
    shown.forEach((entry, index) => {
      const { conv } = entry;
      if (index === 0 && !earlier) {
        items.push({ kind: 'start', key: `start:${conv.id}`, conv });
      } else if (index > 0) {
        items.push({ kind: 'new', key: `new:${conv.id}`, conv });
      }
      let previous = null;
      for (const message of [...entry.messages.values()].sort(bySeq)) {
        const grouped = Boolean(previous
          && previous.user_id === message.user_id
          && new Date(message.created_at) - new Date(previous.created_at) < 5 * 60 * 1000);
        items.push({
          kind: 'message',
          key: message.client_id ? `c:${message.client_id}` : `m:${message.id}`,
          message,
          mine: this.mine(message),
          grouped,
        });
        previous = message;
      }
      if (conv.status === 'closed') {
        items.push({
          kind: 'resolved', key: `resolved:${conv.id}`, conv, last: index === shown.length - 1,
        });
      }
    });
    const pending = [...this.pending.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
    for (const send of pending) {
      items.push({ kind: 'pending', key: `c:${send.clientId}`, send, mine: true });
    }
    return items;
  }
}

// How long a typing signal lasts when it does not say.
const TYPING_MS = 6000;

/**
 * Who is writing, from `typing` signals: an entry per person and
 * conversation lasts `expires_in_ms` after that person's latest signal, or
 * until their message arrives. `onExpire()` is called when entries end by
 * themselves (a timer), so the view can redraw.
 */
export class TypingState {
  constructor(onExpire) {
    this.onExpire = onExpire;
    /** key → {conversationId, role, userId, name, timer} */
    this.entries = new Map();
  }

  /** A `typing` signal: `{conversation_id, role, user_id, name, expires_in_ms}`. */
  add(signal) {
    const key = `${signal.conversation_id} ${signal.role} ${signal.user_id || ''}`;
    const known = this.entries.get(key);
    if (known) clearTimeout(known.timer);
    const entry = {
      conversationId: signal.conversation_id, role: signal.role,
      userId: signal.user_id || null, name: signal.name || null,
    };
    const ms = Number(signal.expires_in_ms);
    entry.timer = setTimeout(() => {
      if (this.entries.get(key) !== entry) return;
      this.entries.delete(key);
      this.onExpire();
    }, Number.isFinite(ms) && ms >= 0 ? ms : TYPING_MS);
    this.entries.set(key, entry);
  }

  /**
   * A message arrived: its author has stopped writing. `anyAdmin`: every
   * admin's entry in that conversation ends (the user's view, where admins
   * type anonymously). True when an entry ended.
   */
  ended(message, { anyAdmin = false } = {}) {
    const role = message.is_admin_message ? 'admin' : 'user';
    let changed = false;
    for (const [key, entry] of this.entries) {
      if (entry.conversationId !== message.conversation_id || entry.role !== role) continue;
      if (!(anyAdmin && role === 'admin') && entry.userId !== null && entry.userId !== message.user_id) continue;
      clearTimeout(entry.timer);
      this.entries.delete(key);
      changed = true;
    }
    return changed;
  }

  /** The entries of the conversations `concerns(id)` accepts, oldest first. */
  list(concerns) {
    return [...this.entries.values()].filter((entry) => concerns(entry.conversationId));
  }

  clear() {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }
}

/**
 * What a chat says of `entries` (of `TypingState`): for a user "Support is
 * typing…" (or the admins' names, when the host shares them); on the desk
 * "Alice is typing…", "Bob is replying…", or both. '' for nobody.
 */
export function typingSentence(entries, { perspective, ownerName = '' }) {
  if (entries.length === 0) return '';
  const verb = (list, what) => `${list.length === 1 ? 'is' : 'are'} ${what}…`;
  if (perspective === 'user') {
    if (!entries.every((e) => e.name)) return 'Support is typing…';
    return `${nameList(entries.map((e) => e.name))} from Support ${verb(entries, 'typing')}`;
  }
  const label = (e) => e.name || e.userId
    || (e.role === 'user' ? ownerName || 'The user' : 'Someone from the team');
  const phrase = (list, what) => (list.length ? `${nameList(list.map(label))} ${verb(list, what)}` : '');
  return [
    phrase(entries.filter((e) => e.role === 'user'), 'typing'),
    phrase(entries.filter((e) => e.role === 'admin'), 'replying'),
  ].filter(Boolean).join(' · ');
}
