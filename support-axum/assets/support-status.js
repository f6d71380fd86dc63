// <support-status>: whether live updates are flowing.

import { h } from './dom.js';
import { apiBase } from './api.js';
import { live } from './live.js';

const TEXT = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…' };

export class SupportStatus extends HTMLElement {
  connectedCallback() {
    if (this.unwatch) return;
    this.classList.add('sp-status');
    this.setAttribute('role', 'status');
    const dot = h('span', { class: 'sp-status-dot', 'aria-hidden': 'true' });
    const text = h('span', { class: 'sp-status-text' });
    this.replaceChildren(dot, text);
    this.unwatch = live(apiBase(this)).watch((state) => {
      this.dataset.state = state;
      text.textContent = TEXT[state] || state;
    });
  }

  disconnectedCallback() {
    if (this.unwatch) this.unwatch();
    this.unwatch = null;
  }
}

if (!customElements.get('support-status')) customElements.define('support-status', SupportStatus);
