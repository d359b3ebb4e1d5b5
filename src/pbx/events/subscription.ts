// One subscription (RFC 6665 §4.2) from the notifier's side: active until it
// expires, is unsubscribed or its NOTIFY is refused; then terminated, with a
// final NOTIFY when the subscriber should hear why. NOTIFYs of one
// subscription go one at a time (§4.2.2 rate limiting): a change that comes
// while one is in flight is sent once it is answered, as the state of that
// moment, so a phone never sees an older state after a newer one.
import type { Dialog } from "../../sip/dialog/dialog.ts";
import type { HeaderField, SipResponse } from "../../sip/message/types.ts";
import { isSynthetic } from "../../sip/transaction/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { formatEvent } from "./packages.ts";
import type { EventPackage } from "./types.ts";

/** §4.2.2 reasons we use: timeout (expired or unsubscribed), deactivated (subscribe again), noresource (gone). */
export type EndReason = "timeout" | "deactivated" | "noresource";

/** What a NOTIFY carries: the body (the version is only known when it is sent) and a key to spot "no change". */
export interface NotifyContent {
  /** Equal keys mean equal state: no NOTIFY for a "change" that changes nothing. */
  key: string;
  contentType: string;
  body(version: number): string;
}

export interface SubscriptionInit {
  id: string;
  tenant: string;
  /** The subscriber's extension. */
  extension: string;
  pkg: EventPackage;
  eventId?: string;
  /** As subscribed: "102", "*11", "*97". */
  resource: string;
  dialog: Dialog;
  expiresAt: number;
  /** The version of the last document sent (-1: none yet). */
  version: number;
}

export interface SubscriptionDeps {
  clock: Clock;
  log: Logger;
  /** Sends a NOTIFY in the dialog; resolves with the final response (synthetic 408/503 included). */
  send(dialog: Dialog, headers: HeaderField[], body: Buffer, contentType: string): Promise<SipResponse>;
  /** The current state of what the subscription watches. */
  content(sub: Subscription): NotifyContent;
  /** A NOTIFY went out with this CSeq and version (to keep them rising across a restart). */
  sent(sub: Subscription): void;
  /** The subscription is over (whatever the reason): forget it everywhere. Called once. */
  ended(sub: Subscription, why: string): void;
}

export class Subscription {
  readonly id: string;
  readonly tenant: string;
  readonly extension: string;
  readonly pkg: EventPackage;
  readonly eventId: string | undefined;
  readonly resource: string;
  readonly dialog: Dialog;
  expiresAt: number;
  version: number;
  state: "active" | "terminated" = "active";
  /** The key of the last state sent. */
  private lastKey: string | undefined;
  private timer: Timer | undefined;
  private inFlight = false;
  /** A NOTIFY of the current state is due; `force` sends it even when nothing changed (new or refreshed). */
  private due: { force: boolean } | undefined;
  /** The final NOTIFY is due with this reason; null: ended without one. */
  private final: EndReason | undefined;
  private readonly log: Logger;

  constructor(
    init: SubscriptionInit,
    private readonly deps: SubscriptionDeps,
  ) {
    this.id = init.id;
    this.tenant = init.tenant;
    this.extension = init.extension;
    this.pkg = init.pkg;
    this.eventId = init.eventId;
    this.resource = init.resource;
    this.dialog = init.dialog;
    this.expiresAt = init.expiresAt;
    this.version = init.version;
    this.log = deps.log.child({ callId: init.dialog.callId, subscription: init.id });
  }

  get isActive(): boolean {
    return this.state === "active";
  }

  /** Seconds left, as Subscription-State's expires says them (§8.2.3). */
  remainingSeconds(): number {
    return Math.max(0, Math.ceil((this.expiresAt - this.deps.clock.now()) / 1000));
  }

  /** Starts (or restarts after a restore) the life of the subscription: its expiry and the immediate NOTIFY (§4.2.1.2). */
  activate(): void {
    this.arm();
    this.notify(true);
  }

  /** §4.2.1.4: a refresh moves the expiry and is answered with a NOTIFY of the full state. */
  refresh(expiresAt: number): void {
    if (!this.isActive) return;
    this.expiresAt = expiresAt;
    this.arm();
    this.notify(true);
  }

  /** The watched state may have changed: NOTIFY when it did. */
  changed(): void {
    this.notify(false);
  }

  /**
   * Ends the subscription with a final NOTIFY (`Subscription-State:
   * terminated;reason=...`, §4.2.2) carrying the last state.
   */
  terminate(reason: EndReason, why: string = reason): void {
    if (!this.isActive) return;
    this.final = reason;
    this.end(why);
    this.pump();
  }

  /** Ends the subscription without a NOTIFY (the subscriber is gone, or replaced it). */
  drop(why: string): void {
    if (!this.isActive) return;
    this.due = undefined;
    this.end(why);
  }

  /** Stops the expiry timer without ending anything (shutdown: the store keeps the subscription). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.due = undefined;
    this.state = "terminated";
  }

  private end(why: string): void {
    this.state = "terminated";
    this.timer?.cancel();
    this.timer = undefined;
    this.log.info({ why }, "subscription ended");
    this.deps.ended(this, why);
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = this.deps.clock.setTimer(this.expiresAt - this.deps.clock.now(), () => {
      this.timer = undefined;
      // §4.2.1.4: not refreshed in time; the subscriber MAY subscribe again at once.
      this.terminate("timeout", "expired");
    });
  }

  private notify(force: boolean): void {
    if (!this.isActive) return;
    this.due = { force: force || (this.due?.force ?? false) };
    this.pump();
  }

  private pump(): void {
    if (this.inFlight) return;
    let final: EndReason | undefined;
    let force = false;
    if (this.final !== undefined) {
      final = this.final;
      this.final = undefined;
      this.due = undefined;
    } else if (this.due && this.isActive) {
      force = this.due.force;
      this.due = undefined;
    } else return;
    this.inFlight = true;
    this.send(final, force)
      .catch((err: unknown) => this.log.error({ err }, "NOTIFY failed unexpectedly"))
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }

  private async send(final: EndReason | undefined, force: boolean): Promise<void> {
    const content = this.deps.content(this);
    if (final === undefined && !force && content.key === this.lastKey) return;
    const version = this.version + 1;
    const state =
      final === undefined ? `active;expires=${this.remainingSeconds()}` : `terminated;reason=${final}`;
    const headers: HeaderField[] = [
      { name: "Event", value: formatEvent(this.pkg, this.eventId) },
      { name: "Subscription-State", value: state },
    ];
    const body = Buffer.from(content.body(version), "utf8");
    this.version = version;
    this.lastKey = content.key;
    const res = await this.deps.send(this.dialog, headers, body, content.contentType);
    if (this.isActive) this.deps.sent(this);
    if (res.status >= 200 && res.status < 300) return;
    // §4.2.2: a 481 says the subscriber knows no such subscription; a timeout
    // or a transport failure (our synthetic 408/503) that nobody is there.
    const gone = res.status === 481 || res.status === 408 || isSynthetic(res);
    if (gone && this.isActive) {
      this.drop(`NOTIFY answered ${res.status}`);
      return;
    }
    this.log.info({ status: res.status, final: final !== undefined }, "NOTIFY refused");
  }
}
