// <conversation-list>: the admin's inbox. Open conversations first, then
// the rest, most recent activity first; filters, full-text search, "Load
// more" paging; rows move live as messages arrive (from the position of
// the first page on: events during a load are held, then applied; each
// refetches its conversation, so one applied twice is harmless).
// Attributes: `api`, `link-base` (a row links to `${link-base}/${id}`),
// `selected` (an id).

import { h, meta, reconcile, debounce, uid } from './dom.js';
import { SupportClient } from './api.js';
import { live } from './live.js';
import './conversation-preview.js';

const PAGE = 30;

const FILTERS = [
  { id: 'all', label: 'All', phases: [{ status: 'open' }, { status: 'closed' }] },
  { id: 'open', label: 'Open', phases: [{ status: 'open' }] },
  { id: 'awaiting', label: 'Awaiting reply', phases: [{ status: 'open', awaiting_reply: 'true' }] },
  { id: 'closed', label: 'Resolved', phases: [{ status: 'closed' }] },
];

export class ConversationList extends HTMLElement {
  static get observedAttributes() {
    return ['selected'];
  }

  connectedCallback() {
    if (this.client) return;
    this.client = SupportClient.for(this);
    this.linkBase = (this.getAttribute('link-base') || meta('support-admin-path') || '/admin/support')
      .replace(/\/+$/, '');
    this.filter = FILTERS[0];
    this.q = '';
    this.items = new Map();
    this.rows = new Map();
    this.generation = 0;
    this.refreshing = new Set();
    this.build();
    // Rows follow events 150 ms after a burst pauses (one refetch for a
    // burst), and every 500 ms at most while events keep coming.
    this.flushRefresh = debounce(() => this.refreshQueued(), 150, { maxWait: 500 });
    this.refreshes = Promise.resolve();
    this.feed = live(this.client.base).follow((event) => this.onLive(event), () => this.load());
    this.clock = setInterval(() => this.render(true), 60000);
    this.load();
  }

  disconnectedCallback() {
    if (this.feed) this.feed.close();
    clearInterval(this.clock);
  }

  attributeChangedCallback() {
    if (this.client) this.render();
  }

  /** The open conversation's id, highlighted in the list. */
  set selected(id) {
    if (id) this.setAttribute('selected', id);
    else this.removeAttribute('selected');
  }

  get selected() {
    return this.getAttribute('selected') || '';
  }

  build() {
    this.classList.add('sp-inbox');
    const searchId = uid('sp-search');
    this.search = h('input', {
      id: searchId, type: 'search', class: 'sp-search-input', placeholder: 'Search messages…',
      autocomplete: 'off', spellcheck: 'false',
    });
    const runSearch = debounce(() => this.setQuery(this.search.value), 300);
    this.search.addEventListener('input', runSearch);
    const form = h('form', { class: 'sp-search', role: 'search' },
      h('label', { for: searchId, class: 'sp-sr' }, 'Search messages'), this.search);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runSearch.cancel();
      this.setQuery(this.search.value);
    });
    this.buttons = FILTERS.map((filter) => {
      const button = h('button', {
        type: 'button', class: 'sp-filter', 'aria-pressed': String(filter === this.filter),
        'data-filter': filter.id,
      }, filter.label);
      button.addEventListener('click', () => this.setFilter(filter));
      return button;
    });
    this.summary = h('p', { class: 'sp-list-summary', role: 'status' });
    this.list = h('ul', { class: 'sp-list', 'aria-label': 'Conversations' });
    this.more = h('button', { type: 'button', class: 'sp-button sp-button--quiet sp-more', hidden: true }, 'Load more');
    this.more.addEventListener('click', () => this.loadMore(this.generation));
    this.append(
      h('div', { class: 'sp-list-tools' },
        form,
        h('div', { class: 'sp-filters', role: 'group', 'aria-label': 'Show' }, this.buttons)),
      this.summary, this.list, this.more);
  }

  setFilter(filter) {
    this.filter = filter;
    for (const button of this.buttons) {
      button.setAttribute('aria-pressed', String(button.dataset.filter === filter.id));
    }
    this.load();
  }

  setQuery(q) {
    const trimmed = q.trim();
    if (trimmed === this.q) return;
    this.q = trimmed;
    this.load();
  }

  // Loading

  async load() {
    // A fresh list: live events wait until it is loaded.
    this.feed.hold();
    this.generation += 1;
    this.items = new Map();
    this.phase = 0;
    this.cursor = null;
    this.complete = false;
    this.loading = true;
    this.render();
    await this.loadMore(this.generation, { first: true });
  }

  /**
   * The next page: of the current phase, then of the next phases. `first`:
   * the list's first pages, after which live events follow from the first
   * read's position.
   */
  async loadMore(generation, { first = false } = {}) {
    const { phases } = this.filter;
    this.loading = true;
    this.more.disabled = true;
    this.error = null;
    let position = null;
    try {
      let added = 0;
      while (!this.complete && added < PAGE) {
        const page = await this.client.conversations({
          ...phases[this.phase], q: this.q, limit: PAGE, cursor: this.cursor,
        });
        // A newer load took over: it hands its own position.
        if (generation !== this.generation) return;
        if (position === null) position = page.last_event_id;
        for (const c of page.items) this.items.set(c.id, c);
        added += page.items.length;
        if (page.next_cursor) {
          this.cursor = page.next_cursor;
          break;
        }
        this.phase += 1;
        this.cursor = null;
        if (this.phase >= phases.length) this.complete = true;
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.error = error;
    }
    if (first) this.feed.from(position);
    this.loading = false;
    this.more.disabled = false;
    this.render();
  }

  // Order and filters

  compare(a, b) {
    if (this.filter.id === 'all' && a.status !== b.status) return a.status === 'open' ? -1 : 1;
    if (a.last_message_at !== b.last_message_at) return a.last_message_at > b.last_message_at ? -1 : 1;
    return a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
  }

  matches(c) {
    return this.filter.phases.some((phase) => phase.status === c.status
      && (!phase.awaiting_reply || c.awaiting_reply));
  }

  sorted() {
    return [...this.items.values()].sort((a, b) => this.compare(a, b));
  }

  // Live

  onLive({ name, data }) {
    const id = name.startsWith('conversation.') ? data.id : data.conversation_id;
    if (!id) return;
    this.refreshing.add(id);
    this.flushRefresh();
  }

  /**
   * Refetches the conversations events named. One refresh at a time, so an
   * older read never lands after a newer one.
   */
  refreshQueued() {
    const run = this.refreshes.then(() => this.refreshOnce());
    // A failed refresh is reported (as before) without stopping the next.
    this.refreshes = run.catch(() => {});
    return run;
  }

  async refreshOnce() {
    if (this.refreshing.size === 0) return;
    const ids = [...this.refreshing];
    this.refreshing.clear();
    const generation = this.generation;
    const fresh = await Promise.all(ids.map((id) => this.client.conversation(id).catch(() => null)));
    if (generation !== this.generation) return;
    for (const c of fresh) if (c) this.apply(c);
    this.render();
  }

  /** Places a changed conversation: updated, moved, added or dropped. */
  apply(c) {
    const present = this.items.has(c.id);
    if (!this.matches(c)) {
      if (present) this.items.delete(c.id);
      return;
    }
    if (present) {
      this.items.set(c.id, c);
      return;
    }
    // Search matches are the server's to decide: only rows already found move.
    if (this.q) return;
    const shown = this.sorted();
    const last = shown[shown.length - 1];
    if (this.complete || !last || this.compare(c, last) < 0) this.items.set(c.id, c);
  }

  // Rendering

  render(refreshTimes = false) {
    if (!this.list) return;
    const rows = this.sorted().map((c) => {
      let row = this.rows.get(c.id);
      if (!row) {
        row = h('li', { class: 'sp-list-item' }, h('conversation-preview'));
        this.rows.set(c.id, row);
      }
      const preview = row.firstElementChild;
      if (refreshTimes) preview.signature = null;
      preview.update({
        conversation: c, href: `${this.linkBase}/${c.id}`, current: c.id === this.selected,
      });
      return row;
    });
    for (const id of this.rows.keys()) if (!this.items.has(id)) this.rows.delete(id);
    reconcile(this.list, rows);
    this.more.hidden = this.complete || this.loading || Boolean(this.error);
    if (this.error) {
      this.summary.textContent = this.error.signedOut
        ? 'You are signed out.'
        : `Cannot load conversations: ${this.error.detail}`;
    } else if (this.loading && rows.length === 0) {
      this.summary.textContent = 'Loading…';
    } else if (rows.length === 0) {
      this.summary.textContent = this.q ? 'No conversation matches your search.' : 'No conversations here yet.';
    } else {
      const awaiting = [...this.items.values()].filter((c) => c.awaiting_reply).length;
      this.summary.textContent = `${rows.length}${this.complete ? '' : '+'} conversation${rows.length === 1 ? '' : 's'}`
        + (awaiting ? ` · ${awaiting} awaiting reply` : '');
    }
  }
}

if (!customElements.get('conversation-list')) customElements.define('conversation-list', ConversationList);
