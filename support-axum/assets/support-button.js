// <support-button>: a link to support for a host's navigation, with a
// badge: unread replies for a user, conversations awaiting a reply for an
// admin, recounted after live events (those after the first count's
// position: events during it are held). Attributes: `href` (default `/support`), `label`, `api`, `viewer`
// (`user` or `admin`; default the page's `<meta name="support-role">`),
// `no-badge`.

import { h, s, meta, debounce } from './dom.js';
import { SupportClient } from './api.js';
import { live } from './live.js';

export class SupportButton extends HTMLElement {
  connectedCallback() {
    if (this.link) return;
    this.client = SupportClient.for(this);
    this.viewer = this.getAttribute('viewer') || meta('support-role') || 'user';
    this.badge = h('span', { class: 'sp-badge', hidden: true });
    this.label = this.getAttribute('label') || 'Support';
    this.link = h('a', { class: 'sp-support-button', href: this.getAttribute('href') || '/support' },
      s('svg', { viewBox: '0 0 24 24', width: 18, height: 18, 'aria-hidden': 'true', class: 'sp-support-icon' },
        s('path', { d: 'M4 6.5A2.5 2.5 0 0 1 6.5 4h11A2.5 2.5 0 0 1 20 6.5v7a2.5 2.5 0 0 1-2.5 2.5H11l-4.5 4v-4A2.5 2.5 0 0 1 4 13.5z' })),
      h('span', null, this.label), this.badge);
    this.append(this.link);
    if (this.hasAttribute('no-badge')) return;
    // Recounted 400 ms after a burst of events pauses, every 2 s at most
    // while they keep coming.
    this.refresh = debounce(() => this.count(), 400, { maxWait: 2000 });
    this.feed = live(this.client.base).follow(() => this.refresh(), () => this.count());
    this.count();
  }

  disconnectedCallback() {
    if (this.feed) this.feed.close();
  }

  async count() {
    // A count while the feed holds (the first, or after a reset) hands its position.
    const handoff = this.feed.holding;
    // Counts may overlap: only the latest shows.
    this.counts = (this.counts || 0) + 1;
    const turn = this.counts;
    let position = null;
    try {
      let n;
      let more = false;
      if (this.viewer === 'admin') {
        const page = await this.client.conversations({ status: 'open', awaiting_reply: 'true', limit: 100 });
        position = page.last_event_id;
        n = page.items.length;
        more = Boolean(page.next_cursor);
      } else {
        const page = await this.client.conversations({ status: 'all', limit: 20 });
        position = page.last_event_id;
        n = page.items.reduce((sum, c) => sum + c.unread_count, 0);
      }
      if (turn === this.counts) {
        this.badge.hidden = n === 0;
        this.badge.textContent = `${n}${more ? '+' : ''}`;
        const what = this.viewer === 'admin' ? 'awaiting reply' : 'unread';
        this.link.setAttribute('aria-label', n ? `${this.label}, ${n}${more ? '+' : ''} ${what}` : this.label);
      }
    } catch {
      if (turn === this.counts) this.badge.hidden = true;
    }
    if (handoff) this.feed.from(position);
  }
}

if (!customElements.get('support-button')) customElements.define('support-button', SupportButton);
