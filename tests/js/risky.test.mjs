// How the board words a risky stop (static/board/risky.js), run by Node's test runner: `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  aheadLine,
  dayLabel,
  missingText,
  notAskedLine,
  scoreLevel,
  scorePercent,
  textsAheadNote,
  timeOfDay,
  windowText,
} from "../../static/board/risky.js";

const hhmm = (iso) => iso.slice(11, 16);

test("the score reads out of 100", () => {
  assert.equal(scorePercent(0.724), 72);
  assert.equal(scorePercent(1), 100);
  assert.equal(scorePercent(0), 0);
  assert.equal(scorePercent(null), null);
  assert.equal(scorePercent(undefined), null);
});

test("the level follows the threshold: high from 0.6, medium from the threshold, low below it", () => {
  assert.equal(scoreLevel(0.9, 0.3), "high");
  assert.equal(scoreLevel(0.6, 0.3), "high");
  assert.equal(scoreLevel(0.45, 0.3), "medium");
  assert.equal(scoreLevel(0.3, 0.3), "medium");
  assert.equal(scoreLevel(0.1, 0.3), "low");
  assert.equal(scoreLevel(null, 0.3), "none");
  // A threshold above 0.6: what crosses it is high.
  assert.equal(scoreLevel(0.7, 0.7), "high");
  assert.equal(scoreLevel(0.65, 0.7), "low");
});

test("times are the depot's, on a 24-hour clock", () => {
  assert.equal(timeOfDay("2026-11-18T20:00:00Z", "America/Chicago"), "14:00");
  assert.equal(timeOfDay("2026-11-18T20:05:00Z", "Asia/Tokyo"), "05:05");
  assert.equal(timeOfDay(null, "America/Chicago"), "");
});

test("a window reads as a span, an opening or a closing", () => {
  assert.equal(windowText("2026-11-18T10:00", "2026-11-18T12:00", hhmm), "10:00–12:00");
  assert.equal(windowText("2026-11-18T10:00", null, hhmm), "from 10:00");
  assert.equal(windowText(null, "2026-11-18T12:00", hhmm), "until 12:00");
  assert.equal(windowText(null, null, hhmm), "");
});

test("what is missing reads as a phrase", () => {
  const missing = [
    { code: "access_code", label: "Access code" },
    { code: "availability", label: "When someone is home" },
  ];
  assert.equal(missingText(missing), "access code, when someone is home");
  assert.equal(missingText([{ code: "safe_place" }]), "safe place");
  assert.equal(missingText([]), "");
  assert.equal(missingText(undefined), "");
});

test("the text ahead of the driver: asked, answered and what was learned", () => {
  const asked = { status: "asked", asked_at: "2026-11-18T10:42:00Z", answered_at: null, learned: [] };
  assert.equal(aheadLine(asked, hhmm), "Asked 10:42 · no answer yet");

  const answered = {
    status: "answered",
    asked_at: "2026-11-18T10:42:00Z",
    answered_at: "2026-11-18T10:50:00Z",
    learned: ["access code received", "safe place given"],
  };
  assert.equal(aheadLine(answered, hhmm), "Asked 10:42 · answered 10:50 · access code received, safe place given");
  assert.equal(
    aheadLine({ ...answered, learned: [] }, hhmm),
    "Asked 10:42 · answered 10:50 · nothing the driver can use",
  );

  const skipped = { status: "skipped", skip_reason: "The recipient opted out of texts or has no mobile number." };
  assert.equal(aheadLine(skipped, hhmm), "Not asked: the recipient opted out of texts or has no mobile number");
  assert.equal(aheadLine({ status: "skipped", skip_reason: "" }, hhmm), "Not asked");
  assert.equal(aheadLine(null, hhmm), "");
});

test("a service date reads as its calendar day, in any zone", () => {
  assert.equal(dayLabel("2026-11-18"), "Wed 18 Nov");
  assert.equal(dayLabel(""), "");
});

test("the day's share of texts ahead is summed over the depots shown", () => {
  const body = {
    day: "today",
    daily_share: 0.3,
    texts_ahead: { 1: { allowed: 600, used: 212 }, 2: { allowed: 30, used: 30 } },
  };
  assert.equal(textsAheadNote(body), "Texts ahead today: 242 of 630 sent (at most 30 % of parcels, the riskiest first).");
  assert.equal(textsAheadNote({ ...body, day: "tomorrow", texts_ahead: { 1: { allowed: 600, used: 0 } } }),
    "Texts ahead tomorrow: 0 of 600 sent (at most 30 % of parcels, the riskiest first).");
  assert.equal(textsAheadNote({ ...body, texts_ahead: { 1: { allowed: 0, used: 1 } } }),
    "Texts ahead today: 1 sent, 0 by the day's share (at most 30 % of parcels, the riskiest first), the rest by a dispatcher.");
  assert.equal(textsAheadNote({ ...body, daily_share: 1 }), "");
  assert.equal(textsAheadNote({ ...body, texts_ahead: {} }), "");
});

test("a stop not asked ahead says whether the day's share leaves room for it", () => {
  const share = { allowed: 600, used: 212, cutoff: 0.31 };
  assert.equal(notAskedLine({ score: 0.45 }, share), "Not asked yet");
  assert.equal(notAskedLine({ score: 0.31 }, share), "Not asked yet");
  assert.equal(notAskedLine({ score: 0.2 }, share), "Not asked: outside the day's riskiest share");
  assert.equal(notAskedLine({ score: 0.45 }, { ...share, used: 600 }), "Not asked: the day's texts ahead are used up");
  assert.equal(
    notAskedLine({ score: 0.45 }, { allowed: 0, used: 0, cutoff: 1 }),
    "Not asked: too few parcels that day for its share of texts ahead",
  );
  assert.equal(notAskedLine({ score: 0.2 }, { ...share, cutoff: null }), "Not asked yet");
  assert.equal(notAskedLine({ score: 0.2, done: true }, share), "Not asked");
  assert.equal(notAskedLine({ score: 0.2 }, undefined), "Not asked yet");
});
