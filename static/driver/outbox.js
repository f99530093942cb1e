// @ts-check
// Scans waiting to be sent, kept in the phone's IndexedDB: a scan made in a basement is sent when the network
// returns, once. Each keeps the Idempotency-Key it was made with, so a try whose answer was lost is not counted
// twice: the server answers the first try's result again.

import { ApiError } from "./api.js";

/**
 * @typedef {{
 *   key: string, stopId: number, outcome: "delivered" | "failed", reason_code: string, device_time: string,
 *   latitude: number | null, longitude: number | null, accuracy_m: number | null, notes: string,
 *   photo: Blob | null, queuedAt: number
 * }} Scan
 */

const DATABASE = "driver-app";
const STORE = "outbox";
const RETRY_MS = 15000;

/** @returns {Promise<IDBDatabase>} */
function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * @template T
 * @param {"readonly" | "readwrite"} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} work
 * @returns {Promise<T>}
 */
async function transact(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const request = work(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export class Outbox {
  /**
   * @param {import("./api.js").Api} api
   * @param {{
   *   onChange: (waiting: Scan[]) => void,
   *   onSent: (scan: Scan, answer: import("./api.js").ScanAnswer) => void,
   *   onRefused: (scan: Scan, error: ApiError) => void,
   * }} handlers
   */
  constructor(api, handlers) {
    this.api = api;
    this.handlers = handlers;
    this.flushing = false;
    /** @type {number | undefined} */
    this.timer = undefined;
    window.addEventListener("online", () => this.flush());
  }

  /** @returns {Promise<Scan[]>} oldest first */
  async waiting() {
    /** @type {Scan[]} */
    const all = await transact("readonly", (store) => store.getAll());
    return all.sort((a, b) => a.queuedAt - b.queuedAt);
  }

  /** Keep a scan, then try to send everything waiting. @param {Scan} scan */
  async add(scan) {
    await transact("readwrite", (store) => store.put(scan));
    this.handlers.onChange(await this.waiting());
    await this.flush();
  }

  /** @param {Scan} scan */
  form(scan) {
    const form = new FormData();
    form.set("outcome", scan.outcome);
    if (scan.reason_code) form.set("reason_code", scan.reason_code);
    form.set("device_time", scan.device_time);
    // A field with no value is left out, never sent empty (the schema's rule for this form).
    if (scan.latitude !== null && scan.longitude !== null) {
      form.set("latitude", String(scan.latitude));
      form.set("longitude", String(scan.longitude));
      if (scan.accuracy_m !== null) form.set("accuracy_m", String(Math.round(scan.accuracy_m)));
    }
    if (scan.notes) form.set("notes", scan.notes);
    if (scan.photo) form.set("photo", scan.photo, "photo.jpg");
    return form;
  }

  /** Send what waits, oldest first; stop at the first that cannot go now and try again later. */
  async flush() {
    if (this.flushing || !this.api.token) return;
    this.flushing = true;
    clearTimeout(this.timer);
    try {
      for (const scan of await this.waiting()) {
        try {
          const answer = await this.api.scan(scan.stopId, scan.key, this.form(scan));
          await transact("readwrite", (store) => store.delete(scan.key));
          this.handlers.onSent(scan, answer);
        } catch (error) {
          if (!(error instanceof ApiError) || error.later || error.status === 401) {
            this.timer = window.setTimeout(() => this.flush(), RETRY_MS);
            return;
          }
          // The server read it and said no (the stop was moved meanwhile, say): keeping it would block the rest.
          await transact("readwrite", (store) => store.delete(scan.key));
          this.handlers.onRefused(scan, error);
        }
      }
    } finally {
      this.flushing = false;
      this.handlers.onChange(await this.waiting());
    }
  }
}
