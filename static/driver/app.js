// @ts-check
// The driver app: signs in with a code from dispatch, shows today's run, sends scans (queued while offline),
// shows dispatch's instructions the moment they come and acknowledges them. Built on the public driver API only.

import { Api, ApiError, problem } from "./api.js";
import { Awake } from "./awake.js";
import { takePhoto } from "./camera.js";
import { Gps } from "./gps.js";
import { LANGUAGES, language, setLanguage, setZone, t } from "./i18n.js";
import { Live } from "./live.js";
import { RunMap } from "./map.js";
import { Outbox } from "./outbox.js";
import { FINISHED, alertsView, failView, h, runView, signInView, stopView } from "./views.js";

/** @typedef {import("./api.js").Run} Run */
/** @typedef {import("./api.js").Instruction} Instruction */

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("driver-config")).textContent || "{}");
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const main = $("main");
const REVEAL_SECONDS = 30;
const RUN_EVERY_MS = 60000;
// Instructions caught up from the feed are shown if not acknowledged and this recent; older ones are history.
const ALERT_AGE_MS = 12 * 3600 * 1000;

const api = new Api(config.api);
const saved = (/** @type {string} */ key) => JSON.parse(localStorage.getItem(key) || "null");

const state = {
  /** @type {import("./api.js").Me | null} */
  me: saved("driver.me"),
  /** @type {Run | null} */
  run: saved("driver.run"),
  etag: "",
  /** @type {import("./api.js").ReasonCode[]} */
  reasons: saved("driver.reasons") || [],
  /** @type {import("./outbox.js").Scan[]} */
  waiting: [],
  /** @type {Instruction[]} */
  alerts: [],
  conn: /** @type {"live" | "polling" | "offline"} */ ("offline"),
  signIn: { code: "", error: "", busy: false },
  fail: { chosen: "", notes: "", /** @type {Blob | null} */ photo: null, photoUrl: "" },
  /** @type {{stopId: number, codes: import("./api.js").Reveal["codes"], until: number} | null} */
  revealed: null,
};

// --- The parts that run in the background ---------------------------------------------------------------------------
const outbox = new Outbox(api, {
  onChange: (waiting) => {
    state.waiting = waiting;
    drawBar();
    draw();
  },
  onSent: (scan, answer) => {
    const stop = state.run?.stops.find((item) => item.id === scan.stopId);
    if (stop) stop.status = answer.stop_status;
    keepRun();
    underway();
    toast(t("sent"));
  },
  onRefused: (_scan, error) => toast(t("refused", { why: problem(error) })),
});

const awake = new Awake();
const gps = new Gps(api, { onState: (on) => $("conn").classList.toggle("no-gps", !on) });

const live = new Live({
  api,
  socketPath: config.socket,
  onState: (connection) => {
    state.conn = connection;
    drawBar();
  },
  onInstruction: (instruction, fresh) => {
    const recent = Date.now() - Date.parse(instruction.created_at) < ALERT_AGE_MS;
    if (!instruction.acked_at && (fresh || recent) && !state.alerts.some((known) => known.id === instruction.id)) {
      state.alerts.push(instruction);
      if (fresh) attention();
      drawAlerts();
    }
    // What changes the run (a new order, a stop moved off it, a code on file) is read again at once.
    if (["route_updated", "skip", "access_code"].includes(instruction.kind) || fresh) loadRun();
  },
});

const mapElement = h("div", { class: "map", id: "map", role: "img", "aria-label": t("map") });
/** @type {RunMap | null} */
let runMap = null;

// --- Sound and vibration: an instruction must be noticed in a van ---------------------------------------------------
/** @type {AudioContext | null} */
let audio = null;
document.addEventListener("pointerdown", () => {
  if (!audio && "AudioContext" in window) audio = new AudioContext(); // browsers allow sound after a touch
}, { once: true });
function attention() {
  if ("vibrate" in navigator) navigator.vibrate([250, 120, 250]);
  if (!audio) return;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.25, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.6);
}

// --- Loading ----------------------------------------------------------------------------------------------------------
function keepRun() {
  localStorage.setItem("driver.run", JSON.stringify(state.run));
}

let loading = Promise.resolve();
/** Where the driver is matters while a run has stops to go, and the screen stays on; after the last, the phone stops
 * reporting and may sleep. */
function underway() {
  const going = Boolean(state.run && state.run.stops.some((stop) => !FINISHED.has(stop.status)));
  if (going) gps.start();
  else gps.stop();
  awake.set(going);
}

function loadRun() {
  loading = loading.then(async () => {
    try {
      const answer = await api.run(state.etag);
      if (answer) {
        const before = state.run ? state.run.stops.map((stop) => stop.id).join() : "";
        state.run = answer.run;
        state.etag = answer.etag;
        setZone(answer.run.depot.time_zone);
        keepRun();
        if (before && before !== answer.run.stops.map((stop) => stop.id).join()) toast(t("newOrder"));
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === "no_run_today") {
        state.run = null;
        keepRun();
      }
    }
    underway();
    draw();
  });
  return loading;
}

async function loadReasons() {
  try {
    state.reasons = await api.reasonCodes();
    localStorage.setItem("driver.reasons", JSON.stringify(state.reasons));
  } catch {
    // Kept from last time; read again at the next start.
  }
}

function begin() {
  syncLanguage();
  loadRun();
  loadReasons();
  live.start();
  outbox.flush();
}

api.onSignedOut = () => {
  live.stop();
  gps.stop();
  awake.set(false);
  state.me = null;
  state.run = null;
  localStorage.removeItem("driver.me");
  localStorage.removeItem("driver.run");
  localStorage.removeItem(LANGUAGE_CHOSEN);
  location.hash = "";
  draw();
};

// --- Drawing ----------------------------------------------------------------------------------------------------------
/** @type {number | undefined} */
let toastTimer;
/** @param {string} text */
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { node.hidden = true; }, 4000);
}

function drawBar() {
  $("title").textContent = t("app");
  const lang = $("lang");
  lang.textContent = t("otherShort");
  lang.setAttribute("aria-label", t("other"));
  const conn = $("conn");
  const connection = navigator.onLine ? state.conn : "offline"; // the phone knows first when the network is gone
  conn.dataset.state = connection;
  const count = state.waiting.length;
  conn.textContent = [t(connection), count ? (count === 1 ? t("waitingOne") : t("waiting", { n: count })) : ""].filter(Boolean).join(" · ");
}

function drawAlerts() {
  $("alerts").replaceChildren(...alertsView({
    alerts: state.alerts,
    run: state.run,
    onAck: async (id) => {
      state.alerts = state.alerts.filter((alert) => alert.id !== id);
      drawAlerts();
      try {
        await api.ack(id);
      } catch {
        // Acknowledged on the phone; the feed still says unacknowledged until a try gets through.
      }
    },
  }));
}

function route() {
  const match = location.hash.match(/^#stop\/(\d+)(\/failed)?$/);
  return match ? { stopId: Number(match[1]), failing: Boolean(match[2]) } : { stopId: 0, failing: false };
}

function draw() {
  drawBar();
  drawAlerts(); // the stops they name may have changed
  if (!api.token) {
    main.replaceChildren(signInView({ ...state.signIn, onSubmit: signIn }));
    return;
  }
  const { stopId, failing } = route();
  const stop = state.run?.stops.find((item) => item.id === stopId);
  if (stop && failing) {
    main.replaceChildren(failView({
      stop, reasons: state.reasons, ...state.fail,
      onChoose: (code) => { state.fail.chosen = code; draw(); },
      onNotes: (text) => { state.fail.notes = text; },
      onPhoto: async () => {
        const photo = await takePhoto();
        if (!photo) return;
        if (state.fail.photoUrl) URL.revokeObjectURL(state.fail.photoUrl);
        Object.assign(state.fail, { photo, photoUrl: URL.createObjectURL(photo) });
        draw();
      },
      onSend: () => scan(stop.id, "failed"),
      onCancel: () => history.back(),
    }));
    return;
  }
  if (stop) {
    const revealed = state.revealed && state.revealed.stopId === stop.id
      ? { codes: state.revealed.codes, left: Math.max(0, Math.ceil((state.revealed.until - Date.now()) / 1000)) } : null;
    main.replaceChildren(stopView({
      stop, waiting: state.waiting, revealed,
      onBack: () => { location.hash = ""; },
      onDelivered: () => scan(stop.id, "delivered"),
      onFailed: () => {
        state.fail = { chosen: "", notes: "", photo: null, photoUrl: "" };
        location.hash = `#stop/${stop.id}/failed`;
      },
      onReveal: () => reveal(stop.id),
      onCall: () => call(stop.id),
    }));
    return;
  }
  main.replaceChildren(runView({
    run: state.run, waiting: state.waiting, map: mapElement, me: state.me,
    onOpen: (id) => { location.hash = `#stop/${id}`; },
    onSignOut: signOut,
  }));
  if (state.run) {
    runMap = runMap || new RunMap(mapElement, config);
    runMap.resize();
    runMap.show(state.run.stops);
  }
}

// --- What the driver does ---------------------------------------------------------------------------------------------
/** @param {string} code */
async function signIn(code) {
  state.signIn = { code, error: "", busy: true };
  draw();
  try {
    const answer = await api.signIn(code, navigator.userAgent.match(/\(([^;)]+)/)?.[1] || "");
    api.keep(answer.token);
    keepMe(answer.driver);
    // Dispatch's choice of language for the driver, else the phone's becomes theirs.
    if (answer.driver.language) showIn(answer.driver.language);
    else localStorage.setItem(LANGUAGE_CHOSEN, language());
    state.signIn = { code: "", error: "", busy: false };
    live.reset();
    begin();
  } catch (error) {
    state.signIn = { code, error: problem(error), busy: false };
  }
  draw();
}

async function signOut() {
  if (!confirm(t("signOutConfirm"))) return;
  try {
    await api.signOut();
  } catch {
    // Signed out on the phone; the token can be revoked in admin too.
  }
  api.onSignedOut();
}

/** @param {number} stopId @param {"delivered" | "failed"} outcome */
async function scan(stopId, outcome) {
  const fix = await gps.fix();
  const entry = {
    key: crypto.randomUUID(),
    stopId,
    outcome,
    reason_code: outcome === "failed" ? state.fail.chosen : "",
    device_time: new Date().toISOString(),
    latitude: fix ? fix.coords.latitude : null,
    longitude: fix ? fix.coords.longitude : null,
    accuracy_m: fix ? fix.coords.accuracy : null,
    notes: outcome === "failed" ? state.fail.notes.trim() : "",
    photo: outcome === "failed" ? state.fail.photo : null,
    queuedAt: Date.now(),
  };
  location.hash = "";
  if (!navigator.onLine) toast(t("queued"));
  await outbox.add(entry);
  if (state.waiting.some((waiting) => waiting.key === entry.key)) toast(t("queued"));
}

/** @param {number} stopId */
async function reveal(stopId) {
  if (!confirm(t("revealConfirm"))) return;
  try {
    await gps.sendNow(); // the server judges the distance from the last position it has
    const answer = await api.reveal(stopId);
    state.revealed = { stopId, codes: answer.codes, until: Date.now() + REVEAL_SECONDS * 1000 };
  } catch (error) {
    toast(problem(error));
    return;
  }
  draw();
  const tick = window.setInterval(() => {
    if (!state.revealed || Date.now() >= state.revealed.until) {
      state.revealed = null;
      clearInterval(tick);
      draw();
      return;
    }
    const left = document.getElementById("reveal-left");
    if (left) left.textContent = t("revealShown", { s: Math.ceil((state.revealed.until - Date.now()) / 1000) });
  }, 1000);
}

/** @param {number} stopId */
async function call(stopId) {
  try {
    await api.call(stopId);
    toast(t("calling"));
  } catch (error) {
    toast(problem(error));
  }
}

// --- Language: the app's is the one dispatch writes instructions in -------------------------------------------------
const LANGUAGE_CHOSEN = "driver.languageChosen"; // a choice on this phone not yet sent

/** @param {import("./api.js").Me} me */
function keepMe(me) {
  state.me = me;
  localStorage.setItem("driver.me", JSON.stringify(me));
}

/** @param {string} code */
function showIn(code) {
  setLanguage(code);
  mapElement.setAttribute("aria-label", t("map"));
  draw();
  drawAlerts();
}

/** The driver's choice on this phone goes to dispatch (again once the network is back); a choice made in admin
 * comes to the phone. */
async function syncLanguage() {
  const chosen = localStorage.getItem(LANGUAGE_CHOSEN);
  try {
    const me = chosen ? await api.setLanguage(chosen) : await api.me();
    localStorage.removeItem(LANGUAGE_CHOSEN);
    if (!me.language) {
      keepMe(await api.setLanguage(language()));
      return;
    }
    keepMe(me);
    if (me.language !== language() && LANGUAGES.includes(me.language)) showIn(me.language);
  } catch (error) {
    // Offline: tried again when the network returns. Refused: the phone keeps its own.
    if (error instanceof ApiError && error.status !== 0) localStorage.removeItem(LANGUAGE_CHOSEN);
  }
}

// --- Go ---------------------------------------------------------------------------------------------------------------
setLanguage(language());
$("lang").addEventListener("click", () => {
  showIn(language() === "es" ? "en" : "es");
  localStorage.setItem(LANGUAGE_CHOSEN, language());
  if (api.token) syncLanguage();
});
window.addEventListener("hashchange", draw);
window.addEventListener("offline", drawBar);
window.addEventListener("online", () => {
  drawBar();
  outbox.flush();
  gps.send();
  loadRun();
  if (api.token) syncLanguage();
});
document.addEventListener("visibilitychange", () => { if (!document.hidden && api.token) loadRun(); });
setInterval(() => { if (api.token && !document.hidden) loadRun(); }, RUN_EVERY_MS);
if ("serviceWorker" in navigator) navigator.serviceWorker.register(config.worker).catch(() => undefined);

// A QR code from admin opens /driver/#code=ABCD2345: sign in with it at once.
const given = location.hash.match(/^#code=([A-Za-z0-9-]+)$/);
if (given) {
  history.replaceState(null, "", location.pathname);
  if (!api.token) signIn(given[1]);
}
outbox.waiting().then((waiting) => {
  state.waiting = waiting;
  draw();
});
setZone(state.run?.depot.time_zone); // the run kept on the phone: its times are its depot's
draw();
if (api.token) begin();
