// Risky stops: today's or tomorrow's stops most likely to fail, why, and what the recipient told us ahead.

import { fullTime, getJSON, h, postJSON, query } from "./util.js";

export const DAYS = ["today", "tomorrow"];
// A score from here up reads as high; from the threshold up to here, as medium.
const HIGH = 0.6;
const REASONS_SHOWN = 3;
const POLL_MS = 60000;

/** The score out of 100, as the badge shows it: 0.724 -> 72. */
export function scorePercent(score) {
  if (score === null || score === undefined || Number.isNaN(Number(score))) return null;
  return Math.round(Number(score) * 100);
}

/** "high", "medium" (at or above the threshold), "low" (listed only because the recipient was contacted), "none". */
export function scoreLevel(score, threshold) {
  if (score === null || score === undefined) return "none";
  if (score >= Math.max(HIGH, threshold)) return "high";
  if (score >= threshold) return "medium";
  return "low";
}

const timeFormats = new Map();

/** "14:05" in the zone (the depot's), whatever the browser's locale and zone. */
export function timeOfDay(iso, timeZone) {
  if (!iso) return "";
  const key = timeZone || "";
  if (!timeFormats.has(key)) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    let format;
    try {
      format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: timeZone || undefined });
    } catch {
      format = new Intl.DateTimeFormat("en-GB", options);
    }
    timeFormats.set(key, format);
  }
  return timeFormats.get(key).format(new Date(iso));
}

/** The delivery window: "10:00–12:00", "from 10:00", "until 12:00", or "" when there is none. */
export function windowText(start, end, formatTime) {
  if (start && end) return `${formatTime(start)}–${formatTime(end)}`;
  if (start) return `from ${formatTime(start)}`;
  if (end) return `until ${formatTime(end)}`;
  return "";
}

/**
 * How much of the day's share of texts ahead is spent, over the depots shown:
 * "Texts ahead today: 212 of 600 sent (at most 30 % of parcels, the riskiest first)." "" when there is no limit.
 */
export function textsAheadNote(body) {
  const share = Number(body.daily_share);
  const days = Object.values(body.texts_ahead || {});
  if (!days.length || !(share < 1)) return "";
  const allowed = days.reduce((sum, day) => sum + day.allowed, 0);
  const used = days.reduce((sum, day) => sum + day.used, 0);
  const percent = Math.round(share * 100);
  const rule = `at most ${percent} % of parcels, the riskiest first`;
  // A dispatcher's "Text now" is not held to the share: past it, say so rather than "3 of 2".
  if (used > allowed) return `Texts ahead ${body.day || "today"}: ${used} sent, ${allowed} by the day's share (${rule}), the rest by a dispatcher.`;
  return `Texts ahead ${body.day || "today"}: ${used} of ${allowed} sent (${rule}).`;
}

/**
 * Why a stop not texted ahead is not (yet): "Not asked yet", or that the day's share of texts ahead is used up
 * or ranks it out. ``share``: the stop's depot's entry in the answer's ``texts_ahead``.
 */
export function notAskedLine(stop, share) {
  if (stop.done) return "Not asked";
  if (!share) return "Not asked yet";
  if (share.allowed === 0) return "Not asked: too few parcels that day for its share of texts ahead";
  if (share.used >= share.allowed) return "Not asked: the day's texts ahead are used up";
  if (share.cutoff !== null && share.cutoff !== undefined && (stop.score ?? 0) < share.cutoff) {
    return "Not asked: outside the day's riskiest share";
  }
  return "Not asked yet";
}

function lowerFirst(text) {
  return text ? text[0].toLowerCase() + text.slice(1) : "";
}

/** What the recipient is asked for, in a phrase: "access code, when someone is home". */
export function missingText(missing) {
  return (missing || []).map((item) => lowerFirst(item.label || String(item.code || "").replaceAll("_", " "))).join(", ");
}

/** One line on the text sent ahead of the driver and what came back, e.g.
 * "Asked 10:42 · answered 10:50 · access code received, safe place given". Never a code: the server
 * sends what was learned in words. */
export function aheadLine(prearrival, formatTime) {
  if (!prearrival) return "";
  if (prearrival.status === "skipped") {
    const why = (prearrival.skip_reason || "").replace(/\.$/, "");
    return why ? `Not asked: ${lowerFirst(why)}` : "Not asked";
  }
  const asked = prearrival.asked_at ? `Asked ${formatTime(prearrival.asked_at)}` : "Asked";
  if (prearrival.status !== "answered") return `${asked} · no answer yet`;
  const answered = prearrival.answered_at ? `answered ${formatTime(prearrival.answered_at)}` : "answered";
  const learned = (prearrival.learned || []).join(", ") || "nothing the driver can use";
  return `${asked} · ${answered} · ${learned}`;
}

/** "Wed 18 Nov" for a service date (YYYY-MM-DD), read as a calendar day. */
export function dayLabel(isoDate) {
  if (!isoDate) return "";
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, month - 1, day)));
}

export class RiskyView {
  constructor({ root, url, stopsUrl, depots }) {
    Object.assign(this, { root, url, stopsUrl, depots });
    this.el = (id) => root.querySelector(`#${id}`);
    this.day = "today";
    this.visible = false;
    this.loading = null;
    this.loaded = false;
    this.depotSelect = this.el("risky-depot");
    for (const button of root.querySelectorAll("[data-day]")) {
      button.addEventListener("click", () => this.setDay(button.dataset.day));
    }
    this.depotSelect?.addEventListener("change", () => this.load());
    this.driverSelect = this.el("risky-driver");
    this.sortSelect = this.el("risky-sort");
    this.driverSelect.addEventListener("change", () => this.load());
    this.sortSelect.addEventListener("change", () => this.load());
    this.el("risky-more").addEventListener("click", () => this.load({ more: true }));
    this.rows = [];
    this.said = new Map(); // stop id -> what its last row action answered
    setInterval(() => {
      if (this.visible && !document.hidden) this.load();
    }, POLL_MS);
  }

  zone(depotId) {
    const depot = this.depots.get(String(depotId));
    return depot ? depot.tz : undefined;
  }

  show() {
    this.visible = true;
    this.load();
  }

  hide() {
    this.visible = false;
  }

  setDay(day) {
    if (!DAYS.includes(day)) return;
    this.day = day;
    for (const button of this.root.querySelectorAll("[data-day]")) {
      button.setAttribute("aria-pressed", String(button.dataset.day === day));
    }
    this.load();
  }

  /** Fetch the list; the newest request wins over one still in flight. */
  async load({ more = false } = {}) {
    const offset = more ? this.rows.length : 0;
    const url = this.url + query({
      day: this.day,
      depot: this.depotSelect ? this.depotSelect.value : "",
      driver: this.driverSelect.value,
      sort: this.sortSelect.value,
      offset: offset || "",
    });
    const loading = getJSON(url);
    this.loading = loading;
    this.root.setAttribute("aria-busy", "true");
    if (!this.loaded) this.el("risky-loading").hidden = false;
    try {
      const body = await loading;
      if (this.loading !== loading) return;
      this.loaded = true;
      this.el("risky-error").hidden = true;
      this.rows = more ? [...this.rows, ...(body.stops || [])] : body.stops || [];
      this.render({ ...body, stops: this.rows });
    } catch (error) {
      if (this.loading !== loading) return;
      const alert = this.el("risky-error");
      alert.textContent = `Risky stops could not be loaded: ${error.message}`;
      alert.hidden = false;
    } finally {
      if (this.loading === loading) {
        this.root.removeAttribute("aria-busy");
        this.el("risky-loading").hidden = true;
      }
    }
  }

  render(body) {
    const stops = body.stops || [];
    const fragment = document.createDocumentFragment();
    const shares = body.texts_ahead || {};
    for (const stop of stops) fragment.append(this.renderRow(stop, body.threshold, shares[stop.depot_id]));
    this.el("risky-rows").replaceChildren(fragment);
    this.el("risky-empty").hidden = stops.length > 0;
    this.el("risky-more").hidden = stops.length >= body.total;
    // The drivers to filter by: those with stops shown, and the one chosen.
    const chosen = this.driverSelect.value;
    const drivers = new Map(stops.map((stop) => [String(stop.driver_id), stop.driver_name]));
    for (const option of [...this.driverSelect.options].slice(1)) {
      if (!drivers.has(option.value)) drivers.set(option.value, option.textContent);
    }
    this.driverSelect.replaceChildren(this.driverSelect.options[0],
      ...[...drivers].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => h("option", { value: id }, name)));
    this.driverSelect.value = chosen;
    const dates = [...new Set(Object.values(body.dates || {}))].map(dayLabel).join(" / ");
    const shown = stops.length < body.total ? `${stops.length} of ${body.total}` : String(body.total);
    this.el("risky-count").textContent = `${shown} ${body.total === 1 ? "stop" : "stops"}${dates ? ` · ${dates}` : ""}`;
    const threshold = scorePercent(body.threshold);
    const texts = textsAheadNote(body);
    this.el("risky-note").textContent =
      `Risk ${threshold} and above, and every stop whose recipient was texted ahead of the driver. ` +
      "The risk is how likely the stop is to fail at its first attempt, out of 100, from the reasons beside it " +
      "(failures at the address and building, access codes, the recipient's absences at that hour, the window " +
      `against the planned arrival). Each depot's own day, in its time zone.${texts ? ` ${texts}` : ""}`;
  }

  renderRow(stop, threshold, share) {
    const zone = this.zone(stop.depot_id);
    const at = (iso) => timeOfDay(iso, zone);
    const level = scoreLevel(stop.score, threshold);
    const percent = scorePercent(stop.score);
    const reasons = stop.reasons || [];
    const hidden = reasons.length - REASONS_SHOWN;
    const window = windowText(stop.window_start, stop.window_end, at);
    const ahead = aheadLine(stop.prearrival, at);
    const classes = ["risky-row", `risk-row-${level}`];
    if (stop.done) classes.push("done");
    // Still to be attempted, and its planned time has gone by: the plan is behind here.
    const passed = !stop.done && stop.planned_arrival && Date.parse(stop.planned_arrival) < Date.now();
    if (passed) classes.push("passed");
    return h(
      "tr",
      { class: classes.join(" "), dataset: { stopId: stop.stop_id } },
      h("td", { class: "col-risk", "data-label": "Risk" },
        h("span", { class: `risk-score risk-${level}`, title: percent === null ? "Not scored" : `Risk ${percent} of 100` },
          percent === null ? "–" : String(percent))),
      h("td", { class: "col-stop", "data-label": "Stop" },
        h("strong", { class: "risky-ref" }, stop.order_reference),
        h("span", { class: "sub" }, stop.recipient_name || ""),
        h("span", { class: "sub", title: stop.address }, stop.address || "")),
      h("td", { class: "col-when", "data-label": "Driver" },
        h("span", {}, stop.driver_name || "–"),
        h("span", { class: "sub", title: fullTime(stop.planned_arrival, zone) },
          [stop.planned_arrival ? `Planned ${at(stop.planned_arrival)}` : "Not planned", passed ? "time passed" : "",
            window ? `window ${window}` : ""].filter(Boolean).join(" · "))),
      h("td", { class: "col-why", "data-label": "Why" },
        reasons.length
          ? h("ul", { class: "reasons", title: hidden > 0 ? reasons.join("\n") : null },
            reasons.slice(0, REASONS_SHOWN).map((label) => h("li", {}, label)),
            hidden > 0 ? h("li", { class: "muted" }, `and ${hidden} more`) : null)
          : h("span", { class: "muted" }, "No risk now")),
      h("td", { class: "col-missing", "data-label": "Missing" }, missingText(stop.missing) || "–"),
      h("td", { class: "col-ahead", "data-label": "Asked ahead" },
        ahead ? h("span", { class: `ahead ahead-${stop.prearrival.status}` }, ahead) : h("span", { class: "muted" }, notAskedLine(stop, share))),
      h("td", { class: "col-status", "data-label": "Status" },
        h("span", { class: `tag stop-status stop-${stop.status}` }, stop.status_label || stop.status),
        stop.status === "pending" ? this.rowActions(stop) : null),
    );
  }

  /** Before the driver comes: call the recipient (your phone rings first), or add the address's code. */
  rowActions(stop) {
    // What the last action said stays with the stop through the list's reloads.
    const said = h("span", { class: "sub row-said", role: "status" }, this.said.get(stop.stop_id) || "");
    const tell = (text) => {
      this.said.set(stop.stop_id, text);
      for (const node of this.root.querySelectorAll(`tr[data-stop-id="${stop.stop_id}"] .row-said`)) node.textContent = text;
    };
    const post = async (action, body) => {
      tell("…");
      try {
        const answer = await postJSON(`${this.stopsUrl}${stop.stop_id}/${action}`, body);
        tell(answer.detail);
        this.load();
      } catch (error) {
        tell(error.message);
      }
    };
    const call = h("button", { type: "button", class: "btn btn-small" }, "Call");
    call.addEventListener("click", () => post("call", {}));
    // One text ahead per stop, ever: offered while none went.
    const text = stop.prearrival ? null : h("button", { type: "button", class: "btn btn-small" }, "Text now");
    text?.addEventListener("click", () => post("text", {}));
    const code = h("input", { type: "text", name: "code", autocomplete: "off", maxlength: "32", "aria-label": `Access code for ${stop.order_reference}`, placeholder: "Code" });
    const form = h("form", { class: "row-code" }, code, h("button", { type: "submit", class: "btn btn-small" }, "Add code"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      post("access-code", { code: code.value.trim() });
      code.value = "";
    });
    return h("div", { class: "row-actions" }, text, call, form, said);
  }
}
