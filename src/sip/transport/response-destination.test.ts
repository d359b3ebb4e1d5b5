import assert from "node:assert/strict";
import { test } from "node:test";
import { getTopVia, parseMessage } from "../message/index.ts";
import type { Via } from "../message/types.ts";
import { responseDestination } from "./response-destination.ts";
import { stampReceived } from "./transport-layer.ts";
import type { RemoteAddress } from "./types.ts";

/** The top Via of a request from `source` whose Via reads `via`, after the transport stamped it. */
function arrived(via: string, source: RemoteAddress): Via {
  const req = parseMessage(
    Buffer.from(
      `INVITE sip:101@acme.test SIP/2.0\r\nVia: ${via}\r\nFrom: <sip:x@acme.test>;tag=1\r\n` +
        "To: <sip:101@acme.test>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    ),
  );
  assert.ok(stampReceived(req, source));
  return getTopVia(req);
}

const ATTACKER: RemoteAddress = { transport: "UDP", address: "198.51.100.7", port: 40000 };

test("a forged Via maddr naming a third party is ignored: the response goes to the source", () => {
  // The attacker writes the victim in sent-by and in maddr: neither is obeyed.
  const via = arrived("SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK1;maddr=192.0.2.99;rport", ATTACKER);
  assert.deepEqual(responseDestination(via, ATTACKER), {
    transport: "UDP",
    address: "198.51.100.7",
    port: 40000,
  });
});

test("without rport, a forged maddr still loses to received (the source address)", () => {
  const via = arrived("SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bK1;maddr=192.0.2.99", ATTACKER);
  assert.deepEqual(responseDestination(via, ATTACKER), {
    transport: "UDP",
    address: "198.51.100.7",
    port: 5070,
  });
});

test("a maddr that names the source itself leads to the source as well", () => {
  const via = arrived("SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK1;maddr=198.51.100.7", ATTACKER);
  assert.deepEqual(responseDestination(via, ATTACKER), {
    transport: "UDP",
    address: "198.51.100.7",
    port: 5070,
  });
  const v6: RemoteAddress = { transport: "UDP", address: "2001:db8::7", port: 40000 };
  const via6 = arrived("SIP/2.0/UDP [2001:db8::7]:5070;branch=z9hG4bK1;maddr=[2001:DB8:0::7];rport", v6);
  assert.deepEqual(responseDestination(via6, v6), v6);
});

test("a maddr that is a host name or a zoned address changes nothing and throws nothing", () => {
  for (const maddr of ["victim.example.com", "[fe80::1%25eth0]", "fe80::1%eth0"]) {
    const via = arrived(`SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK1;maddr=${maddr};rport`, ATTACKER);
    assert.deepEqual(responseDestination(via, ATTACKER), ATTACKER, maddr);
  }
});
