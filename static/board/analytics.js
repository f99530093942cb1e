// The analytics page: the measures over a period, charted with Chart.js (static/vendor/, from npm).

import { endingRows, netValueText, rescuedText, timeToOutcomeText } from "./outcomes.js";
import { duration, getJSON, h, money, percent, query, readConfig } from "./util.js";

const config = readConfig("analytics-config");
const $ = (id) => document.getElementById(id);
const form = $("period");
const Chart = globalThis.Chart;
const PALETTE = ["#1d4ed8", "#d9480f", "#2f6f4f", "#b7791f", "#7c3aed", "#0e7490", "#b42318", "#52606d"];

/** The depot's zone: the chosen depot's, else the first one's (analytics' days are each depot's local days). */
function depotZone() {
  const code = new FormData(form).get("depot");
  const depot = config.depots.find((d) => d.code === code) || config.depots[0];
  return depot ? depot.tz : undefined;
}

/** Today's date at the depot, "2026-12-06", whatever the browser's zone. */
function todayAtDepot() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: depotZone(), year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

function setDays(days) {
  const to = todayAtDepot();
  const from = new Date(Date.parse(`${to}T12:00:00Z`) - (days - 1) * 86400000).toISOString().slice(0, 10);
  $("a-from").value = from;
  $("a-to").value = to;
}

function params(extra = {}) {
  const data = new FormData(form);
  return { from: data.get("from"), to: data.get("to"), depot: data.get("depot"), ...extra };
}

function seconds(value) {
  return value === null || value === undefined ? "–" : duration(value * 1000);
}

// --- Charts -------------------------------------------------------------------------------------------------------
const charts = {};

function chart(id, type, labels, datasets, options = {}) {
  const canvas = $(id);
  const summary = labels.map((label, i) => `${label}: ${datasets.map((set) => set.data[i] ?? 0).join(" / ")}`);
  canvas.setAttribute("aria-label", `${canvas.closest("section").querySelector("h2").textContent}. ${summary.join("; ") || "No data."}`);
  if (!Chart) {
    canvas.replaceWith(h("p", { class: "muted", id }, "Charts could not load."));
    return;
  }
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(canvas, {
    type,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      ...options,
    },
  });
}

function series(label, data, colour, extra = {}) {
  return { label, data, backgroundColor: colour, borderColor: colour, borderWidth: 2, ...extra };
}

function drawDays(groups) {
  const labels = groups.map((group) => group.key);
  // Before the desk's first case the depot's deliveries have a history (first attempts) but no cases: those days
  // are gaps, not zeros, and the note says so.
  const first = groups.findIndex((group) => group.cases.opened > 0);
  const since = (value, i) => (first === -1 || i < first ? null : value);
  const rate = (group) => (group.first_attempt.success_rate === null ? null : +(group.first_attempt.success_rate * 100).toFixed(1));
  chart("c-day", "line", labels, [
    series("Opened", groups.map((group, i) => since(group.cases.opened, i)), PALETTE[1], { tension: 0.25 }),
    series("Resolved", groups.map((group, i) => since(group.resolution.resolved, i)), PALETTE[2], { tension: 0.25 }),
    series("Escalated", groups.map((group, i) => since(group.cases.escalated, i)), PALETTE[6], { tension: 0.25 }),
    series("First-attempt success %", groups.map(rate), PALETTE[0], { yAxisID: "share", borderDash: [4, 3], pointRadius: 2 }),
  ], {
    scales: {
      y: { beginAtZero: true, ticks: { precision: 0 }, position: "left" },
      share: { beginAtZero: true, max: 100, position: "right", grid: { drawOnChartArea: false } },
    },
  });
  const note = $("c-day-note");
  note.hidden = first <= 0;
  if (first > 0) {
    note.textContent = `No cases before ${labels[first]}: the desk was not yet working this depot's failures. ` +
      "First-attempt success before then comes from the delivery history.";
  }
}

function drawHours(groups) {
  // Hour groups are days' hours ("2026-11-21T14:00"): add them up by the hour of the day.
  const opened = Array(24).fill(0);
  for (const group of groups) {
    const hour = Number(String(group.key).slice(11, 13));
    if (Number.isInteger(hour) && hour >= 0 && hour < 24) opened[hour] += group.cases.opened;
  }
  const labels = opened.map((_, hour) => `${String(hour).padStart(2, "0")}:00`);
  chart("c-hour", "bar", labels, [series("Opened", opened, PALETTE[0])]);
}

function drawReasons(groups) {
  const rows = groups.filter((group) => group.key !== null && group.cases.opened > 0)
    .sort((a, b) => b.cases.opened - a.cases.opened);
  chart("c-reason", "bar", rows.map((group) => group.key.replaceAll("_", " ").toLowerCase()),
    [series("Opened", rows.map((group) => group.cases.opened), PALETTE[1])],
    { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
}

function drawDepots(groups) {
  const names = new Map(config.depots.map((depot) => [depot.code, depot.name]));
  chart("c-depot", "bar", groups.map((group) => names.get(group.key) || group.key), [
    series("Exceptions opened", groups.map((group) => group.cases.opened), PALETTE[1], { yAxisID: "y" }),
    // Points, not only a line: with one depot a line has nothing to join and would not show.
    series("First-attempt success %", groups.map((group) => group.first_attempt.success_rate === null ? null : +(group.first_attempt.success_rate * 100).toFixed(1)), PALETTE[2], { yAxisID: "share", type: "line", pointRadius: 6, pointHoverRadius: 8, showLine: groups.length > 1 }),
  ], {
    scales: {
      y: { beginAtZero: true, ticks: { precision: 0 }, position: "left" },
      share: { beginAtZero: true, max: 100, position: "right", grid: { drawOnChartArea: false } },
    },
  });
}

// --- The area map -------------------------------------------------------------------------------------------------
let areaMap = null;
let areaLayer = null;

function drawAreas(groups) {
  const note = $("area-note");
  const L = globalThis.L;
  if (!L) {
    note.textContent = "The map could not load.";
    note.hidden = false;
    return;
  }
  if (!areaMap) {
    const first = config.depots[0];
    areaMap = L.map("area-map", { attributionControl: Boolean(config.tileUrl), preferCanvas: true })
      .setView(first ? [first.lat, first.lng] : [41.88, -87.63], 10);
    if (config.tileUrl) L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution || "" }).addTo(areaMap);
    else $("area-map").classList.add("map-no-tiles");
    areaLayer = L.layerGroup().addTo(areaMap);
  }
  areaLayer.clearLayers();
  const placed = (groups || []).filter((group) => group.lat !== null && group.lat !== undefined && group.cases.opened > 0);
  if (!placed.length) {
    note.textContent = groups === null ? "Exceptions by area are not available." : "No exceptions in the period.";
    note.hidden = false;
    return;
  }
  note.hidden = true;
  const most = Math.max(...placed.map((group) => group.cases.opened));
  const points = [];
  for (const group of placed) {
    const radius = 6 + 18 * Math.sqrt(group.cases.opened / most);
    const label = document.createElement("span");
    label.textContent = `${group.label || group.key}: ${group.cases.opened} opened`;
    // Each area named and counted on the map itself, not only on hover.
    L.circleMarker([group.lat, group.lng], { radius, color: "#9a3412", weight: 1, fillColor: PALETTE[1], fillOpacity: 0.55 })
      .bindTooltip(label, { permanent: true, direction: "right", className: "area-label", offset: [radius, 0] }).addTo(areaLayer);
    points.push([group.lat, group.lng]);
  }
  areaMap.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 13, animate: false });
}

// --- Load ---------------------------------------------------------------------------------------------------------
function showTotals(totals) {
  const first = totals.first_attempt;
  $("kpi-first").textContent = percent(first.success_rate);
  $("kpi-first-detail").textContent = `${first.delivered} of ${first.attempts} orders`;
  $("kpi-avg").textContent = seconds(totals.resolution.average_seconds);
  $("kpi-avg-detail").textContent = `${totals.resolution.resolved} resolved`;
  $("kpi-median").textContent = seconds(totals.resolution.median_seconds);
  const costs = totals.failed_attempt_cost || [];
  $("kpi-cost").textContent = costs.length ? costs.map((cost) => money(cost.cost_per_failed_attempt, cost.currency)).join(" · ") : "–";
  $("kpi-cost-detail").textContent = costs.map((cost) => `${cost.failed_attempts} failed, ${money(cost.total_cost, cost.currency)} in all`).join(" · ");
  $("kpi-notouch").textContent = percent(totals.no_touch.share);
  $("kpi-notouch-detail").textContent = `${totals.no_touch.untouched} of ${totals.no_touch.finished} closed`;
  $("kpi-cases").textContent = totals.cases.opened;
  const unanswered = totals.cases.unanswered_requests ? ` · ${totals.cases.unanswered_requests} requests nobody answered` : "";
  $("kpi-cases-detail").textContent = `${totals.cases.escalated} escalated${totals.cases.open_now === null ? "" : ` · ${totals.cases.open_now} open now`}${unanswered}`;
}

function showPrevention(prevention) {
  $("kpi-texts").textContent = prevention.texts_sent;
  $("kpi-texts-detail").textContent = `${prevention.not_asked} risky ${prevention.not_asked === 1 ? "stop" : "stops"} not asked`;
  $("kpi-reply-rate").textContent = percent(prevention.reply_rate);
  $("kpi-reply-rate-detail").textContent = `${prevention.replies} of ${prevention.texts_sent} answered`;
  $("kpi-useful").textContent = prevention.useful_replies;
  $("kpi-useful-detail").textContent = `of ${prevention.replies} ${prevention.replies === 1 ? "reply" : "replies"}: a code, a time, a safe place, a neighbour`;
  $("kpi-prevented").textContent = prevention.exceptions_prevented;
  $("kpi-prevented-detail").textContent = "delivered at the first attempt after a useful reply";
}

function showOutcomes(totals) {
  const rescued = rescuedText(totals.rescued_without_dispatcher, totals.outcomes);
  $("kpi-rescued").textContent = rescued.value;
  $("kpi-rescued-detail").textContent = rescued.detail;
  const time = timeToOutcomeText(totals.time_to_outcome);
  $("kpi-outcome-time").textContent = time.value;
  $("kpi-outcome-time-detail").textContent = time.detail;
  const net = netValueText(totals.value);
  $("kpi-net").textContent = net.value;
  $("kpi-net-detail").textContent = net.detail;
  $("outcomes-body").replaceChildren(...endingRows(totals.outcomes).map((row) =>
    h("tr", { class: row.key === "total" ? "total" : null, dataset: { ending: row.key } },
      h("th", { scope: "row" }, row.label),
      h("td", { class: "num" }, row.without),
      h("td", { class: "num" }, row.with),
      h("td", { class: "num" }, row.all)),
  ));
}

function updateExportLinks() {
  for (const link of $("export").querySelectorAll("a[data-group]")) {
    link.href = config.metricsUrl + query(params({ group_by: link.dataset.group, format: "csv" }));
  }
}

let loading = 0;
async function load() {
  const mine = ++loading;
  const status = $("a-status");
  status.textContent = "Loading…";
  updateExportLinks();
  const get = (group) => getJSON(config.metricsUrl + query(params({ group_by: group })));
  const [totals, days, hours, reasons, depots] = await Promise.allSettled([
    get(""), get("day"), get("hour"), get("reason_code"), get("depot"),
  ]);
  if (mine !== loading) return;
  const failed = [totals, days, hours, reasons, depots].find((result) => result.status === "rejected");
  if (failed) {
    status.textContent = failed.reason.message;
    return;
  }
  const answer = totals.value;
  status.textContent = `${answer.from} to ${answer.to} · ${answer.depots.join(", ")}`;
  showTotals(totals.value.totals);
  showPrevention(totals.value.totals.prevention);
  showOutcomes(totals.value.totals);
  drawDays(days.value.groups);
  drawHours(hours.value.groups);
  drawReasons(reasons.value.groups);
  drawDepots(depots.value.groups);
  // Areas are optional on the server: without them the map says so.
  get("area").then((answer) => mine === loading && drawAreas(answer.groups), () => mine === loading && drawAreas(null));
}

for (const button of form.querySelectorAll("[data-days]")) {
  button.addEventListener("click", () => {
    setDays(Number(button.dataset.days));
    load();
  });
}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
form.addEventListener("change", updateExportLinks);

setDays(7);
load();
