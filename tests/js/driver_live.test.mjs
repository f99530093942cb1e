// The driver app reads the feed every 15 s while no websocket gets through, however often the socket fails.
import assert from "node:assert/strict";
import { test } from "node:test";

// A clock the test moves by hand, for the app's timers only.
const timers = new Map();
let now = 0;
let nextId = 1_000_000;
const realClear = globalThis.clearTimeout;

function tickTo(until) {
  for (;;) {
    const due = [...timers].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
    if (!due) break;
    timers.delete(due[0]);
    now = due[1].at;
    due[1].run();
  }
  now = until;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A network that lets no websocket through: each one closes as soon as it is opened. */
class ClosingSocket {
  static OPEN = 1;
  static CLOSED = 3;
  static opened = 0;
  constructor() {
    ClosingSocket.opened += 1;
    this.readyState = 0;
    this.listeners = {};
    queueMicrotask(() => {
      this.readyState = ClosingSocket.CLOSED;
      this.listeners.close?.();
    });
  }
  addEventListener(type, listener) {
    this.listeners[type] = listener;
  }
  close() {}
}

test("a socket that keeps failing does not put off the next read of the feed", async () => {
  const store = new Map();
  globalThis.window = {
    addEventListener() {},
    setTimeout(run, ms) {
      nextId += 1;
      timers.set(nextId, { at: now + ms, run });
      return nextId;
    },
  };
  globalThis.clearTimeout = (id) => (timers.has(id) ? timers.delete(id) : realClear(id));
  globalThis.localStorage = {
    getItem: (key) => store.get(key) ?? null,
    setItem: (key, value) => store.set(key, value),
    removeItem: (key) => store.delete(key),
  };
  globalThis.location = { protocol: "http:", host: "desk.example" };
  globalThis.document = { body: { dataset: {} } };
  globalThis.WebSocket = ClosingSocket;
  Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });
  const { Live } = await import("../../static/driver/live.js");
  const reads = [];
  const api = {
    token: "token",
    instructions: async (cursor) => {
      reads.push(now);
      return { instructions: [], next_cursor: cursor };
    },
  };
  const live = new Live({ api, socketPath: "/ws/driver/", onInstruction() {}, onState() {} });

  try {
    live.start();
    for (let second = 1; second <= 46; second += 1) {
      await flush();
      tickTo(second * 1000);
    }
    await flush();
  } finally {
    live.stop();
    globalThis.clearTimeout = realClear;
  }

  // The socket was tried again and again (1, 2, 4, 8, 16 s apart) while the feed was read on its own clock.
  assert.ok(ClosingSocket.opened >= 5, `only ${ClosingSocket.opened} sockets tried`);
  assert.deepEqual(reads, [0, 15000, 30000, 45000]);
});
