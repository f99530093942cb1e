// Keeps the board equal to the database: a snapshot, then the websocket's numbered events.
//
// Every event carries its depot's sequence number. With the last number seen per depot (from the
// snapshot, then from each event applied):
//   seq <= last      already in the board (the snapshot was taken after it): ignored;
//   seq == last + 1  the next one: applied;
//   seq >  last + 1  some were missed: a new snapshot replaces the board.
// While a snapshot loads, events are held back, and only those numbered after the snapshot are
// applied once it is in. After a reconnect the board is reloaded the same way, because whatever
// happened while the socket was down reached nobody.

const HELLO_WAIT_MS = 3000;
const MAX_BUFFER = 10000;

export class LiveSync {
  /**
   * @param {object} options
   * @param {string} options.url                websocket URL
   * @param {() => Promise<object>} options.loadSnapshot  resolves to {"seq": {depot: n}, ...}
   * @param {(snapshot: object) => void} options.onSnapshot  replace the board
   * @param {(event: object) => void} options.onEvent        apply one "case" or "run" event
   * @param {(status: string, detail?: object) => void} [options.onStatus]
   */
  constructor({
    url, loadSnapshot, onSnapshot, onEvent, onStatus = () => {},
    WebSocketImpl = globalThis.WebSocket, timers = globalThis, random = Math.random,
  }) {
    Object.assign(this, { url, loadSnapshot, onSnapshot, onEvent, onStatus, WebSocketImpl, timers, random });
    this.lastSeq = null; // {depotId: n}, from the newest snapshot on
    this.buffer = [];
    this.syncing = false; // a snapshot is loading
    this.stale = true; // no snapshot since the socket (re)opened: hold events back
    this.wanted = 0; // snapshot requests; one that arrives after a newer request is dropped
    this.socket = null;
    this.greeted = false; // the open socket has said hello (or was given up waiting for): events flow
    this.attempts = 0;
    this.stopped = false;
    this.reconnectTimer = null;
    this.retryTimer = null;
    this.helloTimer = null;
    this.status = "";
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    for (const timer of [this.reconnectTimer, this.retryTimer, this.helloTimer]) {
      if (timer) this.timers.clearTimeout(timer);
    }
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
  }

  setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, detail);
  }

  connect() {
    if (this.stopped) return;
    this.reconnectTimer = null;
    this.setStatus("connecting");
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.greeted = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      // The server greets once it has joined the depots' groups; a snapshot taken after the greeting
      // misses no event. Without one, snapshot anyway.
      this.helloTimer = this.timers.setTimeout(() => {
        if (this.socket !== socket || this.greeted) return;
        this.greeted = true;
        this.resync();
      }, HELLO_WAIT_MS);
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "hello") {
        if (this.greeted) return;
        this.greeted = true;
        this.attempts = 0;
        if (this.helloTimer) this.timers.clearTimeout(this.helloTimer);
        this.resync();
      } else if (data.type === "case" || data.type === "run") {
        this.receive(data);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stale = true;
      if (this.helloTimer) this.timers.clearTimeout(this.helloTimer);
      this.scheduleReconnect();
    };
    socket.onerror = () => {}; // a close follows
  }

  scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    const base = Math.min(15000, 500 * 2 ** this.attempts);
    const delay = Math.round(base * (0.5 + this.random()));
    this.attempts += 1;
    this.setStatus("offline", { retryInMs: delay });
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delay);
  }

  /** Reconnect now (the "retry" button, or the page coming back online). */
  reconnectNow() {
    if (this.socket || this.stopped) return;
    if (this.reconnectTimer) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempts = 0;
    this.connect();
  }

  receive(event) {
    if (this.syncing || this.stale) {
      this.buffer.push(event);
      if (this.buffer.length > MAX_BUFFER) {
        // Too far behind to catch up event by event: drop them and take one more snapshot after this one.
        this.buffer = [];
        this.wanted += 1;
      }
      return;
    }
    this.apply(event);
  }

  apply(event) {
    const depot = String(event.depot_id);
    const last = this.lastSeq ? this.lastSeq[depot] : undefined;
    const seq = Number(event.seq);
    if (last === undefined) {
      // A depot the snapshot did not number (new to this user): its history is unknown.
      if (this.lastSeq && seq === 1) {
        this.lastSeq[depot] = seq;
        this.onEvent(event);
        return;
      }
      this.buffer.push(event);
      this.resync();
      return;
    }
    if (seq <= last) return;
    if (seq === last + 1) {
      this.lastSeq[depot] = seq;
      this.onEvent(event);
      return;
    }
    this.buffer.push(event);
    this.resync();
  }

  /** Load a snapshot, replace the board with it, then apply the events held back that are newer. */
  async resync() {
    this.wanted += 1;
    if (this.syncing || this.stopped) return;
    this.syncing = true;
    if (this.retryTimer) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.setStatus(this.socket ? "syncing" : "offline");
    let snapshot = null;
    for (;;) {
      const asked = this.wanted;
      try {
        snapshot = await this.loadSnapshot();
      } catch (error) {
        this.syncing = false;
        if (this.stopped) return;
        const delay = Math.round(2000 * (0.5 + this.random()));
        this.setStatus(this.socket ? "error" : "offline", { error, retryInMs: delay });
        this.retryTimer = this.timers.setTimeout(() => {
          this.retryTimer = null;
          this.resync();
        }, delay);
        return;
      }
      if (this.stopped) return;
      if (asked === this.wanted) break;
      // Asked again while this one loaded (new filters, another gap): the newer answer counts.
    }
    this.lastSeq = {};
    for (const [depot, seq] of Object.entries(snapshot.seq || {})) this.lastSeq[String(depot)] = Number(seq);
    this.onSnapshot(snapshot);
    this.syncing = false;
    // With the socket down, events missed now can only come from the snapshot after the reconnect.
    this.stale = !this.socket;
    const held = this.buffer.sort((a, b) => Number(a.seq) - Number(b.seq));
    this.buffer = [];
    if (!this.stale) {
      for (const event of held) this.receive(event);
    }
    if (!this.syncing) this.setStatus(this.liveStatus());
  }

  /** "live" only once the socket has greeted and a snapshot since then is in: the board is current. */
  liveStatus() {
    if (!this.socket) return "offline";
    return this.greeted ? "live" : "connecting";
  }
}
