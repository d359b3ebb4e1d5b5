import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { after, test } from "node:test";
import { parseAuthParams, parseChallenge } from "./digest.ts";
import { SipPhone } from "./sip-phone.ts";

const closers: Array<() => unknown> = [];
after(async () => {
  for (const c of closers) await c();
});

function h(alg: "md5" | "sha256", s: string): string {
  return createHash(alg).update(s).digest("hex");
}

/** Reads one header value from raw SIP text. */
function header(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, "im").exec(text);
  return m?.[1].trim();
}

/** Copies Via/From/To/Call-ID/CSeq into a response, as any server does. */
function respond(text: string, status: string, extra: string[] = []): string {
  const keep = text
    .split("\r\n")
    .filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l))
    .join("\r\n");
  return `SIP/2.0 ${status}\r\n${keep}\r\n${extra.map((e) => e + "\r\n").join("")}Content-Length: 0\r\n\r\n`;
}

/**
 * A tiny challenger on a raw socket: the first request gets `challenges[0]`,
 * and so on; once they are used up, 200. Records each request's text.
 */
async function responder(challenges: string[]) {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  closers.push(() => sock.close());
  const seen: string[] = [];
  sock.on("message", (buf, rinfo) => {
    const text = buf.toString();
    if (text.startsWith("ACK ")) return;
    seen.push(text);
    const ch = challenges[seen.length - 1];
    const reply = ch ? respond(text, ch.split("|")[0], [ch.split("|")[1]]) : respond(text, "200 OK");
    sock.send(reply, rinfo.port, rinfo.address);
  });
  return { port: sock.address().port, seen };
}

test("REGISTER answers a 401 with an MD5 qop=auth digest a server can verify", async () => {
  const srv = await responder([
    '401 Unauthorized|WWW-Authenticate: Digest realm="acme.test", nonce="abc123", qop="auth,auth-int", algorithm=MD5, opaque="op"',
  ]);
  const phone = await SipPhone.create({
    user: "101",
    password: "s3cret",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: srv.port },
  });
  closers.push(() => phone.close());
  const res = await phone.register();
  assert.equal(res.status, 200);
  assert.equal(srv.seen.length, 2);
  assert.equal(header(srv.seen[0], "Authorization"), undefined);
  const auth = header(srv.seen[1], "Authorization")!;
  const p = parseAuthParams(auth.replace(/^Digest\s+/, ""));
  assert.equal(p.get("username"), "101");
  assert.equal(p.get("uri"), "sip:acme.test");
  assert.equal(p.get("qop"), "auth");
  assert.equal(p.get("nc"), "00000001");
  assert.equal(p.get("opaque"), "op");
  const ha1 = h("md5", "101:acme.test:s3cret");
  const ha2 = h("md5", "REGISTER:sip:acme.test");
  assert.equal(p.get("response"), h("md5", `${ha1}:abc123:00000001:${p.get("cnonce")}:auth:${ha2}`));
  // Same Call-ID, growing CSeq across the retry (RFC 3261 §10.2).
  assert.equal(header(srv.seen[0], "Call-ID"), header(srv.seen[1], "Call-ID"));
  assert.notEqual(header(srv.seen[0], "CSeq"), header(srv.seen[1], "CSeq"));
});

test("INVITE answers a 407 with SHA-256; a stale nonce is retried with nc incremented", async () => {
  const challenge = 'Proxy-Authenticate: Digest realm="pbx", nonce="n1", qop="auth", algorithm=SHA-256';
  const srv = await responder([
    `407 Proxy Authentication Required|${challenge}`,
    `407 Proxy Authentication Required|${challenge}, stale=true`,
  ]);
  const phone = await SipPhone.create({
    user: "101",
    password: "pw",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: srv.port },
  });
  closers.push(() => phone.close());
  const call = await phone.call("*72079");
  await call.waitFor("answered").catch(() => {}); // the responder's 200 has no SDP or Contact: only the digest matters
  assert.equal(srv.seen.length, 3);
  const p2 = parseAuthParams(header(srv.seen[1], "Proxy-Authorization")!.replace(/^Digest\s+/, ""));
  const p3 = parseAuthParams(header(srv.seen[2], "Proxy-Authorization")!.replace(/^Digest\s+/, ""));
  assert.equal(p2.get("algorithm"), "SHA-256");
  assert.equal(p2.get("uri"), "sip:*72079@acme.test");
  assert.equal(p2.get("nc"), "00000001");
  assert.equal(p3.get("nc"), "00000002");
  const ha1 = h("sha256", "101:pbx:pw");
  const ha2 = h("sha256", "INVITE:sip:*72079@acme.test");
  for (const p of [p2, p3]) {
    assert.equal(p.get("response"), h("sha256", `${ha1}:n1:${p.get("nc")}:${p.get("cnonce")}:auth:${ha2}`));
  }
});

test("a wrong password gets the second 401 back instead of looping", async () => {
  const ch = '401 Unauthorized|WWW-Authenticate: Digest realm="r", nonce="same"';
  const srv = await responder([ch, ch, ch, ch]);
  const phone = await SipPhone.create({
    user: "1",
    password: "p",
    domain: "d",
    server: { host: "127.0.0.1", port: srv.port },
  });
  closers.push(() => phone.close());
  const res = await phone.register();
  assert.equal(res.status, 401);
  assert.equal(srv.seen.length, 2);
  // RFC 2069 style (no qop): response = H(HA1:nonce:HA2).
  const p = parseAuthParams(header(srv.seen[1], "Authorization")!.replace(/^Digest\s+/, ""));
  assert.equal(p.get("qop"), undefined);
  assert.equal(p.get("response"), h("md5", `${h("md5", "1:r:p")}:same:${h("md5", "REGISTER:sip:d")}`));
});

test("challenge parsing: quoted commas, escapes, unknown algorithms", () => {
  const c = parseChallenge('Digest realm="a, \\"b\\"", nonce="x", qop="auth", stale=TRUE');
  assert.deepEqual(
    [c?.realm, c?.nonce, c?.qop, c?.stale, c?.algorithm],
    ['a, "b"', "x", ["auth"], true, "MD5"],
  );
  assert.equal(parseChallenge('Basic realm="x"'), undefined);
  assert.equal(parseChallenge('Digest realm="x", nonce="y", algorithm=SHA-512-256'), undefined);
});

test("the harness as server: requireAuth challenges and accepts a correct digest", async () => {
  const server = await SipPhone.create({
    user: "pbx",
    password: "",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: 9 },
  });
  server.requireAuth = { realm: "acme.test", password: "pw" };
  const good = await SipPhone.create({
    user: "101",
    password: "pw",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: server.localPort },
  });
  const bad = await SipPhone.create({
    user: "102",
    password: "nope",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: server.localPort },
  });
  closers.push(
    () => server.close(),
    () => good.close(),
    () => bad.close(),
  );
  assert.equal((await good.register()).status, 200);
  assert.equal((await bad.register()).status, 401);
  assert.deepEqual(
    server.authenticated.map((a) => a.username),
    ["101"],
  );
  assert.equal(server.registrations.length, 1);
  assert.match(server.registrations[0].contacts[0], new RegExp(`:${good.localPort}>`));
});
