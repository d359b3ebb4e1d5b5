import assert from "node:assert/strict";
import { test } from "node:test";
import {
  computeHa1,
  computeResponse,
  type DigestResponse,
  formatChallenge,
  parseAuthorization,
  parseNonceCount,
  verifyDigest,
} from "./digest.ts";

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const RFC = {
  username: "Mufasa",
  realm: "http-auth@example.org",
  password: "Circle of Life",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
  uri: "/dir/index.html",
  method: "GET",
  md5: "8ca523f5e9506fed4657c9700eebdbec",
  sha256: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
};

function rfcHeader(algorithm: string, response: string): string {
  return (
    `Digest username="${RFC.username}",\r\n realm="${RFC.realm}",\r\n uri="${RFC.uri}",\r\n ` +
    `algorithm=${algorithm},\r\n nonce="${RFC.nonce}",\r\n nc=00000001,\r\n cnonce="${RFC.cnonce}",\r\n ` +
    `qop=auth,\r\n response="${response}",\r\n opaque="${RFC.opaque}"`
  );
}

test("RFC 7616 §3.9.1 vectors verify for MD5 and SHA-256", () => {
  const md5 = parseAuthorization(rfcHeader("MD5", RFC.md5));
  assert.ok(md5);
  assert.equal(md5.username, "Mufasa");
  assert.equal(md5.realm, RFC.realm);
  assert.equal(md5.opaque, RFC.opaque);
  assert.equal(md5.nc, "00000001");
  const ha1Md5 = computeHa1("MD5", RFC.username, RFC.realm, RFC.password);
  assert.equal(verifyDigest(md5, RFC.method, ha1Md5, "MD5"), true);

  const sha = parseAuthorization(rfcHeader("SHA-256", RFC.sha256));
  assert.ok(sha);
  const ha1Sha = computeHa1("SHA-256", RFC.username, RFC.realm, RFC.password);
  assert.equal(ha1Sha.length, 64);
  assert.equal(verifyDigest(sha, RFC.method, ha1Sha, "SHA-256"), true);
  // The algorithm written by the client must be the one whose HA1 is used.
  assert.equal(verifyDigest(sha, RFC.method, ha1Md5, "MD5"), false);
  assert.equal(
    computeResponse("SHA-256", ha1Sha, RFC.nonce, "00000001", RFC.cnonce, RFC.method, RFC.uri),
    RFC.sha256,
  );
});

test("a SIP REGISTER digest verifies, and any tampered field fails", () => {
  const ha1 = computeHa1("MD5", "101", "acme.test", "s3cret");
  const fields = { nonce: "abc", nc: "00000001", cnonce: "xyz", uri: "sip:acme.test" };
  const response = computeResponse(
    "MD5",
    ha1,
    fields.nonce,
    fields.nc,
    fields.cnonce,
    "REGISTER",
    fields.uri,
  );
  const header =
    `Digest username="101",realm="acme.test",nonce="abc",uri="sip:acme.test",` +
    `response="${response.toUpperCase()}",algorithm=MD5,cnonce="xyz",qop=auth,nc=00000001`;
  const ok = parseAuthorization(header);
  assert.ok(ok);
  assert.equal(verifyDigest(ok, "REGISTER", ha1, "MD5"), true);

  const tamper = (patch: Partial<DigestResponse>) =>
    verifyDigest({ ...ok, ...patch }, "REGISTER", ha1, "MD5");
  assert.equal(tamper({ nonce: "abd" }), false);
  assert.equal(tamper({ nc: "00000002" }), false);
  assert.equal(tamper({ cnonce: "xyy" }), false);
  assert.equal(tamper({ uri: "sip:evil.test" }), false);
  assert.equal(tamper({ response: response.slice(0, -1) + (response.endsWith("0") ? "1" : "0") }), false);
  assert.equal(tamper({ response: response.slice(0, -2) }), false);
  assert.equal(verifyDigest(ok, "INVITE", ha1, "MD5"), false);
  assert.equal(verifyDigest(ok, "REGISTER", computeHa1("MD5", "101", "acme.test", "guess"), "MD5"), false);
  // RFC 2069 form (no qop) and auth-int are refused even with a correct hash.
  assert.equal(tamper({ qop: undefined }), false);
  assert.equal(tamper({ qop: "auth-int" }), false);
  assert.equal(tamper({ cnonce: undefined }), false);
  assert.equal(tamper({ nc: "1" }), false);
  assert.equal(tamper({ algorithm: "MD5-sess" }), false);
  // No algorithm means MD5 (RFC 7616 §3.4).
  assert.equal(tamper({ algorithm: undefined }), true);
});

test("parseAuthorization handles quoting, escapes and case, and refuses malformed input", () => {
  const p = parseAuthorization(
    'digest USERNAME="a\\"b\\\\c" , Realm = "r, with comma",nonce=n1,uri="sip:x",response="AB",QOP="auth"',
  );
  assert.ok(p);
  assert.equal(p.username, 'a"b\\c');
  assert.equal(p.realm, "r, with comma");
  assert.equal(p.nonce, "n1");
  assert.equal(p.response, "ab");
  assert.equal(p.qop, "auth");
  assert.equal(p.params.qop, "auth");

  const bad = [
    "",
    "Basic dXNlcjpwYXNz",
    "Digest",
    'Digest username="101"',
    'Digest username="101", realm="r", nonce="n", uri="u"',
    'Digest username="101, realm="r", nonce="n", uri="u", response="x"',
    'Digest username="101" realm="r", nonce="n", uri="u", response="x"',
    'Digest username="101", username="102", realm="r", nonce="n", uri="u", response="x"',
    'Digest username=, realm="r", nonce="n", uri="u", response="x"',
    'Digest username="101", realm="r", nonce="n", uri="u", response="x",',
    'Digest username="101\\',
    `Digest username="${"a".repeat(5000)}", realm="r", nonce="n", uri="u", response="x"`,
  ];
  for (const value of bad) assert.equal(parseAuthorization(value), null, value);
});

test("formatChallenge quotes what RFC 7616 §3.3 quotes and round-trips realm escapes", () => {
  assert.equal(
    formatChallenge({ realm: "acme.test", nonce: "n0", algorithm: "SHA-256", qop: "auth" }),
    'Digest realm="acme.test", nonce="n0", algorithm=SHA-256, qop="auth"',
  );
  assert.equal(
    formatChallenge({ realm: 'a"b', nonce: "n0", opaque: "o", algorithm: "MD5", qop: "auth", stale: true }),
    'Digest realm="a\\"b", nonce="n0", opaque="o", algorithm=MD5, qop="auth", stale=true',
  );
  // A challenge parses back with the same parameter grammar.
  const back = parseAuthorization(
    formatChallenge({ realm: 'a"b', nonce: "n0", algorithm: "MD5", qop: "auth" }) +
      ', username="u", uri="sip:x", response="0"',
  );
  assert.equal(back?.realm, 'a"b');
});

test("parseNonceCount accepts exactly 8 hex digits", () => {
  assert.equal(parseNonceCount("00000001"), 1);
  assert.equal(parseNonceCount("0000000a"), 10);
  assert.equal(parseNonceCount("ffffffff"), 0xffffffff);
  assert.equal(parseNonceCount("1"), undefined);
  assert.equal(parseNonceCount("0000000g"), undefined);
  assert.equal(parseNonceCount(undefined), undefined);
});
