// @ts-check
// The screen stays on while the run has stops to go and the app is in front: a phone that dims and locks stops
// hearing dispatch. The browser lets go of it when the app goes to the background; it is asked for again on return.

export class Awake {
  constructor() {
    /** @type {WakeLockSentinel | null} */
    this.lock = null;
    this.wanted = false;
    this.asking = false;
    document.addEventListener("visibilitychange", () => this.apply());
  }

  /** @param {boolean} wanted */
  set(wanted) {
    this.wanted = wanted;
    this.apply();
  }

  async apply() {
    if (!("wakeLock" in navigator)) return;
    if (!this.wanted) {
      const lock = this.lock;
      this.lock = null;
      await lock?.release().catch(() => undefined);
      return;
    }
    if (document.hidden || this.asking || (this.lock && !this.lock.released)) return;
    this.asking = true;
    try {
      this.lock = await navigator.wakeLock.request("screen");
    } catch {
      this.lock = null; // refused (battery saver): the app still works, the screen may dim
    } finally {
      this.asking = false;
    }
    if (!this.wanted) this.apply(); // the run ended while the browser answered
  }
}
