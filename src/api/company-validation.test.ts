import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_DIALLING_POLICY, type DestinationSpec, MAX_DESTINATION_DEPTH } from "../store/types.ts";
import {
  validateAudioText,
  validateCallFlow,
  validateNewRingGroup,
  validateRingGroupPatch,
  validateSchedule,
} from "./company-validation.ts";
import { ValidationError, validateDestination, validateTenantPatch } from "./validation.ts";

const ch = { country: "CH", policy: DEFAULT_DIALLING_POLICY };

/** The problems of one destination read at `path`, and what it read. */
function read(input: unknown, path = "destination", tenant = ch) {
  const problems: string[] = [];
  const value = validateDestination(input, path, tenant, problems);
  return { value, problems };
}

/** The ValidationError's problems (fails when it does not throw one). */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.problems;
  }
  assert.fail("no ValidationError");
}

/** An announcement destination, then `next` (`then` written once, here). */
function announce(announcement: string, next?: unknown): Record<string, unknown> {
  if (next === undefined) return { type: "announcement", announcement };
  return { type: "announcement", announcement, then: next };
}

/** An announcement chain `depth` destinations deep, ending in a hang-up. */
function nested(depth: number): unknown {
  let d: unknown = { type: "hangup" };
  for (let i = 1; i < depth; i++) d = announce("closed", d);
  return d;
}

describe("destinations", () => {
  test("every type reads; external numbers in E.164", () => {
    const cases: [unknown, DestinationSpec][] = [
      [
        { type: "extension", number: "101" },
        { type: "extension", number: "101" },
      ],
      [
        { type: "voicemail", number: "101" },
        { type: "voicemail", number: "101" },
      ],
      [
        { type: "external", number: "079 123 12 12" },
        { type: "external", number: "+41791231212" },
      ],
      [
        { type: "ring-group", name: "shop" },
        { type: "ring-group", name: "shop" },
      ],
      [{ type: "inbound-flow" }, { type: "inbound-flow" }],
      [{ type: "hangup" }, { type: "hangup" }],
      [
        {
          type: "announcement",
          announcement: "closed",
          then: { type: "voicemail", number: "101" },
        },
        {
          type: "announcement",
          announcement: "closed",
          then: { type: "voicemail", number: "101" },
        },
      ],
    ];
    for (const [input, expected] of cases) {
      const r = read(input);
      assert.deepEqual(r.problems, [], JSON.stringify(input));
      assert.deepEqual(r.value, expected);
    }
  });

  test("the problem names the offending field's path", () => {
    const path = "modes.open.destination";
    const cases: [unknown, RegExp][] = [
      [
        announce("closed", { type: "external", number: "12" }),
        /^modes\.open\.destination\.then\.number "12" must be a public phone number/,
      ],
      [
        announce("closed", { type: "extension" }),
        /^modes\.open\.destination\.then\.number is required for type extension$/,
      ],
      [
        announce("goodbye", { type: "hangup" }),
        /\.announcement "goodbye" must be one of welcome, waiting, closed, vacation/,
      ],
      [announce("closed"), /^modes\.open\.destination\.then is required for type announcement$/],
      [{ type: "ring-group", name: "Shop!" }, /^modes\.open\.destination\.name: ring group name "Shop!"/],
      [{ type: "ring-group", name: "shop", number: "101" }, /has unknown field "number"/],
      [{ type: "hangup", then: { type: "hangup" } }, /^modes\.open\.destination has unknown field "then"$/],
      [
        { type: "fax" },
        /^modes\.open\.destination\.type must be one of extension, external, voicemail, ring-group, announcement, inbound-flow, hangup$/,
      ],
      ["hangup", /^modes\.open\.destination must be a destination/],
      [
        { type: "extension", number: "1" },
        /^modes\.open\.destination\.number: extension number "1" must be 2 to 6 digits$/,
      ],
    ];
    for (const [input, message] of cases) {
      const r = read(input, path);
      assert.equal(r.value, undefined, JSON.stringify(input));
      assert.equal(r.problems.length, 1, r.problems.join("; "));
      assert.match(r.problems[0], message);
    }
  });

  test(`announcements nest at most ${MAX_DESTINATION_DEPTH} deep`, () => {
    assert.deepEqual(read(nested(MAX_DESTINATION_DEPTH)).problems, []);
    const deep = read(nested(MAX_DESTINATION_DEPTH + 1), "fallback");
    assert.equal(deep.value, undefined);
    assert.equal(deep.problems.length, 1);
    assert.match(
      deep.problems[0],
      /^fallback\.then\.then\.then nests too deep: destinations go at most 3 deep/,
    );
  });

  test("external numbers pass the tenant's dialling policy", () => {
    const premium = { type: "external", number: "0900 123 456" };
    const refused = read(premium);
    assert.match(
      refused.problems[0] ?? "",
      /^destination\.number \+41900123456 is refused by the tenant's dialling policy \(premium-rate numbers/,
    );
    assert.deepEqual(
      read(premium, "destination", { ...ch, policy: { ...DEFAULT_DIALLING_POLICY, premiumRate: true } })
        .problems,
      [],
    );
    const abroad = read({ type: "external", number: "+33 6 12 34 56 78" });
    assert.match(abroad.problems[0] ?? "", /calls abroad are not allowed/);
  });
});

describe("ring groups", () => {
  test("a new group, defaults left to the store", () => {
    assert.deepEqual(validateNewRingGroup({ name: "shop", members: ["101", "102"] }, ch), {
      name: "shop",
      members: ["101", "102"],
    });
    assert.deepEqual(
      validateNewRingGroup(
        {
          name: "shop",
          members: ["101"],
          strategy: "sequential",
          timeout: 60,
          memberTimeout: 20,
          fallback: { type: "voicemail", number: "101" },
        },
        ch,
      ),
      {
        name: "shop",
        members: ["101"],
        strategy: "sequential",
        timeout: 60,
        memberTimeout: 20,
        fallback: { type: "voicemail", number: "101" },
      },
    );
  });

  test("names, members, strategy, timeouts and fallback refused with their field", () => {
    const problems = problemsOf(() =>
      validateNewRingGroup(
        {
          name: "-shop",
          members: ["101", "101", "1"],
          strategy: "random",
          timeout: 4,
          memberTimeout: 121,
          fallback: { type: "voicemail" },
          extra: true,
        },
        ch,
      ),
    );
    for (const expected of [
      /^unknown field "extra"$/,
      /^ring group name "-shop"/,
      /^members\[1\] "101" is listed twice$/,
      /^members\[2\] "1" must be an extension number/,
      /^strategy "random" must be one of simultaneous, sequential$/,
      /^timeout 4 must be a whole number of seconds from 5 to 600$/,
      /^memberTimeout 121 must be a whole number of seconds from 5 to 120$/,
      /^fallback\.number is required for type voicemail$/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in ${problems.join("; ")}`,
      );
    }
    assert.match(problemsOf(() => validateNewRingGroup({ name: "shop" }, ch)).join(), /members is required/);
    assert.match(problemsOf(() => validateNewRingGroup({ name: "shop", members: [] }, ch)).join(), /1 to 50/);
    const many = Array.from({ length: 51 }, (_, i) => String(100 + i));
    assert.match(
      problemsOf(() => validateNewRingGroup({ name: "shop", members: many }, ch)).join(),
      /1 to 50/,
    );
  });

  test("a patch changes what it names", () => {
    assert.deepEqual(validateRingGroupPatch({ timeout: 600, memberTimeout: 5 }, ch), {
      timeout: 600,
      memberTimeout: 5,
    });
    assert.deepEqual(validateRingGroupPatch({}, ch), {});
    assert.match(
      problemsOf(() => validateRingGroupPatch({ name: "other" }, ch)).join(),
      /unknown field "name"/,
    );
  });
});

/** The users' page shop. */
function shop(): Record<string, unknown> {
  return {
    modes: {
      open: { destination: { type: "ring-group", name: "shop" } },
      closed: {
        label: "fermé",
        destination: {
          type: "announcement",
          announcement: "closed",
          then: { type: "voicemail", number: "101" },
        },
      },
    },
    default: "closed",
    weekly: [
      { days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "12:00", mode: "open" },
      { days: ["mon", "tue", "wed", "thu", "fri"], from: "13:30", to: "18:00", mode: "open" },
    ],
    exceptions: [{ date: "2026-12-25", mode: "closed" }],
  };
}

describe("schedule", () => {
  test("the shop reads as it is written; weekly and exceptions may be left out", () => {
    assert.deepEqual(validateSchedule(shop(), ch), shop());
    assert.deepEqual(
      validateSchedule({ modes: { open: { destination: { type: "hangup" } } }, default: "open" }, ch),
      {
        modes: { open: { destination: { type: "hangup" } } },
        default: "open",
        weekly: [],
        exceptions: [],
      },
    );
  });

  test("overlapping ranges, end before start, unknown modes: each named by its path", () => {
    const s = shop();
    const weekly = s.weekly as Record<string, unknown>[];
    weekly.push({ days: ["fri", "sat"], from: "17:00", to: "19:00", mode: "open" });
    weekly.push({ days: ["sun"], from: "12:00", to: "09:00", mode: "open" });
    weekly.push({ days: ["sun"], from: "19:00", to: "20:00", mode: "lunch" });
    (s.exceptions as Record<string, unknown>[]).push({ date: "2026-02-30", mode: "closed" });
    s.default = "night";
    const problems = problemsOf(() => validateSchedule(s, ch));
    for (const expected of [
      /^weekly\[2\]: overlaps weekly\[1\] on fri$/,
      /^weekly\[3\]\.to: 09:00 is not after from \(12:00\)$/,
      /^weekly\[4\]\.mode: unknown mode "lunch"/,
      /^exceptions\[1\]\.date: "2026-02-30" is not a date/,
      /^default: unknown mode "night"/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in ${problems.join("; ")}`,
      );
    }
  });

  test("the shape: unknown fields, missing parts, bad destinations and labels", () => {
    const s = shop();
    (s.weekly as Record<string, unknown>[])[0].until = "12:00";
    delete (s.weekly as Record<string, unknown>[])[1].to;
    (s.modes as Record<string, Record<string, unknown>>).closed.label = "";
    (s.modes as Record<string, Record<string, unknown>>).open.destination = nested(4);
    const problems = problemsOf(() => validateSchedule(s, ch));
    for (const expected of [
      /^weekly\[0\] has unknown field "until"$/,
      /^weekly\[1\]\.to is required$/,
      /^modes\.closed\.label must be 1 to 40 characters/,
      /^modes\.open\.destination\.then\.then\.then nests too deep/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in ${problems.join("; ")}`,
      );
    }
    assert.deepEqual(
      problemsOf(() => validateSchedule({ default: "open" }, ch)),
      ["modes is required"],
    );
    assert.match(
      problemsOf(() => validateSchedule({ modes: {}, default: "x" }, ch)).join(),
      /modes must be an object of 1 to/,
    );
    assert.match(problemsOf(() => validateSchedule([], ch)).join(), /expected an object/);
  });

  test("a mode with a bad destination still gets its ranges judged", () => {
    const s = shop();
    (s.modes as Record<string, Record<string, unknown>>).open.destination = {
      type: "extension",
      number: "x",
    };
    (s.weekly as Record<string, unknown>[])[1].from = "11:00";
    const problems = problemsOf(() => validateSchedule(s, ch));
    assert.ok(problems.some((p) => p.startsWith("modes.open.destination.number")));
    assert.ok(problems.some((p) => p.startsWith("weekly[1]: overlaps weekly[0]")));
    assert.ok(!problems.some((p) => /unknown mode "open"/.test(p)), problems.join("; "));
  });
});

describe("call flow", () => {
  const flow = {
    state: "normal",
    states: {
      normal: { label: "jour" },
      vacation: {
        label: "vacances",
        destination: {
          type: "announcement",
          announcement: "vacation",
          then: { type: "voicemail", number: "101" },
        },
      },
    },
  };

  test("two states, the first the normal one", () => {
    const read = validateCallFlow(flow, ch);
    assert.deepEqual(read, flow);
    assert.deepEqual(Object.keys(read.states), ["normal", "vacation"]);
  });

  test("not two states, unknown state, bad names and labels", () => {
    assert.match(
      problemsOf(() => validateCallFlow({ state: "day", states: { day: {} } }, ch)).join(),
      /exactly two states/,
    );
    assert.match(
      problemsOf(() => validateCallFlow({ state: "day", states: { a: {}, b: {}, c: {} } }, ch)).join(),
      /exactly two states/,
    );
    assert.match(
      problemsOf(() => validateCallFlow({ ...flow, state: "night" }, ch)).join(),
      /^state "night" must be one of the states: normal, vacation$/,
    );
    const problems = problemsOf(() =>
      validateCallFlow(
        { state: "1", states: { "1": { label: "x".repeat(41) }, Night: { destination: { type: "fax" } } } },
        ch,
      ),
    );
    assert.ok(
      problems.some((p) => /^states\.1 "1": a state name is 1 to 32 lowercase letters/.test(p)),
      problems.join("; "),
    );
    assert.ok(
      problems.some((p) => /^states\.Night "Night"/.test(p)),
      problems.join("; "),
    );
    assert.match(
      problemsOf(() => validateCallFlow({ state: "a", states: { a: { label: "" }, b: {} } }, ch)).join(),
      /states\.a\.label must be 1 to 40 characters/,
    );
    assert.match(
      problemsOf(() =>
        validateCallFlow({ state: "a", states: { a: {}, b: { destination: { type: "extension" } } } }, ch),
      ).join(),
      /states\.b\.destination\.number is required/,
    );
  });
});

describe("tenant settings of issue 9", () => {
  test("waitingSeconds and companyCodes", () => {
    assert.deepEqual(
      validateTenantPatch({ waitingSeconds: 45, companyCodes: { extensions: ["101"], pin: "2580" } }),
      {
        waitingSeconds: 45,
        companyCodes: { extensions: ["101"], pin: "2580" },
      },
    );
    assert.deepEqual(validateTenantPatch({ companyCodes: { extensions: null, pin: null } }), {
      companyCodes: { extensions: null, pin: null },
    });
    assert.deepEqual(validateTenantPatch({ companyCodes: {} }), { companyCodes: {} });
    assert.match(
      problemsOf(() => validateTenantPatch({ waitingSeconds: 9 })).join(),
      /waitingSeconds 9 must be .* from 10 to 300/,
    );
    assert.match(problemsOf(() => validateTenantPatch({ waitingSeconds: 301 })).join(), /from 10 to 300/);
    for (const pin of ["123", "12345678901", "12a4"]) {
      const p = problemsOf(() => validateTenantPatch({ companyCodes: { pin } })).join();
      assert.match(p, /companyCodes\.pin must be 4 to 10 digits/);
      assert.doesNotMatch(p, new RegExp(pin), "never echoes the PIN");
    }
    assert.match(
      problemsOf(() => validateTenantPatch({ companyCodes: { pin: "1111" } })).join(),
      /too easy to guess/,
    );
    assert.match(
      problemsOf(() => validateTenantPatch({ companyCodes: { extensions: ["101", "101"] } })).join(),
      /companyCodes\.extensions\[1\] "101" is listed twice/,
    );
    assert.match(
      problemsOf(() => validateTenantPatch({ companyCodes: { extensions: ["x"] } })).join(),
      /companyCodes\.extensions\[0\] "x" must be 2 to 6 digits/,
    );
    assert.match(
      problemsOf(() => validateTenantPatch({ companyCodes: { who: [] } })).join(),
      /companyCodes has unknown field "who"/,
    );
  });
});

test("announcement text", () => {
  assert.deepEqual(validateAudioText({ text: "Bonjour" }), { text: "Bonjour" });
  assert.deepEqual(validateAudioText({ text: "Grüezi", language: "de" }), { text: "Grüezi", language: "de" });
  assert.match(
    problemsOf(() => validateAudioText({ text: "  " })).join(),
    /text must be 1 to 1000 characters/,
  );
  assert.match(problemsOf(() => validateAudioText({ text: "x".repeat(1001) })).join(), /text must be/);
  assert.match(problemsOf(() => validateAudioText({ text: "x", language: "es" })).join(), /language "es"/);
});
