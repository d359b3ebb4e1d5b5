// The one place where rooms publish state and phones subscribe to it (RFC
// 6665): an extension's calls (dialog, RFC 4235), whether it is reachable
// and on the phone (presence, RFC 3856), its mailbox (message-summary, RFC
// 3842) and the lamps of feature codes. Every subscription is a dialog of the
// UA core, kept in the store so that it survives a restart; nobody else sends
// NOTIFY. Resources are looked up in the subscriber's own company only.
import { Dialog, firstContact } from "../../sip/dialog/dialog.ts";
import {
  createRequest,
  createResponse,
  formatNameAddr,
  formatUri,
  getExpires,
  getHeader,
  getHeaders,
  newTag,
  parseNameAddr,
  parseUri,
} from "../../sip/message/index.ts";
import type { HeaderField, SipRequest, SipResponse } from "../../sip/message/types.ts";
import type { ServerTransaction } from "../../sip/transaction/types.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding, Extension, StoredSubscription, Tenant } from "../../store/types.ts";
import { bindingRoute } from "../registrar/binding-route.ts";
import { extensionDialogInfo, featureLampInfo, partyUri } from "./dialog-info.ts";
import { MESSAGE_SUMMARY_TYPE, messageSummaryText } from "./message-summary.ts";
import { ALLOW_EVENTS, accepts, isEventPackage, PACKAGES, parseEvent } from "./packages.ts";
import { PIDF_TYPE, pidfXml } from "./pidf.ts";
import { type NotifyContent, Subscription, type SubscriptionDeps } from "./subscription.ts";
import type {
  EventHubDeps,
  EventPackage,
  ExtensionDialog,
  MailboxCounts,
  SubscriptionView,
} from "./types.ts";

export const DEFAULT_MAX_PER_DEVICE = 50;
export const DEFAULT_MIN_EXPIRES = 60;
export const DEFAULT_MAX_EXPIRES = 7200;
/**
 * After a restart our CSeq and the body version jump ahead by this much: the
 * store writes them after each NOTIFY on a synchronous=NORMAL connection, and
 * a power cut may roll back the last writes. A phone refuses a NOTIFY whose
 * CSeq is lower than the last it saw (RFC 3261 §12.2.2) and ignores an older
 * version (RFC 4235 §4.1.2); skipping numbers is allowed for both.
 */
export const RESTORE_SEQUENCE_MARGIN = 1000;
const MAX_CSEQ = 2 ** 31 - 1;

/** Feature codes whose lamp can be watched with the dialog package. */
const LAMP_ACTIONS = new Set(["callflow.toggle", "schedule.next"]);

const EMPTY_MAILBOX: MailboxCounts = { newMessages: 0, oldMessages: 0 };

function key(tenant: string, item: string): string {
  return `${tenant}\u0000${item}`;
}

function deviceOf(remote: { transport: string; address: string; port: number }): string {
  return `${remote.transport.toLowerCase()}:${remote.address}:${remote.port}`;
}

/** What a subscription watches, once its resource is read. */
type Watched =
  | { kind: "extension"; number: string }
  | { kind: "feature"; code: string }
  | { kind: "mailbox"; number: string };

interface Entry {
  sub: Subscription;
  watched: Watched;
  /** The tenant's domain when the subscription was made or restored: URIs of the bodies. */
  domain: string;
  /** Where the SUBSCRIBE came from (transport, address, port). */
  source: RemoteAddress;
  device: string;
  /** The Contact URI of the subscriber (for replacing its stale subscriptions, and the API). */
  contact: string;
  /** Kept in the store (a fetch with Expires: 0 is not). */
  kept: boolean;
}

/** A SUBSCRIBE we answer with an error: thrown while reading it, caught where it is answered. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
    readonly headers: HeaderField[] = [],
  ) {
    super(`${status}${reason ? ` ${reason}` : ""}`);
    this.name = "Refusal";
  }
}

export class EventHub {
  private readonly maxPerDevice: number;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly entries = new Map<string, Entry>();
  private readonly byDialog = new Map<string, Entry>();
  /** tenant + watched extension number or feature code → entries. */
  private readonly byResource = new Map<string, Set<Entry>>();
  private readonly byDevice = new Map<string, Set<Entry>>();
  /** Published state, per tenant + extension / code. */
  private readonly dialogs = new Map<string, ExtensionDialog[]>();
  private readonly features = new Map<string, boolean>();
  private readonly mailboxes = new Map<string, MailboxCounts>();
  private readonly registered = new Map<string, boolean>();
  /** Rising per resource: an older asynchronous load never overwrites a newer one. */
  private readonly loads = new Map<string, number>();
  /** Ended subscriptions (and fetches, never indexed) whose final NOTIFY may still be rendered. */
  private readonly retired = new WeakMap<Subscription, Entry>();
  private readonly subscriptionDeps: SubscriptionDeps;
  private stopped = false;

  constructor(private readonly deps: EventHubDeps) {
    this.maxPerDevice = deps.limits?.maxPerDevice ?? DEFAULT_MAX_PER_DEVICE;
    this.minExpires = deps.limits?.minExpires ?? DEFAULT_MIN_EXPIRES;
    this.maxExpires = Math.max(this.minExpires, deps.limits?.maxExpires ?? DEFAULT_MAX_EXPIRES);
    this.subscriptionDeps = {
      clock: deps.clock,
      log: deps.log,
      send: (dialog, headers, body, contentType) =>
        deps.ua.request(dialog, "NOTIFY", { headers, body, contentType }),
      content: (sub) => this.content(sub),
      sent: (sub) => this.noteSent(sub),
      ended: (sub, why) => this.ended(sub, why),
    };
  }

  // --- SUBSCRIBE ------------------------------------------------------------

  /**
   * An out-of-dialog SUBSCRIBE already authenticated as `who`. Answers it
   * (489 unknown event, 406 a body it cannot read, 423 too brief, 404
   * unknown resource, 403 another company or another's mailbox, 403 over the
   * device's cap, 200 with the subscription's Expires) and sends the first
   * NOTIFY with the current state. Never throws for bad input.
   */
  async subscribe(
    req: SipRequest,
    tx: ServerTransaction,
    who: { tenant: Tenant; extension: Extension },
  ): Promise<void> {
    const refuse = (r: Refusal) =>
      tx.respond(createResponse(req, r.status, r.reason, { toTag: newTag(), headers: r.headers }));
    if (this.stopped) {
      refuse(new Refusal(503, undefined, [{ name: "Retry-After", value: "30" }]));
      return;
    }
    let pkg: EventPackage;
    let eventId: string | undefined;
    let granted: number;
    let watched: Watched;
    try {
      ({ pkg, eventId } = this.readEvent(req));
      granted = this.readExpires(req, pkg);
      if (!firstContact(req)) throw new Refusal(400, "Missing Contact");
      watched = await this.resolve(req, pkg, who);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      refuse(err);
      return;
    }
    const tenant = who.tenant.name;
    const device = this.deviceOf(req, tx.remote);
    const contact = formatUri(firstContact(req)!.uri);
    const fetch = granted === 0;
    if (!fetch) {
      // A phone that restarted subscribes again with new dialogs: its old
      // subscription of the same thing from the same place is stale (its
      // NOTIFYs would only get 481s) and must not count against the cap.
      for (const e of [...(this.byDevice.get(device) ?? [])]) {
        const s = e.sub;
        if (
          s.tenant === tenant &&
          s.extension === who.extension.number &&
          s.pkg === pkg &&
          s.resource === (req.uri.user ?? "") &&
          e.contact === contact
        ) {
          s.drop("replaced by a new subscription of the same device");
        }
      }
      if ((this.byDevice.get(device)?.size ?? 0) >= this.maxPerDevice) {
        this.deps.log.info(
          { tenant, extension: who.extension.number, device, max: this.maxPerDevice },
          "subscription refused: too many for this device",
        );
        refuse(new Refusal(403, "Too Many Subscriptions"));
        return;
      }
    }
    await this.load(tenant, pkg, watched);
    if (this.stopped) {
      refuse(new Refusal(503, undefined, [{ name: "Retry-After", value: "30" }]));
      return;
    }

    const localTag = newTag();
    const dialog = Dialog.asUas(req, localTag, this.deps.contactFor(tx.remote), tx.remote);
    const expiresAt = this.deps.clock.now() + granted * 1000;
    const sub = new Subscription(
      {
        id: newTag(),
        tenant,
        extension: who.extension.number,
        pkg,
        eventId,
        resource: req.uri.user ?? "",
        dialog,
        expiresAt,
        version: -1,
      },
      this.subscriptionDeps,
    );
    const entry: Entry = {
      sub,
      watched,
      domain: who.tenant.domain,
      source: { transport: tx.remote.transport, address: tx.remote.address, port: tx.remote.port },
      device,
      contact,
      kept: !fetch,
    };
    // §4.2.1.1 / RFC 3261 §12.1.1: the 2xx makes the dialog; it carries our tag, Contact and the granted
    // expiry, and the Record-Route of the SUBSCRIBE, so that the proxies in front (Kamailio) stay in it.
    tx.respond(
      createResponse(req, 200, undefined, {
        toTag: localTag,
        headers: [
          ...getHeaders(req, "Record-Route").map((value) => ({ name: "Record-Route", value })),
          { name: "Contact", value: formatNameAddr(dialog.localContact) },
          { name: "Expires", value: String(granted) },
        ],
      }),
    );
    this.deps.log.info(
      {
        callId: dialog.callId,
        tenant,
        extension: who.extension.number,
        package: pkg,
        resource: sub.resource,
        expires: granted,
      },
      fetch ? "subscription fetch" : "subscription",
    );
    if (fetch) {
      // §4.4.3: Expires 0 fetches the state once: one NOTIFY, terminated.
      this.retired.set(sub, entry);
      sub.terminate("timeout", "fetched");
      return;
    }
    this.index(entry);
    this.deps.ua.register(dialog);
    await this.persist(entry);
    sub.activate();
  }

  /**
   * A request inside one of our subscription dialogs: a refresh or an
   * unsubscribe (§4.1.2.2, §4.1.2.3). False when the dialog is not ours.
   */
  onDialogRequest(req: SipRequest, tx: ServerTransaction, dialog: Dialog): boolean {
    const entry = this.byDialog.get(dialog.id);
    if (!entry) return false;
    const sub = entry.sub;
    const answer = (status: number, reason?: string, headers: HeaderField[] = []) =>
      tx.respond(createResponse(req, status, reason, { headers }));
    if (req.method !== "SUBSCRIBE") {
      answer(405, undefined, [{ name: "Allow", value: "SUBSCRIBE" }]);
      return true;
    }
    let granted: number;
    try {
      const event = this.readEvent(req);
      // §4.5.2: no second subscription inside this dialog.
      if (event.pkg !== sub.pkg || event.eventId !== sub.eventId)
        throw new Refusal(489, "Bad Event", [{ name: "Allow-Events", value: sub.pkg }]);
      granted = this.readExpires(req, sub.pkg);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      answer(err.status, err.reason, err.headers);
      return true;
    }
    // A phone that moved (NAT rebinding) is reached where it now sends from.
    entry.source = { transport: tx.remote.transport, address: tx.remote.address, port: tx.remote.port };
    dialog.remote = { ...tx.remote };
    this.moveDevice(entry, this.deviceOf(req, tx.remote));
    answer(200, undefined, [
      { name: "Contact", value: formatNameAddr(dialog.localContact) },
      { name: "Expires", value: String(granted) },
    ]);
    if (granted === 0) {
      // §4.2.1.4: an unsubscribe ends like an expiry, with a final NOTIFY saying timeout.
      sub.terminate("timeout", "unsubscribed");
      return true;
    }
    entry.contact = formatUri(dialog.remoteTarget);
    sub.refresh(this.deps.clock.now() + granted * 1000);
    void this.persist(entry);
    this.reread(sub.tenant, sub.pkg, entry.watched);
    return true;
  }

  /**
   * At a refresh, the state that other nodes on the same store may have
   * changed (a message recorded there, a phone registered there) is read
   * again; a change goes out as a NOTIFY like any other.
   */
  private reread(tenant: string, pkg: EventPackage, watched: Watched): void {
    const work =
      watched.kind === "mailbox"
        ? this.loadMailbox(tenant, watched.number)
        : pkg === "presence" && watched.kind === "extension"
          ? this.loadPresence(tenant, watched.number)
          : undefined;
    work?.catch((err: unknown) =>
      this.deps.log.error({ err, tenant, package: pkg }, "could not read the state of a subscription again"),
    );
  }

  /** The device a request comes from: behind a trusted proxy, the phone's own address (deps.sourceOf). */
  private deviceOf(req: SipRequest, remote: RemoteAddress): string {
    return deviceOf(this.deps.sourceOf ? this.deps.sourceOf(req, remote) : remote);
  }

  ownsDialog(dialog: Dialog): boolean {
    return this.byDialog.has(dialog.id);
  }

  // --- What rooms publish -----------------------------------------------------

  /** An extension's calls now; its dialog and presence subscribers hear of a change. */
  publishDialogs(tenant: string, extension: string, dialogs: ExtensionDialog[]): void {
    const k = key(tenant, extension);
    const next = dialogs.map(copyDialog);
    const before = this.dialogs.get(k) ?? [];
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    if (next.length === 0) this.dialogs.delete(k);
    else this.dialogs.set(k, next);
    this.touch(tenant, extension, (w) => w.kind === "extension");
  }

  /** A mailbox's counts now: its lamp subscribers, and the phones of an extension set for unsolicited MWI. */
  publishMailbox(
    tenant: string,
    extension: string,
    counts: MailboxCounts,
    opts: {
      /**
       * The change was made on another node (it told us through the store):
       * our subscribers hear of it; the unsolicited NOTIFYs to the phones
       * were that node's to send.
       */
      fromAnotherNode?: boolean;
    } = {},
  ): void {
    const k = key(tenant, extension);
    this.bump(k);
    const next = { newMessages: counts.newMessages, oldMessages: counts.oldMessages };
    const before = this.mailboxes.get(k);
    this.mailboxes.set(k, next);
    if (before && before.newMessages === next.newMessages && before.oldMessages === next.oldMessages) return;
    this.touch(tenant, extension, (w) => w.kind === "mailbox");
    if (this.stopped || opts.fromAnotherNode) return;
    this.unsolicitedToAll(tenant, extension).catch((err: unknown) =>
      this.deps.log.error({ err, tenant, extension }, "unsolicited message waiting failed"),
    );
  }

  /** A feature code's lamp: on while the call flow is not in its normal mode, or an override is active. */
  publishFeature(tenant: string, code: string, on: boolean): void {
    const k = key(tenant, code);
    if ((this.features.get(k) ?? false) === on) return;
    if (on) this.features.set(k, true);
    else this.features.delete(k);
    this.touch(tenant, code, (w) => w.kind === "feature");
  }

  /** The registrations of an extension changed: its presence subscribers hear whether it is reachable. */
  registrationsChanged(tenant: string, extension: string): void {
    const entries = this.byResource.get(key(tenant, extension));
    if (!entries || ![...entries].some((e) => e.sub.pkg === "presence")) return;
    this.loadPresence(tenant, extension).catch((err: unknown) =>
      this.deps.log.error({ err, tenant, extension }, "presence update failed"),
    );
  }

  /**
   * RFC 3842 without subscription: after a device of an extension set for
   * it (`mwiUnsolicited`) registered, a NOTIFY of the mailbox out of any
   * dialog. Nothing when the device subscribes to its mailbox itself.
   * Never rejects: failures are logged.
   */
  async unsolicitedMwi(binding: Binding): Promise<void> {
    try {
      const extension = await this.deps.store.extensions.get(binding.tenant, binding.extension);
      if (!extension?.mwiUnsolicited || this.stopped) return;
      const tenant = await this.deps.store.tenants.get(binding.tenant);
      if (!tenant) return;
      await this.load(tenant.name, "message-summary", { kind: "mailbox", number: extension.number });
      await this.sendUnsolicited(tenant, extension.number, binding);
    } catch (err) {
      this.deps.log.error(
        { err, tenant: binding.tenant, extension: binding.extension },
        "unsolicited message waiting failed",
      );
    }
  }

  // --- Life -------------------------------------------------------------------

  /**
   * Restores the subscriptions kept in the store as live dialogs: each gets
   * a NOTIFY of the current state at once (the calls it showed may have
   * ended with the restart), its CSeq and version moved ahead by
   * RESTORE_SEQUENCE_MARGIN. Expired rows, and rows whose company or
   * package is gone or that cannot be read, are dropped.
   */
  async start(): Promise<void> {
    this.stopped = false;
    const now = this.deps.clock.now();
    const purged = await this.deps.store.subscriptions.purgeExpired(now);
    const tenants = new Map<string, Tenant | undefined>();
    const restored: Entry[] = [];
    let others = 0;
    for (const row of await this.deps.store.subscriptions.list()) {
      if (this.entries.has(row.id)) continue;
      if (this.deps.restoreOwnOnly && !this.madeHere(row)) {
        others++;
        continue;
      }
      if (!tenants.has(row.tenant)) tenants.set(row.tenant, await this.deps.store.tenants.get(row.tenant));
      const tenant = tenants.get(row.tenant);
      const entry = tenant && this.restore(row, tenant);
      if (!entry) {
        this.deps.log.info({ callId: row.callId, tenant: row.tenant }, "stored subscription dropped");
        await this.deps.store.subscriptions.remove(row.id);
        continue;
      }
      restored.push(entry);
    }
    for (const entry of restored) {
      await this.load(entry.sub.tenant, entry.sub.pkg, entry.watched);
      this.index(entry);
      this.deps.ua.register(entry.sub.dialog);
      entry.sub.activate();
    }
    this.deps.log.info(
      { restored: restored.length, expired: purged, otherNodes: others },
      "subscriptions restored",
    );
  }

  /** Whether a stored subscription's dialog names this node as its Contact (host and port). */
  private madeHere(row: StoredSubscription): boolean {
    const ours = this.deps.contactFor({ ...row.source }).uri;
    let theirs: ReturnType<typeof parseNameAddr>["uri"];
    try {
      theirs = parseNameAddr(row.localContact).uri;
    } catch (err) {
      // Unreadable: restore() drops it, as it always did.
      this.deps.log.debug({ err, callId: row.callId }, "stored subscription contact unreadable");
      return true;
    }
    const bare = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase();
    return bare(theirs.host) === bare(ours.host) && (theirs.port ?? 5060) === (ours.port ?? 5060);
  }

  /** Cancels every timer; the subscriptions stay in the store for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      entry.sub.stop();
      this.deps.ua.forget(entry.sub.dialog);
    }
    this.entries.clear();
    this.byDialog.clear();
    this.byResource.clear();
    this.byDevice.clear();
  }

  /** The live subscriptions of one company, by subscriber. */
  list(tenant: string): SubscriptionView[] {
    const out: SubscriptionView[] = [];
    for (const e of this.entries.values()) {
      if (e.sub.tenant !== tenant || !e.sub.isActive) continue;
      out.push({
        extension: e.sub.extension,
        contact: e.contact,
        source: e.device,
        package: e.sub.pkg,
        resource: e.sub.resource,
        expiresAt: new Date(e.sub.expiresAt).toISOString(),
      });
    }
    const order = (v: SubscriptionView) => [v.extension.padStart(6, "0"), v.package, v.resource, v.contact];
    return out.sort((a, b) => {
      const x = order(a);
      const y = order(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    });
  }

  // --- Reading a SUBSCRIBE ------------------------------------------------------

  private readEvent(req: SipRequest): { pkg: EventPackage; eventId: string | undefined } {
    const event = parseEvent(getHeader(req, "Event"));
    // §8.2.2 / §7.2.1: an event package we do not serve (or none at all) is a 489 with what we serve.
    if (!event || !isEventPackage(event.type))
      throw new Refusal(489, "Bad Event", [{ name: "Allow-Events", value: ALLOW_EVENTS }]);
    const pkg = event.type;
    if (!accepts(getHeaders(req, "Accept"), PACKAGES[pkg].contentType))
      throw new Refusal(406, undefined, [{ name: "Accept", value: PACKAGES[pkg].contentType }]);
    return { pkg, eventId: event.id };
  }

  /** §4.2.1.1: the package's default, cut to our maximum; under the minimum a 423 with Min-Expires. */
  private readExpires(req: SipRequest, pkg: EventPackage): number {
    let asked: number | undefined;
    try {
      asked = getExpires(req);
    } catch {
      throw new Refusal(400, "Bad Expires");
    }
    const wanted = asked ?? PACKAGES[pkg].defaultExpires;
    if (wanted === 0) return 0;
    if (wanted < this.minExpires)
      throw new Refusal(423, "Interval Too Brief", [{ name: "Min-Expires", value: String(this.minExpires) }]);
    return Math.min(wanted, this.maxExpires);
  }

  /**
   * The Request-URI user names the resource, in the subscriber's company
   * only: a URI in another company's domain is a 403, an unknown resource a 404.
   */
  private async resolve(
    req: SipRequest,
    pkg: EventPackage,
    who: { tenant: Tenant; extension: Extension },
  ): Promise<Watched> {
    const tenant = who.tenant;
    const host = req.uri.host.toLowerCase();
    if (host !== tenant.domain.toLowerCase()) {
      const other = await this.deps.store.tenants.getByDomain(host);
      if (other && other.name !== tenant.name) throw new Refusal(403, "Forbidden");
    }
    const user = req.uri.user;
    if (!user) throw new Refusal(404, "Not Found");
    if (user.startsWith("*")) {
      const codes = await this.deps.store.featureCodes.list(tenant.name);
      const action = codes.find((c) => c.code === user)?.action;
      if (pkg === "dialog" && action && LAMP_ACTIONS.has(action)) return { kind: "feature", code: user };
      // Phones set to subscribe to the voicemail number watch their own mailbox (RFC 3842 §4.1).
      if (pkg === "message-summary" && action === "voicemail.access")
        return { kind: "mailbox", number: who.extension.number };
      throw new Refusal(404, "Not Found");
    }
    const extension = await this.deps.store.extensions.get(tenant.name, user);
    if (!extension) throw new Refusal(404, "Not Found");
    if (pkg === "message-summary") {
      // A mailbox's counts are its owner's to see.
      if (extension.number !== who.extension.number) throw new Refusal(403, "Forbidden");
      return { kind: "mailbox", number: extension.number };
    }
    return { kind: "extension", number: extension.number };
  }

  // --- State and bodies ---------------------------------------------------------

  /** Makes sure the state a subscription will show is known (presence and mailboxes are read, not published). */
  private async load(tenant: string, pkg: EventPackage, watched: Watched): Promise<void> {
    try {
      if (pkg === "presence" && watched.kind === "extension") await this.loadPresence(tenant, watched.number);
      if (watched.kind === "mailbox" && !this.mailboxes.has(key(tenant, watched.number)))
        await this.loadMailbox(tenant, watched.number);
    } catch (err) {
      // The subscription still gets a NOTIFY: the defaults (closed, no messages) until the next change.
      this.deps.log.error({ err, tenant, package: pkg }, "could not read the state of a subscription");
    }
  }

  private bump(k: string): number {
    const n = (this.loads.get(k) ?? 0) + 1;
    this.loads.set(k, n);
    return n;
  }

  private async loadPresence(tenant: string, extension: string): Promise<void> {
    const k = key(tenant, extension);
    const n = this.bump(`presence\u0000${k}`);
    const open = (await this.deps.devices(tenant, extension)).length > 0;
    if (this.loads.get(`presence\u0000${k}`) !== n) return;
    if (this.registered.get(k) === open) return;
    this.registered.set(k, open);
    this.touch(tenant, extension, (w) => w.kind === "extension");
  }

  private async loadMailbox(tenant: string, extension: string): Promise<void> {
    const k = key(tenant, extension);
    const n = this.bump(k);
    const counts = await this.deps.mailbox(tenant, extension);
    // A publish that came meanwhile is newer than what was read.
    if (this.loads.get(k) !== n) return;
    this.mailboxes.set(k, { newMessages: counts.newMessages, oldMessages: counts.oldMessages });
    this.touch(tenant, extension, (w) => w.kind === "mailbox");
  }

  /** Tells the subscriptions of a resource that its state may have changed. */
  private touch(tenant: string, item: string, which: (w: Watched) => boolean): void {
    const entries = this.byResource.get(key(tenant, item));
    if (!entries) return;
    for (const e of [...entries]) if (which(e.watched)) e.sub.changed();
  }

  private content(sub: Subscription): NotifyContent {
    const entry = this.entries.get(sub.id) ?? this.retired.get(sub);
    if (!entry) throw new Error(`subscription ${sub.id} is unknown`);
    const { domain, watched } = entry;
    const tenant = sub.tenant;
    switch (watched.kind) {
      case "feature": {
        const on = this.features.get(key(tenant, watched.code)) ?? false;
        const entity = partyUri(watched.code, domain);
        return {
          key: JSON.stringify(["feature", on]),
          contentType: PACKAGES.dialog.contentType,
          body: (version) => featureLampInfo(entity, watched.code, on, version),
        };
      }
      case "mailbox": {
        const counts = this.mailboxes.get(key(tenant, watched.number)) ?? EMPTY_MAILBOX;
        const account = partyUri(watched.number, domain);
        return {
          key: JSON.stringify(["mailbox", counts.newMessages, counts.oldMessages]),
          contentType: MESSAGE_SUMMARY_TYPE,
          body: () => messageSummaryText({ account, ...counts }),
        };
      }
      case "extension": {
        const dialogs = this.dialogs.get(key(tenant, watched.number)) ?? [];
        const entity = partyUri(watched.number, domain);
        if (sub.pkg === "presence") {
          const state = {
            open: this.registered.get(key(tenant, watched.number)) ?? false,
            onThePhone: dialogs.some((d) => d.state === "confirmed"),
          };
          return {
            key: JSON.stringify(["presence", state.open, state.onThePhone]),
            contentType: PIDF_TYPE,
            body: () => pidfXml(entity, watched.number, state),
          };
        }
        return {
          key: JSON.stringify(["dialog", dialogs]),
          contentType: PACKAGES.dialog.contentType,
          body: (version) => extensionDialogInfo(entity, domain, dialogs, version, watched.number),
        };
      }
    }
  }

  // --- Unsolicited message waiting ---------------------------------------------

  private async unsolicitedToAll(tenantName: string, extensionNumber: string): Promise<void> {
    const extension = await this.deps.store.extensions.get(tenantName, extensionNumber);
    if (!extension?.mwiUnsolicited) return;
    const tenant = await this.deps.store.tenants.get(tenantName);
    if (!tenant) return;
    for (const binding of await this.deps.devices(tenantName, extensionNumber)) {
      await this.sendUnsolicited(tenant, extensionNumber, binding);
    }
  }

  private async sendUnsolicited(tenant: Tenant, extension: string, binding: Binding): Promise<void> {
    const device = deviceOf(binding.source);
    const solicited = [...(this.byDevice.get(device) ?? [])].some(
      (e) => e.watched.kind === "mailbox" && e.sub.tenant === tenant.name && e.watched.number === extension,
    );
    if (solicited) return;
    const counts = this.mailboxes.get(key(tenant.name, extension)) ?? EMPTY_MAILBOX;
    const account = partyUri(extension, tenant.domain);
    // A phone behind a proxy (RFC 3327 Path) is reached through it: the Path
    // is the NOTIFY's pre-loaded route set, the Request-URI its contact.
    const { remote, routes } = bindingRoute(binding);
    const body = Buffer.from(messageSummaryText({ account, ...counts }), "utf8");
    const accountUri = parseUri(account);
    const req = createRequest("NOTIFY", parseUri(binding.contact), {
      from: { uri: accountUri, params: {} },
      to: { uri: accountUri, params: {} },
      headers: [
        ...routes,
        { name: "Contact", value: formatNameAddr(this.deps.contactFor(remote)) },
        { name: "Event", value: "message-summary" },
        // As Asterisk does for unsolicited MWI: phones take it like a NOTIFY of a subscription.
        { name: "Subscription-State", value: "active" },
        { name: "Content-Type", value: MESSAGE_SUMMARY_TYPE },
      ],
      body,
    });
    const res: SipResponse = await this.deps.ua.sendRequest(req, remote);
    this.deps.log.debug(
      { callId: getHeader(req, "Call-ID"), tenant: tenant.name, extension, status: res.status },
      "unsolicited message waiting",
    );
  }

  // --- Bookkeeping ----------------------------------------------------------------

  private index(entry: Entry): void {
    const sub = entry.sub;
    this.entries.set(sub.id, entry);
    this.byDialog.set(sub.dialog.id, entry);
    const item = entry.watched.kind === "feature" ? entry.watched.code : entry.watched.number;
    const rk = key(sub.tenant, item);
    this.addTo(this.byResource, rk, entry);
    this.addTo(this.byDevice, entry.device, entry);
  }

  private moveDevice(entry: Entry, device: string): void {
    if (entry.device === device) return;
    this.removeFrom(this.byDevice, entry.device, entry);
    entry.device = device;
    this.addTo(this.byDevice, device, entry);
  }

  private addTo(map: Map<string, Set<Entry>>, k: string, entry: Entry): void {
    const set = map.get(k);
    if (set) set.add(entry);
    else map.set(k, new Set([entry]));
  }

  private removeFrom(map: Map<string, Set<Entry>>, k: string, entry: Entry): void {
    const set = map.get(k);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) map.delete(k);
  }

  private ended(sub: Subscription, why: string): void {
    const entry = this.entries.get(sub.id);
    if (!entry) return;
    this.entries.delete(sub.id);
    this.byDialog.delete(sub.dialog.id);
    const item = entry.watched.kind === "feature" ? entry.watched.code : entry.watched.number;
    this.removeFrom(this.byResource, key(sub.tenant, item), entry);
    this.removeFrom(this.byDevice, entry.device, entry);
    // The final NOTIFY (if any) still goes out on the dialog object; requests in it now get 481.
    this.deps.ua.forget(sub.dialog);
    // Its final NOTIFY is still rendered after this: keep the entry reachable for it.
    this.retired.set(sub, entry);
    if (entry.kept) {
      this.deps.store.subscriptions
        .remove(sub.id)
        .catch((err: unknown) =>
          this.deps.log.error({ err, callId: sub.dialog.callId, why }, "could not forget a subscription"),
        );
    }
  }

  private toStored(entry: Entry): StoredSubscription {
    const { sub } = entry;
    const d = sub.dialog;
    const stored: StoredSubscription = {
      id: sub.id,
      tenant: sub.tenant,
      extension: sub.extension,
      package: sub.pkg,
      resource: sub.resource,
      callId: d.callId,
      localTag: d.localTag,
      remoteTag: d.remoteTag,
      localUri: formatNameAddr(d.localUri),
      remoteUri: formatNameAddr(d.remoteUri),
      remoteTarget: formatUri(d.remoteTarget),
      routeSet: d.routeSet.map(formatNameAddr),
      localContact: formatNameAddr(d.localContact),
      localSeq: d.localSeq,
      remoteSeq: d.remoteSeq ?? 0,
      version: Math.max(0, sub.version),
      source: { transport: entry.source.transport, address: entry.source.address, port: entry.source.port },
      expiresAt: sub.expiresAt,
    };
    if (sub.eventId !== undefined) stored.eventId = sub.eventId;
    return stored;
  }

  /** Writes the subscription (creation, refresh); a failure is logged, the subscription lives on in memory. */
  private async persist(entry: Entry): Promise<void> {
    try {
      await this.deps.store.subscriptions.save(this.toStored(entry));
    } catch (err) {
      this.deps.log.warn(
        { err, callId: entry.sub.dialog.callId },
        "could not keep a subscription in the store",
      );
    }
  }

  private noteSent(sub: Subscription): void {
    if (!this.entries.get(sub.id)?.kept) return;
    this.deps.store.subscriptions
      .noteSent(sub.id, sub.dialog.localSeq, Math.max(0, sub.version))
      .catch((err: unknown) =>
        this.deps.log.warn({ err, callId: sub.dialog.callId }, "could not note a NOTIFY in the store"),
      );
  }

  /** A stored subscription as a live one; undefined when it cannot be read. */
  private restore(row: StoredSubscription, tenant: Tenant): Entry | undefined {
    if (!isEventPackage(row.package)) return undefined;
    const pkg = row.package;
    let dialog: Dialog;
    try {
      dialog = Dialog.restore({
        callId: row.callId,
        localTag: row.localTag,
        remoteTag: row.remoteTag,
        localUri: parseNameAddr(row.localUri),
        remoteUri: parseNameAddr(row.remoteUri),
        localSeq: Math.min(MAX_CSEQ, row.localSeq + RESTORE_SEQUENCE_MARGIN),
        remoteSeq: row.remoteSeq,
        remoteTarget: parseUri(row.remoteTarget),
        routeSet: row.routeSet.map(parseNameAddr),
        localContact: parseNameAddr(row.localContact),
        remote: { ...row.source },
      });
    } catch (err) {
      this.deps.log.warn({ err, callId: row.callId }, "stored subscription unreadable");
      return undefined;
    }
    const watched: Watched =
      pkg === "message-summary"
        ? { kind: "mailbox", number: row.resource.startsWith("*") ? row.extension : row.resource }
        : pkg === "dialog" && row.resource.startsWith("*")
          ? { kind: "feature", code: row.resource }
          : { kind: "extension", number: row.resource };
    const sub = new Subscription(
      {
        id: row.id,
        tenant: row.tenant,
        extension: row.extension,
        pkg,
        eventId: row.eventId,
        resource: row.resource,
        dialog,
        expiresAt: row.expiresAt,
        version: row.version + RESTORE_SEQUENCE_MARGIN,
      },
      this.subscriptionDeps,
    );
    return {
      sub,
      watched,
      domain: tenant.domain,
      source: { ...row.source },
      device: deviceOf(row.source),
      contact: row.remoteTarget,
      kept: true,
    };
  }
}

function copyDialog(d: ExtensionDialog): ExtensionDialog {
  const out: ExtensionDialog = { id: d.id, state: d.state, direction: d.direction };
  if (d.remote) {
    out.remote = { number: d.remote.number };
    if (d.remote.displayName) out.remote.displayName = d.remote.displayName;
  }
  return out;
}
