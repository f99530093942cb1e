// The case panel: what happened, what the recipient said, the order's policy, and the actions.

import { ApiError, clock, fullTime, getJSON, h, isoToZoned, postJSON, zonedToIso } from "./util.js";

const OUTCOMES = {
  retry_now: "Retry now",
  access_code_provided: "Access code",
  safe_drop: "Safe drop",
  neighbour: "Neighbour",
  rescheduled_same_day: "Later today",
  rescheduled_later: "Later day",
  pickup_point: "Pickup point",
  returned_to_sender: "Return to sender",
  delivered_on_retry: "Delivered on retry",
  cancelled: "Cancelled",
};

export function outcomeLabel(value) {
  return OUTCOMES[value] || (value ? value.replaceAll("_", " ") : "");
}

const DONE = {
  approve: "Approved.",
  call: "Marked as called.",
  phone: "Calling: your phone rings first.",
  resolve: "Resolved.",
  window: "Window set: routing is looking for a slot.",
  "access-code": "Code sent to the driver.",
  message: "Message queued.",
  "send-now": "Sending now.",
  return: "Returning to sender.",
  assign: "Assigned.",
  release: "Released to automation.",
};

// What a message's status means to a dispatcher: nothing is "sent" before the provider took it.
const STATUS = {
  queued: "queued",
  sending: "sending",
  sent: "sent",
  delivered: "delivered",
  failed: "failed",
  undelivered: "not delivered",
  unknown: "checking whether it went",
  received: "",
};

function metres(value) {
  return value >= 1000 ? `${(value / 1000).toFixed(1)} km` : `${value} m`;
}

function fact(dl, term, value) {
  if (value === null || value === undefined || value === "") return;
  dl.append(h("dt", {}, term), h("dd", {}, value instanceof Node ? value : String(value)));
}

function yesNo(value) {
  if (value === null || value === undefined) return "";
  return value ? "Yes" : "No";
}

export class CasePanel {
  constructor({ root, casesUrl, depots, username, displayName, onCase, onClose, toast }) {
    Object.assign(this, { root, casesUrl, depots, username, displayName, onCase, onClose, toast });
    this.el = (id) => root.querySelector(`#${id}`);
    this.detail = null;
    this.caseId = null;
    this.loading = null;
    this.busy = false;
    this.opener = null;
    this.el("panel-close").addEventListener("click", () => this.close());
    for (const button of root.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action));
    }
    for (const button of root.querySelectorAll("[data-form]")) {
      button.addEventListener("click", () => this.showForm(button.dataset.form));
    }
    for (const form of root.querySelectorAll("form[data-for]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submitForm(form);
      });
      form.querySelector("[data-cancel]")?.addEventListener("click", () => this.hideForms(true));
    }
    for (const preset of root.querySelectorAll("[data-preset]")) {
      preset.addEventListener("click", () => this.windowPreset(preset.dataset.preset));
    }
  }

  get isOpen() {
    return !this.root.hidden;
  }

  zone() {
    const row = this.detail && this.detail.case;
    const depot = row && this.depots.get(String(row.depot_id));
    return depot ? depot.tz : undefined;
  }

  async open(id, { focus = true } = {}) {
    if (this.caseId !== id) {
      this.hideForms();
      this.detail = null;
      this.el("panel-title").textContent = "Case";
      this.el("panel-sub").textContent = "Loading…";
      for (const list of ["panel-facts", "panel-evidence", "panel-timeline", "panel-conversation", "panel-order", "panel-recipient"]) {
        this.el(list).replaceChildren();
      }
      this.setActions([]);
    }
    this.caseId = id;
    if (this.root.hidden) {
      this.opener = document.activeElement;
      this.root.hidden = false;
      document.body.classList.add("panel-open");
    }
    this.clearAlert();
    await this.reload();
    if (focus && this.caseId === id) this.root.focus({ preventScroll: true });
  }

  close() {
    if (this.root.hidden) return;
    this.root.hidden = true;
    document.body.classList.remove("panel-open");
    this.caseId = null;
    this.detail = null;
    this.hideForms();
    this.onClose();
    if (this.opener && document.contains(this.opener)) this.opener.focus({ preventScroll: true });
  }

  /** Fetch the case again; a newer request wins over an older one still in flight. */
  async reload() {
    const id = this.caseId;
    if (id === null) return;
    const loading = getJSON(`${this.casesUrl}${id}`);
    this.loading = loading;
    try {
      const detail = await loading;
      if (this.loading !== loading || this.caseId !== id) return;
      this.render(detail);
      this.onCase(detail.case);
    } catch (error) {
      if (this.loading !== loading) return;
      this.showAlert(error.status === 404 ? "This case is gone or no longer yours to see." : error.message);
    }
  }

  /** A newer version of the open case arrived on the socket. */
  caseChanged(row) {
    if (!this.detail || row.id !== this.caseId) return;
    if (row.version > this.detail.case.version) this.reload();
  }

  render(detail) {
    this.detail = detail;
    const row = detail.case;
    const zone = this.zone();
    this.el("panel-title").textContent = `${row.order_reference} · ${row.reason_label}`;
    this.el("panel-sub").textContent = `${row.state_label} · P${row.priority} · ${row.driver_name || "no driver"}`;

    const facts = this.el("panel-facts");
    facts.replaceChildren();
    fact(facts, "Opened", fullTime(row.opened_at, zone));
    if (row.sla_due_at) {
      fact(facts, "SLA", h("span", { class: row.sla_breached ? "sla sla-breached" : "sla" },
        `${row.sla_breached ? "Breached, was due" : "Due"} ${fullTime(row.sla_due_at, zone)}`));
    }
    const approval = detail.approval;
    if (approval) {
      // What the click approves, and what it rests on: the recipient's words, our reading, room in the plan.
      fact(facts, "Waiting for approval", `${outcomeLabel(approval.outcome)}${approval.what ? `: ${approval.what}` : ""}`);
      fact(facts, "Held because", approval.held_because);
      if (approval.reply !== null) fact(facts, "They wrote", `“${approval.reply}”`);
      if (approval.reading) fact(facts, "We read", `${approval.reading}${approval.sure === false ? " (not sure)" : ""}`);
      if (approval.slot) {
        fact(facts, "Room then", h("span", { class: approval.slot === "full" ? "warn" : "" }, approval.slot === "open"
          ? "yes: routing can fit the visit in this window"
          : "no: no run can take it then; approving hands the search back to routing for the earliest slot"));
      }
    } else if (row.pending_outcome) {
      fact(facts, row.requires_approval ? "Waiting for approval" : "Under way", outcomeLabel(row.pending_outcome));
    }
    if (row.outcome) fact(facts, "Outcome", outcomeLabel(row.outcome));
    if (!approval) fact(facts, "Escalated because", row.escalation_reason);
    fact(facts, "Assigned to", row.assigned_to_name || row.assigned_to);
    if (row.next_action_due_at) fact(facts, "Next", `${row.next_action.replaceAll("_", " ")} at ${clock(row.next_action_due_at, zone)}`);

    this.setActions(detail.actions || [], row);
    this.renderEvidence(detail.evidence, row, zone);
    this.renderConversation(detail.conversation || [], zone);
    this.renderTimeline(detail.timeline || [], zone);
    this.renderOrder(detail.order || {}, zone);
    this.renderRecipient(detail.recipient || {});
    this.el("window-zone").textContent = zone ? `(${zone} time)` : "";
  }

  setActions(actions, row = null) {
    const allowed = new Set(actions);
    for (const button of this.root.querySelectorAll("#panel-actions [data-action], #panel-actions [data-form]")) {
      const name = button.dataset.action || button.dataset.form;
      button.hidden = !allowed.has(name);
      button.disabled = this.busy;
    }
    const approve = this.root.querySelector('[data-action="approve"]');
    approve.textContent = row && row.pending_outcome ? `Approve ${outcomeLabel(row.pending_outcome).toLowerCase()}` : "Approve";
    for (const form of this.root.querySelectorAll("form[data-for]")) {
      if (!allowed.has(form.dataset.for)) form.hidden = true;
    }
  }

  /** The failed scan (note, photo, where it was made), the driver now, the address's past, its vault. */
  renderEvidence(evidence, row, zone) {
    const dl = this.el("panel-evidence");
    const photo = this.el("panel-photo");
    dl.replaceChildren();
    photo.hidden = true;
    if (!evidence) return;
    const { scan, driver, attempts, vault } = evidence;
    fact(dl, "Driver's note", scan.note ? `“${scan.note}”` : "none");
    if (scan.distance_m === null) {
      fact(dl, "Scanned", "no position sent");
    } else {
      const accuracy = scan.accuracy_m === null ? "" : ` (±${metres(scan.accuracy_m)})`;
      fact(dl, "Scanned", h("span", { class: scan.far ? "warn" : "" },
        `${metres(scan.distance_m)} from the address${accuracy}${scan.far ? `: further than ${metres(scan.warning_m)}` : ""}`));
    }
    if (driver) {
      const drive = driver.drive_minutes === null ? "" : `, about ${driver.drive_minutes} min back`;
      fact(dl, "Driver now", `${metres(driver.distance_m)} away${drive} (fix ${clock(driver.fix_at, zone)})`);
    } else {
      fact(dl, "Driver now", "position unknown");
    }
    fact(dl, `Failed here, ${attempts.days} days`, `${attempts.address} at this address · ${attempts.building} at this building`);
    fact(dl, "Access codes", vault.codes
      ? `${vault.codes} on file · ${vault.verified} verified · ${vault.failing} failing${vault.flagged ? ` · ${vault.flagged} flagged` : ""}`
      : "none on file");
    if (scan.photo) {
      const url = `${this.casesUrl}${row.id}/photo`;
      photo.href = url;
      photo.querySelector("img").src = url;
      photo.hidden = false;
    }
  }

  renderConversation(messages, zone) {
    const list = this.el("panel-conversation");
    list.replaceChildren(
      ...messages.map((message) => {
        const held = message.status === "held";
        const status = held ? `held until ${fullTime(message.held_until, zone)} (quiet hours)` : STATUS[message.status] ?? message.status;
        const sendNow = held && this.allows("send-now")
          ? h("button", { type: "button", class: "quiet small", "data-send-now": message.id }, "Send now")
          : null;
        if (sendNow) sendNow.addEventListener("click", () => this.act("send-now", { message_id: message.id }));
        return h("li", { class: `bubble bubble-${message.direction === "inbound" || message.direction === "in" ? "in" : "out"}${held ? " bubble-held" : ""}` },
          h("p", { class: "bubble-body" }, message.body),
          message.reading ? h("p", { class: "bubble-reading" }, `Read as ${message.reading}`) : null,
          h("p", { class: "bubble-meta" }, `${clock(message.at, zone)}${status ? ` · ${status}` : ""} `, sendNow));
      }),
    );
    if (!messages.length) list.append(h("li", { class: "muted" }, "No messages yet."));
  }

  renderTimeline(events, zone) {
    const list = this.el("panel-timeline");
    list.replaceChildren(
      ...[...events].reverse().map((event) => h("li", { class: `event event-${event.kind} actor-${event.actor}` },
        h("time", { datetime: event.at, title: fullTime(event.at, zone) }, clock(event.at, zone)),
        h("span", { class: "event-actor" }, event.user || event.actor),
        h("span", { class: "event-summary" }, event.summary))),
    );
    if (!events.length) list.append(h("li", { class: "muted" }, "Nothing yet."));
  }

  renderOrder(order, zone) {
    const dl = this.el("panel-order");
    dl.replaceChildren();
    fact(dl, "Reference", order.reference);
    fact(dl, "Address", order.address);
    fact(dl, "Value", order.value);
    fact(dl, "Parcels", order.parcels);
    if (order.window_start || order.window_end) {
      fact(dl, "Window", `${clock(order.window_start, zone)} – ${clock(order.window_end, zone)}`);
    }
    fact(dl, "Signature required", yesNo(order.signature_required));
    fact(dl, "Safe drop allowed", yesNo(order.safe_drop_allowed));
    fact(dl, "Neighbour allowed", yesNo(order.neighbour_allowed));
  }

  renderRecipient(recipient) {
    const dl = this.el("panel-recipient");
    dl.replaceChildren();
    fact(dl, "Name", recipient.name);
    fact(dl, "Phone", recipient.phone_masked);
    fact(dl, "Language", recipient.language);
    fact(dl, "Prefers", recipient.preferred_channel);
    if (recipient.opted_out) fact(dl, "Opted out", "Yes: no texts");
  }

  /** Is this action allowed on the open case now? (for the keyboard) */
  allows(name) {
    return Boolean(this.detail && (this.detail.actions || []).includes(name) && !this.busy);
  }

  showForm(name) {
    if (!this.allows(name)) return false;
    this.hideForms();
    const form = this.root.querySelector(`form[data-for="${name}"]`);
    if (!form) return false;
    form.hidden = false;
    if (name === "assign") this.fillAssignees();
    if (name === "window") {
      this.windowPreset("2");
      // "This evening" (17:00-20:00 at the depot) is no choice once the evening is under way.
      const hour = Number(isoToZoned(new Date(), this.zone()).slice(11, 13));
      this.root.querySelector('[data-preset="evening"]').disabled = hour >= 18;
    }
    const first = form.querySelector("select, input:not([type=hidden]), textarea");
    first?.focus();
    return true;
  }

  /** The depot's dispatchers, you first; the one the case is assigned to now is not offered again. */
  fillAssignees() {
    const select = this.el("assign-user");
    const current = this.detail.case.assigned_to;
    const me = this.username;
    const others = (this.detail.assignees || []).filter((user) => user.username !== me && user.username !== current);
    const options = [];
    if (current !== me || !others.length) options.push(h("option", { value: "" }, `${this.displayName || me} (you)`));
    for (const user of others) options.push(h("option", { value: String(user.id) }, user.name));
    select.replaceChildren(...options);
  }

  hideForms(restoreFocus = false) {
    let had = false;
    for (const form of this.root.querySelectorAll("form[data-for]")) {
      if (!form.hidden) had = true;
      form.hidden = true;
      form.reset();
    }
    if (restoreFocus) this.root.focus({ preventScroll: true });
    return had;
  }

  windowPreset(preset) {
    const zone = this.zone();
    const now = new Date();
    let start;
    let end;
    if (preset === "2") {
      start = new Date(Math.ceil((now.getTime() + 2 * 3600000) / 900000) * 900000);
      end = new Date(start.getTime() + 2 * 3600000);
      this.el("window-start").value = isoToZoned(start, zone);
      this.el("window-end").value = isoToZoned(end, zone);
      return;
    }
    const today = isoToZoned(now, zone).slice(0, 10);
    if (preset === "evening") {
      this.el("window-start").value = `${today}T17:00`;
      this.el("window-end").value = `${today}T20:00`;
    } else if (preset === "tomorrow") {
      const tomorrow = isoToZoned(new Date(now.getTime() + 24 * 3600000), zone).slice(0, 10);
      this.el("window-start").value = `${tomorrow}T09:00`;
      this.el("window-end").value = `${tomorrow}T12:00`;
    }
  }

  submitForm(form) {
    const name = form.dataset.for;
    const data = Object.fromEntries(new FormData(form).entries());
    if (name === "assign") data.user_id = data.user_id ? Number(data.user_id) : null;
    if (name === "resolve") data.tell_recipient = form.elements.tell_recipient.checked;
    if (name === "window") {
      const zone = this.zone();
      data.window_start = zonedToIso(data.window_start, zone);
      data.window_end = data.window_end ? zonedToIso(data.window_end, zone) : null;
    }
    this.act(name, data, form);
  }

  async act(name, data = {}, form = null) {
    if (!this.allows(name)) return;
    const row = this.detail.case;
    const body = { version: row.version, ...data };
    if (name === "assign" && !("user_id" in body)) body.user_id = null;
    this.busy = true;
    this.setActions(this.detail.actions, row);
    this.clearAlert();
    try {
      const answer = await postJSON(`${this.casesUrl}${row.id}/${name}`, body);
      if (form) this.hideForms();
      const held = name === "message" && answer && answer.case && /held for quiet hours/.test(answer.case.last_summary || "");
      this.toast(held ? `Message ${answer.case.last_summary.split(": ").pop()}.` : DONE[name] || "Done.");
      if (answer && answer.case) this.onCase(answer.case);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        this.showAlert(error.message || "Someone else changed this case. It has been refreshed: decide again.");
        if (error.body.case) this.onCase(error.body.case);
      } else {
        this.showAlert(error.message);
      }
    } finally {
      this.busy = false;
      await this.reload();
    }
  }

  showAlert(text) {
    const alert = this.el("panel-alert");
    alert.textContent = text;
    alert.hidden = false;
  }

  clearAlert() {
    const alert = this.el("panel-alert");
    alert.hidden = true;
    alert.textContent = "";
  }
}
