import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { getCSeq, getHeader, getTo, parseUri } from "../message/index.ts";
import type { NameAddr, SipRequest, SipResponse } from "../message/types.ts";
import { TransactionLayer } from "../transaction/transaction-layer.ts";
import { TransportLayer } from "../transport/transport-layer.ts";
import type { RemoteAddress } from "../transport/types.ts";
import type { Dialog } from "./dialog.ts";
import type { IncomingInvite } from "./incoming-invite.ts";
import { UserAgent } from "./user-agent.ts";

const SDP = Buffer.from("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");

interface Stack {
  transport: TransportLayer;
  transactions: TransactionLayer;
  ua: UserAgent;
  remote: RemoteAddress;
}

async function stack(clock: FakeClock): Promise<Stack> {
  const log = silentLogger();
  const transport = await TransportLayer.listen({
    bind: "127.0.0.1",
    port: 0,
    publicAddress: "127.0.0.1",
    log,
    clock,
  });
  const transactions = new TransactionLayer({ transport, clock, log });
  const ua = new UserAgent({
    transactions,
    clock,
    log,
    contactHost: "127.0.0.1",
    contactPort: transport.port,
  });
  return {
    transport,
    transactions,
    ua,
    remote: { transport: "UDP", address: "127.0.0.1", port: transport.port },
  };
}

function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error("condition not met in time"));
      else setImmediate(poll);
    };
    poll();
  });
}

function addr(uri: string): NameAddr {
  return { uri: parseUri(uri), params: {} };
}

describe("UserAgent over loopback", () => {
  let clock: FakeClock;
  let alice: Stack;
  let bob: Stack;

  beforeEach(async () => {
    clock = new FakeClock();
    alice = await stack(clock);
    bob = await stack(clock);
  });
  afterEach(async () => {
    for (const s of [alice, bob]) {
      s.ua.close();
      s.transactions.close();
      await s.transport.close();
    }
  });

  function call(events: Parameters<UserAgent["invite"]>[1] = {}) {
    return alice.ua.invite(
      {
        requestUri: parseUri(`sip:bob@127.0.0.1:${bob.transport.port}`),
        from: addr("sip:alice@example.com"),
        to: addr("sip:bob@example.com"),
        remote: bob.remote,
        body: SDP,
        contentType: "application/sdp",
      },
      events,
    );
  }

  /** Sets up a call answered by Bob and acknowledged; returns both dialogs. */
  async function establish(): Promise<{ a: Dialog; b: Dialog }> {
    let b: Dialog | undefined;
    let acked = false;
    bob.ua.onInvite = (inv) => {
      b = inv.accept({ body: SDP, contentType: "application/sdp" });
      inv.onAck = () => {
        acked = true;
      };
    };
    let a: Dialog | undefined;
    call({ onAnswer: (_res, d) => (a = d) });
    await until(() => a !== undefined && acked);
    return { a: a!, b: b! };
  }

  it("INVITE → 180 → 200 → ACK → BYE", async () => {
    const statuses: number[] = [];
    let incoming: IncomingInvite | undefined;
    let acked: SipRequest | undefined;
    bob.ua.onInvite = (inv) => {
      incoming = inv;
      inv.ringing();
      inv.onAck = (ack) => {
        acked = ack;
      };
    };
    let dialog: Dialog | undefined;
    let answer: SipResponse | undefined;
    call({
      onProvisional: (r) => statuses.push(r.status),
      onAnswer: (r, d) => {
        answer = r;
        dialog = d;
      },
    });
    await until(() => statuses.includes(180));
    assert.equal(incoming?.state, "early");
    const bobDialog = incoming!.accept({ body: SDP, contentType: "application/sdp" });
    await until(() => dialog !== undefined && acked !== undefined);
    assert.equal(answer!.status, 200);
    assert.equal(answer!.body.toString(), SDP.toString());
    assert.equal(getHeader(answer!, "Contact"), `<sip:127.0.0.1:${bob.transport.port}>`);
    assert.equal(incoming!.state, "confirmed");
    assert.equal(dialog!.remoteTag, bobDialog.localTag);
    assert.equal(dialog!.localTag, bobDialog.remoteTag);
    assert.equal(dialog!.callId, bobDialog.callId);
    assert.equal(getCSeq(acked!).method, "ACK");
    assert.equal(getCSeq(acked!).seq, getCSeq(incoming!.request).seq);
    assert.equal(bob.ua.dialogCount, 1);

    const res = await alice.ua.request(dialog!, "BYE");
    assert.equal(res.status, 200);
    assert.equal(bob.ua.dialogCount, 0);
  });

  it("CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE", async () => {
    let cancelled = false;
    let incoming: IncomingInvite | undefined;
    bob.ua.onInvite = (inv) => {
      incoming = inv;
      inv.ringing();
      inv.onCancel = () => {
        cancelled = true;
      };
    };
    let failure: SipResponse | undefined;
    const out = call({
      onProvisional: () => out.cancel(),
      onFailure: (r) => {
        failure = r;
      },
    });
    await until(() => failure !== undefined);
    assert.equal(failure!.status, 487);
    assert.equal(cancelled, true);
    assert.equal(incoming!.state, "cancelled");
    assert.equal(out.dialog, undefined);
  });

  it("re-INVITE inside the dialog, acknowledged by the UA core", async () => {
    const { a, b } = await establish();
    let reinvite: SipRequest | undefined;
    let ack: SipRequest | undefined;
    b.onAck = (x) => {
      ack = x;
    };
    bob.ua.onDialogRequest = (req, tx, dialog) => {
      reinvite = req;
      bob.ua.acceptReinvite(tx, dialog, { body: SDP, contentType: "application/sdp" });
    };
    const seqBefore = a.localSeq;
    const res = await alice.ua.request(a, "INVITE", { body: SDP, contentType: "application/sdp" });
    assert.equal(res.status, 200);
    assert.equal(getCSeq(reinvite!).seq, seqBefore + 1);
    await until(() => ack !== undefined);
    assert.equal(getCSeq(ack!).seq, seqBefore + 1);
    assert.equal(b.remoteSeq, seqBefore + 1);
  });

  it("answers 500 to a request with a lower CSeq", async () => {
    const { a } = await establish();
    const first = a.createRequest("INFO");
    const second = a.createRequest("INFO");
    // Bob's default in-dialog handler answers INFO with 501: in order, but not implemented.
    assert.equal((await alice.ua.sendRequest(second, a.remote)).status, 501);
    const res = await alice.ua.sendRequest(first, a.remote);
    assert.equal(res.status, 500);
  });

  it("answers 481 to a request for an unknown dialog", async () => {
    const { a } = await establish();
    const bye = a.createRequest("BYE");
    const to = bye.headers.find((h) => h.name === "To")!;
    to.value = to.value.replace(/tag=[^;]+/, "tag=nosuchdialog");
    const res = await alice.ua.sendRequest(bye, a.remote);
    assert.equal(res.status, 481);
  });

  it("answers OPTIONS outside a dialog itself", async () => {
    const req: SipRequest = {
      type: "request",
      method: "OPTIONS",
      uri: parseUri(`sip:127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:alice@example.com>;tag=x1" },
        { name: "To", value: "<sip:bob@example.com>" },
        { name: "Call-ID", value: "opt-1" },
        { name: "CSeq", value: "1 OPTIONS" },
      ],
      body: Buffer.alloc(0),
    };
    const res = await alice.ua.sendRequest(req, bob.remote);
    assert.equal(res.status, 200);
    assert.match(getHeader(res, "Allow") ?? "", /INVITE/);
  });

  it("retransmits the 2xx until the ACK arrives, then stops", async () => {
    // Alice here is a bare transaction layer that does not ACK by itself.
    let incoming: IncomingInvite | undefined;
    bob.ua.onInvite = (inv) => {
      incoming = inv;
      inv.accept({ body: SDP, contentType: "application/sdp" });
    };
    const oks: SipResponse[] = [];
    alice.transactions.onStrayResponse = (r) => oks.push(r);
    const invite: SipRequest = {
      type: "request",
      method: "INVITE",
      uri: parseUri(`sip:bob@127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:alice@example.com>;tag=a9" },
        { name: "To", value: "<sip:bob@example.com>" },
        { name: "Call-ID", value: "retrans-1" },
        { name: "CSeq", value: "7 INVITE" },
        { name: "Contact", value: `<sip:127.0.0.1:${alice.transport.port}>` },
      ],
      body: Buffer.alloc(0),
    };
    alice.transactions.sendRequest(invite, bob.remote, (r) => oks.push(r));
    await until(() => oks.length === 1);
    await clock.advance(500);
    await until(() => oks.length === 2);
    await clock.advance(1000);
    await until(() => oks.length === 3);
    let acked = false;
    incoming!.onAck = () => {
      acked = true;
    };
    const ack: SipRequest = {
      type: "request",
      method: "ACK",
      uri: parseUri(`sip:127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:alice@example.com>;tag=a9" },
        { name: "To", value: getHeader(oks[0], "To")! },
        { name: "Call-ID", value: "retrans-1" },
        { name: "CSeq", value: "7 ACK" },
      ],
      body: Buffer.alloc(0),
    };
    alice.transactions.sendStateless(ack, bob.remote);
    await until(() => acked);
    await clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(oks.length, 3);
    assert.equal(getTo(oks[2]).params.tag, incoming!.localTag);
  });

  it("reports a 2xx never acknowledged after 64·T1", async () => {
    let timedOut = false;
    bob.ua.onInvite = (inv) => {
      inv.accept({ body: SDP, contentType: "application/sdp" });
      inv.onAckTimeout = () => {
        timedOut = true;
      };
    };
    const invite: SipRequest = {
      type: "request",
      method: "INVITE",
      uri: parseUri(`sip:bob@127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:alice@example.com>;tag=a8" },
        { name: "To", value: "<sip:bob@example.com>" },
        { name: "Call-ID", value: "noack-1" },
        { name: "CSeq", value: "1 INVITE" },
      ],
      body: Buffer.alloc(0),
    };
    let answered = false;
    alice.transactions.sendRequest(invite, bob.remote, () => {
      answered = true;
    });
    await until(() => answered);
    await clock.advance(31_999);
    assert.equal(timedOut, false);
    await clock.advance(1);
    assert.equal(timedOut, true);
  });
});
