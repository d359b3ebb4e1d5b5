// The subscription state machine through the hub, on the injected clock and
// a fake UA core: answers to SUBSCRIBE, the first NOTIFY, NOTIFY on change
// only, refresh, unsubscribe, expiry, bounds, refused NOTIFYs, the cap per
// device, and a restart from the store.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import {
  getCSeq,
  getHeader,
  getHeaders,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding } from "../../store/types.ts";
import { RESTORE_SEQUENCE_MARGIN } from "./event-hub.ts";
import {
  FakeTx,
  type Fixture,
  hubFixture,
  PHONE,
  type SubscribeSpec,
  settle,
  subscribeRequest,
} from "./hub.test-helper.ts";

let f: Fixture;
beforeEach(async () => {
  f = await hubFixture();
});
afterEach(() => f.close());

async function subscribe(
  spec: SubscribeSpec = {},
  who: [string, string] = ["acme", "101"],
  remote: RemoteAddress = PHONE,
): Promise<FakeTx> {
  const req = subscribeRequest(spec);
  const tx = new FakeTx(req, remote);
  const tenant = await f.store.tenants.get(who[0]);
  assert.ok(tenant);
  await f.hub.subscribe(req, tx, { tenant, extension: await f.ext(who[0], who[1]) });
  await settle();
  return tx;
}

/** A request in the dialog that `ok` (our 2xx) made, routed as the UA core does (§12.2.2). */
async function inDialog(
  ok: SipResponse,
  spec: SubscribeSpec,
  remote: RemoteAddress = PHONE,
): Promise<FakeTx> {
  const toTag = /tag=([^;>\s]+)/.exec(getHeader(ok, "To") ?? "")?.[1];
  const req = subscribeRequest({ ...spec, toTag });
  const tx = new FakeTx(req, remote);
  const dialog = f.ua.findDialog(req);
  if (!dialog) {
    tx.respond({
      type: "response",
      status: 481,
      reason: "Call/Transaction Does Not Exist",
      headers: [],
      body: Buffer.alloc(0),
    });
    return tx;
  }
  assert.equal(dialog.acceptRequest(req), "ok");
  assert.equal(f.hub.onDialogRequest(req, tx, dialog), true);
  await settle();
  return tx;
}

const bodyOf = (req: SipRequest) => req.body.toString("utf8");
const notifies = () => f.ua.notifies.map((n) => n.request);
const last = () => {
  const n = f.ua.notifies.at(-1);
  assert.ok(n, "a NOTIFY was sent");
  return n.request;
};
const versionOf = (req: SipRequest) => Number(/version="(\d+)"/.exec(bodyOf(req))?.[1]);

function binding(over: Partial<Binding> = {}): Binding {
  return {
    tenant: "acme",
    extension: "102",
    contact: "sip:102@192.0.2.20:5060",
    callId: "reg@192.0.2.20",
    cseq: 1,
    expiresAt: f.clock.now() + 3600_000,
    source: { transport: "UDP", address: "192.0.2.20", port: 5060 },
    ...over,
  };
}

describe("SUBSCRIBE answers", () => {
  test("dialog: 200 with our tag, Contact and the granted Expires; the first NOTIFY at once, idle, version 0", async () => {
    const tx = await subscribe({ expires: 600 });
    const ok = tx.final;
    assert.equal(ok.status, 200);
    assert.match(getHeader(ok, "To") ?? "", /<sip:102@acme\.test>;tag=\w+/);
    assert.equal(getHeader(ok, "Contact"), "<sip:192.0.2.1:5060>");
    assert.equal(getHeader(ok, "Expires"), "600");
    assert.equal(f.ua.dialogs.size, 1, "the subscription is a dialog of the UA core");
    assert.equal(notifies().length, 1);
    const n = last();
    assert.equal(n.method, "NOTIFY");
    assert.equal(n.uri.host, "192.0.2.10");
    assert.equal(n.uri.port, 5062);
    assert.equal(getHeader(n, "Event"), "dialog");
    assert.equal(getHeader(n, "Subscription-State"), "active;expires=600");
    assert.equal(getHeader(n, "Content-Type"), "application/dialog-info+xml");
    assert.equal(getHeader(n, "Contact"), "<sip:192.0.2.1:5060>");
    assert.match(getHeader(n, "From") ?? "", /^<sip:102@acme\.test>;tag=/);
    assert.equal(getHeader(n, "To"), "<sip:101@acme.test>;tag=ft1");
    assert.match(
      bodyOf(n),
      /<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:102@acme\.test">/,
    );
    assert.match(bodyOf(n), /<dialog id="102">\r\n<state>terminated<\/state>/);
  });

  test("489 with Allow-Events for an unknown or missing event package; nothing kept", async () => {
    for (const event of ["conference", "dialog.winfo", null]) {
      const tx = await subscribe({ event });
      assert.equal(tx.final.status, 489, String(event));
      assert.equal(getHeader(tx.final, "Allow-Events"), "dialog, presence, message-summary");
      assert.match(getHeader(tx.final, "To") ?? "", /tag=/);
    }
    assert.equal(notifies().length, 0);
    assert.equal(f.ua.dialogs.size, 0);
    assert.deepEqual(await f.store.subscriptions.list(), []);
  });

  test("Expires: the package default when missing, cut to the maximum, 423 with Min-Expires under the minimum", async () => {
    assert.equal(getHeader((await subscribe({ callId: "a" })).final, "Expires"), "3600");
    assert.equal(getHeader((await subscribe({ callId: "b", expires: 86400 })).final, "Expires"), "7200");
    const brief = (await subscribe({ callId: "c", expires: 59 })).final;
    assert.equal(brief.status, 423);
    assert.equal(getHeader(brief, "Min-Expires"), "60");
    assert.equal(getHeader((await subscribe({ callId: "e", expires: 60 })).final, "Expires"), "60");
    // The same device subscribing to the same thing again replaces its earlier subscription.
    assert.equal(f.hub.list("acme").length, 1);
  });

  test("bounds are configurable", async () => {
    await f.restart({ minExpires: 120, maxExpires: 300 });
    assert.equal(getHeader((await subscribe({ expires: 100 })).final, "Min-Expires"), "120");
    assert.equal(getHeader((await subscribe({ callId: "x", expires: 3600 })).final, "Expires"), "300");
  });

  test("404 for an unknown extension or code, 403 for another company's domain, never a resource of another tenant", async () => {
    assert.equal((await subscribe({ uri: "sip:999@acme.test" })).final.status, 404);
    assert.equal((await subscribe({ uri: "sip:*72@acme.test" })).final.status, 404, "not a lamp");
    assert.equal((await subscribe({ uri: "sip:acme.test" })).final.status, 404);
    assert.equal((await subscribe({ uri: "sip:101@bistro.test" })).final.status, 403);
    // An address of ours rather than a domain: the subscriber's own company.
    const byIp = await subscribe({ uri: "sip:102@192.0.2.1" });
    assert.equal(byIp.final.status, 200);
    // bistro's 101 watching "102" finds nothing: acme's 102 is not in its company.
    const other = await subscribe({ uri: "sip:102@bistro.test", callId: "b1" }, ["bistro", "101"]);
    assert.equal(other.final.status, 404);
  });

  test("406 when the subscriber does not accept the package's body type", async () => {
    const tx = await subscribe({ event: "presence", accept: "application/xpidf+xml" });
    assert.equal(tx.final.status, 406);
    assert.equal(getHeader(tx.final, "Accept"), "application/pidf+xml");
    const ok = await subscribe({
      event: "dialog",
      accept: "application/dialog-info+xml, multipart/related",
      callId: "z",
    });
    assert.equal(ok.final.status, 200);
  });

  test("400 without a Contact: a subscription is a dialog", async () => {
    assert.equal((await subscribe({ contact: null })).final.status, 400);
  });

  test("the Event id parameter is echoed in every NOTIFY (RFC 6665 §8.2.1)", async () => {
    await subscribe({ event: "dialog;id=key7" });
    assert.equal(getHeader(last(), "Event"), "dialog;id=key7");
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(getHeader(last(), "Event"), "dialog;id=key7");
  });

  test("a fetch (Expires: 0): 200, one NOTIFY terminated;reason=timeout with the state, nothing kept", async () => {
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "initiator" }]);
    const tx = await subscribe({ expires: 0 });
    assert.equal(tx.final.status, 200);
    assert.equal(getHeader(tx.final, "Expires"), "0");
    assert.equal(notifies().length, 1);
    assert.equal(getHeader(last(), "Subscription-State"), "terminated;reason=timeout");
    assert.match(bodyOf(last()), /<state>confirmed<\/state>/);
    assert.equal(f.ua.dialogs.size, 0);
    assert.deepEqual(f.hub.list("acme"), []);
    assert.deepEqual(await f.store.subscriptions.list(), []);
  });
});

describe("NOTIFY on change", () => {
  test("a call early → confirmed → ended: one NOTIFY each, versions rising; the same state again sends nothing", async () => {
    await subscribe();
    f.hub.publishDialogs("acme", "102", [
      { id: "c1", state: "early", direction: "recipient", remote: { number: "103", displayName: "Carol" } },
    ]);
    await settle();
    assert.match(bodyOf(last()), /<dialog id="c1" direction="recipient">\r\n<state>early<\/state>/);
    assert.match(bodyOf(last()), /<identity display="Carol">sip:103@acme\.test<\/identity>/);
    f.hub.publishDialogs("acme", "102", [
      { id: "c1", state: "early", direction: "recipient", remote: { number: "103", displayName: "Carol" } },
    ]);
    await settle();
    assert.equal(notifies().length, 2, "no NOTIFY for the same state");
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "recipient" }]);
    await settle();
    f.hub.publishDialogs("acme", "102", []);
    await settle();
    const bodies = notifies().map(bodyOf);
    assert.equal(bodies.length, 4);
    assert.match(bodies[2], /<state>confirmed<\/state>/);
    assert.match(bodies[3], /<dialog id="102">\r\n<state>terminated<\/state>/);
    assert.deepEqual(notifies().map(versionOf), [0, 1, 2, 3]);
    const seqs = notifies().map((n) => getCSeq(n).seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0] + i),
      "CSeq rises by one per NOTIFY",
    );
    // Other extensions' and other companies' changes are not ours.
    f.hub.publishDialogs("acme", "103", [{ id: "c2", state: "early", direction: "recipient" }]);
    f.hub.publishDialogs("bistro", "102", [{ id: "c3", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(notifies().length, 4);
  });

  test("one NOTIFY at a time: changes while one is unanswered go out once, as the latest state", async () => {
    await subscribe();
    f.ua.answer = "hold";
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "recipient" }]);
    f.hub.publishDialogs("acme", "102", [
      { id: "c1", state: "confirmed", direction: "recipient" },
      { id: "c2", state: "early", direction: "recipient" },
    ]);
    await settle();
    assert.equal(notifies().length, 2, "the second waits for the first's answer");
    f.ua.answer = 200;
    f.ua.notifies[1].answer(200);
    await settle();
    assert.equal(notifies().length, 3);
    assert.match(bodyOf(last()), /id="c2"/);
    // A flip back to what was last sent while one is in flight sends nothing more.
    f.ua.answer = "hold";
    f.hub.publishDialogs("acme", "102", []);
    await settle();
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "recipient" }]);
    f.hub.publishDialogs("acme", "102", []);
    f.ua.notifies[3].answer(200);
    await settle();
    assert.equal(notifies().length, 4);
  });

  test("the display name of a caller is XML-escaped", async () => {
    await subscribe({ uri: "sip:103@acme.test" });
    f.hub.publishDialogs("acme", "103", [
      {
        id: 'x"1',
        state: "early",
        direction: "recipient",
        remote: { number: "102", displayName: 'Bob <Sales> & "Co"' },
      },
    ]);
    await settle();
    assert.match(bodyOf(last()), /<dialog id="x&quot;1"/);
    assert.match(bodyOf(last()), /display="Bob &lt;Sales&gt; &amp; &quot;Co&quot;"/);
  });
});

describe("refresh, unsubscribe, expiry", () => {
  test("a refresh moves the expiry, answers 200 with Expires and NOTIFYs the full state", async () => {
    const ok = (await subscribe({ expires: 600 })).final;
    await f.clock.advance(500_000);
    const refresh = await inDialog(ok, { expires: 600, cseq: 2 });
    assert.equal(refresh.final.status, 200);
    assert.equal(getHeader(refresh.final, "Expires"), "600");
    assert.equal(notifies().length, 2, "a refresh gets a NOTIFY even without a change");
    assert.equal(getHeader(last(), "Subscription-State"), "active;expires=600");
    await f.clock.advance(599_000);
    assert.equal(f.hub.list("acme").length, 1, "alive: the refresh moved the expiry");
    assert.equal(notifies().length, 2);
    const [kept] = await f.store.subscriptions.list();
    assert.equal(kept.expiresAt, f.clock.now() + 1000);
    assert.equal(kept.remoteSeq, 2);
  });

  test("Expires: 0 in the dialog unsubscribes: 200, a final NOTIFY terminated;reason=timeout, the dialog forgotten", async () => {
    const ok = (await subscribe()).final;
    const tx = await inDialog(ok, { expires: 0, cseq: 2 });
    assert.equal(tx.final.status, 200);
    assert.equal(getHeader(tx.final, "Expires"), "0");
    assert.equal(getHeader(last(), "Subscription-State"), "terminated;reason=timeout");
    assert.match(bodyOf(last()), /<dialog-info /, "the final NOTIFY carries the state");
    assert.equal(f.ua.dialogs.size, 0);
    assert.deepEqual(f.hub.list("acme"), []);
    assert.deepEqual(await f.store.subscriptions.list(), []);
    assert.equal(f.clock.timerCount, 0);
    assert.equal((await inDialog(ok, { expires: 600, cseq: 3 })).final.status, 481);
  });

  test("at expiry: NOTIFY terminated;reason=timeout, then gone", async () => {
    await subscribe({ expires: 120 });
    await f.clock.advance(119_999);
    assert.equal(notifies().length, 1);
    await f.clock.advance(1);
    await settle();
    assert.equal(notifies().length, 2);
    assert.equal(getHeader(last(), "Subscription-State"), "terminated;reason=timeout");
    assert.deepEqual(f.hub.list("acme"), []);
    assert.equal(f.ua.dialogs.size, 0);
    assert.deepEqual(await f.store.subscriptions.list(), []);
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(notifies().length, 2);
  });

  test("a refresh under the minimum is 423 and changes nothing; another event in the dialog is 489; other methods 405", async () => {
    const ok = (await subscribe({ expires: 600 })).final;
    const brief = await inDialog(ok, { expires: 10, cseq: 2 });
    assert.equal(brief.final.status, 423);
    const other = await inDialog(ok, { event: "presence", cseq: 3 });
    assert.equal(other.final.status, 489);
    const bye = await inDialog(ok, { method: "BYE", cseq: 4 });
    assert.equal(bye.final.status, 405);
    assert.equal(notifies().length, 1);
    await f.clock.advance(600_000);
    await settle();
    assert.equal(getHeader(last(), "Subscription-State"), "terminated;reason=timeout");
  });

  test("a dialog that is not a subscription is not the hub's", async () => {
    const ok = (await subscribe()).final;
    const dialog = [...f.ua.dialogs.values()][0];
    assert.equal(f.hub.ownsDialog(dialog), true);
    const stranger = { id: "other" } as unknown as typeof dialog;
    assert.equal(f.hub.ownsDialog(stranger), false);
    const req = subscribeRequest({ toTag: "nope" });
    assert.equal(f.hub.onDialogRequest(req, new FakeTx(req), stranger), false);
    assert.ok(ok);
  });
});

describe("refused NOTIFYs", () => {
  for (const [answer, what] of [
    [481, "481"],
    [408, "a 408"],
    ["timeout", "a timeout (synthetic 408)"],
  ] as const) {
    test(`${what} drops the subscription without another NOTIFY`, async () => {
      await subscribe();
      f.ua.answer = answer;
      f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
      await settle();
      assert.equal(notifies().length, 2);
      assert.deepEqual(f.hub.list("acme"), []);
      assert.equal(f.ua.dialogs.size, 0);
      assert.deepEqual(await f.store.subscriptions.list(), []);
      assert.equal(f.clock.timerCount, 0);
      f.hub.publishDialogs("acme", "102", []);
      await settle();
      assert.equal(notifies().length, 2);
    });
  }

  test("another error (500) keeps the subscription", async () => {
    await subscribe();
    f.ua.answer = 500;
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(f.hub.list("acme").length, 1);
    f.ua.answer = 200;
    f.hub.publishDialogs("acme", "102", []);
    await settle();
    assert.equal(notifies().length, 3);
  });
});

describe("cap per device", () => {
  test("beyond the cap: 403; another device is counted apart; an unsubscribe frees a place", async () => {
    await f.restart({ maxPerDevice: 2 });
    const a = await subscribe({ callId: "a", uri: "sip:102@acme.test" });
    await subscribe({ callId: "b", uri: "sip:103@acme.test" });
    const over = await subscribe({ callId: "c", uri: "sip:103@acme.test", event: "presence" });
    assert.equal(over.final.status, 403);
    assert.equal(over.final.reason, "Too Many Subscriptions");
    const elsewhere = await subscribe(
      { callId: "d", uri: "sip:103@acme.test", event: "presence", contact: "sip:101@192.0.2.11:5062" },
      ["acme", "101"],
      { ...PHONE, address: "192.0.2.11" },
    );
    assert.equal(elsewhere.final.status, 200);
    await inDialog(a.final, { callId: "a", expires: 0, cseq: 2 });
    assert.equal(
      (await subscribe({ callId: "e", uri: "sip:103@acme.test", event: "presence" })).final.status,
      200,
    );
  });

  test("behind a trusted proxy each phone has its own cap (deps.sourceOf), not the proxy's address", async () => {
    const proxy: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5060 };
    // What TrustedProxies.sourceOf does, by Call-ID here: the phone behind the proxy.
    await f.restart(
      { maxPerDevice: 2 },
      {
        sourceOf: (req, remote) =>
          remote.address === proxy.address
            ? {
                ...remote,
                address: getHeader(req, "Call-ID")?.startsWith("x") ? "198.51.100.7" : "198.51.100.8",
              }
            : remote,
      },
    );
    const at = (callId: string, uri: string) => subscribe({ callId, uri }, ["acme", "101"], proxy);
    assert.equal((await at("x1", "sip:102@acme.test")).final.status, 200);
    assert.equal((await at("x2", "sip:103@acme.test")).final.status, 200);
    assert.equal((await at("x3", "sip:*11@acme.test")).final.status, 403, "the first phone is full");
    assert.equal((await at("y1", "sip:102@acme.test")).final.status, 200, "the second is counted apart");
    // The dialog itself still goes to the proxy (where the SUBSCRIBE came from).
    assert.deepEqual(f.ua.dialogs.size, 3);
    for (const d of f.ua.dialogs.values()) assert.equal(d.remote.address, "192.0.2.1");
  });

  test("through a record-routing proxy: the 200 says its Record-Route back, the NOTIFYs follow it (RFC 3261 §12.1.1)", async () => {
    const rr = ["<sip:192.0.2.1:5060;lr;did=1a2>", "<sip:192.0.2.2;lr>"];
    const tx = await subscribe({ callId: "rr", recordRoute: rr });
    assert.equal(tx.final.status, 200);
    assert.deepEqual(getHeaders(tx.final, "Record-Route"), rr);
    assert.deepEqual(getHeaders(last(), "Route"), rr);
  });

  test("a device subscribing again to the same thing (a restarted phone) replaces its old subscription", async () => {
    await f.restart({ maxPerDevice: 2 });
    for (const callId of ["boot1-a", "boot2-a", "boot3-a"]) {
      assert.equal((await subscribe({ callId, fromTag: callId })).final.status, 200);
      assert.equal((await subscribe({ callId: `${callId}-b`, uri: "sip:103@acme.test" })).final.status, 200);
    }
    const views = f.hub.list("acme");
    assert.equal(views.length, 2);
    assert.equal(f.ua.dialogs.size, 2);
    assert.equal((await f.store.subscriptions.list()).length, 2);
  });
});

describe("presence", () => {
  test("closed without a device, open once one registers, on the phone in an answered call", async () => {
    await subscribe({ event: "presence", expires: 600 });
    assert.equal(getHeader(last(), "Content-Type"), "application/pidf+xml");
    assert.match(bodyOf(last()), /<basic>closed<\/basic>/);
    f.devices.set("acme/102", [binding()]);
    f.hub.registrationsChanged("acme", "102");
    await settle();
    await settle();
    assert.match(bodyOf(last()), /<basic>open<\/basic>/);
    assert.doesNotMatch(bodyOf(last()), /on-the-phone/);
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(notifies().length, 2, "ringing is not on the phone");
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "recipient" }]);
    await settle();
    assert.match(bodyOf(last()), /<note>On the phone<\/note>/);
    assert.match(bodyOf(last()), /<rpid:on-the-phone\/>/);
    f.devices.set("acme/102", []);
    f.hub.registrationsChanged("acme", "102");
    await settle();
    await settle();
    assert.match(bodyOf(last()), /<basic>closed<\/basic>/);
    assert.equal(notifies().length, 4);
  });

  test("a registered device shows open in the first NOTIFY", async () => {
    f.devices.set("acme/102", [binding()]);
    await subscribe({ event: "presence" });
    assert.match(bodyOf(last()), /<basic>open<\/basic>/);
  });
});

describe("message-summary", () => {
  test("own mailbox: counts in the first NOTIFY and on every change; no NOTIFY for the same counts", async () => {
    f.mailboxes.set("acme/101", { newMessages: 2, oldMessages: 1 });
    await subscribe({ event: "message-summary", uri: "sip:101@acme.test" });
    assert.equal(getHeader(last(), "Content-Type"), "application/simple-message-summary");
    assert.equal(
      bodyOf(last()),
      "Messages-Waiting: yes\r\nMessage-Account: sip:101@acme.test\r\nVoice-Message: 2/1\r\n",
    );
    f.hub.publishMailbox("acme", "101", { newMessages: 0, oldMessages: 3 });
    await settle();
    assert.equal(
      bodyOf(last()),
      "Messages-Waiting: no\r\nMessage-Account: sip:101@acme.test\r\nVoice-Message: 0/3\r\n",
    );
    f.hub.publishMailbox("acme", "101", { newMessages: 0, oldMessages: 3 });
    f.hub.publishMailbox("acme", "102", { newMessages: 5, oldMessages: 0 });
    await settle();
    assert.equal(notifies().length, 2);
  });

  test("the voicemail code as resource is the subscriber's own mailbox; another's mailbox is 403", async () => {
    const tx = await subscribe({ event: "message-summary", uri: "sip:*97@acme.test" });
    assert.equal(tx.final.status, 200);
    assert.match(bodyOf(last()), /Message-Account: sip:101@acme\.test/);
    f.hub.publishMailbox("acme", "101", { newMessages: 1, oldMessages: 0 });
    await settle();
    assert.match(bodyOf(last()), /Voice-Message: 1\/0/);
    assert.equal(
      (await subscribe({ event: "message-summary", uri: "sip:102@acme.test", callId: "o" })).final.status,
      403,
    );
  });

  test("unsolicited: a NOTIFY out of dialog to a registering device of an extension set for it, and on every change", async () => {
    const device = binding({
      extension: "101",
      contact: "sip:101@192.0.2.30:5070",
      source: { transport: "UDP", address: "192.0.2.30", port: 5070 },
    });
    await f.hub.unsolicitedMwi(device);
    assert.equal(f.ua.outOfDialog.length, 0, "not set for it");
    await f.store.extensions.update("acme", "101", { mwiUnsolicited: true });
    f.mailboxes.set("acme/101", { newMessages: 3, oldMessages: 0 });
    await f.hub.unsolicitedMwi(device);
    assert.equal(f.ua.outOfDialog.length, 1);
    const { request, remote } = f.ua.outOfDialog[0];
    assert.deepEqual(remote, { transport: "UDP", address: "192.0.2.30", port: 5070 });
    assert.equal(request.method, "NOTIFY");
    assert.equal(request.uri.host, "192.0.2.30");
    assert.equal(getHeader(request, "Event"), "message-summary");
    assert.equal(getHeader(request, "Subscription-State"), "active");
    assert.equal(getHeader(request, "To"), "<sip:101@acme.test>");
    assert.match(getHeader(request, "From") ?? "", /^<sip:101@acme\.test>;tag=/);
    assert.match(bodyOf(request), /Voice-Message: 3\/0/);
    f.devices.set("acme/101", [device]);
    f.hub.publishMailbox("acme", "101", { newMessages: 0, oldMessages: 3 });
    await settle();
    await settle();
    assert.equal(f.ua.outOfDialog.length, 2);
    assert.match(bodyOf(f.ua.outOfDialog[1].request), /Messages-Waiting: no/);
  });

  test("unsolicited, to a phone behind a proxy (RFC 3327 Path): through the proxy, its contact as Request-URI", async () => {
    await f.store.extensions.update("acme", "101", { mwiUnsolicited: true });
    const path = ["<sip:192.0.2.1:5070;lr;received=sip:198.51.100.7:40000>", "<sip:192.0.2.2;lr>"];
    await f.hub.unsolicitedMwi(
      binding({
        extension: "101",
        contact: "sip:101@10.0.0.5:5062",
        source: { transport: "UDP", address: "192.0.2.1", port: 5070 },
        path,
      }),
    );
    assert.equal(f.ua.outOfDialog.length, 1);
    const { request, remote } = f.ua.outOfDialog[0];
    assert.deepEqual(remote, { transport: "UDP", address: "192.0.2.1", port: 5070 });
    assert.equal(request.uri.host, "10.0.0.5");
    assert.deepEqual(getHeaders(request, "Route"), path);
  });

  test("a refresh reads the mailbox again: a message recorded on another node lights the lamp then", async () => {
    const ok = (await subscribe({ event: "message-summary", uri: "sip:101@acme.test", expires: 600 })).final;
    assert.match(bodyOf(last()), /Messages-Waiting: no/);
    // Another node on the same store filed a message: nothing was published here.
    f.mailboxes.set("acme/101", { newMessages: 1, oldMessages: 0 });
    const refresh = await inDialog(ok, { expires: 600, cseq: 2, event: "message-summary" });
    assert.equal(refresh.final.status, 200);
    await settle();
    await settle();
    assert.match(bodyOf(last()), /Messages-Waiting: yes/);
    assert.match(bodyOf(last()), /Voice-Message: 1\/0/);
  });

  test("a mailbox change made on another node: the lamps subscribed here hear it, no unsolicited NOTIFY from here", async () => {
    await f.store.extensions.update("acme", "101", { mwiUnsolicited: true });
    f.devices.set("acme/101", [binding({ extension: "101", contact: "sip:101@192.0.2.30:5070" })]);
    await subscribe({ event: "message-summary", uri: "sip:101@acme.test", expires: 600 });
    f.hub.publishMailbox("acme", "101", { newMessages: 2, oldMessages: 0 }, { fromAnotherNode: true });
    await settle();
    await settle();
    assert.match(bodyOf(last()), /Voice-Message: 2\/0/);
    assert.equal(f.ua.outOfDialog.length, 0);
  });

  test("unsolicited: nothing to a device that subscribes to its mailbox itself", async () => {
    await f.store.extensions.update("acme", "101", { mwiUnsolicited: true });
    await subscribe({ event: "message-summary", uri: "sip:101@acme.test" });
    await f.hub.unsolicitedMwi(binding({ extension: "101", source: { ...PHONE } }));
    assert.equal(f.ua.outOfDialog.length, 0);
  });
});

describe("feature lamps", () => {
  test("*11 is confirmed while on, terminated when off; its own tenant's only", async () => {
    const tx = await subscribe({ uri: "sip:*11@acme.test" });
    assert.equal(tx.final.status, 200);
    assert.match(bodyOf(last()), /entity="sip:\*11@acme\.test"/);
    assert.match(bodyOf(last()), /<state>terminated<\/state>/);
    f.hub.publishFeature("acme", "*11", true);
    await settle();
    assert.match(bodyOf(last()), /<dialog id="\*11" direction="initiator">\r\n<state>confirmed<\/state>/);
    f.hub.publishFeature("acme", "*11", true);
    f.hub.publishFeature("bistro", "*11", false);
    f.hub.publishFeature("acme", "*20", true);
    await settle();
    assert.equal(notifies().length, 2);
    f.hub.publishFeature("acme", "*11", false);
    await settle();
    assert.match(bodyOf(last()), /<state>terminated<\/state>/);
    assert.equal((await subscribe({ uri: "sip:*20@acme.test", callId: "s" })).final.status, 200);
    assert.match(bodyOf(last()), /<state>confirmed<\/state>/, "published before the subscription");
    assert.equal(
      (await subscribe({ uri: "sip:*11@acme.test", event: "presence", callId: "p" })).final.status,
      404,
    );
  });
});

describe("list and restart", () => {
  test("list shows the company's subscriptions: subscriber, contact, source, package, resource, expiry", async () => {
    await subscribe({ expires: 600 });
    await subscribe({ callId: "m", event: "message-summary", uri: "sip:101@acme.test", expires: 3600 });
    await subscribe({ callId: "x", uri: "sip:102@bistro.test", contact: "sip:101@192.0.2.99" }, [
      "bistro",
      "101",
    ]);
    assert.deepEqual(f.hub.list("acme"), [
      {
        extension: "101",
        contact: "sip:101@192.0.2.10:5062",
        source: "udp:192.0.2.10:5062",
        package: "dialog",
        resource: "102",
        expiresAt: new Date(f.clock.now() + 600_000).toISOString(),
      },
      {
        extension: "101",
        contact: "sip:101@192.0.2.10:5062",
        source: "udp:192.0.2.10:5062",
        package: "message-summary",
        resource: "101",
        expiresAt: new Date(f.clock.now() + 3600_000).toISOString(),
      },
    ]);
    assert.deepEqual(f.hub.list("nobody"), []);
  });

  test("a restart restores live dialogs: NOTIFY of the current state, CSeq and version ahead, refresh in the old dialog works", async () => {
    const ok = (await subscribe({ expires: 600, event: "dialog;id=k1" })).final;
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "confirmed", direction: "recipient" }]);
    await settle();
    const before = last();
    await f.clock.advance(100_000);
    await f.restart();
    await settle();
    assert.equal(f.ua.notifies.length, 1, "one NOTIFY per restored subscription");
    const after = last();
    assert.equal(getHeader(after, "Call-ID"), getHeader(before, "Call-ID"));
    assert.equal(getHeader(after, "From"), getHeader(before, "From"));
    assert.equal(getHeader(after, "To"), getHeader(before, "To"));
    assert.equal(getHeader(after, "Event"), "dialog;id=k1");
    assert.equal(getCSeq(after).seq, getCSeq(before).seq + RESTORE_SEQUENCE_MARGIN + 1);
    assert.equal(versionOf(after), versionOf(before) + RESTORE_SEQUENCE_MARGIN + 1);
    assert.equal(getHeader(after, "Subscription-State"), "active;expires=500");
    // The calls ended with the restart: the lamp goes off.
    assert.match(bodyOf(after), /<state>terminated<\/state>/);
    assert.deepEqual(
      f.hub.list("acme").map((v) => [v.resource, v.expiresAt]),
      [["102", new Date(f.clock.now() + 500_000).toISOString()]],
    );
    const refresh = await inDialog(ok, { expires: 600, cseq: 2, event: "dialog;id=k1" });
    assert.equal(refresh.final.status, 200);
    await f.clock.advance(600_000);
    await settle();
    assert.equal(getHeader(last(), "Subscription-State"), "terminated;reason=timeout");
  });

  test("a restart drops what expired meanwhile, and what cannot be read", async () => {
    await subscribe({ expires: 60, callId: "short" });
    await subscribe({ expires: 3600, callId: "long", uri: "sip:103@acme.test" });
    const rows = await f.store.subscriptions.list();
    await f.store.subscriptions.save({
      ...rows[0],
      id: "broken",
      callId: "broken",
      remoteTarget: "not a uri",
    });
    await f.store.subscriptions.save({ ...rows[0], id: "weird", callId: "weird", package: "conference" });
    await f.hub.stop();
    assert.equal(f.clock.timerCount, 0, "stop cancels every timer");
    await f.clock.advance(120_000);
    await f.restart();
    await settle();
    assert.deepEqual(
      f.hub.list("acme").map((v) => v.resource),
      ["103"],
    );
    assert.deepEqual(
      (await f.store.subscriptions.list()).map((s) => s.callId),
      ["long"],
    );
    assert.equal(f.ua.notifies.length, 1);
  });

  test("several nodes on one store (restoreOwnOnly): a node restores its own subscriptions, not another node's", async () => {
    await subscribe({ expires: 600, callId: "mine" });
    const [mine] = await f.store.subscriptions.list();
    // Made by another node: its Contact names that node (FakeUa's is 192.0.2.1:5060).
    await f.store.subscriptions.save({
      ...mine,
      id: "theirs",
      callId: "theirs",
      localContact: "<sip:192.0.2.2:5060>",
    });
    await f.restart(undefined, { restoreOwnOnly: true });
    await settle();
    assert.deepEqual(
      [...f.ua.dialogs.values()].map((d) => d.callId),
      ["mine"],
    );
    assert.equal(f.ua.notifies.length, 1);
    // Still in the store: the other node keeps serving it.
    assert.equal((await f.store.subscriptions.list()).length, 2);
    // One node alone (the default) restores everything it finds.
    await f.restart();
    await settle();
    assert.deepEqual([...f.ua.dialogs.values()].map((d) => d.callId).sort(), ["mine", "theirs"]);
  });

  test("a restored presence subscription reads the registrations again", async () => {
    await subscribe({ event: "presence" });
    f.devices.set("acme/102", [binding()]);
    await f.restart();
    await settle();
    assert.match(bodyOf(last()), /<basic>open<\/basic>/);
  });

  test("after stop, a SUBSCRIBE is 503 and publishing sends nothing", async () => {
    await subscribe();
    await f.hub.stop();
    const tx = await subscribe({ callId: "late" });
    assert.equal(tx.final.status, 503);
    f.hub.publishDialogs("acme", "102", [{ id: "c1", state: "early", direction: "recipient" }]);
    await settle();
    assert.equal(notifies().length, 1);
  });
});
