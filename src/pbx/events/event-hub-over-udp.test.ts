// The hub over a real UA core, transaction and transport layer on
// 127.0.0.1, with harness phones as subscribers: what a desk phone sees of a
// BLF key, a presence list, a voicemail lamp, an unsubscribe, a phone that
// forgot its subscription and a PBX that restarted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SipPhone } from "../../../test/harness/sip-phone.ts";
import { Subscriber } from "../../../test/harness/subscriber.ts";
import { UserAgent } from "../../sip/dialog/user-agent.ts";
import { createResponse, getCSeq, getHeader } from "../../sip/message/index.ts";
import { TransactionLayer } from "../../sip/transaction/transaction-layer.ts";
import { TransportLayer } from "../../sip/transport/transport-layer.ts";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore } from "../../store/sql/open-store.ts";
import type { Binding, Store } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { EventHub } from "./event-hub.ts";

function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`${what} not met in time`));
      else setTimeout(poll, 2);
    };
    poll();
  });
}

describe("event hub over UDP (harness subscribers)", () => {
  let dir: string;
  let clock: FakeClock;
  let store: Store;
  let transport: TransportLayer;
  let transactions: TransactionLayer;
  let ua: UserAgent;
  let hub: EventHub;
  let alice: SipPhone;
  const devices = new Map<string, Binding[]>();
  /** What hub.subscribe threw (it answers bad input itself and must not throw). */
  const failures: unknown[] = [];

  const makeHub = () =>
    new EventHub({
      ua,
      store,
      clock,
      log: silentLogger(),
      contactFor: (remote) => ua.contactFor(remote),
      devices: async (tenant, extension) => devices.get(`${tenant}/${extension}`) ?? [],
      mailbox: async () => ({ newMessages: 0, oldMessages: 0 }),
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-events-udp-"));
    clock = new FakeClock();
    store = await openStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    for (const [number, name] of [
      ["101", "Alice"],
      ["102", "Bob"],
    ]) {
      await store.extensions.create({
        tenant: "acme",
        number,
        displayName: name,
        credentials: makeCredentials(number, "acme.test", `pw-${number}-secret`),
      });
    }
    devices.clear();
    failures.length = 0;
    const log = silentLogger();
    transport = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log,
      clock,
    });
    transactions = new TransactionLayer({ transport, clock, log });
    // The PBX's part, without digest: the From user is the subscriber.
    ua = new UserAgent({
      transactions,
      clock,
      log,
      contactHost: "127.0.0.1",
      contactPort: transport.port,
      delegate: {
        onRequest: (req, tx) => {
          if (req.method !== "SUBSCRIBE") {
            tx.respond(createResponse(req, 405));
            return;
          }
          (async () => {
            const tenant = await store.tenants.get("acme");
            const extension = await store.extensions.get("acme", "101");
            if (!tenant || !extension) throw new Error("fixture incomplete");
            await hub.subscribe(req, tx, { tenant, extension });
          })().catch((err: unknown) => failures.push(err));
        },
        onDialogRequest: (req, tx, dialog) => {
          if (!hub.onDialogRequest(req, tx, dialog)) tx.respond(createResponse(req, 481));
        },
      },
    });
    hub = makeHub();
    await hub.start();
    alice = await SipPhone.create({
      user: "101",
      password: "pw-101-secret",
      domain: "acme.test",
      displayName: "Alice",
      server: { host: "127.0.0.1", port: transport.port },
    });
  });

  afterEach(async () => {
    await hub.stop();
    ua.close();
    transactions.close();
    await transport.close();
    await alice.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(failures, []);
  });

  it("BLF: 200 and an idle NOTIFY; a call blinks then lights the key, then it goes off; unsubscribe ends it", async () => {
    const blf = new Subscriber(alice, "102", "dialog");
    const ok = await blf.subscribe(600, [["Accept", "application/dialog-info+xml"]]);
    assert.equal(ok.status, 200);
    assert.equal(getHeader(ok, "Expires"), "600");
    assert.equal(getHeader(ok, "Contact"), `<sip:127.0.0.1:${transport.port}>`);
    const [first] = await blf.waitForNotifies(1);
    assert.equal(getHeader(first, "Subscription-State"), "active;expires=600");
    assert.equal(getHeader(first, "Content-Type"), "application/dialog-info+xml");
    assert.match(blf.lastBody, /<state>terminated<\/state>/);

    hub.publishDialogs("acme", "102", [
      {
        id: "call-1",
        state: "early",
        direction: "recipient",
        remote: { number: "101", displayName: "Alice" },
      },
    ]);
    await blf.waitForNotifies(2);
    assert.match(blf.lastBody, /<state>early<\/state>/);
    assert.match(blf.lastBody, /<identity display="Alice">sip:101@acme\.test<\/identity>/);
    hub.publishDialogs("acme", "102", [{ id: "call-1", state: "confirmed", direction: "recipient" }]);
    await blf.waitForNotifies(3);
    assert.match(blf.lastBody, /<state>confirmed<\/state>/);
    hub.publishDialogs("acme", "102", []);
    await blf.waitForNotifies(4);
    assert.match(blf.lastBody, /<state>terminated<\/state>/);
    const versions = blf.notifies.map((n) => Number(/version="(\d+)"/.exec(n.body.toString())?.[1]));
    assert.deepEqual(versions, [0, 1, 2, 3]);

    const refresh = await blf.subscribe(600);
    assert.equal(refresh.status, 200);
    await blf.waitForNotifies(5);
    const bye = await blf.subscribe(0);
    assert.equal(bye.status, 200);
    await blf.waitForNotifies(6);
    assert.equal(getHeader(blf.notifies[5], "Subscription-State"), "terminated;reason=timeout");
    await until(() => hub.list("acme").length === 0, "subscription gone");
    assert.equal(ua.dialogCount, 0);
    assert.equal((await blf.subscribe(600)).status, 481, "the dialog is gone");
    assert.deepEqual(alice.errors, []);
  });

  it("a 489 for an unknown package, 423 under the minimum", async () => {
    assert.equal((await new Subscriber(alice, "102", "conference").subscribe(600)).status, 489);
    const brief = await new Subscriber(alice, "102", "dialog").subscribe(10);
    assert.equal(brief.status, 423);
    assert.equal(getHeader(brief, "Min-Expires"), "60");
  });

  it("presence: closed, open when 102 registers, on the phone in a call", async () => {
    const buddy = new Subscriber(alice, "102", "presence");
    assert.equal((await buddy.subscribe(600)).status, 200);
    await buddy.waitForNotifies(1);
    assert.match(buddy.lastBody, /<basic>closed<\/basic>/);
    devices.set("acme/102", [
      {
        tenant: "acme",
        extension: "102",
        contact: "sip:102@127.0.0.1:5999",
        callId: "r",
        cseq: 1,
        expiresAt: clock.now() + 600_000,
        source: { transport: "UDP", address: "127.0.0.1", port: 5999 },
      },
    ]);
    hub.registrationsChanged("acme", "102");
    await buddy.waitForNotifies(2);
    assert.match(buddy.lastBody, /<basic>open<\/basic>/);
    hub.publishDialogs("acme", "102", [{ id: "c", state: "confirmed", direction: "initiator" }]);
    await buddy.waitForNotifies(3);
    assert.match(buddy.lastBody, /<rpid:on-the-phone\/>/);
  });

  it("message waiting: own mailbox counts; unsolicited NOTIFY to a registered device of an extension set for it", async () => {
    const mwi = new Subscriber(alice, "101", "message-summary");
    assert.equal((await mwi.subscribe(600)).status, 200);
    await mwi.waitForNotifies(1);
    assert.match(mwi.lastBody, /Messages-Waiting: no/);
    hub.publishMailbox("acme", "101", { newMessages: 2, oldMessages: 1 });
    await mwi.waitForNotifies(2);
    assert.match(mwi.lastBody, /Voice-Message: 2\/1/);

    const bob = await SipPhone.create({
      user: "102",
      password: "pw-102-secret",
      domain: "acme.test",
      server: { host: "127.0.0.1", port: transport.port },
    });
    try {
      await store.extensions.update("acme", "102", { mwiUnsolicited: true });
      hub.publishMailbox("acme", "102", { newMessages: 1, oldMessages: 0 });
      const notify = bob.waitForRequest("NOTIFY");
      await hub.unsolicitedMwi({
        tenant: "acme",
        extension: "102",
        contact: bob.contactUri,
        callId: "reg",
        cseq: 1,
        expiresAt: clock.now() + 600_000,
        source: { transport: "UDP", address: "127.0.0.1", port: bob.localPort },
      });
      const req = await notify;
      assert.equal(getHeader(req, "Event"), "message-summary");
      assert.match(
        req.body.toString(),
        /Messages-Waiting: yes\r\nMessage-Account: sip:102@acme\.test\r\nVoice-Message: 1\/0/,
      );
    } finally {
      await bob.close();
    }
  });

  it("a phone that forgot its subscription answers 481: the hub drops it", async () => {
    const blf = new Subscriber(alice, "102", "dialog");
    await blf.subscribe(600);
    await blf.waitForNotifies(1);
    blf.forget();
    hub.publishDialogs("acme", "102", [{ id: "c", state: "early", direction: "recipient" }]);
    await until(() => hub.list("acme").length === 0, "subscription dropped after 481");
    assert.equal(ua.dialogCount, 0);
  });

  it("a restart keeps the dialog: the phone gets a NOTIFY in it with a higher CSeq, and can refresh", async () => {
    const blf = new Subscriber(alice, "102", "dialog");
    await blf.subscribe(600);
    hub.publishDialogs("acme", "102", [{ id: "c", state: "confirmed", direction: "recipient" }]);
    await blf.waitForNotifies(2);
    await hub.stop();
    assert.equal(ua.dialogCount, 0);
    hub = makeHub();
    await hub.start();
    await blf.waitForNotifies(3);
    assert.ok(getCSeq(blf.notifies[2]).seq > getCSeq(blf.notifies[1]).seq);
    assert.match(blf.lastBody, /<state>terminated<\/state>/, "the call did not survive the restart");
    assert.equal((await blf.subscribe(600)).status, 200);
    await blf.waitForNotifies(4);
  });
});
