// <support-message>: one message. Its content is set as text, never as
// markup. `update(view)` re-renders only when something shown changed.

import { h, srOnly } from './dom.js';
import { fullTime, shortTime } from './format.js';

function initial(id) {
  return (id || '?').trim().charAt(0).toUpperCase() || '?';
}

/** One of eight avatar hues, stable per id. */
export function hue(id) {
  let n = 0;
  for (const c of id || '') n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return `sp-hue-${n % 8}`;
}

export class SupportMessage extends HTMLElement {
  /**
   * view: `{message, mine, perspective, me, grouped}` for a stored message,
   * or `{send, mine: true}` for one being sent (`send`: `{clientId,
   * content, createdAt, state, error}`).
   */
  update(view) {
    const { message, send } = view;
    const signature = JSON.stringify([
      message && [message.id, message.seen_by.length], send && [send.state, send.error && send.error.detail],
      view.grouped, view.mine, view.ownerName,
    ]);
    this.message = message || null;
    if (signature === this.signature) return;
    this.signature = signature;

    const content = message ? message.content : send.content;
    const created = message ? message.created_at : send.createdAt;
    const fromAdmin = message ? message.is_admin_message : view.perspective === 'admin';
    const author = message ? message.user_id : view.me;

    this.className = [
      'sp-msg',
      view.mine ? 'sp-msg--mine' : 'sp-msg--theirs',
      fromAdmin ? 'sp-msg--admin' : 'sp-msg--user',
      view.grouped ? 'sp-msg--grouped' : '',
      send ? `sp-msg--${send.state}` : '',
    ].filter(Boolean).join(' ');
    if (message) {
      this.dataset.id = message.id;
      this.dataset.conversation = message.conversation_id;
    }
    if (message && message.client_id) this.dataset.clientId = message.client_id;
    if (send) this.dataset.clientId = send.clientId;
    this.dataset.state = send ? send.state : 'sent';

    const label = this.authorLabel(view, fromAdmin, author);
    const who = view.mine && !label ? 'You' : label || author;
    const children = [];
    if (!view.mine) {
      children.push(h('span', { class: `sp-avatar ${hue(author)}`, 'aria-hidden': 'true' },
        fromAdmin ? h('span', { class: 'sp-avatar-team' }, initial(author)) : initial(label || author)));
    }
    const body = h('div', { class: 'sp-msg-body' });
    if (label && !view.grouped) body.append(h('div', { class: 'sp-msg-author', 'aria-hidden': 'true' }, label));
    body.append(
      h('div', { class: 'sp-bubble' },
        srOnly(`${who} wrote: `),
        h('p', { class: 'sp-text', text: content })),
      this.metaLine(view, created),
    );
    children.push(body);
    this.replaceChildren(...children);
  }

  authorLabel(view, fromAdmin, author) {
    if (view.perspective === 'user') return fromAdmin ? `${author} · Support` : '';
    // The desk: the user's name (or id) on their messages; other admins' ids on theirs.
    if (!fromAdmin) return view.ownerName || author;
    return author && author !== view.me ? `${author} · Support` : '';
  }

  metaLine(view, created) {
    const { message, send } = view;
    const line = h('div', { class: 'sp-msg-meta' },
      h('time', { datetime: created, title: fullTime(created) }, shortTime(created)));
    if (send && send.state === 'sending') {
      line.append(h('span', { class: 'sp-msg-status' }, 'Sending…'));
    } else if (send) {
      const retryable = !send.error || send.error.retryable;
      line.append(
        h('span', { class: 'sp-msg-status sp-msg-status--failed', role: 'alert' },
          retryable ? 'Not sent' : `Not sent: ${send.error.detail}`),
        retryable
          ? h('button', { type: 'button', class: 'sp-link-button', 'data-action': 'retry' }, 'Retry')
          : null,
        h('button', { type: 'button', class: 'sp-link-button', 'data-action': 'discard' }, 'Discard'),
      );
    } else if (view.mine) {
      const receipts = message.seen_by;
      if (receipts.length) {
        const by = receipts.map((r) => `${r.user_id} at ${fullTime(r.seen_at)}`).join(', ');
        line.append(h('span', { class: 'sp-msg-status sp-msg-status--seen', title: `Seen by ${by}` }, 'Seen'));
      } else {
        line.append(h('span', { class: 'sp-msg-status' }, 'Sent'));
      }
    }
    return line;
  }
}

if (!customElements.get('support-message')) customElements.define('support-message', SupportMessage);
