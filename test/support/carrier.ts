// The public network in a test: a harness SIP endpoint on its own loopback
// address (127.0.0.2, so that the PBX tells it from the phones) and the
// trunk "carrier" that points at it. Calls from it come from one subscriber
// of the public network; calls through the trunk reach it.
import assert from "node:assert/strict";
import { SipPhone, type SipPhoneOptions } from "../harness/sip-phone.ts";
import type { TestPbx } from "./test-pbx.ts";

export const CARRIER_CALLER = "+41449998877";

export interface CarrierOptions {
  /** The trunk's transport (default udp); tls also needs `server` (the PBX's TLS port) and a trusted CA. */
  transport?: "udp" | "tcp" | "tls";
  /** Where the carrier sends its calls (default the PBX's UDP port). */
  server?: { host: string; port: number };
  /** SDES SRTP on its calls (only over TLS). */
  srtp?: boolean;
}

/** Starts the carrier and creates the trunk "carrier" to it (the first trunk: every company's default). */
export async function addCarrier(pbx: TestPbx, opts: CarrierOptions = {}): Promise<SipPhone> {
  const transport = opts.transport ?? "udp";
  const phoneOpts: SipPhoneOptions = {
    user: CARRIER_CALLER,
    password: "unused-by-trunks",
    domain: "carrier.test",
    server: opts.server ?? pbx.sip,
    localAddress: "127.0.0.2",
    ...(transport === "udp" ? {} : { transport: transport === "tls" ? "TLS" : "TCP" }),
    ...(opts.srtp ? { srtp: true } : {}),
  };
  const carrier = await SipPhone.create(phoneOpts);
  const trunk = await pbx.api("POST", "/api/v1/trunks", {
    name: "carrier",
    host: "127.0.0.2",
    port: carrier.localPort,
    transport,
  });
  if (trunk.status !== 201) await carrier.close();
  assert.equal(trunk.status, 201, `trunk: ${JSON.stringify(trunk.body)}`);
  return carrier;
}
