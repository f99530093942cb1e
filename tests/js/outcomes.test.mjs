// How the analytics page words failed parcels' endings and the desk's value (static/board/outcomes.js), run by
// Node's test runner: `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ENDINGS, endingRows, netValueText, rescuedText, timeToOutcomeText } from "../../static/board/outcomes.js";

const split = (without, withDispatcher) => ({ without_dispatcher: without, with_dispatcher: withDispatcher });
const OUTCOMES = {
  failed_parcels: 12,
  delivered_same_day: split(1, 1),
  recipient_choice: split(1, 1),
  moved_unasked: split(1, 1),
  returned: split(1, 1),
  cancelled: split(1, 1),
  open: split(1, 1),
};

test("the table lists every ending the API answers, without and with a dispatcher, then the failed parcels", () => {
  const rows = endingRows({ ...OUTCOMES, delivered_same_day: split(5, 2) });

  assert.deepEqual(rows.map((row) => row.key), [...ENDINGS.map(([key]) => key), "total"]);
  assert.deepEqual(rows[0], { key: "delivered_same_day", label: "Delivered the same day", without: 5, with: 2, all: 7 });
  assert.deepEqual(rows.at(-1), { key: "total", label: "Failed parcels", without: 10, with: 7, all: 17 });
});

test("an answer without outcomes reads as no failed parcels", () => {
  assert.deepEqual(endingRows(undefined).at(-1), { key: "total", label: "Failed parcels", without: 0, with: 0, all: 0 });
});

test("the headline is the share rescued without a dispatcher, out of every failed parcel", () => {
  assert.deepEqual(rescuedText({ count: 2, share: 0.1667 }, OUTCOMES), {
    value: "16.7%",
    detail: "2 of 12 failed parcels: delivered the same day or as the recipient chose",
  });
  assert.equal(rescuedText({ count: 0, share: null }, { failed_parcels: 0 }).value, "–");
});

test("time to outcome reads as a duration, with its 90th percentile and what was left out", () => {
  assert.deepEqual(timeToOutcomeText({ parcels: 6, median_seconds: 2100, p90_seconds: 3150 }), {
    value: "35m",
    detail: "p90 52m · 6 parcels (returns, cancellations and open ones left out)",
  });
  assert.equal(timeToOutcomeText({ parcels: 0, median_seconds: null, p90_seconds: null }).value, "–");
});

test("the net value per 1,000 parcels is given per currency, with what went into it", () => {
  const text = netValueText([
    {
      currency: "USD",
      parcels_attempted: 20,
      sms_segments: 6,
      sms_cost: "0.05",
      failed_attempts_averted: 3,
      value_averted: "51.60",
      net: "51.55",
      net_per_1000_parcels: "2577.51",
    },
  ]);

  assert.match(text.value, /2\D?577\D51/); // grouped and pointed as the locale writes money
  assert.match(text.detail, /^3 failed attempts averted \(.*51\D60\) less 6 SMS segments \(.*0\D05\), over 20 parcels$/);
  assert.deepEqual(netValueText(null), { value: "–", detail: "" });
});
