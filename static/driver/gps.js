// @ts-check
// Where the driver is, while a run is on: fixes from the phone, sent to the API in batches (at most 500 a call,
// spanning at most a day), kept while offline. The freshest fix goes with each scan and before a code is revealed.

const BATCH_MAX = 500;
const EVERY_MS = 30000; // one ping per half minute is enough to place a van
const SEND_MS = 60000;
const KEPT = "driver.pings";

/** @typedef {import("./api.js").Ping} Ping */

export class Gps {
  /** @param {import("./api.js").Api} api @param {{onState: (on: boolean) => void}} handlers */
  constructor(api, { onState }) {
    this.api = api;
    this.onState = onState;
    /** @type {GeolocationPosition | null} */
    this.last = null;
    /** @type {Ping[]} */
    this.pending = JSON.parse(localStorage.getItem(KEPT) || "[]");
    this.lastPingAt = 0;
    /** @type {number | null} */
    this.watch = null;
    /** @type {number | undefined} */
    this.timer = undefined;
  }

  start() {
    if (this.watch !== null || !("geolocation" in navigator)) return;
    this.watch = navigator.geolocation.watchPosition(
      (position) => {
        this.last = position;
        this.onState(true);
        if (position.timestamp - this.lastPingAt >= EVERY_MS) this.keep(position);
      },
      () => this.onState(false),
      { enableHighAccuracy: true, maximumAge: 10000 },
    );
    this.timer = window.setInterval(() => this.send(), SEND_MS);
  }

  stop() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
    clearInterval(this.timer);
  }

  /** @param {GeolocationPosition} position */
  keep(position) {
    this.lastPingAt = position.timestamp;
    this.pending.push({
      at: new Date(position.timestamp).toISOString(),
      latitude: position.coords.latitude,
      longitude: position.coords.longitude,
      accuracy_m: position.coords.accuracy,
    });
    this.pending = this.pending.slice(-5000);
    localStorage.setItem(KEPT, JSON.stringify(this.pending));
  }

  /** The freshest fix: the last one if under 30 s old, else a new one (up to 10 s); null without location. */
  fix() {
    if (this.last && Date.now() - this.last.timestamp < 30000) return Promise.resolve(this.last);
    return new Promise((resolve) => {
      if (!("geolocation" in navigator)) {
        resolve(null);
        return;
      }
      navigator.geolocation.getCurrentPosition(
        (position) => {
          this.last = position;
          resolve(position);
        },
        () => resolve(this.last),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 10000 },
      );
    });
  }

  /** Send the kept pings now, with a fresh fix first (the server judges a reveal's distance by the last one). */
  async sendNow() {
    const position = await this.fix();
    if (position) this.keep(position);
    await this.send();
  }

  async send() {
    while (this.pending.length) {
      const batch = this.pending.slice(0, BATCH_MAX);
      try {
        await this.api.locations(batch);
      } catch (error) {
        // Offline: kept for later. Refused (a clock far off): dropped, or it would block every later batch.
        if (/** @type {{later?: boolean}} */ (error).later) return;
      }
      this.pending = this.pending.slice(batch.length);
      localStorage.setItem(KEPT, JSON.stringify(this.pending));
    }
  }
}
