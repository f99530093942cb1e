// Parcels waiting for a later day's plan: moved to a day with no run planned yet, listed nowhere else.

import { fullTime, getJSON, h } from "./util.js";
import { timeOfDay, windowText } from "./risky.js";

export class WaitingView {
  constructor({ root, url, depots, onOpen }) {
    Object.assign(this, { root, url, depots, onOpen });
    this.rows = root.querySelector("#waiting-rows");
  }

  async show() {
    const count = this.root.querySelector("#waiting-count");
    const error = this.root.querySelector("#waiting-error");
    error.hidden = true;
    let body;
    try {
      body = await getJSON(this.url);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      return;
    }
    const zone = (parcel) => (this.depots.get(String(parcel.depot_id)) || {}).tz;
    this.rows.replaceChildren(...body.parcels.map((parcel) => {
      const open = h("button", { type: "button", class: "row-open" }, parcel.order_reference);
      open.addEventListener("click", () => this.onOpen(parcel.case_id));
      const time = (iso) => timeOfDay(iso, zone(parcel));
      return h("tr", {},
        h("td", {}, dayText(parcel.planned_day)),
        h("td", {}, windowText(parcel.window_start, parcel.window_end, time) || "any time"),
        h("td", {}, open, h("span", { class: "sub" }, parcel.recipient_name)),
        h("td", {}, parcel.address),
        h("td", {}, parcel.reason_label),
        h("td", { class: "muted" }, fullTime(parcel.since, zone(parcel))));
    }));
    this.root.querySelector("#waiting-empty").hidden = body.parcels.length > 0;
    count.textContent = body.total > body.parcels.length
      ? `${body.parcels.length} of ${body.total} parcels`
      : `${body.total} ${body.total === 1 ? "parcel" : "parcels"}`;
  }
}

/** "Fri 20 Nov" for "2026-11-20": a calendar day, the same in every zone. */
function dayText(day) {
  const date = new Date(`${day}T12:00:00Z`);
  return date.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
}
