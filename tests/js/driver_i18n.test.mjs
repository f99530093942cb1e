// The driver app says everything in both its languages, with the same blanks to fill.
import assert from "node:assert/strict";
import { test } from "node:test";

import { KEYS, LANGUAGES, setLanguage, t } from "../../static/driver/i18n.js";

test("every string is in English and Spanish", () => {
  assert.deepEqual(LANGUAGES, ["en", "es"]);
  assert.deepEqual([...KEYS.es].sort(), [...KEYS.en].sort());
});

test("each translation keeps the original's blanks", () => {
  for (const key of KEYS.en) {
    globalThis.document = { documentElement: {} };
    setLanguage("en");
    const english = (t(key).match(/\{\w+\}/g) || []).sort();
    const blanks = Object.fromEntries(english.map((blank) => [blank.slice(1, -1), "X"]));
    setLanguage("es");
    assert.ok(!/\{\w+\}/.test(t(key, blanks)), `${key}: the Spanish leaves a blank unfilled`);
    assert.notEqual(t(key), key, `${key}: no Spanish`);
  }
});
