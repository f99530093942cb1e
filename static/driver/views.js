// @ts-check
// What the driver sees: sign-in, the run, a stop, the "not delivered" form, dispatch's instructions.
// Each function returns the screen's nodes from the state it is given; the app decides when to draw.

import { clock, day, t } from "./i18n.js";

/** @typedef {import("./api.js").Run} Run */
/** @typedef {import("./api.js").RunStop} RunStop */
/** @typedef {import("./api.js").Instruction} Instruction */
/** @typedef {import("./api.js").ReasonCode} ReasonCode */
/** @typedef {import("./outbox.js").Scan} Scan */

/**
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes] on* functions become listeners; false/null/undefined are left out
 * @param {...(Node | string | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** A stop in one of these is finished for the day: nothing more to do there (the API's stop statuses). */
export const FINISHED = new Set(["delivered", "rescheduled", "skipped", "cancelled"]);

/** @param {{code: string, error: string, busy: boolean, onSubmit: (code: string) => void}} props */
export function signInView({ code, error, busy, onSubmit }) {
  const input = /** @type {HTMLInputElement} */ (h("input", {
    id: "sign-in-code", name: "code", value: code, autocomplete: "one-time-code", autocapitalize: "characters",
    spellcheck: "false", inputmode: "text", maxlength: "20", required: true, "aria-describedby": "sign-in-help",
    "aria-invalid": error ? "true" : null,
  }));
  return h("form", {
    class: "screen sign-in",
    onsubmit: (/** @type {Event} */ event) => {
      event.preventDefault();
      onSubmit(input.value);
    },
  },
  h("h2", {}, t("signInTitle")),
  h("p", { id: "sign-in-help", class: "muted" }, t("signInHelp")),
  h("label", { for: "sign-in-code" }, t("code")),
  input,
  error ? h("p", { class: "error", role: "alert" }, error) : null,
  h("button", { type: "submit", class: "btn btn-primary btn-big", disabled: busy }, busy ? t("signingIn") : t("signIn")));
}

/** @param {RunStop} stop */
function windowText(stop) {
  if (stop.window_start && stop.window_end) return t("window", { from: clock(stop.window_start), to: clock(stop.window_end) });
  return stop.planned_arrival ? t("planned", { at: clock(stop.planned_arrival) }) : "";
}

/** @param {RunStop} stop @param {Scan[]} waiting */
function statusOf(stop, waiting) {
  return waiting.some((scan) => scan.stopId === stop.id) ? "sending" : stop.status;
}

/** @param {RunStop} stop */
function address(stop) {
  const { line1, unit, line2 } = stop.address;
  return [line1, unit && `#${unit}`, line2].filter(Boolean).join(" ");
}

/**
 * @param {{run: Run | null, waiting: Scan[], map: HTMLElement, me: {name: string, depot: string} | null,
 *   onOpen: (id: number) => void, onSignOut: () => void}} props
 */
export function runView({ run, waiting, map, me, onOpen, onSignOut }) {
  if (!run) {
    return h("section", { class: "screen" }, h("p", { class: "empty" }, t("noRun")),
      h("button", { type: "button", class: "btn btn-quiet", onclick: onSignOut }, t("signOut")));
  }
  const left = run.stops.filter((stop) => !FINISHED.has(stop.status)).length;
  return h("section", { class: "screen run", "aria-labelledby": "run-title" },
    h("div", { class: "run-head" },
      h("h2", { id: "run-title" }, t("runOf", { depot: run.depot.name, date: day(run.service_date) })),
      h("p", { class: "muted", id: "run-left" }, t("stopsLeft", { left, total: run.stops.length }))),
    map,
    h("ol", { class: "stops", id: "stops", "aria-label": t("list") },
      run.stops.map((stop) => {
        const status = statusOf(stop, waiting);
        return h("li", { class: `stop stop-${status}`, "data-stop-id": String(stop.id) },
          h("button", { type: "button", class: "stop-open", onclick: () => onOpen(stop.id) },
            h("span", { class: "seq", "aria-hidden": "true" }, String(stop.sequence)),
            h("span", { class: "stop-main" },
              h("strong", { class: "stop-address" }, address(stop)),
              h("span", { class: "muted" }, [windowText(stop), stop.order.parcel_count === 1 ? t("parcel") : t("parcels", { n: stop.order.parcel_count }),
                accessText(stop)].filter(Boolean).join(" · ")),
              stop.instruction && !stop.instruction.acked_at && !FINISHED.has(stop.status)
                ? h("span", { class: "stop-instruction" }, stop.instruction.text) : null),
            h("span", { class: `chip chip-${status}` }, t(`status_${status}`))));
      })),
    h("p", { class: "foot" }, me ? h("span", { class: "muted" }, `${me.name} · `) : null,
      h("button", { type: "button", class: "btn btn-quiet", onclick: onSignOut }, t("signOut"))));
}

/** Directions in the phone's maps app. @param {RunStop} stop */
function directions(stop) {
  const { latitude, longitude } = stop.address;
  if (/iPhone|iPad|iPod/.test(navigator.userAgent)) return `https://maps.apple.com/?daddr=${latitude},${longitude}`;
  return `geo:${latitude},${longitude}?q=${latitude},${longitude}(${encodeURIComponent(stop.address.line1)})`;
}

/** What the vault holds for the stop, never a code: "🔒 Access code on file · worked last time". @param {RunStop} stop */
function accessText(stop) {
  return stop.access === "none" ? "" : `🔒 ${t(`access_${stop.access}`)}`;
}

/**
 * @param {{stop: RunStop, waiting: Scan[], revealed: {codes: import("./api.js").Reveal["codes"], left: number} | null,
 *   onBack: () => void, onDelivered: () => void, onFailed: () => void, onReveal: () => void, onCall: () => void}} props
 */
export function stopView({ stop, waiting, revealed, onBack, onDelivered, onFailed, onReveal, onCall }) {
  const status = statusOf(stop, waiting);
  const open = !FINISHED.has(stop.status) && status !== "sending";
  const { order } = stop;
  const facts = [
    order.parcel_count === 1 ? t("parcel") : t("parcels", { n: order.parcel_count }),
    order.signature_required ? t("signature") : null,
    order.safe_drop_allowed ? t("safeDrop") : null,
    order.neighbour_allowed ? t("neighbour") : null,
    stop.attempt_count ? t("attempts", { n: stop.attempt_count + 1 }) : null,
    accessText(stop) || null,
  ].filter(Boolean);
  return h("section", { class: "screen stop-detail", "aria-labelledby": "stop-title", "data-stop-id": String(stop.id) },
    h("button", { type: "button", class: "btn btn-quiet back", onclick: onBack }, `← ${t("back")}`),
    h("h2", { id: "stop-title" }, `${stop.sequence}. ${address(stop)}`),
    h("p", { class: "muted" }, [stop.address.city, stop.address.postal_code].filter(Boolean).join(" "), " · ", stop.recipient.first_name, " · ", order.reference),
    windowText(stop) ? h("p", { class: "when" }, windowText(stop)) : null,
    h("ul", { class: "facts" }, facts.map((fact) => h("li", {}, /** @type {string} */ (fact)))),
    stop.address.building_notes ? h("p", { class: "notes" }, stop.address.building_notes) : null,
    stop.instruction && !FINISHED.has(stop.status) ? h("p", { class: "stop-instruction" }, stop.instruction.text) : null,
    h("span", { class: `chip chip-${status}` }, t(`status_${status}`)),
    h("div", { class: "actions" },
      h("a", { class: "btn btn-big", href: directions(stop) }, t("navigate")),
      open && stop.can_call ? h("button", { type: "button", class: "btn btn-big", onclick: onCall }, t("call")) : null,
      open && stop.has_access_code && !revealed
        ? h("button", { type: "button", class: "btn btn-big", onclick: onReveal }, `🔒 ${t("revealCode")}`) : null),
    revealed ? h("div", { class: "revealed", role: "status" },
      revealed.codes.length
        ? revealed.codes.map((code) => h("p", { class: "code" }, code.code))
        : h("p", {}, t("revealNone")),
      h("p", { class: "muted", id: "reveal-left" }, t("revealShown", { s: revealed.left }))) : null,
    open ? h("div", { class: "scan-actions" },
      h("button", { type: "button", class: "btn btn-good btn-big", onclick: onDelivered }, `✓ ${t("delivered")}`),
      h("button", { type: "button", class: "btn btn-bad btn-big", onclick: onFailed }, t("failed"))) : null);
}

/**
 * @param {{stop: RunStop, reasons: ReasonCode[], chosen: string, notes: string, photo: Blob | null, photoUrl: string,
 *   onChoose: (code: string) => void, onNotes: (text: string) => void, onPhoto: () => void, onSend: () => void,
 *   onCancel: () => void}} props
 */
export function failView({ stop, reasons, chosen, notes, photo, photoUrl, onChoose, onNotes, onPhoto, onSend, onCancel }) {
  const reason = reasons.find((code) => code.code === chosen);
  const needsPhoto = Boolean(reason && reason.photo_required);
  const ready = Boolean(reason) && (!needsPhoto || Boolean(photo));
  return h("section", { class: "screen fail", "aria-labelledby": "fail-title" },
    h("h2", { id: "fail-title" }, t("failTitle")),
    h("p", { class: "muted" }, `${stop.sequence}. ${address(stop)}`),
    h("fieldset", { class: "reasons" }, h("legend", {}, t("reason")),
      reasons.map((code) => h("label", { class: `reason${code.code === chosen ? " chosen" : ""}` },
        h("input", { type: "radio", name: "reason", value: code.code, checked: code.code === chosen, onchange: () => onChoose(code.code) }),
        h("span", {}, code.label), code.photo_required ? h("span", { class: "muted" }, ` · ${t("photo")}`) : null))),
    needsPhoto ? h("div", { class: "photo" },
      h("p", {}, t("photoNeeded")),
      photoUrl ? h("img", { src: photoUrl, alt: t("photo"), class: "preview" }) : null,
      h("button", { type: "button", class: "btn btn-big", onclick: onPhoto }, photo ? t("retake") : `📷 ${t("takePhoto")}`)) : null,
    h("label", { for: "fail-notes" }, t("notes")),
    h("textarea", { id: "fail-notes", rows: "2", maxlength: "500", oninput: (/** @type {Event} */ event) => onNotes(/** @type {HTMLTextAreaElement} */ (event.target).value) }, notes),
    h("div", { class: "scan-actions" },
      h("button", { type: "button", class: "btn btn-big", onclick: onCancel }, t("cancel")),
      h("button", { type: "button", class: "btn btn-bad btn-big", disabled: !ready, onclick: onSend }, t("send"))));
}

/** @param {{alerts: Instruction[], run: Run | null, onAck: (id: number) => void}} props */
export function alertsView({ alerts, run, onAck }) {
  return alerts.map((instruction) => {
    // Which stop it is about, as the list says it: the driver must not have to guess.
    const stop = instruction.stop_id ? run?.stops.find((item) => item.id === instruction.stop_id) : undefined;
    return h("div", { class: `alert alert-${instruction.kind}`, role: "alert", "data-instruction-id": String(instruction.id) },
    h("strong", {}, t(`kind_${instruction.kind}`)),
    stop ? h("span", { class: "alert-stop" }, `${stop.sequence}. ${address(stop)}`) : null,
    h("p", {}, instruction.text),
    h("button", { type: "button", class: "btn btn-primary", onclick: () => onAck(instruction.id) }, t("ok")));
  });
}
