import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { NonceManager } from "../../sip/auth/nonce-manager.ts";
import { newBranch, type SipRequest } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { authorize, type RequestSpec, request, seededStore } from "../registrar/sip-phone.test-helper.ts";
import { AuthGuard } from "./auth-guard.ts";
import { PhoneAuthenticator } from "./phone-authenticator.ts";
import { ProxiedPhoneAuthenticator, TrustedProxies } from "./trusted-proxies.ts";

const PROXY: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5060, connectionId: 7 };

/** `req` as the proxy forwards it: the phone's Via with what the proxy saw, the proxy's own on top. */
function throughProxy(
  req: SipRequest,
  phoneVia: string,
  proxyVia = "SIP/2.0/UDP 192.0.2.1:5060",
): SipRequest {
  const headers = req.headers.filter((h) => h.name !== "Via");
  return {
    ...req,
    headers: [
      { name: "Via", value: `${proxyVia};branch=${newBranch()}` },
      { name: "Via", value: `${phoneVia};branch=${newBranch()}` },
      ...headers,
    ],
  };
}

test("VPBX_TRUSTED_PROXIES entries: addresses and CIDR networks of both families; anything else is named", () => {
  const p = new TrustedProxies(" 192.0.2.1, 10.1.0.0/16 ,2001:db8:5::/48,, ::1 ");
  assert.equal(p.size, 4);
  for (const yes of ["192.0.2.1", "10.1.200.3", "::ffff:10.1.0.9", "2001:db8:5:ff::1", "::1", "[::1]"])
    assert.equal(p.trusts(yes), true, yes);
  for (const no of ["192.0.2.2", "10.2.0.1", "2001:db8:6::1", "not-an-ip", ""])
    assert.equal(p.trusts(no), false, no);
  assert.equal(new TrustedProxies().trusts("127.0.0.1"), false, "none by default");
  assert.throws(
    () => new TrustedProxies("192.0.2.1, proxy.example, 10.0.0.0/33, 2001:db8::/129, 1.2.3.4/x"),
    /not an IP address or CIDR network: "proxy.example", "10.0.0.0\/33", "2001:db8::\/129", "1.2.3.4\/x"/,
  );
});

test("the source that counts: the Via below a trusted proxy's (received, rport), else the packet's source", () => {
  const p = new TrustedProxies("192.0.2.1, 192.0.2.2");
  const base = request({});
  // Behind NAT: the proxy wrote what it saw.
  const natted = throughProxy(base, "SIP/2.0/UDP 10.0.0.5:5062;received=198.51.100.7;rport=40000");
  assert.deepEqual(p.sourceOf(natted, PROXY), { ...PROXY, address: "198.51.100.7", port: 40000 });
  // No NAT: the sent-by is where the phone is.
  const straight = throughProxy(base, "SIP/2.0/TCP 198.51.100.8:5070");
  assert.deepEqual(p.sourceOf(straight, PROXY), { ...PROXY, address: "198.51.100.8", port: 5070 });
  assert.deepEqual(p.sourceOf(throughProxy(base, "SIP/2.0/UDP 198.51.100.8"), PROXY).port, 5060);
  // Two trusted proxies in a row: the first hop that is not one of them.
  const chained: SipRequest = {
    ...natted,
    headers: [{ name: "Via", value: `SIP/2.0/UDP 192.0.2.2;branch=${newBranch()}` }, ...natted.headers],
  };
  assert.deepEqual(p.sourceOf(chained, { ...PROXY, address: "192.0.2.2" }).address, "198.51.100.7");
  // The proxy's own request (one Via), a Via without an address: the proxy is the source.
  assert.deepEqual(p.sourceOf(base, PROXY), PROXY);
  assert.deepEqual(p.sourceOf(throughProxy(base, "SIP/2.0/UDP phone.example:5062"), PROXY), PROXY);
  // From anywhere else, Vias change nothing: a phone cannot pick its source.
  const attacker: RemoteAddress = { transport: "UDP", address: "203.0.113.9", port: 5062 };
  assert.deepEqual(p.sourceOf(natted, attacker), attacker);
  assert.deepEqual(new TrustedProxies().sourceOf(natted, PROXY), PROXY);
});

async function setup(trusted: string) {
  const clock = new FakeClock();
  const store = await seededStore();
  const log = pino({ level: "silent" });
  const guard = new AuthGuard({
    clock,
    log,
    blocks: store.authBlocks,
    sourceLimits: [{ failures: 3, windowMs: 60_000 }],
  });
  const opts = { store, nonces: new NonceManager({ clock }), clock, log, guard };
  const auth =
    trusted === ""
      ? new PhoneAuthenticator(opts)
      : new ProxiedPhoneAuthenticator(opts, new TrustedProxies(trusted));
  /** A challenge round trip from the phone at `phone` (host, received, rport) through the proxy. */
  const attempt = async (phoneVia: string, password: string, user = "101") => {
    const spec: RequestSpec = { from: `sip:${user}@acme.test` };
    const first = await auth.authenticate(throughProxy(request(spec), phoneVia), PROXY, "www");
    assert.ok(!first.ok);
    const answer = throughProxy(authorize(request(spec), first.response, { password, user }), phoneVia);
    return auth.authenticate(answer, PROXY, "www");
  };
  return { auth, guard, attempt };
}

const GUESSER = "SIP/2.0/UDP 10.0.0.5:5062;received=198.51.100.7;rport=40000";
const COLLEAGUE = "SIP/2.0/UDP 10.0.0.6:5062;received=198.51.100.8;rport=40002";

test("guesses through a trusted proxy block the guessing phone only, not another phone behind the same proxy", async () => {
  const { guard, attempt } = await setup("192.0.2.1");
  for (let i = 0; i < 3; i++) assert.equal((await attempt(GUESSER, "wrong-guess")).ok, false);
  assert.ok(guard.activeBlock("198.51.100.7"), "the guessing phone's address is blocked");
  assert.equal(guard.activeBlock("192.0.2.1"), undefined, "the proxy is not");
  // The guesser is refused even with the right password; the colleague behind the same proxy is in.
  assert.equal((await attempt(GUESSER, "secret101")).ok, false);
  assert.equal((await attempt(COLLEAGUE, "secret102", "102")).ok, true);
});

test("without trusting the proxy, the same guesses block the proxy and with it every phone behind it", async () => {
  const { guard, attempt } = await setup("");
  for (let i = 0; i < 3; i++) assert.equal((await attempt(GUESSER, "wrong-guess")).ok, false);
  assert.ok(guard.activeBlock("192.0.2.1"));
  assert.equal((await attempt(COLLEAGUE, "secret102", "102")).ok, false);
});
