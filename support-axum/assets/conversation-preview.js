// <conversation-preview>: one inbox row: the user, the last message, when,
// unread count and state. A link, so it opens with the keyboard, in a new
// tab, or by the desk without a reload.

import { h, srOnly } from './dom.js';
import { ago, fullTime } from './format.js';
import { hue } from './support-message.js';

export class ConversationPreview extends HTMLElement {
  /** `conversation`: a Conversation object; `href`: where it opens; `current`. */
  update({ conversation: c, href, current }) {
    const last = c.last_message;
    const signature = JSON.stringify([c.id, c.user_name, c.status, c.unread_count, c.awaiting_reply,
      c.last_message_at, last && last.id, last && last.seen_by.length, href, current]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.conversation = c;
    this.dataset.id = c.id;
    this.className = `sp-preview${c.unread_count > 0 ? ' sp-preview--unread' : ''}${current ? ' sp-preview--current' : ''}`;

    const preview = last
      ? `${last.is_admin_message ? `${last.user_id}: ` : ''}${last.content}`
      : 'No messages';
    const tags = h('span', { class: 'sp-preview-tags' });
    if (c.awaiting_reply) tags.append(h('span', { class: 'sp-tag sp-tag--awaiting' }, 'Awaiting reply'));
    if (c.status === 'closed') tags.append(h('span', { class: 'sp-tag sp-tag--closed' }, 'Resolved'));
    const unread = c.unread_count > 0
      ? h('span', { class: 'sp-badge', 'data-unread': c.unread_count },
        String(c.unread_count), srOnly(c.unread_count === 1 ? ' unread message' : ' unread messages'))
      : null;
    // The host's display name when it gave one; the id otherwise (and as a tooltip).
    const who = c.user_name || c.user_id;
    const link = h('a', { class: 'sp-preview-link', href, 'aria-current': current ? 'page' : null },
      h('span', { class: `sp-avatar ${hue(c.user_id)}`, 'aria-hidden': 'true' },
        (who || '?').charAt(0).toUpperCase()),
      h('span', { class: 'sp-preview-main' },
        h('span', { class: 'sp-preview-top' },
          h('span', { class: 'sp-preview-user', title: c.user_name ? c.user_id : null }, who),
          tags,
          h('time', { datetime: c.last_message_at, title: fullTime(c.last_message_at) },
            ago(c.last_message_at))),
        h('span', { class: 'sp-preview-bottom' },
          h('span', { class: 'sp-preview-text' }, preview),
          unread)));
    this.replaceChildren(link);
  }
}

if (!customElements.get('conversation-preview')) {
  customElements.define('conversation-preview', ConversationPreview);
}
