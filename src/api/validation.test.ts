import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_DIALLING_POLICY } from "../store/types.ts";
import {
  checkDomain,
  checkEmail,
  checkHost,
  checkPassword,
  readPublicNumber,
  ValidationError,
  validateAuditLimit,
  validateExtensionPatch,
  validateFeatureSwitches,
  validateForwarding,
  validateMailboxOptions,
  validateMessagePatch,
  validateNewExtension,
  validateNewNumber,
  validateNewTenant,
  validateNewTrunk,
  validatePolicyPatch,
  validateTenantPatch,
  validateTrunkPatch,
} from "./validation.ts";

test("new tenant: defaults left to the store, domain lower-cased", () => {
  assert.deepEqual(validateNewTenant({ name: "acme-2", domain: "PBX.Acme.CH" }), {
    name: "acme-2",
    domain: "pbx.acme.ch",
  });
  assert.deepEqual(
    validateNewTenant({
      name: "a",
      domain: "a.test",
      language: "it",
      timezone: "America/New_York",
      country: "US",
    }),
    { name: "a", domain: "a.test", language: "it", timezone: "America/New_York", country: "US" },
  );
});

test("problems are all collected", () => {
  try {
    validateNewTenant({ name: "", domain: "", language: "xx", timezone: "Nowhere", country: "ZZ", other: 1 });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.problems.length, 6);
    assert.match(e.message, /unknown field "other"/);
  }
  assert.throws(() => validateNewTenant(null), /expected an object/);
  assert.throws(() => validateTenantPatch({ name: "x" }), /unknown field "name"/);
});

test("domains", () => {
  for (const ok of ["acme.test", "a", "xn--bcher-kva.ch", "pbx-1.example.co.uk", `${"a".repeat(63)}.ch`]) {
    assert.equal(checkDomain(ok), undefined, ok);
  }
  for (const bad of [
    "",
    "a..b",
    "-a.ch",
    "a-.ch",
    "a b.ch",
    "a_b.ch",
    `${"a".repeat(64)}.ch`,
    "acme.test.",
    42,
  ]) {
    assert.notEqual(checkDomain(bad), undefined, String(bad));
  }
  assert.notEqual(checkDomain(`${"abcdefghi.".repeat(26)}ch`), undefined, "over 253 characters");
});

test("passwords: length, and never the number or the number repeated", () => {
  assert.equal(checkPassword("blue-harbor-lamp", "101"), undefined);
  assert.match(checkPassword("Zq9!vK2#p", "101") ?? "", /10 to 128/, "9 characters, however random");
  assert.match(checkPassword("x".repeat(129), "101") ?? "", /10 to 128/);
  assert.match(checkPassword("123456", "123456") ?? "", /extension number/);
  assert.match(checkPassword("12341234", "1234") ?? "", /extension number/, "the specific reason first");
  assert.match(checkPassword("1010101010", "10") ?? "", /extension number/);
  assert.match(checkPassword("123456123456", "123456") ?? "", /extension number/);
  assert.doesNotMatch(checkPassword("secret", "10") ?? "", /secret/, "never echoed");
});

test("passwords: common ones and guessable ones are refused with the reason", () => {
  // On the leaked-password list, as written, capitalised or in l33t.
  for (const common of ["password123", "1234567890", "Password123", "qwertyuiop", "iloveyou12"]) {
    assert.equal(
      checkPassword(common, "101"),
      "password: too common (it is on a list of leaked passwords)",
      common,
    );
  }
  // Long enough, but zxcvbn finds them in under 10^8 guesses: the reason is its feedback.
  const guessable: [string, RegExp][] = [
    ["aaaaaaaaaaaa", /too guessable: repeated characters/],
    ["password-110", /too guessable: it is similar to a commonly used password/],
    ["abcdefghijk1", /too guessable/],
  ];
  for (const [pw, why] of guessable) assert.match(checkPassword(pw, "101") ?? "", why, pw);
  // Built on what an attacker knows: the company's name and domain.
  assert.equal(checkPassword("bistro-lausanne", "101"), undefined, "fine for anyone else");
  assert.match(
    checkPassword("bistro-lausanne", "101", ["bistro-lausanne", "bistro-lausanne.ch"]) ?? "",
    /too guessable: it contains the extension number or the company's name or domain/,
  );
  // The house fixtures and ordinary passphrases pass.
  for (const ok of ["secret-101-pw", "correct-horse-battery", "Tr0ub4dor&3x", "very-secret-1"]) {
    assert.equal(checkPassword(ok, "101", ["acme", "acme.test"]), undefined, ok);
  }
  for (const pw of ["password123", "aaaaaaaaaaaa"]) {
    assert.doesNotMatch(checkPassword(pw, "101") ?? "", new RegExp(pw), "never echoed");
  }
});

test("extensions and their patches", () => {
  assert.deepEqual(
    validateNewExtension({ number: "101", password: "secret-101-pw", displayName: "Zoë Müller" }),
    {
      number: "101",
      password: "secret-101-pw",
      displayName: "Zoë Müller",
    },
  );
  assert.throws(
    () => validateNewExtension({ number: "101", password: "secret-101-pw", displayName: "" }),
    /display name/,
  );
  assert.throws(
    () => validateNewExtension({ number: "101", password: "secret-101-pw", displayName: "a\u0000" }),
    /display name/,
  );
  assert.deepEqual(validateExtensionPatch({ language: null }, "101"), { language: null });
  assert.throws(() => validateExtensionPatch({ password: "101101101101" }, "101"), /extension number/);
  assert.throws(() => validateExtensionPatch({ ringTimeoutSeconds: 30.5 }, "101"), /ringTimeoutSeconds/);
  assert.deepEqual(validateFeatureSwitches({ voicemail: true }), { voicemail: true });
  assert.throws(() => validateFeatureSwitches({ voicemail: 1 }), /voicemail must be true or false/);
});

test("public numbers: read in the tenant's country, stored in E.164", () => {
  for (const typed of [
    "+41215550100",
    "+41 21 555 01 00",
    "021 555 01 00",
    "0041215550100",
    "(021) 555-01-00",
  ]) {
    assert.equal(readPublicNumber(typed, "CH"), "+41215550100", typed);
  }
  assert.equal(readPublicNumber("030 1234567", "DE"), "+49301234567");
  assert.equal(readPublicNumber("+41215550100"), "+41215550100", "no country: international form only");
  assert.equal(readPublicNumber("021 555 01 00"), undefined);
  for (const bad of [
    "",
    "12345",
    "112",
    "abc",
    "+41 21 555 01 00 00 00",
    "1".repeat(40),
    41215550100,
    null,
  ]) {
    assert.equal(readPublicNumber(bad, "CH"), undefined, String(bad));
  }
});

test("extension settings: caller id read in the country; null only on a patch", () => {
  const ch = { country: "CH" };
  const e = validateNewExtension(
    {
      number: "101",
      password: "secret-101-pw",
      displayName: "A",
      callWaiting: true,
      maxCalls: 3,
      callerId: "021 555 01 00",
    },
    ch,
  );
  assert.deepEqual([e.callWaiting, e.maxCalls, e.callerId], [true, 3, "+41215550100"]);
  assert.throws(
    () =>
      validateNewExtension({
        number: "101",
        password: "secret-101-pw",
        displayName: "A",
        callerId: "021 555 01 00",
      }),
    /callerId .* E\.164/,
    "without the tenant only E.164",
  );
  assert.throws(
    () =>
      validateNewExtension(
        { number: "101", password: "secret-101-pw", displayName: "A", callerId: null },
        ch,
      ),
    /callerId may be null only/,
  );
  assert.deepEqual(validateExtensionPatch({ callerId: null, noAnswerSeconds: 5 }, "101", ch), {
    callerId: null,
    noAnswerSeconds: 5,
  });
  assert.throws(
    () => validateExtensionPatch({ maxCalls: 11, noAnswerSeconds: 301 }, "101", ch),
    (e: Error) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.problems.length, 2);
      return true;
    },
  );
});

test("trunks: host names and IP literals, ports, credentials together, register needs them", () => {
  for (const ok of ["sip.carrier.example", "192.0.2.1", "2001:db8::1", "localhost"]) {
    assert.equal(checkHost(ok), undefined, ok);
  }
  for (const bad of ["", "not a host", "[2001:db8::1]", "sip.example:5060", "-x.example", 5060]) {
    assert.notEqual(checkHost(bad), undefined, String(bad));
  }
  assert.deepEqual(validateNewTrunk({ name: "carrier", host: "SIP.Carrier.Example" }), {
    name: "carrier",
    host: "sip.carrier.example",
  });
  assert.deepEqual(
    validateNewTrunk({
      name: "c",
      host: "192.0.2.1",
      port: 5080,
      transport: "tcp",
      username: "user%40x",
      password: "pw",
      register: true,
      numberFormat: "national",
      inboundAddresses: ["192.0.2.2"],
      isDefault: true,
    }),
    {
      name: "c",
      host: "192.0.2.1",
      port: 5080,
      transport: "tcp",
      username: "user%40x",
      password: "pw",
      register: true,
      numberFormat: "national",
      inboundAddresses: ["192.0.2.2"],
      isDefault: true,
    },
  );
  assert.throws(() => validateNewTrunk({ name: "c", host: "h.example", register: true }), /register needs/);
  assert.throws(() => validateNewTrunk({ name: "c", host: "h.example", password: "pw" }), /go together/);
  assert.throws(() => validateNewTrunk({ name: "c", host: "h.example", port: 70000 }), /port 70000/);
  try {
    validateNewTrunk({ name: "c", host: "h.example", username: "u", password: "bad\u0001pw" });
    assert.fail("should throw");
  } catch (e) {
    assert.doesNotMatch((e as Error).message, /bad/, "never echoed");
  }
  const current = { register: true, username: "u", password: "p" };
  assert.throws(() => validateTrunkPatch({ password: null }, current), /go together/);
  assert.throws(() => validateTrunkPatch({ username: null, password: null }, current), /register needs/);
  assert.deepEqual(validateTrunkPatch({ username: null, password: null, register: false }, current), {
    username: null,
    password: null,
    register: false,
  });
  assert.throws(() => validateTrunkPatch({ name: "x" }), /unknown field "name"/);
});

test("numbers: destinations of every type, national forms converted", () => {
  const ch = { country: "CH", policy: DEFAULT_DIALLING_POLICY };
  assert.deepEqual(validateNewNumber({ number: "021 555 01 00", destination: { type: "hangup" } }, ch), {
    number: "+41215550100",
    destination: { type: "hangup" },
  });
  assert.deepEqual(
    validateNewNumber(
      { number: "+41215550100", destination: { type: "external", number: "079 123 12 12" } },
      ch,
    ).destination,
    { type: "external", number: "+41791231212" },
  );
  assert.deepEqual(
    validateNewNumber({ number: "+41215550100", destination: { type: "extension", number: "101" } }, ch)
      .destination,
    { type: "extension", number: "101" },
  );
  for (const destination of [
    { type: "extension", number: "1" },
    { type: "extension" },
    { type: "external", number: "123" },
    { type: "hangup", number: "101" },
    { type: "fax" },
    "hangup",
    null,
  ]) {
    assert.throws(
      () => validateNewNumber({ number: "+41215550100", destination }, ch),
      ValidationError,
      JSON.stringify(destination),
    );
  }
});

test("forwarding, policy, audit limit", () => {
  assert.deepEqual(validateForwarding({ busy: "079 123 12 12", unconditional: null, noAnswerSeconds: 25 }), {
    rules: { busy: "079 123 12 12", unconditional: null },
    noAnswerSeconds: 25,
  });
  assert.deepEqual(validateForwarding({}), { rules: {} });
  assert.throws(() => validateForwarding({ busy: "" }), /busy must be/);
  assert.throws(() => validateForwarding({ busy: 101 }), /busy must be/);
  assert.throws(() => validateForwarding({ all: null }), /unknown field "all"/);
  assert.deepEqual(validatePolicyPatch({ international: true, maxExternalCalls: 0 }), {
    international: true,
    maxExternalCalls: 0,
  });
  assert.throws(() => validatePolicyPatch({ maxExternalCalls: 1001 }), /maxExternalCalls/);
  assert.throws(() => validatePolicyPatch({ personal: 1 }), /personal must be true or false/);
  assert.equal(validateAuditLimit(undefined), undefined);
  assert.equal(validateAuditLimit("1000"), 1000);
  for (const bad of ["0", "1001", "x", "", "1e3"]) assert.throws(() => validateAuditLimit(bad), /limit/);
  assert.deepEqual(validateTenantPatch({ trunk: null }), { trunk: null });
  assert.deepEqual(validateNewTenant({ name: "a", domain: "a.test", trunk: "carrier" }).trunk, "carrier");
  assert.throws(() => validateTenantPatch({ trunk: "Bad Name" }), /trunk name/);
});

test("voicemail options: the PIN checked against the extension, never echoed; e-mail, length, folder", () => {
  assert.deepEqual(
    validateMailboxOptions(
      {
        enabled: true,
        pin: "4826",
        remoteAccess: false,
        email: null,
        skipPinOnOwnPhone: true,
        maxMessageSeconds: 180,
      },
      "101",
    ),
    {
      enabled: true,
      pin: "4826",
      remoteAccess: false,
      email: null,
      skipPinOnOwnPhone: true,
      maxMessageSeconds: 180,
    },
  );
  for (const pin of ["1234", "4321", "0123", "5555", "101101", "8901"]) {
    assert.throws(
      () => validateMailboxOptions({ pin }, "101"),
      (err: Error) => /too easy/.test(err.message) && !err.message.includes(pin),
      pin,
    );
  }
  for (const pin of ["123", "12345678901", "12 34", 1234, null]) {
    assert.throws(() => validateMailboxOptions({ pin }, "101"), /voicemail.pin must be 4 to 10 digits/);
  }
  assert.throws(() => validateMailboxOptions({ maxMessageSeconds: 601 }, "101"), /maxMessageSeconds/);
  assert.throws(() => validateMailboxOptions({ pinHash: "x" }, "101"), /unknown field "pinHash"/);
  assert.throws(() => validateMailboxOptions([], "101"), /voicemail must be an object/);
  assert.deepEqual(validateExtensionPatch({ voicemail: { enabled: false } }, "101"), {
    voicemail: { enabled: false },
  });
  assert.throws(() => validateExtensionPatch({ voicemail: { pin: "1111" } }, "101"), ValidationError);

  for (const ok of ["alice@example.ch", "a.b+vm@mail.example.co.uk", "x_y@a-b.ch"])
    assert.equal(checkEmail(ok), undefined, ok);
  for (const bad of [
    "alice",
    "alice@",
    "@example.ch",
    "a b@example.ch",
    "a@example",
    "a@b.ch\r\nBcc: c@d.ch",
    "<a@b.ch>",
    `${"a".repeat(65)}@b.ch`,
  ]) {
    assert.match(checkEmail(bad) ?? "", /voicemail.email/, bad);
  }

  assert.deepEqual(validateMessagePatch({ folder: "old" }), { folder: "old" });
  assert.throws(() => validateMessagePatch({ folder: "trash" }), /folder "trash" must be one of new, old/);
  assert.throws(() => validateMessagePatch({ folder: "new", x: 1 }), /unknown field "x"/);
});

test("tenant patch: maxCalls is a whole number from 1 to 10000", () => {
  assert.deepEqual(validateTenantPatch({ maxCalls: 40 }), { maxCalls: 40 });
  assert.deepEqual(validateTenantPatch({ maxCalls: 1 }), { maxCalls: 1 });
  assert.deepEqual(validateTenantPatch({ maxCalls: 10000 }), { maxCalls: 10000 });
  for (const bad of [0, 10001, 1.5, "40", null, true]) {
    assert.throws(() => validateTenantPatch({ maxCalls: bad }), /maxCalls .* from 1 to 10000/, String(bad));
  }
});

test("tenant patch: operator is an extension number or null", () => {
  assert.deepEqual(validateTenantPatch({ operator: "100" }), { operator: "100" });
  assert.deepEqual(validateTenantPatch({ operator: null }), { operator: null });
  assert.throws(
    () => validateTenantPatch({ operator: "1" }),
    /operator: extension number "1" must be 2 to 6 digits/,
  );
  assert.throws(() => validateTenantPatch({ operator: 100 }), /operator/);
});
