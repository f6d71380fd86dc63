// The support API over fetch: same-origin requests with the page's cookie
// (the browser adds `Origin`, which the API checks on writes), JSON in and
// out, RFC 9457 problem details turned into `ApiError`.

import { meta } from './dom.js';

/** A failed request. `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  /** Whether trying the same request again may succeed. */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }

  /** Whether the viewer must sign in (again). */
  get signedOut() {
    return this.status === 401;
  }
}

/** The API base of an element: its `api` attribute, the page's meta, or the default. */
export function apiBase(el) {
  const base = (el && el.getAttribute('api')) || meta('support-api') || '/api/support';
  return base.replace(/\/+$/, '');
}

/** A client for the API mounted at `base`. */
export class SupportClient {
  constructor(base) {
    this.base = base;
  }

  /** The client for an element's API (see `apiBase`). */
  static for(el) {
    return new SupportClient(apiBase(el));
  }

  async request(method, path, { query, body, keepalive = false } = {}) {
    const url = new URL(this.base + path, window.location.href);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, value);
    }
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        mode: 'same-origin',
        cache: 'no-store',
        keepalive,
      });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      throw new ApiError(
        response.status,
        (data && data.code) || `http_${response.status}`,
        (data && data.detail) || response.statusText || 'The request failed.',
      );
    }
    return data;
  }

  /** `GET /conversations`: `{items, next_cursor, last_event_id}`. */
  conversations(query) {
    return this.request('GET', '/conversations', { query });
  }

  /** `GET /conversations/{id}`. */
  conversation(id) {
    return this.request('GET', `/conversations/${encodeURIComponent(id)}`);
  }

  /** `GET /conversations/{id}/messages`: `{items, has_more, last_event_id}`, oldest first. */
  messages(id, query) {
    return this.request('GET', `/conversations/${encodeURIComponent(id)}/messages`, { query });
  }

  /** A user writes to support: `{conversation, message}`. */
  send(content, clientId) {
    return this.request('POST', '/messages', { body: { content, client_id: clientId } });
  }

  /** Writes into a conversation: the message. */
  reply(id, content, clientId) {
    return this.request('POST', `/conversations/${encodeURIComponent(id)}/messages`, {
      body: { content, client_id: clientId },
    });
  }

  /** Marks the other side's messages up to `upTo` as seen. */
  seen(id, upTo) {
    return this.request('POST', `/conversations/${encodeURIComponent(id)}/seen`, {
      body: { up_to: upTo },
    });
  }

  /** Resolves a conversation (admins). */
  close(id) {
    return this.request('POST', `/conversations/${encodeURIComponent(id)}/close`);
  }

  /** Reopens a conversation (admins). */
  reopen(id) {
    return this.request('POST', `/conversations/${encodeURIComponent(id)}/reopen`);
  }

  /** Tells the other side the caller is writing in conversation `id` (the server throttles). */
  typing(id) {
    return this.request('POST', `/conversations/${encodeURIComponent(id)}/typing`);
  }

  /**
   * `GET /presence`: `{team_online, usual_first_response_seconds}`, and for
   * admins `admins: [{user_id, name, status, viewing}]`.
   */
  presence() {
    return this.request('GET', '/presence');
  }

  /**
   * Which conversation this admin looks at (`null`: none); counts as
   * activity. `keepalive`: survives the page being unloaded.
   */
  viewing(id, { keepalive = false } = {}) {
    return this.request('PUT', '/presence', { body: { viewing: id || null }, keepalive });
  }

  /** `GET /me`: `{user_id, role, name}`. */
  me() {
    return this.request('GET', '/me');
  }

  /** Figures over `[from, to)` (admins). */
  analytics(from, to) {
    return this.request('GET', '/analytics', {
      query: { from: from && from.toISOString(), to: to && to.toISOString() },
    });
  }

  /** Where the live events are. */
  get eventsUrl() {
    return new URL(`${this.base}/events`, window.location.href).href;
  }
}

/** A fresh idempotency key for a message. */
export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  // Pages served over plain HTTP on a LAN name are not a secure context and
  // lack randomUUID; getRandomValues works everywhere.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
