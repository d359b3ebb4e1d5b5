import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { computeHa1, formatChallenge, parseAuthorization, verifyDigest } from "../auth/digest.ts";
import {
  createResponse,
  getCSeq,
  getFrom,
  getHeader,
  getTo,
  getTopVia,
  newTag,
  parseUri,
} from "../message/index.ts";
import type { NameAddr, SipRequest, SipResponse } from "../message/types.ts";
import { TransactionLayer } from "../transaction/transaction-layer.ts";
import type { ServerTransaction } from "../transaction/types.ts";
import { TransportLayer } from "../transport/transport-layer.ts";
import type { RemoteAddress } from "../transport/types.ts";
import type { Dialog } from "./dialog.ts";
import type { IncomingInvite } from "./incoming-invite.ts";
import { UserAgent, type UserAgentDelegate } from "./user-agent.ts";

const SDP = Buffer.from("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");

interface Stack {
  transport: TransportLayer;
  transactions: TransactionLayer;
  ua: UserAgent;
  /** The UA's delegate: a test sets the methods it needs, the others keep the UA core's defaults. */
  delegate: Partial<UserAgentDelegate>;
  remote: RemoteAddress;
}

async function stack(clock: FakeClock, delegate: Partial<UserAgentDelegate> = {}): Promise<Stack> {
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
    delegate,
  });
  return {
    transport,
    transactions,
    ua,
    delegate,
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

  function call(
    events: Parameters<UserAgent["invite"]>[1] = {},
    extra: Partial<Parameters<UserAgent["invite"]>[0]> = {},
  ) {
    return alice.ua.invite(
      {
        requestUri: parseUri(`sip:bob@127.0.0.1:${bob.transport.port}`),
        from: addr("sip:alice@example.com"),
        to: addr("sip:bob@example.com"),
        remote: bob.remote,
        body: SDP,
        contentType: "application/sdp",
        ...extra,
      },
      events,
    );
  }

  /** Every message Bob's transport receives, in order. */
  function spyOnBob(): SipRequest[] {
    const seen: SipRequest[] = [];
    const deliver = bob.transport.onMessage;
    bob.transport.onMessage = (m) => {
      if (m.message.type === "request") seen.push(m.message);
      deliver(m);
    };
    return seen;
  }

  /**
   * Bob as a carrier: challenges each INVITE without a valid
   * Proxy-Authorization (407, realm carrier.test, password "pw"); `stale`
   * says which attempts get stale=true instead of being checked.
   */
  function challengeInvites(opts: { stale?: number[]; onValid?: (inv: IncomingInvite) => void } = {}) {
    const ha1 = computeHa1("MD5", "trunk1", "carrier.test", "pw");
    let attempt = 0;
    bob.delegate.onInvite = (inv) => {
      attempt++;
      const value = getHeader(inv.request, "Proxy-Authorization");
      const resp = value ? parseAuthorization(value) : null;
      const valid = resp !== null && verifyDigest(resp, "INVITE", ha1, "MD5");
      if (valid && !opts.stale?.includes(attempt)) {
        opts.onValid?.(inv);
        return;
      }
      const challenge = formatChallenge({
        realm: "carrier.test",
        nonce: "n" + attempt,
        algorithm: "MD5",
        qop: "auth",
        stale: valid,
      });
      inv.reject(407, { headers: [{ name: "Proxy-Authenticate", value: challenge }] });
    };
  }

  /** Sets up a call answered by Bob and acknowledged; returns both dialogs. */
  async function establish(): Promise<{ a: Dialog; b: Dialog }> {
    let b: Dialog | undefined;
    let acked = false;
    bob.delegate.onInvite = (inv) => {
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
    bob.delegate.onInvite = (inv) => {
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

  it("the 180 and the 200 carry the INVITE's Record-Route, in order (§12.1.1)", async () => {
    const rr = [
      { name: "Record-Route", value: `<sip:127.0.0.1:${bob.transport.port};lr;r=edge>` },
      { name: "Record-Route", value: `<sip:127.0.0.1:${bob.transport.port};lr;r=inner>` },
    ];
    const responses: SipResponse[] = [];
    bob.delegate.onInvite = (inv) => {
      inv.ringing();
      inv.accept({ body: SDP, contentType: "application/sdp" });
    };
    let dialog: Dialog | undefined;
    call(
      {
        onProvisional: (r) => responses.push(r),
        onAnswer: (r, d) => {
          responses.push(r);
          dialog = d;
        },
      },
      { headers: rr },
    );
    await until(() => dialog !== undefined);
    for (const r of responses) {
      assert.deepEqual(
        r.headers.filter((h) => h.name === "Record-Route").map((h) => h.value),
        rr.map((h) => h.value),
        `${r.status} carries the route set`,
      );
    }
    const res = await alice.ua.request(dialog!, "BYE");
    assert.equal(res.status, 200);
  });

  it("CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE", async () => {
    let cancelled = false;
    let incoming: IncomingInvite | undefined;
    bob.delegate.onInvite = (inv) => {
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
    bob.delegate.onDialogRequest = (req, tx, dialog) => {
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

  it("without a delegate method, declines an INVITE with 480 and refuses MESSAGE with 405 and Allow", async () => {
    let failure: SipResponse | undefined;
    call({ onFailure: (r) => (failure = r) });
    await until(() => failure !== undefined);
    assert.equal(failure!.status, 480);

    const message: SipRequest = {
      type: "request",
      method: "MESSAGE",
      uri: parseUri(`sip:bob@127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:alice@example.com>;tag=m1" },
        { name: "To", value: "<sip:bob@example.com>" },
        { name: "Call-ID", value: "msg-1" },
        { name: "CSeq", value: "1 MESSAGE" },
      ],
      body: Buffer.alloc(0),
    };
    const res = await alice.ua.sendRequest(message, bob.remote);
    assert.equal(res.status, 405);
    assert.match(getHeader(res, "Allow") ?? "", /INVITE/);
    assert.ok(getTo(res).params.tag);

    // A method set and then taken away again falls back to the default.
    let offered = 0;
    bob.delegate.onInvite = (inv) => {
      offered++;
      inv.reject(486);
    };
    let busy: SipResponse | undefined;
    call({ onFailure: (r) => (busy = r) });
    await until(() => busy !== undefined);
    assert.equal(busy!.status, 486);
    bob.delegate.onInvite = undefined;
    let again: SipResponse | undefined;
    call({ onFailure: (r) => (again = r) });
    await until(() => again !== undefined);
    assert.equal(again!.status, 480);
    assert.equal(offered, 1);
  });

  it("calls the delegate's methods on the delegate itself (a class may implement it)", async () => {
    class Callee implements UserAgentDelegate {
      readonly seen: string[] = [];
      onInvite(inv: IncomingInvite): void {
        this.seen.push("INVITE");
        inv.reject(603);
      }
      onRequest(req: SipRequest, tx: ServerTransaction): void {
        this.seen.push(req.method);
        tx.respond(createResponse(req, 202, undefined, { toTag: newTag() }));
      }
      onDialogRequest(req: SipRequest, tx: ServerTransaction): void {
        this.seen.push("in-dialog " + req.method);
        tx.respond(createResponse(req, 501));
      }
    }
    const callee = new Callee();
    const carol = await stack(clock, callee);
    try {
      let failure: SipResponse | undefined;
      call(
        { onFailure: (r) => (failure = r) },
        {
          requestUri: parseUri(`sip:carol@127.0.0.1:${carol.transport.port}`),
          remote: carol.remote,
        },
      );
      await until(() => failure !== undefined);
      assert.equal(failure!.status, 603);
      const notify: SipRequest = {
        type: "request",
        method: "NOTIFY",
        uri: parseUri(`sip:carol@127.0.0.1:${carol.transport.port}`),
        headers: [
          { name: "Max-Forwards", value: "70" },
          { name: "From", value: "<sip:alice@example.com>;tag=n1" },
          { name: "To", value: "<sip:carol@example.com>" },
          { name: "Call-ID", value: "notify-1" },
          { name: "CSeq", value: "1 NOTIFY" },
          { name: "Event", value: "message-summary" },
        ],
        body: Buffer.alloc(0),
      };
      assert.equal((await alice.ua.sendRequest(notify, carol.remote)).status, 202);
      assert.deepEqual(callee.seen, ["INVITE", "NOTIFY"]);
    } finally {
      carol.ua.close();
      carol.transactions.close();
      await carol.transport.close();
    }
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
    bob.delegate.onInvite = (inv) => {
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
    bob.delegate.onInvite = (inv) => {
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

  it("answers a 407 with credentials: same Call-ID and From tag, CSeq + 1, new branch", async () => {
    const seen = spyOnBob();
    challengeInvites({
      onValid: (inv) => {
        inv.ringing();
        inv.accept({ body: SDP, contentType: "application/sdp" });
      },
    });
    const statuses: number[] = [];
    let failure: SipResponse | undefined;
    let dialog: Dialog | undefined;
    const out = call(
      {
        onProvisional: (r) => statuses.push(r.status),
        onAnswer: (_r, d) => {
          dialog = d;
        },
        onFailure: (r) => {
          failure = r;
        },
      },
      { credentials: { username: "trunk1", password: "pw" } },
    );
    const first = out.request;
    await until(() => dialog !== undefined);
    assert.equal(failure, undefined);
    assert.ok(statuses.includes(180));
    assert.equal(out.authRetries, 1);
    assert.notEqual(out.request, first);
    assert.equal(getCSeq(out.request).seq, getCSeq(first).seq + 1);
    assert.equal(getHeader(out.request, "Call-ID"), getHeader(first, "Call-ID"));
    assert.equal(getFrom(out.request).params.tag, getFrom(first).params.tag);
    assert.notEqual(getTopVia(out.request).params.branch, getTopVia(first).params.branch);
    const auth = parseAuthorization(getHeader(out.request, "Proxy-Authorization")!)!;
    assert.equal(auth.username, "trunk1");
    assert.equal(auth.uri, `sip:bob@127.0.0.1:${bob.transport.port}`);
    assert.equal(dialog!.localSeq, getCSeq(out.request).seq);
    assert.equal(seen.filter((r) => r.method === "INVITE").length, 2);
    // The dialog works: BYE is answered.
    assert.equal((await alice.ua.request(dialog!, "BYE")).status, 200);
  });

  it("answers a second challenge only when it says stale=true", async () => {
    challengeInvites({
      stale: [2],
      onValid: (inv) => {
        inv.accept({ body: SDP, contentType: "application/sdp" });
      },
    });
    let dialog: Dialog | undefined;
    const out = call(
      { onAnswer: (_r, d) => (dialog = d) },
      { credentials: { username: "trunk1", password: "pw" } },
    );
    await until(() => dialog !== undefined);
    assert.equal(out.authRetries, 2);
    assert.equal(parseAuthorization(getHeader(out.request, "Proxy-Authorization")!)!.nonce, "n2");
  });

  it("reports the 407 as the failure when the password is refused or there are no credentials", async () => {
    challengeInvites({ onValid: (inv) => inv.accept({ body: SDP, contentType: "application/sdp" }) });
    let failure: SipResponse | undefined;
    const wrong = call(
      { onFailure: (r) => (failure = r) },
      { credentials: { username: "trunk1", password: "nope" } },
    );
    await until(() => failure !== undefined);
    assert.equal(failure!.status, 407);
    assert.equal(wrong.authRetries, 1);
    assert.equal(wrong.failure, failure);

    let plain: SipResponse | undefined;
    const none = call({ onFailure: (r) => (plain = r) });
    await until(() => plain !== undefined);
    assert.equal(plain!.status, 407);
    assert.equal(none.authRetries, 0);
  });

  it("cancel(headers) cancels the current attempt and carries the Reason", async () => {
    const seen = spyOnBob();
    let incoming: IncomingInvite | undefined;
    challengeInvites({
      onValid: (inv) => {
        incoming = inv;
        inv.ringing();
      },
    });
    let failure: SipResponse | undefined;
    const reason = 'SIP;cause=200;text="Call completed elsewhere"';
    const out = call(
      {
        onProvisional: (r) => {
          if (r.status === 180) out.cancel([{ name: "Reason", value: reason }]);
        },
        onFailure: (r) => (failure = r),
      },
      { credentials: { username: "trunk1", password: "pw" } },
    );
    await until(() => failure !== undefined);
    assert.equal(failure!.status, 487);
    assert.equal(incoming!.state, "cancelled");
    const cancel = seen.find((r) => r.method === "CANCEL")!;
    assert.equal(getHeader(cancel, "Reason"), reason);
    assert.equal(getCSeq(cancel).seq, getCSeq(out.request).seq);
    assert.equal(getTopVia(cancel).params.branch, getTopVia(out.request).params.branch);
  });

  it("does not answer a challenge once the call was cancelled", async () => {
    let failure: SipResponse | undefined;
    let invites = 0;
    bob.delegate.onInvite = (inv) => {
      invites++;
      // Challenge only after the caller has asked to cancel (nothing provisional was sent).
      setImmediate(() =>
        inv.reject(407, {
          headers: [
            {
              name: "Proxy-Authenticate",
              value: formatChallenge({ realm: "carrier.test", nonce: "x", algorithm: "MD5", qop: "auth" }),
            },
          ],
        }),
      );
    };
    const out = call(
      { onFailure: (r) => (failure = r) },
      { credentials: { username: "trunk1", password: "pw" } },
    );
    out.cancel();
    await until(() => failure !== undefined);
    assert.equal(failure!.status, 407);
    assert.equal(invites, 1);
  });

  it("sendAuthenticated answers a REGISTER's 401 and returns the last request", async () => {
    const ha1 = computeHa1("SHA-256", "trunk1", "carrier.test", "pw");
    const registers: SipRequest[] = [];
    bob.delegate.onRequest = (req, tx) => {
      registers.push(req);
      const value = getHeader(req, "Authorization");
      const resp = value ? parseAuthorization(value) : null;
      if (resp && verifyDigest(resp, "REGISTER", ha1, "SHA-256")) {
        tx.respond(createResponse(req, 200, undefined, { toTag: newTag() }));
        return;
      }
      const offer = (algorithm: "MD5" | "SHA-256") =>
        formatChallenge({ realm: "carrier.test", nonce: "r1", algorithm, qop: "auth" });
      tx.respond(
        createResponse(req, 401, undefined, {
          toTag: newTag(),
          headers: [
            { name: "WWW-Authenticate", value: offer("MD5") },
            { name: "WWW-Authenticate", value: offer("SHA-256") },
          ],
        }),
      );
    };
    const register = (): SipRequest => ({
      type: "request",
      method: "REGISTER",
      uri: parseUri(`sip:127.0.0.1:${bob.transport.port}`),
      headers: [
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: "<sip:trunk1@carrier.test>;tag=r1" },
        { name: "To", value: "<sip:trunk1@carrier.test>" },
        { name: "Call-ID", value: "reg-" + newTag() },
        { name: "CSeq", value: "10 REGISTER" },
        { name: "Contact", value: `<sip:trunk1@127.0.0.1:${alice.transport.port}>` },
        { name: "Expires", value: "600" },
      ],
      body: Buffer.alloc(0),
    });
    const { response, request } = await alice.ua.sendAuthenticated(register(), bob.remote, {
      username: "trunk1",
      password: "pw",
    });
    assert.equal(response.status, 200);
    assert.equal(getCSeq(request).seq, 11);
    assert.equal(registers.length, 2);
    assert.equal(parseAuthorization(getHeader(registers[1], "Authorization")!)!.algorithm, "SHA-256");

    const refused = await alice.ua.sendAuthenticated(register(), bob.remote, {
      username: "trunk1",
      password: "bad",
    });
    assert.equal(refused.response.status, 401);
    assert.equal(registers.length, 4);
    await assert.rejects(
      alice.ua.sendAuthenticated({ ...register(), method: "INVITE" }, bob.remote, {
        username: "a",
        password: "b",
      }),
    );
  });
});
