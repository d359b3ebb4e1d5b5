// A subscriber (RFC 6665 §4.1) on top of the harness phone, which knows
// calls but not subscriptions: it sends SUBSCRIBE (out of dialog, then
// refreshes in the dialog the 2xx made), takes the NOTIFYs of that dialog,
// answers them as told, and remembers them in order. NOTIFYs may come before
// the 2xx (§4.1.2.4): the dialog is known to the phone before it subscribes.

import { getHeader, newBranch, newCallId, newTag, parseUri } from "../../src/sip/message/index.ts";
import type { SipRequest, SipResponse } from "../../src/sip/message/types.ts";
import type { Call, SipPhone } from "./sip-phone.ts";

export class Subscriber {
  readonly callId = newCallId();
  readonly localTag = newTag();
  /** Every NOTIFY of this subscription, oldest first. */
  readonly notifies: SipRequest[] = [];
  /** The status NOTIFYs are answered with; "ignore" sends nothing. */
  answer: number | "ignore" = 200;
  remoteTag: string | undefined;
  private seq = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(
    readonly phone: SipPhone,
    /** "102" → sip:102@<phone's domain>; or a full URI. */
    readonly resource: string,
    readonly event: string,
  ) {
    // The harness routes requests with our tag in To to this object, as it does for a call.
    const stub = {
      callId: this.callId,
      localTag: this.localTag,
      onInDialog: (req: SipRequest, peer: { address: string; port: number }) => this.onNotify(req, peer),
      onAck: () => {},
      dispose: () => {},
    };
    phone.dialogs.set(`${this.callId}|${this.localTag}`, stub as unknown as Call);
  }

  get uri(): string {
    return this.phone.targetUri(this.resource);
  }

  /** SUBSCRIBE (the first out of dialog, later ones in it) and its final response. */
  async subscribe(expires?: number, extra: Array<[string, string]> = []): Promise<SipResponse> {
    const res = await this.phone.request((auth) => ({
      type: "request",
      method: "SUBSCRIBE",
      uri: parseUri(this.uri),
      headers: [
        this.phone.via(newBranch()),
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: this.phone.fromHeader(this.localTag) },
        { name: "To", value: `<${this.uri}>${this.remoteTag ? `;tag=${this.remoteTag}` : ""}` },
        { name: "Call-ID", value: this.callId },
        { name: "CSeq", value: `${++this.seq} SUBSCRIBE` },
        { name: "Contact", value: `<${this.phone.contactUri}>` },
        { name: "Event", value: this.event },
        ...(expires === undefined ? [] : [{ name: "Expires", value: String(expires) }]),
        ...extra.map(([name, value]) => ({ name, value })),
        ...auth,
        { name: "Content-Length", value: "0" },
      ],
      body: Buffer.alloc(0),
    }));
    if (res.status >= 200 && res.status < 300 && !this.remoteTag) {
      this.remoteTag = /;\s*tag=([^;>\s]+)/.exec(getHeader(res, "To") ?? "")?.[1];
    }
    return res;
  }

  /** Waits until `count` NOTIFYs have come. */
  waitForNotifies(count: number, timeoutMs = this.phone.timeoutMs): Promise<SipRequest[]> {
    if (this.notifies.length >= count) return Promise.resolve(this.notifies);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.phone.user}: expected ${count} NOTIFYs for ${this.resource} (${this.event}), got ${this.notifies.length}; last messages:\n${this.phone.recent()}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.notifies);
        },
      });
    });
  }

  /** The body of the latest NOTIFY. */
  get lastBody(): string {
    return this.notifies.at(-1)?.body.toString("utf8") ?? "";
  }

  /** Forgets the dialog on the phone's side: later NOTIFYs get 481, as from a phone that restarted. */
  forget(): void {
    this.phone.dialogs.delete(`${this.callId}|${this.localTag}`);
  }

  private onNotify(req: SipRequest, peer: { address: string; port: number }): void {
    if (req.method !== "NOTIFY") {
      this.phone.reply(req, peer, { status: 405 });
      return;
    }
    if (this.answer !== "ignore") this.phone.reply(req, peer, { status: this.answer });
    this.notifies.push(req);
    this.waiters = this.waiters.filter((w) => {
      if (this.notifies.length < w.count) return true;
      w.resolve();
      return false;
    });
  }
}
