// @ts-check
// Instructions from dispatch the moment they are pushed: the driver websocket, and the feed (by its cursor) to catch
// up after any gap. Without a socket the feed is read every POLL_MS. Each instruction is handed on once.

const CURSOR = "driver.cursor";
const POLL_MS = 15000;
const RETRY_MAX_MS = 30000;

export class Live {
  /**
   * @param {{
   *   api: import("./api.js").Api, socketPath: string,
   *   onInstruction: (instruction: import("./api.js").Instruction, fresh: boolean) => void,
   *   onState: (state: "live" | "polling" | "offline") => void,
   * }} options
   */
  constructor({ api, socketPath, onInstruction, onState }) {
    this.api = api;
    this.socketPath = socketPath;
    this.onInstruction = onInstruction;
    this.onState = onState;
    this.cursor = localStorage.getItem(CURSOR) || "0";
    /** @type {Set<number>} */
    this.seen = new Set();
    /** @type {WebSocket | null} */
    this.socket = null;
    this.retryMs = 1000;
    /** @type {number | undefined} */
    this.pollTimer = undefined;
    /** @type {number | undefined} */
    this.retryTimer = undefined;
    this.stopped = true;
    this.catching = Promise.resolve();
    // The first catch-up after starting reads what came while the app was closed: shown, not rung. Later ones
    // bring what came while the socket was down, as new as a push.
    this.primed = false;
    window.addEventListener("online", () => this.reconnect());
  }

  start() {
    this.stopped = false;
    this.connect();
    this.catchUp();
  }

  stop() {
    this.stopped = true;
    this.pollStop();
    clearTimeout(this.retryTimer);
    this.socket?.close();
    this.socket = null;
  }

  /** A new sign-in reads its feed from the start: the cursor belongs to the token. */
  reset() {
    this.primed = false;
    this.cursor = "0";
    this.seen.clear();
    localStorage.removeItem(CURSOR);
  }

  reconnect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryMs = 1000;
    if (!this.socket || this.socket.readyState === WebSocket.CLOSED) this.connect();
    this.catchUp();
  }

  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${this.socketPath}`;
    let socket;
    try {
      // A browser cannot set headers on a websocket: the token goes as the second subprotocol.
      socket = new WebSocket(url, ["bearer", this.api.token]);
    } catch {
      this.later();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retryMs = 1000;
      this.pollStop();
      this.onState("live");
      this.catchUp(); // whatever came while the socket was down
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "instruction" && message.instruction) this.deliver(message.instruction, true);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.onState(navigator.onLine ? "polling" : "offline");
      this.later();
      this.poll();
    });
  }

  later() {
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  /** Read the feed every POLL_MS on its own clock: a socket failing again meanwhile does not put it off. */
  poll() {
    if (this.pollTimer !== undefined) return;
    this.pollTimer = window.setTimeout(async () => {
      this.pollTimer = undefined;
      if (this.stopped || (this.socket && this.socket.readyState === WebSocket.OPEN)) return;
      await this.catchUp();
      this.poll();
    }, POLL_MS);
  }

  pollStop() {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** Read the feed after the cursor until it is empty. One catch-up at a time. */
  catchUp() {
    this.catching = this.catching.then(async () => {
      try {
        for (let page = 0; page < 50; page += 1) {
          const feed = await this.api.instructions(this.cursor);
          for (const instruction of feed.instructions) this.deliver(instruction, this.primed);
          this.cursor = feed.next_cursor;
          localStorage.setItem(CURSOR, this.cursor);
          if (!feed.instructions.length) break;
        }
        if (!this.primed) document.body.dataset.caughtUp = String(Date.now()); // what came before is read
        this.primed = true;
      } catch {
        // Offline or refused: the next reconnect or poll tries again.
      }
    });
    return this.catching;
  }

  /** @param {import("./api.js").Instruction} instruction @param {boolean} fresh new now, not from before the app opened */
  deliver(instruction, fresh) {
    if (this.seen.has(instruction.id)) return;
    this.seen.add(instruction.id);
    if (BigInt(instruction.cursor) > BigInt(this.cursor)) {
      this.cursor = instruction.cursor;
      localStorage.setItem(CURSOR, this.cursor);
    }
    this.onInstruction(instruction, fresh);
  }
}
