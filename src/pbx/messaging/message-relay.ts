// SIP MESSAGE between the phones of one company (RFC 3428): the PBX takes
// the message from an authenticated phone and hands it to every registered
// device of the extension it is for; the first 2xx is the answer (§7, like
// a fork), 480 when no device is registered. Never across companies, never
// to the public network.

import type { UserAgent } from "../../sip/dialog/index.ts";
import {
  createRequest,
  createResponse,
  getContentType,
  getHeader,
  newTag,
  parseUri,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import type { ServerTransaction } from "../../sip/transaction/index.ts";
import type { Binding, Extension, Store, Tenant } from "../../store/types.ts";
import type { Logger } from "../../util/log.ts";
import { bindingRoute } from "../registrar/binding-route.ts";

/**
 * RFC 3428 §8: without congestion control a MESSAGE must stay under 1300
 * bytes; over TCP larger ones are fine, but a chat line needs no more than
 * this, and a larger body is a way to make us send more than we received.
 */
export const MAX_MESSAGE_BYTES = 4096;

/** What phones send as instant messages; anything else gets 415. */
const IM_TYPES = new Set([
  "text/plain",
  "text/html",
  "message/cpim",
  "application/im-iscomposing+xml",
  "message/imdn+xml",
]);

export interface MessageRelayDeps {
  ua: UserAgent;
  store: Store;
  devices(tenant: string, extension: string): Promise<Binding[]>;
  log: Logger;
}

export class MessageRelay {
  constructor(private readonly deps: MessageRelayDeps) {}

  /** Answers an authenticated MESSAGE from `sender`, relaying it when it is for a colleague. */
  async relay(req: SipRequest, tx: ServerTransaction, tenant: Tenant, sender: Extension): Promise<void> {
    const log = this.deps.log.child({ callId: getHeader(req, "Call-ID") });
    const type = (getContentType(req) ?? "").toLowerCase();
    if (req.body.length > MAX_MESSAGE_BYTES) {
      tx.respond(createResponse(req, 413, "Message Too Large", { toTag: newTag() }));
      return;
    }
    if (!IM_TYPES.has(type)) {
      tx.respond(
        createResponse(req, 415, undefined, {
          toTag: newTag(),
          headers: [{ name: "Accept", value: [...IM_TYPES].join(", ") }],
        }),
      );
      return;
    }
    const target = req.uri.user ?? "";
    const recipient = /^[0-9]{1,8}$/.test(target)
      ? await this.deps.store.extensions.get(tenant.name, target)
      : undefined;
    if (!recipient) {
      tx.respond(createResponse(req, 404, undefined, { toTag: newTag() }));
      return;
    }
    const devices = await this.deps.devices(tenant.name, recipient.number);
    if (devices.length === 0) {
      tx.respond(createResponse(req, 480, undefined, { toTag: newTag() }));
      return;
    }
    // RFC 3428 §7 like a fork: the first 2xx is the answer; otherwise the most telling failure once all answered.
    const status = await new Promise<number>((resolve) => {
      const failures: number[] = [];
      for (const device of devices) {
        this.deliver(req, type, tenant, sender, recipient, device).then(
          (res) => {
            if (res.status >= 200 && res.status < 300) resolve(res.status);
            else failures.push(res.status);
            if (failures.length === devices.length) resolve(failures.find((s) => s >= 400) ?? 480);
          },
          (err: unknown) => {
            log.warn({ err, contact: device.contact }, "message delivery failed");
            failures.push(500);
            if (failures.length === devices.length) resolve(480);
          },
        );
      }
    });
    log.info(
      { from: sender.number, to: recipient.number, devices: devices.length, status },
      "message relayed",
    );
    tx.respond(createResponse(req, status, undefined, { toTag: newTag() }));
  }

  private deliver(
    req: SipRequest,
    type: string,
    tenant: Tenant,
    sender: Extension,
    recipient: Extension,
    device: Binding,
  ): Promise<SipResponse> {
    const route = bindingRoute(device);
    const message = createRequest("MESSAGE", parseUri(device.contact), {
      from: {
        displayName: sender.displayName || undefined,
        uri: parseUri(`sip:${sender.number}@${tenant.domain}`),
        params: {},
      },
      to: { uri: parseUri(`sip:${recipient.number}@${tenant.domain}`), params: {} },
      headers: [
        { name: "Content-Type", value: getHeader(req, "Content-Type") ?? type },
        // A compressed body (linphone's read receipts) says so, or the other phone reads bytes.
        ...["Content-Encoding"].flatMap((name) => {
          const value = getHeader(req, name);
          return value ? [{ name, value }] : [];
        }),
        // Behind a proxy the phone is reached through the Path it registered with (RFC 3327 §5.4).
        ...route.routes,
      ],
      body: req.body,
    });
    return this.deps.ua.sendRequest(message, route.remote);
  }
}
