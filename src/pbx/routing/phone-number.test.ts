import assert from "node:assert/strict";
import { test } from "node:test";
import {
  classInItsCountry,
  type Destination,
  InvalidNumber,
  isEmergencyNumber,
  type NumberClass,
  readDestination,
  spokenDigits,
  storedDestination,
  storedTarget,
} from "./phone-number.ts";

const ch = { country: "CH" };
const exts = new Set(["101", "102", "144", "145", "1234"]);
const isExt = (n: string) => exts.has(n);
const none = () => false;

const classOf = (typed: string, country = "CH"): NumberClass | "extension" => {
  const d = readDestination(typed, { country }, isExt);
  return d.kind === "extension" ? "extension" : d.class;
};
const why = (typed: string, country = "CH") => {
  try {
    readDestination(typed, { country }, isExt);
    return "accepted";
  } catch (err) {
    assert.ok(err instanceof InvalidNumber);
    return err.why;
  }
};

test("a Swiss mobile typed nationally, internationally or with spaces is the same E.164 number", () => {
  for (const typed of [
    "0791231212",
    "0041791231212",
    "+41791231212",
    "+41 79 123 12 12",
    "+41 (0)79 123 12 12",
    "079/123.12.12",
  ]) {
    const d = readDestination(typed, ch, isExt);
    assert.deepEqual(d, { kind: "external", e164: "+41791231212", national: "791231212", class: "mobile" });
    assert.equal(spokenDigits(d, ch), "0791231212");
  }
});

test("an extension of the tenant stays an extension", () => {
  assert.deepEqual(readDestination("102", ch, isExt), { kind: "extension", number: "102" });
  assert.deepEqual(readDestination("1234", ch, isExt), { kind: "extension", number: "1234" });
  assert.equal(spokenDigits({ kind: "extension", number: "102" }, ch), "102");
});

test("Swiss numbers get their class", () => {
  const cases: [string, NumberClass][] = [
    ["0223334455", "fixed"],
    ["044 123 45 67", "fixed"],
    ["0581234567", "fixed"], // UAN: company networks, billed as fixed
    ["0791231212", "mobile"],
    ["0761234567", "mobile"],
    ["0800123456", "tollFree"],
    ["0900123456", "premiumRate"],
    ["0901123456", "premiumRate"],
    ["0906123456", "premiumRate"],
    ["0840123456", "sharedCost"],
    ["0842123456", "sharedCost"],
    ["0848123456", "sharedCost"],
    ["0878123456", "personal"],
    ["0740123456", "other"], // pager
    ["0860791231212", "other"], // voicemail access
  ];
  for (const [typed, cls] of cases) assert.equal(classOf(typed), cls, typed);
});

test("numbers of other countries get their class at home", () => {
  const cases: [string, string, NumberClass][] = [
    ["07012345678", "GB", "personal"],
    ["07412345678", "GB", "mobile"],
    ["08001234567", "GB", "tollFree"],
    ["09012345678", "GB", "premiumRate"],
    ["03001234567", "GB", "fixed"], // UAN, billed as geographic
    ["03012345678", "DE", "fixed"],
    ["015112345678", "DE", "mobile"],
    ["09001123456", "DE", "premiumRate"],
    ["01801123456", "DE", "sharedCost"],
    ["0612345678", "FR", "mobile"],
    ["0912345678", "FR", "fixed"], // VoIP, billed as fixed
    ["0810123456", "FR", "sharedCost"],
    ["0899123456", "FR", "premiumRate"],
    ["0612345678", "IT", "fixed"],
    ["848123456", "IT", "sharedCost"],
    ["0900123456", "AT", "premiumRate"],
    ["0810123456", "AT", "sharedCost"],
    ["2015550123", "US", "fixed"], // fixed line or mobile: geographic numbering
    ["+18005550123", "US", "tollFree"],
  ];
  for (const [typed, country, cls] of cases)
    assert.equal(classOf(typed, country), cls, `${typed} in ${country}`);
});

test("any valid number of another country is international, whatever its type there", () => {
  for (const typed of [
    "0033612345678",
    "00 33 6 12 34 56 78",
    "+33 891 23 45 67",
    "+4970012345678",
    "004930123456",
    "00423 236 12 34", // Liechtenstein: +423 since 1999
    "+80012345678", // international freephone: no country at all
  ]) {
    assert.equal(classOf(typed), "international", typed);
  }
  const fr = readDestination("0033612345678", ch, none);
  assert.deepEqual(fr, {
    kind: "external",
    e164: "+33612345678",
    national: "612345678",
    class: "international",
  });
  assert.equal(spokenDigits(fr, ch), "0033612345678");
  // Seen from the US, Jamaica shares +1 but is abroad (a classic toll-fraud target).
  assert.equal(classOf("+1 876 555 1234", "US"), "international");
  assert.equal(classOf("011 41 79 123 12 12", "US"), "international");
  // A Swiss number is national for a Swiss tenant only.
  assert.equal(classOf("+41791231212", "DE"), "international");
});

test("emergency and short service numbers are dialled as they are, per country", () => {
  const emergency: Record<string, string[]> = {
    CH: ["112", "117", "118", "144", "143", "147", "1414"],
    DE: ["110", "112"],
    FR: ["15", "17", "18", "112", "114", "115", "119"],
    IT: ["112", "113", "115", "118"],
    AT: ["112", "122", "133", "144"],
    GB: ["999", "112"],
    US: ["911"],
  };
  for (const [country, numbers] of Object.entries(emergency)) {
    for (const n of numbers) {
      assert.deepEqual(
        readDestination(n, { country }, none),
        { kind: "external", e164: n, national: n, class: "emergency" },
        `${n} in ${country}`,
      );
    }
  }
  assert.equal(spokenDigits(readDestination("144", ch, none), ch), "144");
  // Short numbers are national: another country's are not numbers here.
  assert.equal(why("911"), "malformed");
  assert.equal(why("17"), "malformed");
  assert.equal(why("110"), "malformed");
  assert.equal(why("+41112"), "malformed");
  // 112 everywhere in Europe, even where we keep no list.
  assert.equal(classOf("112", "NL"), "emergency");
});

test("an emergency number wins over an extension with the same number; a service number does not", () => {
  // The tenant has extensions 144 and 145: dialling them must still reach the ambulance and the poison centre.
  assert.equal(classOf("144"), "emergency");
  assert.equal(classOf("145"), "emergency");
  assert.ok(isEmergencyNumber("144", "ch"));
  assert.ok(!isEmergencyNumber("101", "GB"));
  // GB 101 (police, non-emergency) is also the most common extension number.
  assert.deepEqual(readDestination("101", { country: "GB" }, isExt), { kind: "extension", number: "101" });
  assert.equal(classOf("111", "GB"), "emergency");
});

test("empty and malformed input is refused with the reason", () => {
  assert.equal(why(""), "empty");
  assert.equal(why("   "), "empty");
  assert.equal(why("12"), "malformed");
  assert.equal(why("07912#3"), "malformed");
  assert.equal(why("*72"), "malformed");
  assert.equal(why("079 abc"), "malformed");
  assert.equal(why("+"), "malformed");
  assert.equal(why("00"), "malformed");
  assert.equal(why("0041"), "malformed");
  assert.equal(why("0868123456"), "malformed"); // possible length, no such range
  assert.equal(why("4".repeat(40)), "malformed");
  // Cost is not a reason here: policy is dialling-policy.ts.
  assert.equal(why("0900123456"), "accepted");
  assert.equal(why("0033612345678"), "accepted");
});

test("stored targets round-trip, with their class when the tenant is known", () => {
  const typed = ["0791231212", "0223334455", "0900123456", "0878123456", "0033612345678", "144", "102"];
  for (const t of typed) {
    const d = readDestination(t, ch, isExt);
    assert.deepEqual(storedDestination(storedTarget(d), ch), d, t);
  }
  assert.deepEqual(storedDestination("101"), { kind: "extension", number: "101" });
  // Without the tenant, the class is what the number is in its own country.
  assert.deepEqual(storedDestination("+33612345678"), {
    kind: "external",
    e164: "+33612345678",
    national: "612345678",
    class: "mobile",
  });
  // Whatever was stored, something comes back.
  const odd: Destination = storedDestination("+41868123456", ch);
  assert.equal(odd.kind === "external" && odd.class, "other");
  assert.equal(storedDestination("+", ch).kind, "external");
});

test("a foreign number's class in its own country", () => {
  assert.equal(classInItsCountry("+33899123456"), "premiumRate");
  assert.equal(classInItsCountry("+447012345678"), "personal");
  assert.equal(classInItsCountry("+33612345678"), "mobile");
  assert.equal(classInItsCountry("+0"), "other");
});

test("a tenant country libphonenumber does not know reads only international numbers, without crashing", () => {
  const xx = { country: "XX" };
  const d = readDestination("+41791231212", xx, none);
  assert.equal(d.kind === "external" && d.class, "international");
  assert.equal(spokenDigits(d, xx), "+41791231212");
  assert.throws(() => readDestination("0791231212", xx, none), InvalidNumber);
});
