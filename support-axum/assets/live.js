// One live connection per API base, shared by every component of a page
// (browsers allow few connections per host).
//
// Load, then follow: a component takes a feed (`follow`) before it loads,
// so the events that arrive meanwhile are held; after its load it hands the
// feed the position the load reflects (`last_event_id` of the response)
// with `from(position)`, and gets the held events after that position, then
// every later one. The stream opens only once a position is known, with
// `?last_event_id=<position>`, so the server replays from the log whatever
// was committed after the first load's read. A feed whose position is older
// than what the stream has already passed (two components loaded at once,
// the later one had read first) has the stream reopened from its position;
// every feed skips the events it already had, by id. Events a load already
// reflects may arrive again: components apply them idempotently.
//
// `EventSource` reconnects by itself after a dropped stream and sends
// `Last-Event-ID`, so the server replays what was missed. When the server
// refuses the stream instead (an error status), EventSource gives up; we
// open a fresh one from the last position with the query parameter. A
// `reset` event (the gap was older than the server keeps) asks every feed
// to reload (`onResync`): the feed holds events again until it hands the
// reload's position.
//
// Signals (`typing`, `presence`) are not in the log: their id is the
// stream's current position, so they are never replayed and carry no
// position of their own. They go past the feeds (no dedup by id, no
// cursor moved) to whoever listens with `onSignal(name, handler)`.

const EVENT_NAMES = ['conversation.created', 'conversation.updated', 'message.created', 'message.seen'];
const SIGNAL_NAMES = ['typing', 'presence'];
// Events held for a feed that is loading, at most; older ones give way
// (the load reads after them, unless it is itself older: then the stream
// is reopened from its position).
const MAX_HELD = 5000;
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

function seqOf(id) {
  const seq = Number(id);
  return Number.isFinite(seq) ? seq : null;
}

/**
 * One component's view of the stream. Holds events until `from(position)`,
 * then delivers each event after the position once, in log order.
 */
class Feed {
  constructor(connection, onEvent, onResync) {
    this.connection = connection;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.holding = true;
    /** Waiting in `position()`: not a load that will hand a position. */
    this.waiting = false;
    this.held = [];
    /** Every event after `since` is held or was delivered (null: from the stream's start). */
    this.since = connection.lastId;
    /** The last position delivered or reflected by a load (null: none). */
    this.cursor = null;
    this.closed = false;
  }

  /** Holds events again, before a reload. */
  hold() {
    if (this.closed || this.holding) return;
    this.holding = true;
    this.held = [];
    this.since = this.connection.lastId;
  }

  /**
   * The load reflects every event up to `position` (a response's
   * `last_event_id`; null when unknown): delivers the held events after it,
   * then every later one.
   */
  from(position) {
    if (this.closed || !this.holding) return;
    const at = position === null || position === undefined ? null : seqOf(position);
    const held = this.held;
    this.holding = false;
    this.waiting = false;
    this.held = [];
    this.cursor = at;
    if (!this.connection.handed(this, at)) return; // reopened: all of it comes again
    for (const event of held) this.take(event);
  }

  /**
   * The position to load after, for a component whose reads name none:
   * where the stream follows from (opening it when no other component is
   * loading). Call `from` with it after the load.
   */
  position() {
    return this.connection.position(this);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.connection.drop(this);
  }

  take(event) {
    if (this.closed) return;
    if (this.holding) {
      this.held.push(event);
      if (this.held.length > MAX_HELD) this.since = this.held.shift().seq;
      return;
    }
    if (this.cursor !== null && event.seq !== null && event.seq <= this.cursor) return;
    if (event.seq !== null) this.cursor = event.seq;
    this.onEvent(event.detail);
  }

  /** The stream skipped events (a reset): reload, holding what comes. */
  resync(latest) {
    if (this.holding) {
      // Still loading: its load must reach past the skipped part.
      this.held = [];
      this.since = latest;
      return;
    }
    this.hold();
    if (this.onResync) this.onResync();
    else this.from(null);
  }
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
    /** The position the stream continues after (null: not known yet). */
    this.lastId = null;
    this.feeds = new Set();
    this.waiters = [];
    /** Signal name → its handlers. */
    this.signals = new Map(SIGNAL_NAMES.map((name) => [name, new Set()]));
  }

  /**
   * Calls `handler(data)` for every `name` signal (`typing`, `presence`)
   * from now on, whatever the feeds hold or skip. Opens the stream if no
   * component will (after the page's components have taken their feeds).
   * Returns a function that stops listening.
   */
  onSignal(name, handler) {
    const handlers = this.signals.get(name);
    if (!handlers) throw new Error(`no such signal: ${name}`);
    handlers.add(handler);
    if (!this.started) {
      // A waiter like `position()`'s: the stream opens without a position
      // only when no feed is loading (one that loads opens it from its own).
      this.waiters.push(() => {});
      setTimeout(() => this.whenIdle(), 0);
    }
    return () => handlers.delete(handler);
  }

  /**
   * A feed for a component that loads, then follows: `onEvent({name, data,
   * id})` for each event after the position it hands with `from`, and
   * `onResync()` when it must reload (then hand the new position).
   */
  follow(onEvent, onResync) {
    const feed = new Feed(this, onEvent, onResync);
    this.feeds.add(feed);
    return feed;
  }

  /**
   * Calls `onEvent({name, data, id})` for every event from now on and
   * `onResync()` when state must be reloaded; starts the connection.
   * Returns a function that stops listening.
   */
  subscribe(onEvent, onResync) {
    const feed = this.follow(onEvent, null);
    feed.from(null);
    feed.resync = () => {
      if (onResync) onResync();
    };
    return () => feed.close();
  }

  /** Calls `fn(state)` now and on every change. */
  watch(fn) {
    const listener = () => fn(this.state);
    this.addEventListener('state', listener);
    fn(this.state);
    return () => this.removeEventListener('state', listener);
  }

  /**
   * A feed handed its load's position: opens the stream from it, or from
   * further back when the feed's load is older than what the stream has
   * passed. False when the stream is reopened (the held events come again).
   */
  handed(feed, at) {
    if (!this.started) {
      this.start(at);
      return true;
    }
    if (at === null || (feed.since !== null && at >= feed.since)) return true;
    this.reopen(at);
    return false;
  }

  position(feed) {
    if (this.lastId !== null) return Promise.resolve(this.lastId);
    return new Promise((resolve) => {
      feed.waiting = true;
      this.waiters.push(resolve);
      this.whenIdle();
    });
  }

  drop(feed) {
    this.feeds.delete(feed);
    this.whenIdle();
  }

  /** Opens the stream (without a position) for `position()` when no load will give one. */
  whenIdle() {
    if (this.started || this.waiters.length === 0) return;
    for (const feed of this.feeds) if (feed.holding && !feed.waiting) return;
    this.start(null);
  }

  /** The stream's position is known: feeds that wait for it learn it. */
  positioned(at) {
    for (const feed of this.feeds) if (feed.since === null) feed.since = at;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(at);
  }

  start(at) {
    if (this.started) return;
    this.started = true;
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
    this.lastId = at;
    if (at !== null) this.positioned(at);
    this.open();
  }

  /** Follows again from `at`, further back than the stream has passed. */
  reopen(at) {
    for (const feed of this.feeds) {
      if (!feed.holding) continue;
      // What comes again is dropped from what the feed holds.
      feed.held = feed.held.filter((event) => event.seq !== null && event.seq <= at);
      if (feed.since === null || feed.since > at) feed.since = at;
    }
    this.lastId = at;
    if (this.source) this.source.close();
    this.source = null;
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
    // Resume from the known position; EventSource sends Last-Event-ID on
    // its own reconnections, and that wins over the query parameter.
    let url = this.url;
    if (this.lastId !== null) {
      const resume = new URL(this.url, location.href);
      resume.searchParams.set('last_event_id', String(this.lastId));
      url = resume.toString();
    }
    const source = new EventSource(url);
    this.source = source;
    const current = () => this.source === source;
    source.addEventListener('open', () => {
      if (!current()) return;
      this.retryDelay = 1000;
      this.setState('open');
      if (this.resyncOnOpen) {
        // A stream refused before it named a position: everything is reloaded.
        this.resyncOnOpen = false;
        for (const feed of [...this.feeds]) feed.resync(this.lastId);
      }
    });
    source.addEventListener('error', () => {
      if (!current()) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused: try again with a new connection.
        source.close();
        this.source = null;
        // Without a position the next stream cannot resume: reload then.
        if (this.lastId === null) this.resyncOnOpen = true;
        this.setState('reconnecting');
        this.scheduleRetry();
      } else {
        // The browser reconnects with Last-Event-ID by itself.
        this.setState('reconnecting');
      }
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        if (current()) this.deliver(name, e);
      });
    }
    for (const name of SIGNAL_NAMES) {
      source.addEventListener(name, (e) => {
        if (current()) this.signal(name, e);
      });
    }
    // A stream opened without a position first names it: resume from it.
    source.addEventListener('ready', (e) => {
      if (!current()) return;
      const at = seqOf(e.lastEventId);
      if (at === null) return;
      this.lastId = at;
      this.positioned(at);
    });
    source.addEventListener('reset', (e) => {
      if (!current()) return;
      const at = seqOf(e.lastEventId);
      if (at !== null) this.lastId = at;
      for (const feed of [...this.feeds]) feed.resync(this.lastId);
    });
  }

  deliver(name, e) {
    const seq = seqOf(e.lastEventId);
    if (seq !== null) {
      if (this.lastId !== null && seq <= this.lastId) return;
      this.lastId = seq;
    }
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    const event = { seq, detail: { name, data, id: e.lastEventId } };
    for (const feed of [...this.feeds]) feed.take(event);
  }

  /** A signal: to its handlers only; positions and feeds stay as they are. */
  signal(name, e) {
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    for (const handler of [...this.signals.get(name)]) handler(data);
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
