import assert from "node:assert/strict";
import { test } from "node:test";
import { digestResponse } from "../../../test/harness/digest.ts";
import { getCSeq, getHeader, getHeaders, parseUri } from "../message/index.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import { computeHa1, formatChallenge, parseAuthorization, verifyDigest } from "./digest.ts";
import {
  chooseChallenges,
  DigestClient,
  DigestRetry,
  parseChallenge,
  withCredentials,
} from "./digest-client.ts";

// RFC 7616 §3.9.1: the challenge and the expected answers for MD5 and SHA-256.
const RFC = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
  uri: "/dir/index.html",
  md5: "8ca523f5e9506fed4657c9700eebdbec",
  sha256: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
};

function rfcChallenge(algorithm: string): string {
  return (
    `Digest\r\n realm="${RFC.realm}",\r\n qop="auth, auth-int",\r\n algorithm=${algorithm},\r\n ` +
    `nonce="${RFC.nonce}",\r\n opaque="${RFC.opaque}"`
  );
}

test("RFC 7616 §3.9.1: the client's answers are the RFC's, for SHA-256 and MD5", () => {
  const client = new DigestClient(
    { username: RFC.username, password: RFC.password },
    { cnonce: () => RFC.cnonce },
  );
  for (const [alg, expected] of [
    ["SHA-256", RFC.sha256],
    ["MD5", RFC.md5],
  ] as const) {
    const ch = parseChallenge(rfcChallenge(alg));
    assert.ok(ch, alg);
    assert.deepEqual(ch.qop, ["auth", "auth-int"]);
    const fresh = new DigestClient(
      { username: RFC.username, password: RFC.password },
      { cnonce: () => RFC.cnonce },
    );
    const value = fresh.authorize(ch, "GET", RFC.uri);
    const parsed = parseAuthorization(value);
    assert.ok(parsed, value);
    assert.equal(parsed.response, expected, alg);
    assert.equal(parsed.nc, "00000001");
    assert.equal(parsed.qop, "auth");
    assert.equal(parsed.cnonce, RFC.cnonce);
    assert.equal(parsed.opaque, RFC.opaque);
    assert.equal(parsed.algorithm, alg);
    assert.equal(parsed.uri, RFC.uri);
  }
  // The same client counts requests per nonce (RFC 7616 §3.4), and each count is a valid answer.
  const ch = parseChallenge(rfcChallenge("MD5"))!;
  client.authorize(ch, "GET", RFC.uri);
  const second = parseAuthorization(client.authorize(ch, "GET", RFC.uri))!;
  assert.equal(second.nc, "00000002");
  const ha1 = computeHa1("MD5", RFC.username, RFC.realm, RFC.password);
  assert.equal(verifyDigest(second, "GET", ha1, "MD5"), true);
});

test("RFC 2617 §3.5 example (qop=auth, MD5 implied)", () => {
  const client = new DigestClient(
    { username: "Mufasa", password: "Circle Of Life" },
    { cnonce: () => "0a4f113b" },
  );
  const ch = parseChallenge(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
      'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  assert.ok(ch);
  assert.equal(ch.algorithm, "MD5");
  const parsed = parseAuthorization(client.authorize(ch, "GET", "/dir/index.html"))!;
  assert.equal(parsed.response, "6629fae49393a05397450978507c4ef1");
});

test("answers verify with src/sip/auth's own verifier, per algorithm", () => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    const client = new DigestClient({ username: "trunk1", password: 'p@ss"word' });
    const challenge = formatChallenge({ realm: "carrier.test", nonce: "abc123", algorithm, qop: "auth" });
    const ch = parseChallenge(challenge)!;
    const value = client.authorize(ch, "REGISTER", "sip:carrier.test");
    const resp = parseAuthorization(value)!;
    const ha1 = computeHa1(algorithm, "trunk1", "carrier.test", 'p@ss"word');
    assert.equal(verifyDigest(resp, "REGISTER", ha1, algorithm), true, algorithm);
    assert.equal(verifyDigest(resp, "INVITE", ha1, algorithm), false, algorithm);
  }
});

test("no qop: the RFC 2069 form, without cnonce or nc", () => {
  const client = new DigestClient({ username: "Mufasa", password: "CircleOfLife" });
  const ch = parseChallenge('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"')!;
  assert.deepEqual(ch.qop, []);
  const value = client.authorize(ch, "GET", "/dir/index.html");
  const parsed = parseAuthorization(value)!;
  assert.equal(parsed.qop, undefined);
  assert.equal(parsed.cnonce, undefined);
  assert.equal(parsed.nc, undefined);
  // H(HA1:nonce:HA2), as the harness's independent implementation computes it.
  assert.equal(
    parsed.response,
    digestResponse({
      algorithm: "MD5",
      username: "Mufasa",
      password: "CircleOfLife",
      realm: "testrealm@host.com",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      method: "GET",
      uri: "/dir/index.html",
    }),
  );
  assert.equal(parsed.response, "1949323746fe6a43ef61f9606e7febea");
});

test("auth-int when it is the only qop offered: the body enters the hash", () => {
  const client = new DigestClient({ username: "u", password: "p" }, { cnonce: () => "c1" });
  const ch = parseChallenge('Digest realm="r", nonce="n", qop="auth-int", algorithm=SHA-256')!;
  const body = Buffer.from("v=0\r\n");
  const parsed = parseAuthorization(client.authorize(ch, "INVITE", "sip:x@y", body))!;
  assert.equal(parsed.qop, "auth-int");
  assert.equal(
    parsed.response,
    digestResponse({
      algorithm: "SHA-256",
      username: "u",
      password: "p",
      realm: "r",
      nonce: "n",
      method: "INVITE",
      uri: "sip:x@y",
      qop: "auth-int",
      nc: "00000001",
      cnonce: "c1",
      body,
    }),
  );
});

test("parseChallenge refuses what cannot be answered", () => {
  assert.equal(parseChallenge('Basic realm="x"'), null);
  assert.equal(parseChallenge('Digest nonce="n"'), null);
  assert.equal(parseChallenge('Digest realm="r"'), null);
  assert.equal(parseChallenge('Digest realm="r", nonce="n", algorithm=MD5-sess'), null);
  assert.equal(parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256'), null);
  assert.equal(parseChallenge('Digest realm="r", nonce="n", qop="auth-conf"'), null);
  assert.equal(parseChallenge('Digest realm="r, nonce="n"'), null);
  assert.equal(parseChallenge(""), null);
  const ok = parseChallenge('DIGEST REALM="r", NONCE=abc, Stale=TRUE, qop=auth');
  assert.deepEqual(ok, { realm: "r", nonce: "abc", algorithm: "MD5", qop: ["auth"], stale: true });
});

test("chooseChallenges prefers SHA-256 within a realm and answers each realm", () => {
  const md5 = 'Digest realm="a", nonce="1", algorithm=MD5, qop="auth"';
  const sha = 'Digest realm="a", nonce="2", algorithm=SHA-256, qop="auth"';
  const other = 'Digest realm="b", nonce="3", qop="auth"';
  assert.deepEqual(
    chooseChallenges([md5, sha]).map((c) => c.algorithm),
    ["SHA-256"],
  );
  assert.deepEqual(
    chooseChallenges([sha, md5]).map((c) => c.algorithm),
    ["SHA-256"],
  );
  assert.deepEqual(
    chooseChallenges([md5, 'Digest realm="a", nonce="4", algorithm=SHA-512-256', other]).map(
      (c) => `${c.realm} ${c.algorithm}`,
    ),
    ["a MD5", "b MD5"],
  );
  assert.deepEqual(chooseChallenges(["Basic realm=x", "garbage"]), []);
});

function request(method: string, seq: number): SipRequest {
  return {
    type: "request",
    method,
    uri: parseUri("sip:carrier.test"),
    headers: [
      { name: "Via", value: "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKold" },
      { name: "From", value: "<sip:trunk1@carrier.test>;tag=f1" },
      { name: "To", value: "<sip:trunk1@carrier.test>" },
      { name: "Call-ID", value: "c1" },
      { name: "CSeq", value: `${seq} ${method}` },
      { name: "Contact", value: "<sip:trunk1@127.0.0.1:5070>" },
    ],
    body: Buffer.alloc(0),
  };
}

function challengeResponse(status: 401 | 407, ...values: string[]): SipResponse {
  return {
    type: "response",
    status,
    reason: status === 401 ? "Unauthorized" : "Proxy Authentication Required",
    headers: values.map((value) => ({
      name: status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate",
      value,
    })),
    body: Buffer.alloc(0),
  };
}

test("withCredentials: same Call-ID, From tag and To, CSeq + 1, no Via, old authorization replaced", () => {
  const req = request("REGISTER", 7);
  req.headers.push({ name: "Authorization", value: "Digest old" });
  const next = withCredentials(req, [{ name: "Authorization", value: "Digest new" }]);
  assert.equal(getCSeq(next).seq, 8);
  assert.equal(getCSeq(next).method, "REGISTER");
  assert.equal(getHeader(next, "Via"), undefined);
  assert.equal(getHeader(next, "Call-ID"), "c1");
  assert.equal(getHeader(next, "From"), "<sip:trunk1@carrier.test>;tag=f1");
  assert.deepEqual(getHeaders(next, "Authorization"), ["Digest new"]);
  // The original is untouched.
  assert.equal(getCSeq(req).seq, 7);
});

test("DigestRetry answers each challenge once, again only when stale, and keeps other realms", () => {
  const retry = new DigestRetry(new DigestClient({ username: "trunk1", password: "pw" }));
  const first = request("REGISTER", 1);
  const second = retry.next(
    first,
    challengeResponse(401, 'Digest realm="carrier.test", nonce="n1", qop="auth"'),
  );
  assert.ok(second);
  assert.equal(getCSeq(second).seq, 2);
  const auth = parseAuthorization(getHeader(second, "Authorization")!)!;
  assert.equal(auth.username, "trunk1");
  assert.equal(auth.uri, "sip:carrier.test");
  assert.equal(auth.nonce, "n1");
  const ha1 = computeHa1("MD5", "trunk1", "carrier.test", "pw");
  assert.equal(verifyDigest(auth, "REGISTER", ha1, "MD5"), true);

  // A proxy on the way asks too: both answers go in the third attempt.
  const third = retry.next(second, challengeResponse(407, 'Digest realm="proxy.test", nonce="p1"'));
  assert.ok(third);
  assert.equal(getCSeq(third).seq, 3);
  assert.equal(getHeaders(third, "Authorization").length, 1);
  assert.equal(getHeaders(third, "Proxy-Authorization").length, 1);

  // The registrar's nonce expired: stale=true is answered once more.
  const fourth = retry.next(
    third,
    challengeResponse(401, 'Digest realm="carrier.test", nonce="n2", qop="auth", stale=true'),
  );
  assert.ok(fourth);
  assert.equal(parseAuthorization(getHeader(fourth, "Authorization")!)!.nonce, "n2");
  assert.equal(getHeaders(fourth, "Proxy-Authorization").length, 1);

  // A fresh challenge without stale: the password was refused.
  assert.equal(
    retry.next(fourth, challengeResponse(401, 'Digest realm="carrier.test", nonce="n3", qop="auth"')),
    undefined,
  );
});

test("DigestRetry gives up on what it cannot answer and on endless stale", () => {
  const client = new DigestClient({ username: "u", password: "p" });
  const req = request("REGISTER", 1);
  assert.equal(new DigestRetry(client).next(req, { ...challengeResponse(401), status: 403 }), undefined);
  assert.equal(new DigestRetry(client).next(req, challengeResponse(401)), undefined);
  assert.equal(new DigestRetry(client).next(req, challengeResponse(401, 'Basic realm="x"')), undefined);
  const retry = new DigestRetry(client, 2);
  const stale = challengeResponse(401, 'Digest realm="r", nonce="n", stale=true');
  const a = retry.next(req, stale);
  assert.ok(a);
  const b = retry.next(a, stale);
  assert.ok(b);
  assert.equal(retry.next(b, stale), undefined);
});
