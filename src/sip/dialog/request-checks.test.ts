import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { getHeader, getTo, parseMessage } from "../message/index.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import { RequestChecks } from "./request-checks.ts";

interface Options {
  method?: string;
  uri?: string;
  branch?: string;
  toTag?: string;
  cseq?: number;
  extra?: string[];
  body?: string;
}

function request(opts: Options = {}): SipRequest {
  const method = opts.method ?? "INVITE";
  const body = opts.body ?? "";
  const text = [
    `${method} ${opts.uri ?? "sip:100@example.com"} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=${opts.branch ?? "z9hG4bK-1"}`,
    "Max-Forwards: 70",
    "From: <sip:200@example.com>;tag=f1",
    `To: <sip:100@example.com>${opts.toTag ? ";tag=" + opts.toTag : ""}`,
    "Call-ID: checks-1@192.0.2.1",
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    ...(opts.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
  const m = parseMessage(Buffer.from(text));
  assert.equal(m.type, "request");
  return m as SipRequest;
}

const SDP =
  "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

describe("RequestChecks", () => {
  let clock: FakeClock;
  let checks: RequestChecks;
  const check = (req: SipRequest, inDialog = false): SipResponse | undefined => checks.check(req, inDialog);

  beforeEach(() => {
    clock = new FakeClock();
    checks = new RequestChecks({ clock, agent: "pbx.example.com", rememberMs: 32_000, supported: ["path"] });
  });

  it("lets an ordinary INVITE with SDP through", () => {
    assert.equal(check(request({ body: SDP, extra: ["Content-Type: application/sdp"] })), undefined);
  });

  it("refuses repeated single-value headers with 400 (RFC 4475 §3.3.8, §3.3.9)", () => {
    const twice = request({ extra: ["Max-Forwards: 5"] });
    const res = check(twice)!;
    assert.equal(res.status, 400);
    assert.match(res.reason, /Max-Forwards/);
    // A list header may repeat.
    assert.equal(
      check(request({ method: "OPTIONS", extra: ["Accept: application/sdp", "Accept: */*"] })),
      undefined,
    );
  });

  it("answers 400 with a To tag added outside a dialog, keeping one that is there", () => {
    const res = check(request({ extra: ["To: <sip:x@example.com>"] }))!;
    assert.equal(res.status, 400);
    assert.ok(getTo(res).params.tag, "a To tag");
    const inDialog = check(
      request({ toTag: "ours", extra: ["Content-Type: text/plain"], body: "hi" }),
      true,
    )!;
    assert.equal(inDialog.status, 415);
    assert.equal(getTo(inDialog).params.tag, "ours");
  });

  it("refuses an unknown Request-URI scheme with 416, accepts sip, sips and tel", () => {
    assert.equal(check(request({ method: "OPTIONS", uri: "nobody:opaque" }))?.status, 416);
    assert.equal(check(request({ method: "OPTIONS", uri: "soap.beep://192.0.2.103:3002" }))?.status, 416);
    assert.equal(check(request({ uri: "sips:100@example.com", branch: "z9hG4bK-2", extra: [] })), undefined);
    assert.equal(check(request({ uri: "tel:+41441234567", branch: "z9hG4bK-3", cseq: 3 })), undefined);
  });

  it("refuses Max-Forwards 0 on an INVITE only (§16.3 step 3)", () => {
    const zero = (method: string, cseq: number) =>
      request({ method, cseq, branch: `z9hG4bK-mf${cseq}`, extra: ["Max-Forwards: 0"] });
    // The fixture already has Max-Forwards: 70; build the zero ones without it.
    const strip = (r: SipRequest): SipRequest => {
      const first = r.headers.findIndex((h) => h.name === "Max-Forwards");
      r.headers.splice(first, 1);
      return r;
    };
    assert.equal(check(strip(zero("INVITE", 1)))?.status, 483);
    assert.equal(check(strip(zero("OPTIONS", 2))), undefined, "OPTIONS: we are its final recipient");
    assert.equal(check(strip(zero("INVITE", 3)), true), undefined, "in a dialog we are the endpoint");
  });

  it("refuses unknown Require and Proxy-Require tags with 420 and lists them in Unsupported", () => {
    const res = check(
      request({
        method: "OPTIONS",
        extra: ["Require: foo, path", "Proxy-Require: bar, FOO", "Require: baz"],
      }),
    )!;
    assert.equal(res.status, 420);
    assert.equal(getHeader(res, "Unsupported"), "foo, bar, FOO, baz");
    assert.equal(
      check(request({ method: "OPTIONS", branch: "z9hG4bK-p", cseq: 2, extra: ["Require: Path"] })),
      undefined,
    );
  });

  it("refuses a session body it cannot read with 415 and Accept (§8.2.3)", () => {
    const unknown = check(request({ body: "<audio/>", extra: ["Content-Type: application/unknownformat"] }))!;
    assert.equal(unknown.status, 415);
    assert.equal(getHeader(unknown, "Accept"), "application/sdp");
    const gzip = check(
      request({
        body: SDP,
        extra: ["Content-Type: application/sdp", "Content-Encoding: gzip"],
        branch: "z9hG4bK-g",
        cseq: 2,
      }),
    )!;
    assert.equal(gzip.status, 415);
    assert.equal(getHeader(gzip, "Accept-Encoding"), "identity");
    const untyped = check(request({ body: SDP, branch: "z9hG4bK-u", cseq: 4 }))!;
    assert.equal(untyped.status, 400);
    assert.match(untyped.reason, /Content-Type/);
  });

  it("reads only what it must: optional bodies, stray line ends, other methods", () => {
    const optional = request({
      body: "<x/>",
      extra: ["Content-Type: application/x-foo", "Content-Disposition: render;handling=optional"],
    });
    assert.equal(check(optional), undefined);
    assert.equal(check(request({ body: "\r\n", branch: "z9hG4bK-crlf", cseq: 5 })), undefined);
    const info = request({
      method: "INFO",
      toTag: "t",
      body: "Signal=5",
      extra: ["Content-Type: application/dtmf-relay"],
    });
    assert.equal(check(info, true), undefined, "INFO bodies are the TU's");
    const params = request({
      body: SDP,
      branch: "z9hG4bK-pa",
      cseq: 6,
      extra: ["Content-Type: Application/SDP ; charset=x"],
    });
    assert.equal(check(params), undefined);
  });

  it("answers 406 with Warning 399 when the SDP answer is not acceptable (RFC 4475 §3.3.15)", () => {
    const res = check(
      request({ body: SDP, extra: ["Content-Type: application/sdp", "Accept: text/nobodyKnowsThis"] }),
    )!;
    assert.equal(res.status, 406);
    assert.match(getHeader(res, "Warning") ?? "", /^399 pbx\.example\.com "/);
    for (const [i, accept] of [
      "application/sdp;level=1",
      "application/*",
      "*/*",
      "text/x, application/sdp",
    ].entries()) {
      const ok = request({ branch: `z9hG4bK-a${i}`, cseq: 10 + i, extra: [`Accept: ${accept}`] });
      assert.equal(check(ok), undefined, accept);
    }
    const zero = request({ branch: "z9hG4bK-q0", cseq: 20, extra: ["Accept: application/sdp;q=0"] });
    assert.equal(check(zero)?.status, 406);
  });

  it("refuses a REGISTER whose To is not a SIP URI (RFC 4475 §3.3.4)", () => {
    const text = [
      "REGISTER sip:example.com SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKr",
      "To: isbn:2983792873",
      "From: <http://www.example.com>;tag=1",
      "Call-ID: r1",
      "CSeq: 1 REGISTER",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const res = check(parseMessage(Buffer.from(text)) as SipRequest)!;
    assert.equal(res.status, 400);
    assert.match(res.reason, /To/);
  });

  it("refuses a CSeq whose method is not the request's", () => {
    const req = request({ method: "OPTIONS" });
    req.method = "INFO";
    assert.equal(check(req)?.status, 400);
  });

  describe("merged requests (§8.2.2.2)", () => {
    it("answers 482 to the same request arriving with another branch, not to a retry or a new CSeq", () => {
      assert.equal(check(request({ branch: "z9hG4bK-a" })), undefined);
      assert.equal(check(request({ branch: "z9hG4bK-a" })), undefined, "same transaction");
      assert.equal(check(request({ branch: "z9hG4bK-b" }))?.status, 482);
      assert.equal(
        check(request({ branch: "z9hG4bK-c", cseq: 2 })),
        undefined,
        "a new CSeq is a new request",
      );
      assert.equal(
        check(request({ branch: "z9hG4bK-d", toTag: "x" }), true),
        undefined,
        "in-dialog: not checked",
      );
    });

    it("does not remember REGISTER and OPTIONS, which no proxy forks", () => {
      for (const method of ["REGISTER", "OPTIONS"]) {
        assert.equal(check(request({ method, branch: "z9hG4bK-r1" })), undefined);
        assert.equal(check(request({ method, branch: "z9hG4bK-r2" })), undefined, method);
      }
      assert.equal(checks.remembered, 0);
    });

    it("forgets requests after two transaction lifetimes, and stops its timer when idle", () => {
      check(request({ branch: "z9hG4bK-a" }));
      assert.equal(checks.remembered, 1);
      clock.tick(32_000);
      assert.equal(check(request({ branch: "z9hG4bK-b" }))?.status, 482, "still within the window");
      clock.tick(32_000);
      assert.equal(checks.remembered, 0);
      assert.equal(check(request({ branch: "z9hG4bK-b" })), undefined);
      clock.tick(64_000);
      assert.equal(checks.remembered, 0);
      assert.equal(clock.timerCount, 0);
    });

    it("bounds its memory", () => {
      const small = new RequestChecks({ clock, agent: "x", rememberMs: 32_000, maxRemembered: 10 });
      for (let i = 0; i < 100; i++) small.check(request({ branch: `z9hG4bK-${i}`, cseq: i + 1 }), false);
      assert.ok(small.remembered <= 20);
      small.close();
      assert.equal(small.remembered, 0);
    });
  });
});
