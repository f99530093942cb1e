// The board page: wires the live sync, the queue, the map, the case panel, the risky stops and the keyboard.

import { bindKeys } from "./keys.js";
import { LiveSync } from "./live.js";
import { BoardMap } from "./map.js";
import { CasePanel } from "./panel.js";
import { CLOSED_STATES, QueueView, compareCases, matches } from "./queue.js";
import { RiskyView } from "./risky.js";
import { WaitingView } from "./waiting.js";
import { duration, fullTime, getJSON, h, postJSON, query, readConfig } from "./util.js";

const config = readConfig("board-config");
const depots = new Map(config.depots.map((depot) => [String(depot.id), depot]));
const $ = (id) => document.getElementById(id);

// --- State: every case we know of, by id; what shows is the ones the filters let through. ---------------------
const cases = new Map();
let drivers = [];
let selectedId = null;

const filtersForm = $("filters");
function filters() {
  const data = new FormData(filtersForm);
  return {
    depot: data.get("depot") || "",
    state: data.get("state") || "",
    reason: data.get("reason") || "",
    driver: data.get("driver") || "",
    age: data.get("age") || "",
    human: data.get("human") === "1",
  };
}

// --- Views --------------------------------------------------------------------------------------------------------
let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 3500);
}

const queue = new QueueView({
  body: $("queue-rows"),
  empty: $("queue-empty"),
  count: $("queue-count"),
  depots,
  onOpen: (id) => openCase(id),
  onPick: (picked) => showBulk(picked),
});

const map = new BoardMap({
  element: $("map"),
  note: $("map-note"),
  tileUrl: config.tileUrl,
  attribution: config.tileAttribution,
  depots: config.depots,
  onOpen: (id) => openCase(id),
  onDriver: (id) => toggleRoute(id),
});

/** A driver's marker clicked: draw the stops they have left, in order; clicked again, hide them. */
async function toggleRoute(id) {
  if (map.routeOf === id) {
    map.showRoute(null);
    return;
  }
  try {
    const route = await getJSON(`${config.driversUrl}${id}/route`);
    map.showRoute(route);
    toast(`${route.driver_name}: ${route.stops.length} ${route.stops.length === 1 ? "stop" : "stops"} left today`);
  } catch (error) {
    toast(error.message);
  }
}

const panel = new CasePanel({
  root: $("case-panel"),
  casesUrl: config.casesUrl,
  depots,
  username: config.username,
  displayName: config.displayName,
  toast,
  onCase: (row) => {
    upsert(row);
    scheduleRender();
  },
  onClose: () => {
    urlWrite();
    select(selectedId);
    setTimeout(() => map.resize(), 0);
  },
});

const risky = new RiskyView({ root: $("view-risky"), url: config.riskyUrl, stopsUrl: config.stopsUrl, depots });
const waiting = new WaitingView({
  root: $("view-waiting"),
  url: config.waitingUrl,
  depots,
  onOpen: (id) => {
    showView("queue");
    openCase(id);
  },
});

// --- Views: the exception queue (with its map), or the risky stops of today or tomorrow --------------------------
const VIEWS = { queue: "tab-queue", risky: "tab-risky", waiting: "tab-waiting" };
const tabs = Object.values(VIEWS).map((id) => $(id));
const viewOf = (tab) => Object.keys(VIEWS).find((name) => VIEWS[name] === tab.id);

function queueShown() {
  return !$("view-queue").hidden;
}

function showView(name, { focus = false } = {}) {
  if (!(name in VIEWS)) name = "queue";
  for (const tab of tabs) {
    const on = tab.id === VIEWS[name];
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  }
  $("filters-toggle").hidden = name !== "queue";
  document.body.dataset.view = name;
  const hash = name === "queue" ? "" : `#${name}`;
  if (location.hash !== hash) history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
  if (name !== "queue" && panel.isOpen) panel.close(); // the case drawer belongs to the queue
  if (name === "risky") risky.show();
  else risky.hide();
  if (name === "waiting") waiting.show();
  if (name === "queue") {
    setTimeout(() => map.resize(), 0);
    queue.scheduleDraw(); // what is in view is known once the queue shows
  }
  if (focus) $(VIEWS[name]).focus();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => showView(viewOf(tab)));
}
// Tabs move with the arrow keys, Home and End (the tab pattern of the ARIA practices).
$("views").addEventListener("keydown", (event) => {
  const index = tabs.indexOf(event.target);
  if (index === -1) return;
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  showView(viewOf(tabs[(moves[event.key] + tabs.length) % tabs.length]), { focus: true });
});

function visibleRows() {
  const current = filters();
  const now = Date.now();
  return [...cases.values()].filter((row) => matches(row, current, now)).sort(compareCases);
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    render();
  });
}

function render() {
  const rows = visibleRows();
  $("queue-loading").hidden = true;
  queue.render(rows, { selectedId });
  map.setCases(rows, selectedId);
}

function select(id) {
  selectedId = id;
  queue.select(id);
  map.setCases(queue.rows, selectedId);
}

async function openCase(id) {
  select(id);
  map.focusCase(id);
  await panel.open(id);
  urlWrite();
}

/** A row from the server: newer versions replace older ones; a closed case leaves the queue. */
function upsert(row) {
  const known = cases.get(row.id);
  if (known && known.version > row.version) return;
  if (CLOSED_STATES.has(row.state)) cases.delete(row.id);
  else cases.set(row.id, row);
  rememberOption("f-reason", row.reason_code, row.reason_label);
  rememberOption("f-driver", row.driver_id, row.driver_name);
}

function setCounters(counters) {
  if (!counters) return;
  $("count-open").textContent = counters.open ?? "–";
  $("count-escalated").textContent = counters.escalated ?? "–";
  $("count-breaching").textContent = counters.breaching ?? "–";
  $("count-auto").textContent = counters.auto_resolved_today ?? "–";
  document.querySelector(".counter-breaching").classList.toggle("alarm", Number(counters.breaching) > 0);
}

/** Reason and driver choices grow with what the board has seen. */
function rememberOption(selectId, value, label) {
  if (value === null || value === undefined || value === "") return;
  const select = $(selectId);
  const known = [...select.options].find((option) => option.value === String(value));
  if (known) {
    // An option made from the address bar carries its value until a row names it.
    if (label && known.textContent === String(value)) known.textContent = label;
    return;
  }
  const option = h("option", { value }, label || String(value));
  const options = [...select.options].slice(1);
  const before = options.find((existing) => existing.textContent.localeCompare(option.textContent) > 0);
  select.insertBefore(option, before || null);
}

// --- Live sync ----------------------------------------------------------------------------------------------------
function snapshotUrl() {
  const current = filters();
  return config.snapshotUrl + query({
    depot: current.depot, state: current.state, reason: current.reason, driver: current.driver, age: current.age,
  });
}

let refreshTimer = null;
let refreshDeadline = 0;
/** Counters and drivers are not in the events: take a fresh snapshot shortly after things change. */
function refreshSoon() {
  const now = Date.now();
  if (!refreshTimer) refreshDeadline = now + 5000;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    sync.resync();
  }, Math.max(0, Math.min(1500, refreshDeadline - now)));
}

const sync = new LiveSync({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.wsPath}`,
  loadSnapshot: () => getJSON(snapshotUrl()),
  onSnapshot: (snapshot) => {
    cases.clear();
    for (const row of snapshot.cases || []) upsert(row);
    drivers = snapshot.drivers || [];
    for (const driver of drivers) rememberOption("f-driver", driver.id, driver.name);
    setCounters(snapshot.counters);
    map.setDrivers(drivers);
    render();
    document.body.dataset.synced = String(Date.now());
  },
  onEvent: (event) => {
    if (event.type === "case" && event.case) {
      upsert(event.case);
      panel.caseChanged(event.case);
      scheduleRender();
    }
    refreshSoon();
  },
  onStatus: showStatus,
});

let countdown = null;
function showStatus(status, detail = {}) {
  const node = $("conn");
  node.dataset.state = status;
  clearInterval(countdown);
  const text = node.querySelector(".conn-text");
  const retry = $("conn-retry");
  retry.hidden = status !== "offline";
  const labels = { connecting: "Connecting…", syncing: "Catching up…", live: "Live", error: "Board not updated" };
  if (status === "offline" && detail.retryInMs) {
    const until = Date.now() + detail.retryInMs;
    const tick = () => { text.textContent = `Offline · retry in ${duration(until - Date.now())}`; };
    tick();
    countdown = setInterval(tick, 1000);
  } else {
    text.textContent = labels[status] || "Offline";
  }
}

$("conn-retry").addEventListener("click", () => sync.reconnectNow());
window.addEventListener("online", () => sync.reconnectNow());

filtersForm.addEventListener("change", () => {
  render();
  sync.resync();
  urlWrite();
});
filtersForm.addEventListener("reset", () => setTimeout(() => {
  render();
  sync.resync();
  urlWrite();
}, 0));

// --- Bulk: the ticked cases assigned or resolved together, each at the version the dispatcher saw. --------------
const bulk = $("bulk");
$("bulk-outcome").replaceChildren(...[...$("resolve-outcome").options].map((option) => option.cloneNode(true)));
function showBulk(picked) {
  bulk.hidden = picked.size === 0;
  $("bulk-count").textContent = `${picked.size} selected`;
  $("q-pick-all").checked = picked.size > 0 && picked.size === queue.rows.length;
}
async function bulkAct(action, body) {
  const ids = [...queue.picked];
  let done = 0;
  const refused = [];
  for (const id of ids) {
    const row = cases.get(id);
    if (!row) continue;
    try {
      const answer = await postJSON(`${config.casesUrl}${id}/${action}`, { version: row.version, ...body });
      if (answer && answer.case) upsert(answer.case);
      done += 1;
    } catch (error) {
      refused.push(`${row.order_reference}: ${error.message}`);
      if (error.body && error.body.case) upsert(error.body.case);
    }
  }
  queue.pickAll(false);
  scheduleRender();
  const verb = action === "assign" ? "Assigned" : "Resolved";
  toast(`${verb} ${done} of ${ids.length}.${refused.length ? ` Not done: ${refused.join("; ")}` : ""}`);
}
$("bulk-assign").addEventListener("click", () => bulkAct("assign", { user_id: null }));
$("bulk-resolve").addEventListener("click", () => bulkAct("resolve", { outcome: $("bulk-outcome").value, note: "" }));
$("bulk-clear").addEventListener("click", () => queue.pickAll(false));
$("q-pick-all").addEventListener("change", (event) => queue.pickAll(event.target.checked));

// --- Compact: more cases on a screen, one line each; remembered on this browser. ------------------------------------
const compact = $("q-compact");
compact.checked = localStorage.getItem("board.compact") === "1";
document.body.classList.toggle("compact", compact.checked);
compact.addEventListener("change", () => {
  document.body.classList.toggle("compact", compact.checked);
  localStorage.setItem("board.compact", compact.checked ? "1" : "0");
});

// --- The address bar: the filters and the open case, so a view can be shared, bookmarked and reloaded. ------------
const URL_FILTERS = ["depot", "state", "reason", "driver", "age"];
function urlWrite() {
  const params = new URLSearchParams();
  const current = filters();
  for (const name of URL_FILTERS) if (current[name]) params.set(name, current[name]);
  if (current.human) params.set("human", "1");
  if (panel.isOpen && panel.caseId) params.set("case", String(panel.caseId));
  const search = params.toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
}
function urlRead() {
  const params = new URLSearchParams(location.search);
  for (const name of URL_FILTERS) {
    const value = params.get(name);
    if (!value) continue;
    if (name === "reason" || name === "driver") rememberOption(`f-${name}`, value, value);
    $(`f-${name}`).value = value;
  }
  $("f-human").checked = params.get("human") === "1";
  const id = Number(params.get("case"));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

// --- Search: any case of one's depots, open or ended. ------------------------------------------------------------
const searchBox = $("f-search");
const searchList = $("search-results");
let searchTimer = null;
let searchAsked = "";
searchBox.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(findCases, 250);
});
searchBox.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    searchBox.value = "";
    searchList.hidden = true;
  }
});
async function findCases() {
  const text = searchBox.value.trim();
  searchAsked = text;
  if (text.length < 2) {
    searchList.hidden = true;
    return;
  }
  let answer;
  try {
    answer = await getJSON(`${searchBox.dataset.url}?${new URLSearchParams({ q: text })}`);
  } catch (error) {
    searchList.replaceChildren(h("li", { class: "muted" }, error.message));
    searchList.hidden = false;
    return;
  }
  if (text !== searchAsked) return; // a newer search is on its way
  const zone = (row) => (depots.get(String(row.depot_id)) || {}).tz;
  searchList.replaceChildren(...answer.cases.map((row) => {
    const button = h("button", { type: "button", class: "search-hit" },
      h("strong", {}, row.order_reference), ` ${row.recipient_name || ""} · ${row.reason_label} · `,
      h("span", { class: CLOSED_STATES.has(row.state) ? "muted" : "" }, row.state_label),
      h("span", { class: "muted" }, ` · ${fullTime(row.opened_at, zone(row))}`));
    button.addEventListener("click", () => {
      searchList.hidden = true;
      openCase(row.id);
    });
    return h("li", {}, button);
  }));
  if (!answer.cases.length) searchList.append(h("li", { class: "muted" }, "No case found."));
  else if (answer.cases.length >= answer.limit) searchList.append(h("li", { class: "muted" }, `The newest ${answer.limit}: type more to narrow.`));
  searchList.hidden = false;
}
filtersForm.addEventListener("submit", (event) => event.preventDefault());

$("filters-toggle").addEventListener("click", () => {
  const open = !filtersForm.classList.contains("open");
  filtersForm.classList.toggle("open", open);
  $("filters-toggle").setAttribute("aria-expanded", String(open));
});

// --- Help and keyboard --------------------------------------------------------------------------------------------
const help = $("help");
let helpOpener = null;
function showHelp() {
  helpOpener = document.activeElement;
  help.hidden = false;
  help.querySelector(".dialog").focus();
}
function hideHelp() {
  if (help.hidden) return false;
  help.hidden = true;
  if (helpOpener && document.contains(helpOpener)) helpOpener.focus();
  return true;
}
$("help-open").addEventListener("click", showHelp);
$("help-close").addEventListener("click", hideHelp);
help.addEventListener("click", (event) => { if (event.target === help) hideHelp(); });

function move(step) {
  const id = queue.neighbour(step);
  if (id === null) return false;
  select(id);
  queue.focusRow(id);
  if (panel.isOpen) panel.open(id, { focus: false });
  return true;
}

bindKeys({
  j: () => help.hidden && queueShown() && move(1),
  k: () => help.hidden && queueShown() && move(-1),
  ArrowDown: (event) => help.hidden && $("queue-rows").contains(event.target) && move(1),
  ArrowUp: (event) => help.hidden && $("queue-rows").contains(event.target) && move(-1),
  Enter: () => {
    if (!help.hidden || !queueShown() || selectedId === null) return false;
    openCase(selectedId);
    return true;
  },
  a: () => panel.isOpen && panel.allows("approve") && (panel.act("approve"), true),
  c: () => panel.isOpen && panel.allows("call") && (panel.act("call"), true),
  r: () => panel.isOpen && panel.showForm("resolve"),
  w: () => panel.isOpen && panel.showForm("window"),
  m: () => panel.isOpen && panel.showForm("message"),
  "/": () => {
    if (!queueShown()) showView("queue");
    filtersForm.classList.add("open");
    $("f-depot").focus();
    return true;
  },
  "?": () => (help.hidden ? showHelp() : hideHelp(), true),
  Escape: () => {
    if (hideHelp()) return true;
    if (panel.isOpen && panel.hideForms(true)) return true;
    if (panel.isOpen) {
      panel.close();
      return true;
    }
    return false;
  },
});

// --- Go -----------------------------------------------------------------------------------------------------------
showView(location.hash.slice(1) in VIEWS ? location.hash.slice(1) : "queue");
const wanted = urlRead();
setInterval(() => queue.tick(), 5000);
// Drivers move and counters drift without a case event; a quiet refresh keeps them current.
setInterval(() => { if (!document.hidden) sync.resync(); }, 60000);
window.addEventListener("resize", () => map.resize());
sync.start();
sync.resync(); // the board shows at once; the socket's greeting brings a second snapshot that misses nothing
if (wanted !== null) openCase(wanted);
