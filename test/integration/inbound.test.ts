// The company's incoming calls, end to end on loopback: a harness carrier
// calls the company's number at chosen times of the PBX's (injected) clock,
// and the call lands where the schedule, the call flow switch and the
// owner's overrides say. The owner bends the rules from a phone (*20, *11,
// *30) and hears each confirmation; a lamp follows; a recorded
// announcement is heard by the next caller; a caller kept waiting hears the
// waiting announcement after 30 s of the PBX's time.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { DateTime } from "luxon";
import { FakeClock } from "../../src/util/clock.ts";
import { concat, correlate, frameEnergies, silence, sine } from "../harness/audio.ts";
import type { Call, SipPhone } from "../harness/sip-phone.ts";
import { Subscriber } from "../harness/subscriber.ts";
import { addCarrier } from "../support/carrier.ts";
import { ClockDriver } from "../support/clock-driver.ts";
import { Phones } from "../support/phones.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const ZONE = "Europe/Zurich";
const MAIN = "+41215550100";
/** Zurich wall time on Monday 7 December 2026 (or another day), as the PBX's clock. */
const at = (time: string, date = "2026-12-07") =>
  DateTime.fromISO(`${date}T${time}`, { zone: ZONE }).toMillis();

const clock = new FakeClock(at("08:30"));
/** The PBX's clock follows real time (its media plays at its pace) and jumps when a test says. */
const time = new ClockDriver(clock);
let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
let carrier: SipPhone;

before(async () => {
  // The clock jumps by tens of seconds here: the media of the jump is paced
  // on this thread and sent at once, and through a media thread that burst
  // arrives late enough to fall in the next listening window. Real time
  // never jumps; these tests are about the PBX's time, so media stays here.
  pbx = await startTestPbx({ clock, config: { mediaThreads: 0 } });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  const ok = (r: { status: number; body: unknown }, what: string) =>
    assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  ok(
    await pbx.api("PATCH", "/api/v1/tenants/acme/features", {
      schedules: true,
      callFlowControl: true,
      announcements: true,
    }),
    "features",
  );
  ok(
    await pbx.api("POST", "/api/v1/tenants/acme/ring-groups", {
      name: "shop",
      members: ["102", "103"],
      strategy: "simultaneous",
      timeout: 90,
      fallback: { type: "hangup" },
    }),
    "ring group",
  );
  const weekdays = ["mon", "tue", "wed", "thu", "fri"];
  ok(
    await pbx.api("PUT", "/api/v1/tenants/acme/schedule", {
      modes: {
        open: { destination: { type: "ring-group", name: "shop" } },
        lunch: { destination: { type: "announcement", announcement: "closed", then: { type: "hangup" } } },
        closed: { destination: { type: "announcement", announcement: "closed", then: { type: "hangup" } } },
      },
      default: "closed",
      weekly: [
        { days: weekdays, from: "08:00", to: "12:00", mode: "open" },
        { days: weekdays, from: "12:00", to: "13:30", mode: "lunch" },
        { days: weekdays, from: "13:30", to: "18:00", mode: "open" },
      ],
      exceptions: [{ date: "2026-12-25", mode: "closed" }],
    }),
    "schedule",
  );
  carrier = await addCarrier(pbx);
  ok(
    await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
      number: MAIN,
      destination: { type: "inbound-flow" },
    }),
    "number",
  );
});

after(async () => {
  await carrier.close();
  await pbx.stop();
  await time.stop();
});

afterEach(() => phones.cleanup());

const io = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 8000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await io(25);
  }
}

/** Moves the PBX's clock to a wall time, letting the network catch up. */
async function moveTo(ms: number): Promise<void> {
  await time.moveTo(ms);
  await io();
}

/** The share of a stretch of audio that is Swiss ringback (425 Hz): near 1 for ringback, low for speech. */
function ringbackShare(pcm: Int16Array): number {
  let total = 0;
  for (const s of pcm) total += s * s;
  if (total === 0) return 1;
  const w = (2 * Math.PI * 425) / 8000;
  let s1 = 0;
  let s2 = 0;
  for (const x of pcm) {
    const s0 = x + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2;
  return (2 * power) / pcm.length / total;
}

/** The audio the caller received during the next `ms` of real time. */
async function listen(call: Call, ms: number): Promise<Int16Array> {
  const from = call.receivedPcm().length;
  await io(ms);
  return call.receivedPcm().subarray(from);
}

const sounding = (pcm: Int16Array) => frameEnergies(pcm).filter((e) => e > 300).length;

async function callTheCompany(): Promise<Call> {
  const call = await carrier.call(`${MAIN}@127.0.0.1`);
  await call.waitFor("answered");
  return call;
}

test("open hours: the company's number rings the shop group; the caller waits answered, with ringback, and talks to whoever answers", async () => {
  await moveTo(at("09:00"));
  const bob = await phones.registered("102");
  const carol = await phones.registered("103");
  bob.autoAnswer({ afterMs: 300 });
  carol.onIncomingCall = (c) => c.ring();
  const call = await callTheCompany();
  const [forBob, forCarol] = await Promise.all([bob.waitForCall(), carol.waitForCall()]);
  assert.ok(forBob && forCarol, "both members ring");
  await forBob.waitForAck();
  await forCarol.waitFor("ended");
  // A pattern, not a steady tone: the correlation follows the envelope (and ringback came before).
  const tone = concat(sine(1100, 300), silence(200), sine(700, 300));
  await forBob.playAudio(tone);
  await io(150);
  const heard = correlate(call.receivedPcm(), tone);
  assert.ok(heard.score > 0.9, `the caller hears who answered (${JSON.stringify(heard)})`);
  await call.bye();
  await forBob.waitFor("ended");
});

test("after 30 s of waiting (the PBX's time) the caller hears the waiting announcement, between ringback", async () => {
  await moveTo(at("09:10"));
  const bob = await phones.registered("102");
  bob.onIncomingCall = (c) => c.ring();
  const call = await callTheCompany();
  const answeredAt = clock.now();
  const ringing = await bob.waitForCall();
  const before = await listen(call, 1200);
  assert.ok(sounding(before) > 0, "ringback is heard while waiting");
  assert.ok(
    ringbackShare(before) > 0.8,
    `only ringback before 30 s (share ${ringbackShare(before).toFixed(2)})`,
  );
  // The clock followed real time while listening (longer than 1.2 s on a
  // busy machine): it is moved to 28.2 s of waiting, whatever that took.
  await time.skip(answeredAt + 28_200 - clock.now());
  const still = await listen(call, 600);
  assert.ok(
    ringbackShare(still) > 0.8,
    `nothing said before 30 s (share ${ringbackShare(still).toFixed(2)})`,
  );
  await time.skip(1_500);
  const said = await listen(call, 2500);
  assert.ok(sounding(said) > 40, "the announcement is heard");
  assert.ok(ringbackShare(said) < 0.5, `speech, not ringback (share ${ringbackShare(said).toFixed(2)})`);
  assert.equal(ringing.state === "ended", false, "the phones still ring");
  await call.bye();
  await ringing.waitFor("ended");
});

test("lunch and closed hours: the closed announcement, then the PBX hangs up; a holiday is closed all day", async () => {
  for (const when of [at("12:30"), at("19:00"), at("10:00", "2026-12-25")]) {
    await moveTo(when);
    const bob = await phones.registered("102");
    let rang = false;
    bob.onIncomingCall = () => {
      rang = true;
    };
    const call = await callTheCompany();
    await untilQuietAfterSound(call);
    assert.equal((await call.waitFor("ended"))?.reason, "bye", "the PBX hangs up after the announcement");
    assert.equal(rang, false, "nobody rings while closed");
    await phones.cleanup();
  }
});

test("*20 at 11:45 closes early until 13:30 with a spoken confirmation and a lamp; the schedule returns by itself", async () => {
  await moveTo(at("11:45", "2026-12-28"));
  const owner = await phones.registered("101");
  const lamp = new Subscriber(owner, "*20", "dialog");
  assert.ok((await lamp.subscribe(14_400)).status < 300);
  await lamp.waitForNotifies(1);
  assert.doesNotMatch(lamp.lastBody, /<state>confirmed<\/state>/, "no override yet");
  const code = await owner.call("*20");
  await code.waitFor("answered");
  await untilQuietAfterSound(code);
  await code.waitFor("ended");
  await waitUntil(() => /<state>confirmed<\/state>/.test(lamp.lastBody), "the *20 lamp lights");
  const state = await pbx.api<{ mode: string; overridden: boolean; until: string }>(
    "GET",
    "/api/v1/tenants/acme/schedule/state",
  );
  assert.equal(state.body.mode, "lunch");
  assert.equal(state.body.overridden, true);
  assert.equal(DateTime.fromISO(state.body.until).setZone(ZONE).toFormat("HH:mm"), "13:30");

  // 11:50: the shop is closed for callers.
  await moveTo(at("11:50", "2026-12-28"));
  const bob = await phones.registered("102");
  let rang = false;
  bob.onIncomingCall = () => {
    rang = true;
  };
  const closed = await callTheCompany();
  await untilQuietAfterSound(closed);
  await closed.waitFor("ended");
  assert.equal(rang, false, "the override closed the shop");
  await phones.cleanup();

  // 13:30: the override ends by itself, the lamp goes out, the shop rings again.
  await moveTo(at("13:00", "2026-12-28"));
  const owner2 = await phones.registered("101");
  const lamp2 = new Subscriber(owner2, "*20", "dialog");
  assert.ok((await lamp2.subscribe(3600)).status < 300);
  await lamp2.waitForNotifies(1);
  assert.match(lamp2.lastBody, /<state>confirmed<\/state>/, "still overridden at 13:00");
  await moveTo(at("13:31", "2026-12-28"));
  await waitUntil(() => !/<state>confirmed<\/state>/.test(lamp2.lastBody), "the *20 lamp goes out");
  const carol = await phones.registered("103");
  carol.onIncomingCall = (c) => c.ring();
  const open = await callTheCompany();
  const ringing = await carol.waitForCall();
  await open.bye();
  await ringing.waitFor("ended");
});

test("*11 switches to holiday mode (lamp on, holiday announcement for callers) and back", async () => {
  await moveTo(at("10:00", "2026-12-29"));
  const owner = await phones.registered("101");
  const lamp = new Subscriber(owner, "*11", "dialog");
  assert.ok((await lamp.subscribe(3600)).status < 300);
  await lamp.waitForNotifies(1);
  const toggle = async () => {
    const code = await owner.call("*11");
    await code.waitFor("answered");
    await untilQuietAfterSound(code);
    await code.waitFor("ended");
  };
  await toggle();
  await waitUntil(() => /<state>confirmed<\/state>/.test(lamp.lastBody), "the *11 lamp lights");
  const flow = await pbx.api<{ state: string }>("GET", "/api/v1/tenants/acme/callflow");
  assert.equal(flow.body.state, "vacation");
  const bob = await phones.registered("102");
  let rang = false;
  bob.onIncomingCall = () => {
    rang = true;
  };
  const call = await callTheCompany();
  await untilQuietAfterSound(call);
  await call.waitFor("ended");
  assert.equal(rang, false, "on holiday nobody rings");
  await toggle();
  await waitUntil(() => !/<state>confirmed<\/state>/.test(lamp.lastBody), "the *11 lamp goes out");
  assert.equal(
    (await pbx.api<{ state: string }>("GET", "/api/v1/tenants/acme/callflow")).body.state,
    "normal",
  );
});

test("*30: the owner records a welcome message from the phone; the next caller hears it first", async () => {
  await moveTo(at("10:00", "2026-12-30"));
  const owner = await phones.registered("101");
  const code = await owner.call("*30");
  await code.waitFor("answered");
  await untilQuietAfterSound(code); // title and menu
  await code.sendInfoDigit("2");
  await untilQuietAfterSound(code); // "after the tone…" and the beep
  const message = concat(sine(1300, 500, 9000), silence(300), sine(900, 700, 9000));
  await code.playAudio(message);
  await code.sendInfoDigit("#");
  await untilQuietAfterSound(code); // review menu
  await code.sendInfoDigit("1");
  await untilQuietAfterSound(code); // saved
  await code.bye().catch(() => undefined);
  const listed = await pbx.api<Array<{ kind: string; custom: boolean; source: string }>>(
    "GET",
    "/api/v1/tenants/acme/announcements",
  );
  assert.deepEqual(
    listed.body.find((a) => a.kind === "welcome"),
    { ...listed.body.find((a) => a.kind === "welcome"), custom: true, source: "recording" },
  );

  const bob = await phones.registered("102");
  bob.onIncomingCall = (c) => c.ring();
  const call = await callTheCompany();
  await waitUntil(() => correlate(call.receivedPcm(), message).score > 0.8, "the welcome is heard");
  // Then the shop rings.
  const ringing = await bob.waitForCall();
  await call.bye();
  await ringing.waitFor("ended");
  assert.equal((await pbx.api("DELETE", "/api/v1/tenants/acme/announcements/welcome")).status, 204);
});
