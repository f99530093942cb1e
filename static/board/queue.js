// The queue: open cases, most urgent first, as table rows (cards on a phone).

import { clock, duration, fullTime, h } from "./util.js";

export const CLOSED_STATES = new Set(["resolved", "closed"]);

// A row's times, parsed once (a sort of 5,000 rows compares about 60,000 times).
const times = new WeakMap();
function timesOf(row) {
  let known = times.get(row);
  if (!known) {
    known = { sla: row.sla_due_at ? Date.parse(row.sla_due_at) : Infinity, opened: Date.parse(row.opened_at) };
    times.set(row, known);
  }
  return known;
}

/** Priority (1 first), then the SLA clock (soonest first, none last), then the oldest. */
export function compareCases(a, b) {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const timesA = timesOf(a);
  const timesB = timesOf(b);
  if (timesA.sla !== timesB.sla) return timesA.sla - timesB.sla;
  return timesA.opened - timesB.opened || a.id - b.id;
}

/** The filters, applied to events as the server applies them to the snapshot. */
export function matches(row, filters, now = Date.now()) {
  if (CLOSED_STATES.has(row.state)) return false;
  if (filters.depot && String(row.depot_id) !== String(filters.depot)) return false;
  if (filters.state && row.state !== filters.state) return false;
  if (filters.reason && row.reason_code !== filters.reason) return false;
  if (filters.driver && String(row.driver_id) !== String(filters.driver)) return false;
  if (filters.age && now - Date.parse(row.opened_at) < Number(filters.age) * 60000) return false;
  if (filters.human && !row.needs_human) return false;
  return true;
}

// Only the rows in view (and OVERSCAN either side) are in the document: 5,000 open cases open as fast as 50.
// Rows above and below are stood in for by two spacer rows as tall as the rows they replace (measured once
// drawn, else the average of those measured).
const OVERSCAN = 25;
const FIRST_GUESS = 52; // px: a row's height before any has been measured

export class QueueView {
  constructor({ body, empty, count, depots, onOpen, onPick = () => {} }) {
    Object.assign(this, { body, empty, count, depots, onOpen, onPick });
    this.rows = [];
    this.selectedId = null;
    this.picked = new Set(); // cases ticked for a bulk action
    this.previous = new Map(); // id -> version, to flash what changed
    this.flashing = new Set(); // ids whose change is still to be shown when they are drawn
    this.heights = new Map(); // id -> the row's height when last drawn
    this.table = body.closest("table");
    this.scroller = body.closest(".queue-scroll") || document.scrollingElement;
    this.padAbove = this.spacer();
    this.padBelow = this.spacer();
    const redraw = () => this.scheduleDraw();
    this.scroller.addEventListener("scroll", redraw, { passive: true });
    window.addEventListener("scroll", redraw, { passive: true }); // a phone scrolls the page, not the queue
    window.addEventListener("resize", redraw);
    body.addEventListener("click", (event) => {
      if (event.target.closest(".col-pick")) return; // ticking a case is not opening it
      const row = event.target.closest("tr[data-id]");
      if (row) this.onOpen(Number(row.dataset.id));
    });
    body.addEventListener("change", (event) => {
      const box = event.target.closest("input.pick");
      if (!box) return;
      const id = Number(box.closest("tr[data-id]").dataset.id);
      if (box.checked) this.picked.add(id);
      else this.picked.delete(id);
      this.onPick(this.picked);
    });
  }

  spacer() {
    return h("tr", { class: "queue-pad", "aria-hidden": "true" }, h("td", { colspan: 9 }));
  }

  /** Tick every case shown, or none. */
  pickAll(on) {
    this.picked = new Set(on ? this.rows.map((row) => row.id) : []);
    for (const box of this.body.querySelectorAll("input.pick")) box.checked = on;
    this.onPick(this.picked);
  }

  zone(row) {
    const depot = this.depots.get(String(row.depot_id));
    return depot ? depot.tz : undefined;
  }

  /** The queue is now ``rows`` (sorted): flash what changed since the last call, draw what is in view. */
  render(rows, { selectedId = this.selectedId, flash = true } = {}) {
    this.rows = rows;
    this.selectedId = selectedId;
    const seen = new Map();
    for (const row of rows) {
      const before = this.previous.get(row.id);
      if (flash && this.previous.size > 0 && (before === undefined || before < row.version)) this.flashing.add(row.id);
      seen.set(row.id, row.version);
    }
    this.previous = seen;
    // A ticked case that left the queue (resolved, filtered out) is no longer ticked.
    const before = this.picked.size;
    for (const id of [...this.picked]) if (!seen.has(id)) this.picked.delete(id);
    for (const id of [...this.flashing]) if (!seen.has(id)) this.flashing.delete(id);
    for (const id of [...this.heights.keys()]) if (!seen.has(id)) this.heights.delete(id);
    if (this.picked.size !== before) this.onPick(this.picked);
    this.empty.hidden = rows.length > 0;
    this.count.textContent = `${rows.length} ${rows.length === 1 ? "case" : "cases"}`;
    this.table.setAttribute("aria-rowcount", String(rows.length + 1)); // the header is a row too
    this.draw();
  }

  scheduleDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.draw();
    });
  }

  /** Where each row starts, from the heights measured (the average of those for rows not drawn yet). */
  offsets() {
    let measured = 0;
    for (const height of this.heights.values()) measured += height;
    const guess = this.heights.size ? measured / this.heights.size : FIRST_GUESS;
    const tops = new Float64Array(this.rows.length + 1);
    for (let index = 0; index < this.rows.length; index += 1) {
      tops[index + 1] = tops[index] + (this.heights.get(this.rows[index].id) ?? guess);
    }
    return tops;
  }

  /** The rows in view, from the scroll position: [first, last) with OVERSCAN either side. */
  range(tops) {
    const count = this.rows.length;
    const box = this.body.getBoundingClientRect();
    const frame = this.scroller === document.scrollingElement ? { top: 0, bottom: innerHeight } : this.scroller.getBoundingClientRect();
    const top = Math.max(frame.top, 0) - box.top; // the view, in the table body's pixels
    const bottom = Math.min(frame.bottom, innerHeight) - box.top;
    let first = 0;
    while (first < count && tops[first + 1] <= top) first += 1;
    let last = first;
    while (last < count && tops[last] < bottom) last += 1;
    return [Math.max(0, first - OVERSCAN), Math.min(count, Math.max(last, first + 1) + OVERSCAN)];
  }

  draw() {
    const focusedId = this.body.contains(document.activeElement)
      ? document.activeElement.closest("tr[data-id]")?.dataset.id
      : null;
    const tops = this.offsets();
    const [first, last] = this.range(tops);
    const now = Date.now();
    // Only what changed is drawn again: a row at the same version, selection and tick is moved, not rebuilt
    // (its age and SLA count down by themselves, ``tick``).
    const drawn = new Map([...this.body.querySelectorAll("tr[data-id]")].map((tr) => [Number(tr.dataset.id), tr]));
    const fragment = document.createDocumentFragment();
    this.padAbove.style.height = `${tops[first]}px`;
    fragment.append(this.padAbove);
    const shown = [];
    for (let index = first; index < last; index += 1) {
      const row = this.rows[index];
      const key = `${row.version}|${row.id === this.selectedId}|${this.picked.has(row.id)}`;
      let tr = drawn.get(row.id);
      if (!tr || tr.dataset.key !== key) {
        tr = this.renderRow(row, now, this.flashing.has(row.id));
        tr.dataset.key = key;
      }
      this.flashing.delete(row.id);
      tr.setAttribute("aria-rowindex", String(index + 2));
      fragment.append(tr);
      shown.push([row.id, tr]);
    }
    this.padBelow.style.height = `${tops[this.rows.length] - tops[last]}px`;
    fragment.append(this.padBelow);
    this.body.replaceChildren(fragment);
    this.padAbove.hidden = first === 0;
    this.padBelow.hidden = last === this.rows.length;
    this.drawnRange = [first, last];
    for (const [id, tr] of shown) this.heights.set(id, tr.offsetHeight);
    if (focusedId) this.focusRow(Number(focusedId), { scroll: false });
  }

  renderRow(row, now, changed) {
    const zone = this.zone(row);
    const classes = ["case-row", `row-p${row.priority}`];
    if (row.needs_human) classes.push("needs-human");
    if (row.sla_breached) classes.push("breaching");
    if (row.id === this.selectedId) classes.push("selected");
    if (changed) classes.push("changed");
    const flags = [];
    if (row.requires_approval) flags.push(h("span", { class: "tag tag-approval" }, "Needs approval"));
    if (row.pending_outcome && row.requires_approval) {
      flags.push(h("span", { class: "tag" }, row.pending_outcome.replaceAll("_", " ")));
    }
    if (row.assigned_to) flags.push(h("span", { class: "tag tag-assigned", title: `@${row.assigned_to}` }, row.assigned_to_name || row.assigned_to));
    return h(
      "tr",
      { class: classes.join(" "), dataset: { id: row.id, version: row.version }, "aria-selected": row.id === this.selectedId ? "true" : "false" },
      h("td", { class: "col-pick" },
        h("input", { type: "checkbox", class: "pick", "aria-label": `Select ${row.order_reference}`, checked: this.picked.has(row.id) })),
      h("td", { class: "col-prio", "data-label": "Priority" },
        h("span", { class: `prio prio-${row.priority}`, title: `Priority ${row.priority} (1 is the most urgent)` }, `P${row.priority}`)),
      h("td", { class: "col-case", "data-label": "Case" },
        h("button", { type: "button", class: "row-open", "aria-label": `Open case ${row.order_reference}, ${row.reason_label}, ${row.state_label}` }, row.order_reference),
        h("span", { class: "sub" }, row.recipient_name || ""),
        flags.length ? h("span", { class: "flags" }, flags) : null),
      h("td", { class: "col-reason", "data-label": "Reason" }, row.reason_label || row.reason_code,
        row.facts && row.facts.length ? h("span", { class: "sub facts" }, row.facts.join(" · ")) : null),
      h("td", { class: "col-state", "data-label": "State" },
        h("span", { class: `state state-${row.state}` }, row.state_label || row.state),
        // Said once: not again under the state when the latest line already says it.
        row.escalation_note && !(row.last_summary || "").includes(row.escalation_note)
          ? h("span", { class: "sub", title: row.escalation_note }, row.escalation_note)
          : null),
      h("td", { class: "col-driver", "data-label": "Driver" }, row.driver_name || "–"),
      h("td", { class: "col-age", "data-label": "Age", title: fullTime(row.opened_at, zone) },
        h("span", { class: "age", dataset: { since: row.opened_at } }, duration(now - Date.parse(row.opened_at)))),
      h("td", { class: "col-sla", "data-label": "SLA" }, this.slaCell(row, now, zone)),
      h("td", { class: "col-next", "data-label": "Latest" },
        h("span", { class: "summary" }, row.last_summary || ""),
        row.next_action_due_at
          ? h("span", { class: "sub" }, `${labelForTimer(row.next_action)} ${clock(row.next_action_due_at, zone)}`)
          : null),
    );
  }

  slaCell(row, now, zone) {
    if (!row.sla_due_at) return h("span", { class: "sla sla-none" }, "–");
    const left = Date.parse(row.sla_due_at) - now;
    const breached = row.sla_breached || left <= 0;
    const soon = !breached && left < 15 * 60000;
    return h(
      "span",
      { class: `sla${breached ? " sla-breached" : soon ? " sla-soon" : ""}`, dataset: { due: row.sla_due_at }, title: `SLA due ${fullTime(row.sla_due_at, zone)}` },
      breached ? `${duration(left)} over` : `${duration(left)} left`,
    );
  }

  /** Refresh the clocks without rebuilding the rows. */
  tick() {
    const now = Date.now();
    for (const age of this.body.querySelectorAll(".age[data-since]")) {
      age.textContent = duration(now - Date.parse(age.dataset.since));
    }
    for (const sla of this.body.querySelectorAll(".sla[data-due]")) {
      const left = Date.parse(sla.dataset.due) - now;
      const breached = left <= 0 || sla.classList.contains("sla-breached");
      sla.classList.toggle("sla-breached", breached);
      sla.classList.toggle("sla-soon", !breached && left < 15 * 60000);
      sla.textContent = breached ? `${duration(left)} over` : `${duration(left)} left`;
    }
  }

  select(id) {
    this.selectedId = id;
    for (const row of this.body.querySelectorAll("tr[data-id]")) {
      const on = Number(row.dataset.id) === id;
      row.classList.toggle("selected", on);
      row.setAttribute("aria-selected", on ? "true" : "false");
    }
  }

  /** Focus a case's row, scrolling it into view (and so into the document) first. */
  focusRow(id, { scroll = true } = {}) {
    let button = this.body.querySelector(`tr[data-id="${id}"] .row-open`);
    if (!button && scroll) {
      const index = this.rows.findIndex((row) => row.id === id);
      if (index === -1) return;
      const tops = this.offsets();
      const place = this.body.getBoundingClientRect().top + tops[index];
      if (this.scroller === document.scrollingElement) window.scrollBy(0, place - innerHeight / 3);
      else this.scroller.scrollTop += place - this.scroller.getBoundingClientRect().top - this.scroller.clientHeight / 3;
      this.draw();
      button = this.body.querySelector(`tr[data-id="${id}"] .row-open`);
    }
    if (button) {
      button.focus({ preventScroll: true });
      if (scroll) button.closest("tr").scrollIntoView({ block: "nearest" });
    }
  }

  /** The id `step` rows from the selected one (j/k). */
  neighbour(step) {
    if (!this.rows.length) return null;
    const index = this.rows.findIndex((row) => row.id === this.selectedId);
    if (index === -1) return this.rows[step > 0 ? 0 : this.rows.length - 1].id;
    const next = Math.min(this.rows.length - 1, Math.max(0, index + step));
    return this.rows[next].id;
  }
}

const TIMERS = {
  triage: "Triage by",
  reply_deadline: "No reply by",
  wait_over: "Wait until",
  driver_retry: "Driver retry by",
  rule_check: "Rule check at",
  routing: "Routing by",
};

export function labelForTimer(name) {
  return TIMERS[name] || "Next";
}
