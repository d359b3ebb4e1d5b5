import assert from "node:assert/strict";
import { test } from "node:test";
import { DateTime } from "luxon";
import { promptText, sayTime } from "../../../prompts/index.ts";
import type { Language } from "../../../store/types.ts";
import type { Speech } from "../call-control.ts";
import { spokenUntil } from "./until-speech.ts";

const ZURICH = "Europe/Zurich";
/** An instant given as Zurich wall time. */
const zurich = (iso: string) => DateTime.fromISO(iso, { zone: ZURICH }).toMillis();

/** What a listener hears: the texts joined, "|" for a pause. */
function heard(items: Speech[], lang: Language): string {
  return items
    .flatMap((item) => {
      if (typeof item === "string") return [promptText(item, lang)];
      if ("time" in item)
        return sayTime(item.time.hour, item.time.minute, lang).map((p) => promptText(p as string, lang));
      if ("silence" in item) return ["|"];
      throw new Error(`unexpected item ${JSON.stringify(item)}`);
    })
    .join(" ");
}

test("today: the time alone", () => {
  const items = spokenUntil(zurich("2026-03-02T13:30"), zurich("2026-03-02T11:45"), ZURICH, "fr");
  assert.deepEqual(items, ["schedule.switched.until", { time: { hour: 13, minute: 30 } }]);
  assert.equal(heard(items, "fr"), "est activé jusqu'à treize heures trente");
  assert.equal(heard(items, "de"), "ist jetzt aktiv bis dreizehn Uhr dreissig");
  assert.equal(heard(items, "it"), "è ora attiva fino alle ore tredici e trenta");
  assert.equal(heard(items, "en"), "mode until one thirty p.m.");
});

test("tomorrow, counted on the company's calendar, not in 24-hour steps", () => {
  // 23:30 to 08:00 the next morning is less than a day, and still tomorrow.
  const items = spokenUntil(zurich("2026-03-03T08:00"), zurich("2026-03-02T23:30"), ZURICH, "de");
  assert.deepEqual(items, ["schedule.switched.until-tomorrow", { time: { hour: 8, minute: 0 } }]);
  assert.equal(heard(items, "de"), "ist jetzt aktiv bis morgen um acht Uhr");
  // The night of the spring DST change (29 March 2026, 23 hours long): still tomorrow at 08:00 local.
  assert.deepEqual(spokenUntil(zurich("2026-03-29T08:00"), zurich("2026-03-28T18:00"), ZURICH, "fr"), [
    "schedule.switched.until-tomorrow",
    { time: { hour: 8, minute: 0 } },
  ]);
  // The autumn one (25 October 2026, 25 hours long).
  assert.deepEqual(spokenUntil(zurich("2026-10-26T08:00"), zurich("2026-10-25T01:00"), ZURICH, "fr"), [
    "schedule.switched.until-tomorrow",
    { time: { hour: 8, minute: 0 } },
  ]);
});

test("within the week: the weekday, then the time", () => {
  // Friday 6 March 18:30 to Monday 9 March 12:00.
  const items = spokenUntil(zurich("2026-03-09T12:00"), zurich("2026-03-06T18:30"), ZURICH, "fr");
  assert.deepEqual(items, [
    "schedule.switched.until-day",
    "weekday.1",
    "schedule.switched.at",
    { time: { hour: 12, minute: 0 } },
  ]);
  assert.equal(heard(items, "fr"), "est activé jusqu'à lundi à douze heures");
  assert.equal(heard(items, "it"), "è ora attiva fino a lunedì alle ore dodici");
  assert.equal(heard(items, "en"), "mode until Monday at twelve p.m.");
});

test("a week or more ahead: the weekday and its date", () => {
  const until = zurich("2026-03-16T08:00");
  const now = zurich("2026-03-02T11:45");
  assert.equal(
    heard(spokenUntil(until, now, ZURICH, "fr"), "fr"),
    "est activé jusqu'à lundi | le seize mars à huit heures",
  );
  assert.equal(
    heard(spokenUntil(until, now, ZURICH, "de"), "de"),
    "ist jetzt aktiv bis Montag | den sechzehnten März um acht Uhr",
  );
  assert.equal(
    heard(spokenUntil(until, now, ZURICH, "en"), "en"),
    "mode until Monday | the sixteenth of March at eight a.m.",
  );
  // Exactly seven days ahead is next week's weekday: the date makes it plain.
  assert.ok(spokenUntil(zurich("2026-03-09T08:00"), now, ZURICH, "fr").includes("date.day.9"));
});

test("the time is the company's wall time; an unknown zone is refused", () => {
  const until = Date.UTC(2026, 6, 1, 11, 30);
  const now = Date.UTC(2026, 6, 1, 9, 0);
  assert.deepEqual(spokenUntil(until, now, ZURICH, "fr")[1], { time: { hour: 13, minute: 30 } });
  assert.deepEqual(spokenUntil(until, now, "Europe/London", "fr")[1], { time: { hour: 12, minute: 30 } });
  assert.throws(() => spokenUntil(until, now, "Mars/Olympus", "fr"), RangeError);
});
