// How the analytics page words failed parcels' endings and the desk's value (static/board/analytics.js).
// Pure functions of the metrics API's answer, so Node's test runner checks them (tests/js/outcomes.test.mjs).

import { duration, money, percent } from "./util.js";

// The endings of GET /api/v1/metrics `outcomes`, in the order the table lists them, as a dispatcher says them.
export const ENDINGS = [
  ["delivered_same_day", "Delivered the same day"],
  ["recipient_choice", "Settled as the recipient chose"],
  ["moved_unasked", "Moved without the recipient asking"],
  ["returned", "Returned to sender"],
  ["cancelled", "Cancelled"],
  ["open", "Not settled yet"],
];

/** The table's rows: each ending without and with a dispatcher, and both; then the failed parcels in all. */
export function endingRows(outcomes) {
  const rows = ENDINGS.map(([key, label]) => {
    const split = (outcomes && outcomes[key]) || {};
    const without = split.without_dispatcher || 0;
    const withDispatcher = split.with_dispatcher || 0;
    return { key, label, without, with: withDispatcher, all: without + withDispatcher };
  });
  const sum = (name) => rows.reduce((total, row) => total + row[name], 0);
  const total = { key: "total", label: "Failed parcels", without: sum("without"), with: sum("with"), all: sum("all") };
  return [...rows, total];
}

/** The headline: the share of failed parcels rescued without a dispatcher, and what it is of. */
export function rescuedText(rescued, outcomes) {
  const failed = outcomes ? outcomes.failed_parcels : 0;
  return {
    value: percent(rescued ? rescued.share : null),
    detail: `${rescued ? rescued.count : 0} of ${failed} failed ${failed === 1 ? "parcel" : "parcels"}: delivered the same day or as the recipient chose`,
  };
}

/** The median time from a failed scan to its outcome, with the 90th percentile and how many were timed. */
export function timeToOutcomeText(time) {
  const seconds = (value) => (value === null || value === undefined ? "–" : duration(value * 1000));
  if (!time || !time.parcels) return { value: "–", detail: "No failed parcel has an outcome yet" };
  return {
    value: seconds(time.median_seconds),
    detail: `p90 ${seconds(time.p90_seconds)} · ${time.parcels} ${time.parcels === 1 ? "parcel" : "parcels"} (returns, cancellations and open ones left out)`,
  };
}

/** Net value per 1,000 parcels attempted, one figure per currency; the detail says what went into it. */
export function netValueText(values) {
  const entries = values || [];
  if (!entries.length) return { value: "–", detail: "" };
  return {
    value: entries.map((entry) => money(entry.net_per_1000_parcels, entry.currency)).join(" · "),
    detail: entries.map((entry) =>
      `${entry.failed_attempts_averted} failed ${entry.failed_attempts_averted === 1 ? "attempt" : "attempts"} averted (${money(entry.value_averted, entry.currency)}) less ${entry.sms_segments} SMS ${entry.sms_segments === 1 ? "segment" : "segments"} (${money(entry.sms_cost, entry.currency)}), over ${entry.parcels_attempted} parcels`,
    ).join(" · "),
  };
}
