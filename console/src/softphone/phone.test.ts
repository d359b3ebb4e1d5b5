// The softphone's rules over a fake JsSIP: registration and the lamp, call
// waiting (answering or resuming holds the talking call), DTMF as RFC 4733
// events, blind transfer ending our side once accepted, decline with 486.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { isKeypadKey, normaliseDial, sipUser } from "./dial.ts";
import { SOFTPHONE_DICTIONARIES, softphoneText } from "./i18n.ts";
import { readMessageSummary } from "./message-summary.ts";
import { Phone, type PhoneSnapshot, type SipSession, type SipSubscriber, type SipUa } from "./phone.ts";

class FakeSession extends EventEmitter implements SipSession {
  connection = undefined;
  ended = false;
  held = false;
  readonly dtmf: { tones: string; options: object }[] = [];
  readonly refers: { target: string; handlers: Record<string, (e?: unknown) => void> }[] = [];
  answered = false;
  terminatedWith: object | undefined;

  constructor(
    readonly id: string,
    readonly direction: "incoming" | "outgoing",
    readonly remote_identity: { uri: { user: string }; display_name?: string },
  ) {
    super();
  }
  answer(): void {
    this.answered = true;
    this.emit("accepted", {});
  }
  terminate(options: object = {}): void {
    this.terminatedWith = options;
    this.ended = true;
    this.emit("ended", {});
  }
  /** Re-INVITEs still unanswered: their `done` (JsSIP calls it on the 2xx). */
  readonly pending: (() => void)[] = [];
  /** Answer our re-INVITEs at once (default), or leave them pending. */
  autoAnswerReinvites = true;
  hold(_options?: object, done?: () => void): boolean {
    if (this.held || this.pending.length > 0) return false;
    this.held = true;
    this.emit("hold", { originator: "local" });
    this.reinvite(done);
    return true;
  }
  unhold(_options?: object, done?: () => void): boolean {
    if (!this.held || this.pending.length > 0) return false;
    this.held = false;
    this.emit("unhold", { originator: "local" });
    this.reinvite(done);
    return true;
  }
  private reinvite(done?: () => void): void {
    if (this.autoAnswerReinvites) done?.();
    else this.pending.push(done ?? (() => undefined));
  }
  sendDTMF(tones: string, options: object): void {
    this.dtmf.push({ tones, options });
  }
  refer(target: string, options: { eventHandlers: Record<string, (e?: unknown) => void> }): void {
    this.refers.push({ target, handlers: options.eventHandlers });
  }
  isEstablished(): boolean {
    return this.answered;
  }
  isEnded(): boolean {
    return this.ended;
  }
}

class FakeSubscriber extends EventEmitter implements SipSubscriber {
  subscribed = 0;
  subscribe(): void {
    this.subscribed++;
  }
  terminate(): void {}
}

class FakeUa extends EventEmitter implements SipUa {
  started = false;
  readonly calls: { target: string; session: FakeSession }[] = [];
  readonly subscriptions: { target: string; event: string; subscriber: FakeSubscriber }[] = [];
  private next = 1;
  start(): void {
    this.started = true;
  }
  stop(): void {}
  call(target: string): SipSession {
    const session = new FakeSession(`out-${this.next++}`, "outgoing", { uri: { user: target } });
    this.calls.push({ target, session });
    this.emit("newRTCSession", { session, originator: "local" });
    return session;
  }
  subscribe(target: string, event: string): SipSubscriber {
    const subscriber = new FakeSubscriber();
    this.subscriptions.push({ target, event, subscriber });
    return subscriber;
  }
  ring(number: string, name?: string): FakeSession {
    const session = new FakeSession(`in-${this.next++}`, "incoming", {
      uri: { user: number },
      ...(name ? { display_name: name } : {}),
    });
    this.emit("newRTCSession", { session, originator: "remote" });
    return session;
  }
}

const CREDENTIALS = {
  wsUrl: "wss://pbx.example/sip",
  uri: "sip:101@acme.test",
  authorizationUser: "101",
  realm: "acme.test",
  ha1: "0123456789abcdef0123456789abcdef",
  displayName: "Anna",
};

function started(): { phone: Phone; ua: FakeUa; last: () => PhoneSnapshot; timers: (() => void)[] } {
  const ua = new FakeUa();
  const timers: (() => void)[] = [];
  const phone = new Phone(CREDENTIALS, {
    createUa: () => ua,
    now: () => 1000,
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => undefined,
  });
  let last = phone.snapshot;
  phone.subscribe((s) => {
    last = s;
  });
  phone.start();
  return { phone, ua, last: () => last, timers };
}

describe("the softphone's phone", () => {
  test("registers, then watches its own mailbox; the lamp follows the NOTIFYs", () => {
    const { ua, last, timers } = started();
    assert.ok(ua.started);
    assert.equal(last().registration, "connecting");
    ua.emit("registered", {});
    assert.equal(last().registration, "registered");
    assert.equal(ua.subscriptions.length, 1);
    const [{ target, event, subscriber }] = ua.subscriptions;
    assert.deepEqual([target, event, subscriber.subscribed], ["sip:101@acme.test", "message-summary", 1]);
    assert.equal(last().mailbox, undefined);
    subscriber.emit(
      "notify",
      false,
      {},
      "Messages-Waiting: yes\r\nMessage-Account: sip:101@acme.test\r\nVoice-Message: 2/5\r\n",
    );
    assert.deepEqual(last().mailbox, { waiting: true, newMessages: 2, oldMessages: 5 });
    // A second registration does not subscribe twice; a subscription that ends is asked again later.
    ua.emit("registered", {});
    assert.equal(ua.subscriptions.length, 1);
    subscriber.emit("terminated", 6);
    assert.equal(timers.length, 1);
    timers[0]();
    assert.equal(ua.subscriptions.length, 2);
    ua.emit("registrationFailed", { cause: "Authentication Error" });
    assert.deepEqual([last().registration, last().reason], ["failed", "Authentication Error"]);
  });

  test("call waiting: answering a second call holds the first, resuming swaps them", () => {
    const { phone, ua, last } = started();
    const first = ua.ring("102", "Bob");
    assert.deepEqual(
      last().calls.map((c) => [c.number, c.name, c.state]),
      [["102", "Bob", "ringing"]],
    );
    phone.answer(first.id);
    assert.equal(last().calls[0].state, "active");
    assert.equal(last().calls[0].answeredAt, 1000);
    const second = ua.ring("103");
    phone.answer(second.id);
    assert.ok(first.held, "the first call is held before the second is answered");
    assert.deepEqual(
      last().calls.map((c) => [c.number, c.state]),
      [
        ["102", "held"],
        ["103", "active"],
      ],
    );
    phone.resume(first.id);
    assert.ok(second.held && !first.held);
    assert.deepEqual(
      last().calls.map((c) => c.state),
      ["active", "held"],
    );
    // Dialling holds the talking call too.
    phone.dial("*97");
    assert.ok(first.held);
    assert.equal(ua.calls[0].target, "*97");
  });

  test("resume clicked while the hold's re-INVITE is unanswered waits for it, then resumes", () => {
    const { phone, ua, last } = started();
    const call = ua.ring("102");
    phone.answer(call.id);
    call.autoAnswerReinvites = false;
    phone.hold(call.id);
    assert.equal(last().calls[0].state, "held", "shown at once");
    phone.resume(call.id);
    assert.ok(call.held, "not yet: the hold's re-INVITE is in progress");
    call.pending.shift()?.();
    assert.ok(!call.held);
    assert.equal(last().calls[0].state, "active");
    call.pending.shift()?.();
  });

  test("a hold JsSIP cannot start yet is tried again", () => {
    const { phone, ua, last, timers } = started();
    const call = ua.ring("102");
    phone.answer(call.id);
    call.pending.push(() => undefined); // the far end's re-INVITE in progress
    phone.hold(call.id);
    assert.equal(last().calls[0].state, "active");
    assert.equal(timers.length, 1);
    call.pending.length = 0;
    timers[0]();
    assert.equal(last().calls[0].state, "held");
  });

  test("a ringing call declined gets 486; the lamp of the last call says who", () => {
    const { phone, ua, last } = started();
    const call = ua.ring("0215550100");
    phone.hangUp(call.id);
    assert.deepEqual(call.terminatedWith, { status_code: 486, reason_phrase: "Busy Here" });
    assert.deepEqual(last().calls, []);
    assert.deepEqual(last().lastEnded, { number: "0215550100" });
  });

  test("keypad keys go into a talking call as RFC 4733 events, never into a held one", () => {
    const { phone, ua } = started();
    phone.dial("102");
    const session = ua.calls[0].session;
    phone.dtmf(session.id, "5");
    assert.equal(session.dtmf.length, 0, "not answered yet");
    session.emit("accepted", {});
    for (const key of ["*", "7", "2", "#", "x"]) phone.dtmf(session.id, key);
    assert.deepEqual(
      session.dtmf.map((d) => d.tones),
      ["*", "7", "2", "#"],
    );
    assert.deepEqual(session.dtmf[0].options, { transportType: "RFC2833", duration: 160, interToneGap: 80 });
    phone.hold(session.id);
    phone.dtmf(session.id, "1");
    assert.equal(session.dtmf.length, 4);
  });

  test("blind transfer: REFER to the target in our domain; accepted ends our side, failed says so", () => {
    const { phone, ua, last } = started();
    phone.dial("102");
    const session = ua.calls[0].session;
    session.emit("progress", {});
    assert.equal(last().calls[0].state, "progress");
    session.emit("accepted", {});
    phone.transfer(session.id, "103#");
    assert.equal(session.refers[0].target, "sip:103%23@acme.test");
    assert.deepEqual(last().calls[0].transfer, { target: "103#", state: "pending" });
    session.refers[0].handlers.failed();
    assert.deepEqual(last().calls[0].transfer, { target: "103#", state: "failed" });
    phone.transfer(session.id, "104");
    session.refers[1].handlers.accepted();
    assert.ok(session.ended);
    assert.deepEqual(last().calls, []);
  });

  test("a failed call says why; a refused microphone is shown", () => {
    const { phone, ua, last } = started();
    phone.dial("102");
    ua.calls[0].session.emit("failed", { cause: "Busy" });
    assert.deepEqual(last().lastEnded, { number: "102", failed: "Busy" });
    assert.equal(last().noMicrophone, false);
    phone.dial("103");
    ua.calls[1].session.emit("failed", { cause: "User Denied Media Access" });
    assert.equal(last().noMicrophone, true);
  });

  test("the far end's hold is shown apart from ours", () => {
    const { phone, ua, last } = started();
    const call = ua.ring("102");
    phone.answer(call.id);
    call.emit("hold", { originator: "remote" });
    assert.deepEqual([last().calls[0].state, last().calls[0].remoteHold], ["active", true]);
    call.emit("unhold", { originator: "remote" });
    assert.equal(last().calls[0].remoteHold, false);
  });
});

describe("dialling, the lamp's body, the words", () => {
  test("numbers as people type them; anything else is refused", () => {
    assert.equal(normaliseDial(" +41 21 555 01 00 "), "+41215550100");
    assert.equal(normaliseDial("(021) 555-01.00"), "0215550100");
    assert.equal(normaliseDial("*72 0215550100"), "*720215550100");
    assert.equal(normaliseDial("*97"), "*97");
    for (const bad of ["", "  ", "abc", "1+2", "sip:101@x", "1".repeat(33), "10;transport=tcp"])
      assert.equal(normaliseDial(bad), undefined, bad);
    assert.equal(sipUser("*21#"), "*21%23");
    assert.ok(isKeypadKey("#") && isKeypadKey("0") && !isKeypadKey("A") && !isKeypadKey("Enter"));
  });

  test("message-summary bodies (RFC 3842 §5.2)", () => {
    assert.deepEqual(readMessageSummary("Messages-Waiting: no\r\nVoice-Message: 0/3 (0/0)\r\n"), {
      waiting: false,
      newMessages: 0,
      oldMessages: 3,
    });
    assert.deepEqual(readMessageSummary("messages-waiting:YES\nvoice-message: 12/0"), {
      waiting: true,
      newMessages: 12,
      oldMessages: 0,
    });
    assert.equal(readMessageSummary(undefined), undefined);
    assert.equal(readMessageSummary("Voice-Message: 1/0"), undefined, "no lamp state: nothing to show");
  });

  test("four languages with the same words, variables filled in", () => {
    const keys = Object.keys(SOFTPHONE_DICTIONARIES.en).sort();
    for (const lang of ["fr", "de", "it"] as const) {
      assert.deepEqual(Object.keys(SOFTPHONE_DICTIONARIES[lang]).sort(), keys, lang);
      for (const key of keys) {
        const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        const k = key as keyof (typeof SOFTPHONE_DICTIONARIES)["en"];
        assert.deepEqual(
          vars(SOFTPHONE_DICTIONARIES[lang][k]),
          vars(SOFTPHONE_DICTIONARIES.en[k]),
          `${lang} ${key}`,
        );
      }
    }
    assert.equal(softphoneText("fr")("call.incoming", { who: "Bob (102)" }), "Appel entrant de Bob (102)");
    assert.equal(softphoneText("de")("keypad.key", { key: "#" }), "Taste #");
  });
});
