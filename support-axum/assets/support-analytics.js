// <support-analytics>: the team's figures from `GET /analytics`, with a
// chart of conversations opened and resolved per day, drawn here as SVG.
// The figures name no event position: they are read once the live stream's
// position is known, and reread after the events that follow it.

import { h, s, debounce } from './dom.js';
import { SupportClient } from './api.js';
import { live } from './live.js';
import { dayLabel, duration } from './format.js';

const RANGES = [
  { days: 1, label: 'Last 24 hours' },
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
];
const CHART_DAYS = 7;

function startOfDay(d) {
  const day = new Date(d);
  day.setHours(0, 0, 0, 0);
  return day;
}

export class SupportAnalytics extends HTMLElement {
  connectedCallback() {
    if (this.client) return;
    this.client = SupportClient.for(this);
    this.range = RANGES[1];
    this.build();
    // Figures follow activity, at most every 3 s: 3 s after an event, and
    // every 3 s while events keep coming.
    this.refresh = debounce(() => this.load(), 3000, { maxWait: 3000 });
    this.reads = 0;
    this.feed = live(this.client.base).follow(() => this.refresh(), () => this.load());
    this.load();
  }

  disconnectedCallback() {
    if (this.feed) this.feed.close();
    if (this.refresh) this.refresh.cancel();
    if (this.resize) this.resize.disconnect();
  }

  build() {
    this.classList.add('sp-analytics');
    const select = h('select', { class: 'sp-select', id: 'sp-range', 'aria-label': 'Period' },
      RANGES.map((r) => h('option', { value: String(r.days), selected: r === this.range }, r.label)));
    select.addEventListener('change', () => {
      this.range = RANGES.find((r) => String(r.days) === select.value) || RANGES[1];
      this.load();
    });
    this.tiles = h('div', { class: 'sp-tiles' });
    this.chart = h('figure', { class: 'sp-chart' });
    // Drawn at the size it is shown, so text stays crisp and legible.
    this.width = 0;
    this.resize = new ResizeObserver(() => {
      const width = Math.floor(this.chart.clientWidth);
      if (this.days && Math.abs(width - this.width) > 8) this.renderChart();
    });
    this.resize.observe(this.chart);
    this.status = h('p', { class: 'sp-analytics-status', role: 'status' });
    this.append(
      h('div', { class: 'sp-section-head' },
        h('h2', { id: 'sp-analytics-title' }, 'Overview'),
        select),
      this.status, this.tiles, this.chart);
  }

  async load() {
    // Held (the first load, or after a reset): read after the stream's
    // position, then follow on from it.
    const handoff = this.feed.holding ? await this.feed.position() : null;
    try {
      await this.read();
    } finally {
      if (handoff !== null) this.feed.from(handoff);
    }
  }

  async read() {
    const now = new Date();
    const from = new Date(now.getTime() - this.range.days * 86400000);
    const today = startOfDay(now);
    const days = [];
    for (let i = CHART_DAYS - 1; i >= 0; i -= 1) {
      const start = new Date(today);
      start.setDate(start.getDate() - i);
      const end = new Date(start);
      end.setDate(end.getDate() + 1);
      days.push({ start, end: end > now ? now : end });
    }
    // Reads may overlap (a period picked during a refresh): the latest wins.
    this.reads += 1;
    const read = this.reads;
    try {
      const [figures, ...daily] = await Promise.all([
        this.client.analytics(from, now),
        ...days.map((d) => this.client.analytics(d.start, d.end)),
      ]);
      if (read !== this.reads) return;
      this.status.textContent = '';
      this.renderTiles(figures);
      this.days = days.map((d, i) => ({ ...d, figures: daily[i] }));
      this.renderChart();
    } catch (error) {
      if (read !== this.reads) return;
      this.status.textContent = error.status === 403
        ? 'Analytics are for the support team.'
        : `Cannot load analytics: ${error.detail || error.message}`;
    }
  }

  renderTiles(a) {
    const tile = (label, value, note, extra = '') => h('div', { class: `sp-tile ${extra}` },
      h('span', { class: 'sp-tile-label' }, label),
      h('span', { class: 'sp-tile-value' }, value),
      note ? h('span', { class: 'sp-tile-note' }, note) : null);
    const first = a.first_response_seconds;
    const resolution = a.resolution_seconds;
    this.tiles.replaceChildren(
      tile('Open now', String(a.open_now), null),
      tile('Awaiting reply', String(a.awaiting_reply_now), a.awaiting_reply_now ? 'needs an answer' : 'all answered',
        a.awaiting_reply_now ? 'sp-tile--alert' : ''),
      tile('New conversations', String(a.conversations_created), this.range.label.toLowerCase()),
      tile('Resolved', String(a.conversations_closed), this.range.label.toLowerCase()),
      tile('First response', duration(first.median), `median · p90 ${duration(first.p90)}`),
      tile('Resolution time', duration(resolution.median), `median · p90 ${duration(resolution.p90)}`),
      this.messageSplit(a.messages_from_users, a.messages_from_admins),
    );
  }

  /** A bar split between the users' and the team's messages. */
  messageSplit(users, team) {
    const total = users + team;
    const width = 200;
    const userWidth = total ? Math.round((users / total) * width) : width / 2;
    const summary = `${users} from users, ${team} from the team`;
    return h('div', { class: 'sp-tile sp-tile--wide' },
      h('span', { class: 'sp-tile-label' }, 'Messages'),
      h('span', { class: 'sp-tile-value' }, String(total)),
      s('svg', { class: 'sp-split', viewBox: `0 0 ${width} 10`, preserveAspectRatio: 'none', role: 'img', 'aria-label': summary },
        s('rect', { class: 'sp-split-users', x: 0, y: 0, width: userWidth, height: 10, rx: 2 }),
        s('rect', { class: 'sp-split-team', x: userWidth, y: 0, width: width - userWidth, height: 10, rx: 2 })),
      h('span', { class: 'sp-tile-note' },
        h('span', { class: 'sp-key sp-key--users', 'aria-hidden': 'true' }), ` ${users} from users · `,
        h('span', { class: 'sp-key sp-key--team', 'aria-hidden': 'true' }), ` ${team} from the team`));
  }

  renderChart() {
    const { days } = this;
    const padding = 36;
    this.width = Math.floor(this.chart.clientWidth);
    const W = Math.max(260, this.width - padding);
    const H = 180;
    const left = 28;
    const bottom = 24;
    const top = 12;
    const plotH = H - bottom - top;
    const slot = (W - left) / days.length;
    const bar = Math.min(22, slot / 3);
    const max = Math.max(1, ...days.map((d) => Math.max(d.figures.conversations_created, d.figures.conversations_closed)));
    const scale = (v) => (v / max) * plotH;
    const grid = [0, Math.ceil(max / 2), max].filter((v, i, all) => all.indexOf(v) === i);

    const svg = s('svg', {
      class: 'sp-chart-svg', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': 'sp-chart-title sp-chart-desc',
    });
    svg.append(
      s('title', { id: 'sp-chart-title' }, `Conversations per day, last ${CHART_DAYS} days`),
      s('desc', { id: 'sp-chart-desc' }, days.map((d) => `${dayLabel(d.start)}: ${d.figures.conversations_created} new, ${d.figures.conversations_closed} resolved`).join('; ')),
    );
    for (const value of grid) {
      const y = top + plotH - scale(value);
      svg.append(
        s('line', { class: 'sp-grid', x1: left, x2: W, y1: y, y2: y }),
        s('text', { class: 'sp-axis', x: left - 6, y: y + 4, 'text-anchor': 'end' }, String(value)),
      );
    }
    days.forEach((d, i) => {
      const x = left + i * slot + slot / 2;
      const created = d.figures.conversations_created;
      const closed = d.figures.conversations_closed;
      svg.append(
        s('rect', { class: 'sp-bar sp-bar--created', x: x - bar - 1, y: top + plotH - scale(created), width: bar, height: Math.max(scale(created), 0.5), rx: 3 },
          s('title', null, `${dayLabel(d.start)}: ${created} new`)),
        s('rect', { class: 'sp-bar sp-bar--closed', x: x + 1, y: top + plotH - scale(closed), width: bar, height: Math.max(scale(closed), 0.5), rx: 3 },
          s('title', null, `${dayLabel(d.start)}: ${closed} resolved`)),
        s('text', { class: 'sp-axis', x, y: H - 6, 'text-anchor': 'middle' }, dayLabel(d.start)),
      );
    });
    this.chart.replaceChildren(
      h('figcaption', null,
        h('span', null, `Conversations per day`),
        h('span', { class: 'sp-legend' },
          h('span', { class: 'sp-key sp-key--created', 'aria-hidden': 'true' }), ' New ',
          h('span', { class: 'sp-key sp-key--closed', 'aria-hidden': 'true' }), ' Resolved')),
      svg);
  }
}

if (!customElements.get('support-analytics')) customElements.define('support-analytics', SupportAnalytics);
