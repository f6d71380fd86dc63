// <support-input>: the message box. Enter sends, Shift+Enter adds a line.
// Emits `support-send` with `{content}`; it never sends by itself. Emits
// `support-typing` on every edit that leaves text in the box (the chat
// decides how often to tell the other side).

import { h, uid } from './dom.js';

export class SupportInput extends HTMLElement {
  connectedCallback() {
    if (this.form) return;
    const id = uid('sp-input');
    const hint = uid('sp-hint');
    this.textarea = h('textarea', {
      id,
      class: 'sp-textarea',
      rows: '1',
      maxlength: '10000',
      placeholder: this.getAttribute('placeholder') || 'Write a message…',
      'aria-describedby': hint,
      autocomplete: 'off',
    });
    this.button = h('button', { type: 'submit', class: 'sp-send' },
      h('span', { class: 'sp-send-text' }, this.getAttribute('button') || 'Send'));
    this.form = h('form', { class: 'sp-compose', id: this.getAttribute('form-id') || 'sp-compose' },
      h('label', { for: id, class: 'sp-sr' }, this.getAttribute('label') || 'Message'),
      h('div', { class: 'sp-compose-row' }, this.textarea, this.button),
      h('p', { id: hint, class: 'sp-compose-hint' }, 'Enter to send · Shift+Enter for a new line'));
    this.append(this.form);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.textarea.addEventListener('input', () => {
      if (!this.textarea.value.trim()) return;
      this.dispatchEvent(new CustomEvent('support-typing', { bubbles: true }));
    });
    this.textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.submit();
      }
    });
  }

  submit() {
    const content = this.textarea.value;
    if (!content.trim() || this.hasAttribute('disabled')) return;
    this.dispatchEvent(new CustomEvent('support-send', { detail: { content }, bubbles: true }));
    this.textarea.value = '';
    this.textarea.focus();
  }

  /** Changes the placeholder (e.g. when a conversation is resolved). */
  set placeholder(text) {
    if (this.textarea) this.textarea.placeholder = text;
  }

  focus() {
    if (this.textarea) this.textarea.focus();
  }
}

if (!customElements.get('support-input')) customElements.define('support-input', SupportInput);
