import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { USERNAME_PATTERN } from "../../../src/api/auth/usernames.ts";
import * as serverCompany from "../../../src/api/company-validation.ts";
import * as server from "../../../src/api/validation.ts";
import { checkPin as serverCheckPin } from "../../../src/pbx/voicemail/pin.ts";
import {
  checkDate,
  checkEmail,
  checkForwardingTarget,
  checkInteger,
  checkPassword,
  checkPhoneNumber,
  checkPin,
  checkTime,
  checkTimezone,
  checkUsername,
  hasProblems,
  LIMITS,
  PATTERNS,
  validateException,
  validateForwarding,
  validateNewExtension,
  validateNewTenant,
  validateRange,
  validateRingGroup,
  validateUser,
} from "./validate.ts";

const keyOf = (p: { key: string } | undefined) => p?.key;

describe("the console checks what the API checks", () => {
  test("its patterns are the API's", () => {
    assert.equal(PATTERNS.tenantName, server.TENANT_NAME_PATTERN);
    assert.equal(PATTERNS.extensionNumber, server.EXTENSION_NUMBER_PATTERN);
    assert.equal(PATTERNS.domain, server.DOMAIN_PATTERN);
    assert.equal(PATTERNS.displayName, server.DISPLAY_NAME_PATTERN);
    assert.equal(PATTERNS.country, server.COUNTRY_PATTERN);
    assert.equal(PATTERNS.typedNumber, server.TYPED_NUMBER_PATTERN);
    assert.equal(PATTERNS.email, server.EMAIL_PATTERN);
    assert.equal(PATTERNS.pickupGroup, server.PICKUP_GROUP_PATTERN);
    assert.equal(PATTERNS.ringGroupName, server.RING_GROUP_NAME_PATTERN);
    assert.equal(PATTERNS.modeName, serverCompany.MODE_NAME_PATTERN);
    assert.equal(PATTERNS.label, serverCompany.LABEL_PATTERN);
  });

  test("its limits are the API's", () => {
    assert.equal(LIMITS.passwordMin, server.PASSWORD_MIN);
    assert.equal(LIMITS.passwordMax, server.PASSWORD_MAX);
    assert.equal(LIMITS.noAnswerMin, server.NO_ANSWER_MIN);
    assert.equal(LIMITS.noAnswerMax, server.NO_ANSWER_MAX);
    assert.equal(LIMITS.ringTimeoutMin, server.RING_TIMEOUT_MIN);
    assert.equal(LIMITS.ringTimeoutMax, server.RING_TIMEOUT_MAX);
    assert.equal(LIMITS.maxCallsMax, server.MAX_CALLS_MAX);
    assert.equal(LIMITS.tenantMaxCallsMax, server.TENANT_MAX_CALLS_MAX);
    assert.equal(LIMITS.maxExternalCallsMax, server.MAX_EXTERNAL_CALLS_MAX);
    assert.equal(LIMITS.messageSecondsMin, server.MAX_MESSAGE_SECONDS_MIN);
    assert.equal(LIMITS.messageSecondsMax, server.MAX_MESSAGE_SECONDS_MAX);
    assert.equal(LIMITS.waitingSecondsMin, server.WAITING_SECONDS_MIN);
    assert.equal(LIMITS.waitingSecondsMax, server.WAITING_SECONDS_MAX);
    assert.equal(LIMITS.groupTimeoutMin, serverCompany.RING_GROUP_TIMEOUT_MIN);
    assert.equal(LIMITS.groupTimeoutMax, serverCompany.RING_GROUP_TIMEOUT_MAX);
    assert.equal(LIMITS.memberTimeoutMin, serverCompany.MEMBER_TIMEOUT_MIN);
    assert.equal(LIMITS.memberTimeoutMax, serverCompany.MEMBER_TIMEOUT_MAX);
  });

  test("usernames as the API takes them", () => {
    const api = new RegExp(USERNAME_PATTERN);
    for (const name of [
      "alice",
      "alice@acme.ch",
      "a",
      "b.o_b+x-1",
      "-x",
      "",
      "a b",
      "é",
      "x".repeat(64),
      "x".repeat(65),
    ]) {
      assert.equal(checkUsername(name) === undefined, api.test(name), JSON.stringify(name));
    }
  });

  test("a PIN is refused exactly when the voicemail refuses it", () => {
    const pins = [
      "1234",
      "4321",
      "1111",
      "0000",
      "4826",
      "90123",
      "123",
      "12345678901",
      "12a4",
      "101101",
      "1010",
      "2468",
      "9876",
      "8901",
    ];
    for (const pin of pins) {
      assert.equal(checkPin(pin, "101") === undefined, serverCheckPin(pin, "101") === "ok", pin);
    }
  });
});

describe("fields", () => {
  test("phone numbers and forwarding targets", () => {
    assert.equal(checkPhoneNumber("079 123 12 12"), undefined);
    assert.equal(checkPhoneNumber("+41 (0)79 123-12-12"), undefined);
    assert.equal(keyOf(checkPhoneNumber("call me")), "validate.phone");
    assert.equal(keyOf(checkPhoneNumber("+ -")), "validate.phone");
    assert.equal(keyOf(checkPhoneNumber("")), "validate.required");
    assert.equal(checkForwardingTarget(""), undefined, "empty: off");
    assert.equal(checkForwardingTarget(" 103 "), undefined);
    assert.equal(checkForwardingTarget("0791231212"), undefined);
    assert.equal(keyOf(checkForwardingTarget("bob")), "validate.target");
  });

  test("passwords", () => {
    assert.equal(keyOf(checkPassword("short")), "validate.passwordShort");
    assert.deepEqual(checkPassword("short")?.vars, { min: 10 });
    assert.equal(keyOf(checkPassword("x".repeat(129))), "validate.passwordLong");
    assert.equal(keyOf(checkPassword("101-101-101", "101")), "validate.passwordNumber");
    assert.equal(checkPassword("Correct-Horse-Battery", "101"), undefined);
  });

  test("numbers, times, dates, e-mail, zones", () => {
    assert.equal(checkInteger("20", 5, 300), undefined);
    assert.equal(keyOf(checkInteger("4", 5, 300)), "validate.integer");
    assert.equal(keyOf(checkInteger("2.5", 1, 10)), "validate.integer");
    assert.equal(keyOf(checkInteger("", 1, 10)), "validate.integer");
    assert.equal(checkTime("00:00"), undefined);
    assert.equal(checkTime("23:59"), undefined);
    assert.equal(keyOf(checkTime("24:00")), "validate.time");
    assert.equal(checkTime("24:00", true), undefined);
    assert.equal(keyOf(checkTime("7:30")), "validate.time");
    assert.equal(checkDate("2028-02-29"), undefined);
    assert.equal(keyOf(checkDate("2026-02-29")), "validate.date");
    assert.equal(keyOf(checkDate("2026-13-01")), "validate.date");
    assert.equal(keyOf(checkDate("25.12.2026")), "validate.date");
    assert.equal(checkEmail(""), undefined, "empty: none");
    assert.equal(checkEmail("anna@example.ch"), undefined);
    assert.equal(keyOf(checkEmail("anna@localhost")), "validate.email");
    assert.equal(keyOf(checkEmail("an na@example.ch")), "validate.email");
    assert.equal(checkTimezone("Europe/Zurich"), undefined);
    assert.equal(keyOf(checkTimezone("Europe/Nowhere")), "validate.timezone");
  });
});

describe("forms", () => {
  test("a new company", () => {
    assert.deepEqual(
      validateNewTenant({
        name: "acme",
        domain: "acme.example.com",
        timezone: "Europe/Zurich",
        country: "CH",
      }),
      {},
    );
    const p = validateNewTenant({ name: "Acme!", domain: "-bad-", timezone: "Mars/Base", country: "ch" });
    assert.deepEqual(Object.keys(p).sort(), ["country", "domain", "name", "timezone"]);
  });

  test("a new extension", () => {
    assert.equal(
      hasProblems(
        validateNewExtension({ number: "101", displayName: "Anna", password: "Correct-Horse-Battery" }),
      ),
      false,
    );
    const p = validateNewExtension({ number: "1", displayName: "", password: "x" });
    assert.equal(keyOf(p.number), "validate.extension");
    assert.equal(keyOf(p.displayName), "validate.required");
    assert.equal(keyOf(p.password), "validate.passwordShort");
  });

  test("forwarding: each rule, never to itself, the delay in range", () => {
    const ok = {
      unconditional: "",
      busy: "079 123 12 12",
      noAnswer: "103",
      unreachable: "",
      noAnswerSeconds: "20",
    };
    assert.deepEqual(validateForwarding(ok, "101"), {});
    const p = validateForwarding({ ...ok, unconditional: "101", busy: "nope", noAnswerSeconds: "2" }, "101");
    assert.equal(keyOf(p.unconditional), "validate.self");
    assert.equal(keyOf(p.busy), "validate.target");
    assert.equal(keyOf(p.noAnswerSeconds), "validate.integer");
    assert.deepEqual(p.noAnswerSeconds?.vars, { min: 5, max: 300 });
  });

  test("a weekly range and an exception", () => {
    const modes = ["open", "closed"];
    assert.deepEqual(validateRange({ days: ["mon"], from: "08:00", to: "24:00", mode: "open" }, modes), {});
    const p = validateRange({ days: [], from: "12:00", to: "08:00", mode: "lunch" }, modes);
    assert.equal(keyOf(p.days), "validate.days");
    assert.equal(keyOf(p.to), "validate.toAfterFrom");
    assert.equal(keyOf(p.mode), "validate.mode");
    assert.deepEqual(
      validateException({ date: "2026-12-25", mode: "closed", wholeDay: true, from: "", to: "" }, modes),
      {},
    );
    const e = validateException(
      { date: "2026-12-32", mode: "closed", wholeDay: false, from: "13:00", to: "12:00" },
      modes,
    );
    assert.equal(keyOf(e.date), "validate.date");
    assert.equal(keyOf(e.to), "validate.toAfterFrom");
  });

  test("a ring group and a user", () => {
    assert.deepEqual(
      validateRingGroup({ name: "shop", members: ["101"], timeout: "30", memberTimeout: "15" }, true),
      {},
    );
    const g = validateRingGroup({ name: "Shop", members: [], timeout: "1", memberTimeout: "500" }, true);
    assert.deepEqual(Object.keys(g).sort(), ["memberTimeout", "members", "name", "timeout"]);
    assert.equal(
      validateRingGroup({ name: "Shop", members: ["101"], timeout: "30", memberTimeout: "15" }, false).name,
      undefined,
    );
    assert.deepEqual(
      validateUser({
        username: "prov",
        password: "Correct-Horse-Battery",
        role: "provider",
        tenant: "",
        extension: "",
      }),
      {},
    );
    const u = validateUser({
      username: "bob",
      password: "Correct-Horse-Battery",
      role: "user",
      tenant: "",
      extension: "x",
    });
    assert.deepEqual(Object.keys(u).sort(), ["extension", "tenant"]);
  });
});
