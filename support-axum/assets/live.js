// One live connection per API base, shared by every component of a page
// (browsers allow few connections per host).
//
// `EventSource` reconnects by itself after a dropped stream and sends
// `Last-Event-ID`, so the server replays what was missed. When the server
// refuses the stream instead (an error status), EventSource gives up; we
// open a fresh one, which cannot resume, so listeners are told to `resync`
// (reload their state over HTTP) once it is open. A `reset` event (the gap
// was older than the server keeps) asks for the same.

const EVENT_NAMES = ['conversation.created', 'conversation.updated', 'message.created', 'message.seen'];
const connections = new Map();

/** The shared connection to `${base}/events`. */
export function live(base) {
  let connection = connections.get(base);
  if (!connection) {
    connection = new LiveConnection(`${base}/events`);
    connections.set(base, connection);
  }
  return connection;
}

/**
 * States: `connecting` (first time), `open`, `reconnecting` (lost; the
 * browser or we are trying again).
 */
class LiveConnection extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.state = 'connecting';
    this.source = null;
    this.resyncOnOpen = false;
    this.retryDelay = 1000;
    this.retryTimer = null;
    this.started = false;
  }

  /**
   * Calls `onEvent({name, data, id})` for every event and `onResync()`
   * when state must be reloaded; starts the connection. Returns a function
   * that stops listening.
   */
  subscribe(onEvent, onResync) {
    const eventListener = (e) => onEvent(e.detail);
    const resyncListener = () => onResync && onResync();
    this.addEventListener('event', eventListener);
    this.addEventListener('resync', resyncListener);
    this.start();
    return () => {
      this.removeEventListener('event', eventListener);
      this.removeEventListener('resync', resyncListener);
    };
  }

  /** Calls `fn(state)` now and on every change. */
  watch(fn) {
    const listener = () => fn(this.state);
    this.addEventListener('state', listener);
    fn(this.state);
    return () => this.removeEventListener('state', listener);
  }

  start() {
    if (this.started) return;
    this.started = true;
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
    this.open();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new Event('state'));
  }

  open() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // A new EventSource cannot send Last-Event-ID: after a refused stream,
    // resume exactly with the query parameter when an event was seen.
    let url = this.url;
    if (this.resyncOnOpen && this.lastId) {
      const resume = new URL(this.url, location.href);
      resume.searchParams.set('last_event_id', this.lastId);
      url = resume.toString();
      this.resyncOnOpen = false;
    }
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('open', () => {
      this.retryDelay = 1000;
      this.setState('open');
      if (this.resyncOnOpen) {
        this.resyncOnOpen = false;
        this.dispatchEvent(new Event('resync'));
      }
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused: try again with a new connection, then reload state.
        source.close();
        if (this.source === source) this.source = null;
        this.resyncOnOpen = true;
        this.setState('reconnecting');
        this.scheduleRetry();
      } else {
        // The browser reconnects with Last-Event-ID by itself.
        this.setState('reconnecting');
      }
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => this.deliver(name, e));
    }
    // A fresh stream first names its position: resume from it.
    source.addEventListener('ready', (e) => {
      if (e.lastEventId) this.lastId = e.lastEventId;
    });
    source.addEventListener('reset', (e) => {
      if (e.lastEventId) this.lastId = e.lastEventId;
      this.dispatchEvent(new Event('resync'));
    });
  }

  deliver(name, e) {
    if (e.lastEventId) this.lastId = e.lastEventId;
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    this.dispatchEvent(new CustomEvent('event', { detail: { name, data, id: e.lastEventId } }));
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 30000);
  }

  retryNow() {
    if (this.source === null && this.started) {
      this.retryDelay = 1000;
      this.open();
    }
  }
}
