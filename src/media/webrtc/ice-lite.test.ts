// The ICE-lite responder: what a browser's connectivity check gets back
// (RFC 8445 §7.3, RFC 5389 §10.1.2), built with the same STUN code the
// RFC 5769 vectors check.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  generateIceCredentials,
  HOST_CANDIDATE_PRIORITY,
  IceLiteResponder,
  isValidIceString,
} from "./ice-lite.ts";
import {
  decodeStun,
  encodeStun,
  findAttribute,
  readXorAddress,
  STUN_BINDING,
  StunAttr,
  StunClass,
  verifyFingerprint,
  verifyIntegrity,
} from "./stun-message.ts";

const LOCAL = { ufrag: "vpbx1234", pwd: "abcdefghijklmnopqrstuvwx" };
const FROM = { address: "192.0.2.7", port: 50123 };

/** A browser's check: USERNAME ours:theirs, PRIORITY, ICE-CONTROLLING, maybe USE-CANDIDATE. */
function check(
  opts: {
    username?: string | null;
    pwd?: string | null;
    useCandidate?: boolean;
    controlled?: boolean;
    extra?: { type: number; value: Buffer }[];
    fingerprint?: boolean;
    cls?: number;
    method?: number;
  } = {},
): Buffer {
  const attributes: { type: number; value: Buffer }[] = [];
  const username = opts.username === undefined ? `${LOCAL.ufrag}:brow` : opts.username;
  if (username !== null) attributes.push({ type: StunAttr.USERNAME, value: Buffer.from(username) });
  attributes.push({ type: StunAttr.PRIORITY, value: Buffer.from([0x6e, 0, 1, 0xff]) });
  attributes.push({
    type: opts.controlled ? StunAttr.ICE_CONTROLLED : StunAttr.ICE_CONTROLLING,
    value: randomBytes(8),
  });
  if (opts.useCandidate) attributes.push({ type: StunAttr.USE_CANDIDATE, value: Buffer.alloc(0) });
  attributes.push(...(opts.extra ?? []));
  const pwd = opts.pwd === undefined ? LOCAL.pwd : opts.pwd;
  return encodeStun(
    {
      method: opts.method ?? STUN_BINDING,
      cls: (opts.cls ?? StunClass.request) as 0,
      transactionId: randomBytes(12),
      attributes,
    },
    { integrityKey: pwd === null ? undefined : Buffer.from(pwd), fingerprint: opts.fingerprint ?? true },
  );
}

function errorCode(response: Buffer | undefined): number | undefined {
  const msg = response && decodeStun(response);
  const v = msg && findAttribute(msg, StunAttr.ERROR_CODE)?.value;
  return v ? v[2] * 100 + v[3] : undefined;
}

test("credentials are random ice-chars, long enough (RFC 8445 §5.3)", () => {
  const a = generateIceCredentials();
  const b = generateIceCredentials();
  assert.ok(isValidIceString(a.ufrag, 4) && a.ufrag.length === 8);
  assert.ok(isValidIceString(a.pwd, 22) && a.pwd.length === 24);
  assert.notEqual(a.pwd, b.pwd);
  assert.equal(isValidIceString("ab c", 1), false);
  assert.equal(isValidIceString("abc", 4), false);
  assert.equal(HOST_CANDIDATE_PRIORITY, 2130706431);
});

test("an authenticated check gets a success with the source address, our integrity and a fingerprint", () => {
  const ice = new IceLiteResponder(LOCAL, "brow");
  const request = check();
  const out = ice.handle(request, FROM);
  assert.equal(out.kind, "authenticated");
  if (out.kind !== "authenticated") return;
  assert.equal(out.useCandidate, false);
  const res = decodeStun(out.response);
  assert.ok(res);
  assert.equal(res.cls, StunClass.success);
  assert.deepEqual(res.transactionId, decodeStun(request)!.transactionId);
  assert.ok(verifyIntegrity(res, Buffer.from(LOCAL.pwd)), "keyed with our password (RFC 8445 §7.3)");
  assert.ok(verifyFingerprint(res));
  assert.deepEqual(
    readXorAddress(findAttribute(res, StunAttr.XOR_MAPPED_ADDRESS)!.value, res.transactionId),
    FROM,
  );
});

test("USE-CANDIDATE is reported: the browser nominates the pair", () => {
  const out = new IceLiteResponder(LOCAL, "brow").handle(check({ useCandidate: true }), FROM);
  assert.equal(out.kind, "authenticated");
  assert.equal(out.kind === "authenticated" && out.useCandidate, true);
});

test("wrong password or wrong USERNAME: 401 without MESSAGE-INTEGRITY", () => {
  const ice = new IceLiteResponder(LOCAL, "brow");
  for (const request of [
    check({ pwd: "not the password at all!!" }),
    check({ username: "someone:brow" }),
    check({ username: `${LOCAL.ufrag}:other` }),
    check({ username: LOCAL.ufrag }),
  ]) {
    const out = ice.handle(request, FROM);
    assert.equal(out.kind, "rejected");
    if (out.kind !== "rejected") continue;
    assert.equal(errorCode(out.response), 401);
    assert.equal(findAttribute(decodeStun(out.response!)!, StunAttr.MESSAGE_INTEGRITY), undefined);
  }
});

test("USERNAME or MESSAGE-INTEGRITY missing: 400 (RFC 5389 §10.1.2)", () => {
  const ice = new IceLiteResponder(LOCAL, "brow");
  for (const request of [check({ username: null }), check({ pwd: null })]) {
    const out = ice.handle(request, FROM);
    assert.equal(out.kind === "rejected" && errorCode(out.response), 400);
  }
});

test("their part of USERNAME is not checked before their SDP arrived (we offered)", () => {
  const ice = new IceLiteResponder(LOCAL);
  assert.equal(ice.handle(check({ username: `${LOCAL.ufrag}:anything` }), FROM).kind, "authenticated");
  ice.remoteUfrag = "brow";
  assert.equal(ice.handle(check({ username: `${LOCAL.ufrag}:anything` }), FROM).kind, "rejected");
});

test("a peer that is controlled too gets 487 Role Conflict (a lite agent is always controlled)", () => {
  const out = new IceLiteResponder(LOCAL, "brow").handle(check({ controlled: true }), FROM);
  assert.equal(out.kind === "rejected" && errorCode(out.response), 487);
});

test("an unknown comprehension-required attribute gets 420 naming it; optional ones are ignored", () => {
  const ice = new IceLiteResponder(LOCAL, "brow");
  const out = ice.handle(check({ extra: [{ type: 0x0077, value: Buffer.alloc(4) }] }), FROM);
  assert.equal(out.kind === "rejected" && errorCode(out.response), 420);
  const unknown = decodeStun((out as { response: Buffer }).response)!;
  assert.equal(findAttribute(unknown, StunAttr.UNKNOWN_ATTRIBUTES)?.value.readUInt16BE(0), 0x0077);
  // Chrome's GOOG-NETWORK-INFO (0xC057) is comprehension-optional.
  assert.equal(
    ice.handle(check({ extra: [{ type: 0xc057, value: Buffer.alloc(4) }] }), FROM).kind,
    "authenticated",
  );
});

test("garbage, a broken fingerprint, responses and other methods never authenticate", () => {
  const ice = new IceLiteResponder(LOCAL, "brow");
  assert.equal(ice.handle(Buffer.from("hello world, not stun"), FROM).kind, "rejected");
  const broken = check();
  broken[broken.length - 1] ^= 0xff;
  const out = ice.handle(broken, FROM);
  assert.equal(out.kind, "rejected");
  assert.equal(out.kind === "rejected" && out.response, undefined, "not STUN: no answer at all");
  assert.equal(ice.handle(check({ cls: StunClass.success }), FROM).kind, "ignored");
  assert.equal(ice.handle(check({ cls: StunClass.indication }), FROM).kind, "ignored");
  const allocate = ice.handle(check({ method: 0x003 }), FROM);
  assert.equal(allocate.kind === "rejected" && errorCode(allocate.response), 400);
  // Without FINGERPRINT (optional for STUN, browsers always add it) a check still works.
  assert.equal(ice.handle(check({ fingerprint: false }), FROM).kind, "authenticated");
});
