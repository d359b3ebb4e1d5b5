// The registrar: RFC 3261 §10.3. Binds an extension's address of record to
// the contacts its phones register, keeps them in the store (so they survive
// a restart) and lets them expire on the clock.
//
// Choices the RFC leaves open, documented here:
// - More contacts than `maxContactsPerExtension`: the bindings refreshed
//   least recently (soonest to expire) are replaced, so a phone that
//   rebooted onto a new port without unregistering still gets in; a single
//   REGISTER asking for more than the limit on its own is refused with 403.
// - An out-of-order refresh (same Call-ID, CSeq not higher, §10.3 step 7) or
//   a store failure aborts the whole request with 500 and no change is kept
//   (§10.3: "all binding updates and additions succeed" or none).
// - Only sip: and sips: contacts are accepted (400 otherwise): they are what
//   the PBX can call.
// - Path (RFC 3327): the Path header field values of a REGISTER are kept with
//   each binding it makes (§5.3), and every request to that contact carries
//   them as its pre-loaded route set (§5.4, binding-route.ts). The 200 says
//   them back when the REGISTER had "Supported: path". A Path is honoured only
//   from the sources `acceptPath` allows (the trusted proxies in front of the
//   nodes): from anywhere else it is ignored, so that a phone cannot make the
//   PBX send its calls to another host.
import {
  createResponse,
  formatUri,
  getCallId,
  getContacts,
  getCSeq,
  getExpires,
  getHeader,
  getHeaders,
  getTo,
  type HeaderField,
  type NameAddr,
  newTag,
  parseNameAddr,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import { isEncrypted, type RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding, Store } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { PhoneAuthenticator } from "../security/phone-authenticator.ts";

/** The part of a server transaction the registrar uses. */
export interface RegisterTransaction {
  readonly request: SipRequest;
  readonly remote: RemoteAddress;
  respond(res: SipResponse): void;
}

export interface RegistrarOptions {
  store: Store;
  auth: Pick<PhoneAuthenticator, "authenticate">;
  clock: Clock;
  log: Logger;
  /** Shortest accepted registration, seconds (RFC 3261 §10.3 step 7, 423). Default 60. */
  minExpires?: number;
  /** Longer requests are shortened to this, seconds. Default 3600. */
  maxExpires?: number;
  /** When neither the contact nor the request says, seconds. Default 3600. */
  defaultExpires?: number;
  maxContactsPerExtension?: number;
  /** How often expired bindings are deleted from the store. Default 30 s. */
  purgeIntervalMs?: number;
  /** Who is told about bindings (the lamps of desk phones): given once, here. */
  listener?: RegistrarListener;
  /**
   * Whether the Path of a REGISTER from `remote` is kept (RFC 3327). Default:
   * from every source, as the RFC has it; the PBX allows its trusted proxies only.
   */
  acceptPath?: (remote: RemoteAddress) => boolean;
}

export interface RegistrarListener {
  /** The bindings of an extension changed (registered, removed, expired; not a plain refresh). */
  bindingsChanged(tenant: string, extension: string): void;
  /** A device registered or refreshed its binding (an unsolicited voicemail lamp follows). */
  registered(binding: Binding): void;
}

/** One change computed from a REGISTER before anything is written. */
type Change = { kind: "upsert"; binding: Binding } | { kind: "remove"; contact: string };

class RegisterRejection extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: HeaderField[] = [],
  ) {
    super(`${status} ${reason}`);
  }
}

const EXPIRES_VALUE = /^[0-9]+$/;
const MAX_UINT32 = 2 ** 32 - 1;
/** Option tags a REGISTER may require of us (RFC 3261 §8.2.2.3): Path, RFC 3327 §5.3. */
const SUPPORTED_TAGS = new Set(["path"]);
/** More Path entries than proxies any real deployment chains: a REGISTER beyond it is refused (400). */
const MAX_PATH_ENTRIES = 8;

export class Registrar {
  private readonly store: Store;
  private readonly auth: Pick<PhoneAuthenticator, "authenticate">;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContacts: number;
  private readonly purgeIntervalMs: number;
  /** Serialises REGISTERs of one address of record: each reads, then writes, the bindings. */
  private readonly queues = new Map<string, Promise<void>>();
  private timer: Timer | undefined;
  private running = false;
  private purging = false;
  private readonly listener: RegistrarListener | undefined;
  private readonly acceptPath: (remote: RemoteAddress) => boolean;

  constructor(opts: RegistrarOptions) {
    this.store = opts.store;
    this.auth = opts.auth;
    this.clock = opts.clock;
    this.log = opts.log;
    this.minExpires = opts.minExpires ?? 60;
    this.maxExpires = opts.maxExpires ?? 3600;
    this.defaultExpires = Math.min(opts.defaultExpires ?? 3600, this.maxExpires);
    this.maxContacts = opts.maxContactsPerExtension ?? 10;
    this.purgeIntervalMs = opts.purgeIntervalMs ?? 30_000;
    this.listener = opts.listener;
    this.acceptPath = opts.acceptPath ?? (() => true);
  }

  /** Answers one REGISTER; never throws. */
  async handle(req: SipRequest, tx: RegisterTransaction): Promise<void> {
    try {
      if (req.method !== "REGISTER") {
        tx.respond(this.reply(req, 405, "Method Not Allowed", [{ name: "Allow", value: "REGISTER" }]));
        return;
      }
      const auth = await this.auth.authenticate(req, tx.remote, "www");
      if (!auth.ok) {
        tx.respond(auth.response);
        return;
      }
      const tenant = auth.tenant.name;
      const extension = auth.extension.number;
      // §10.3 step 6: the authenticated user may change only its own bindings.
      const to = getTo(req);
      if (to.uri.user !== extension) {
        this.log.warn(
          { tenant, extension, to: to.uri.user, source: `${tx.remote.address}:${tx.remote.port}` },
          "register for another extension refused",
        );
        tx.respond(this.reply(req, 403, "Forbidden"));
        return;
      }
      if (auth.tenant.requireEncryption && !isEncrypted(tx.remote.transport)) {
        this.log.warn(
          {
            tenant,
            extension,
            transport: tx.remote.transport,
            source: `${tx.remote.address}:${tx.remote.port}`,
          },
          "plain register refused: the company requires encryption",
        );
        tx.respond(this.reply(req, 403, "Encryption Required (register over TLS: sips or transport=tls)"));
        return;
      }
      const { response, registered } = await this.serialised(`${tenant}\u0000${extension}`, () =>
        this.update(req, tx.remote, tenant, extension),
      );
      tx.respond(response);
      // After the 200: what the listener sends the phone (its voicemail lamp) must not overtake it.
      for (const binding of registered) this.tell((l) => l.registered(binding), tenant, extension);
    } catch (err) {
      this.log.error({ err, callId: safeCallId(req) }, "register failed");
      try {
        tx.respond(this.reply(req, 500, "Server Internal Error"));
      } catch {
        // Nothing more can be said to this peer.
      }
    }
  }

  /** Current bindings of an extension, without the expired ones not yet purged. */
  async lookup(tenant: string, extension: string): Promise<Binding[]> {
    const now = this.clock.now();
    return (await this.store.bindings.list(tenant, extension)).filter((b) => b.expiresAt > now);
  }

  /** Starts the periodic purge of expired bindings. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedulePurge();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Deletes expired bindings now and tells the listener about the extensions concerned. */
  async purge(): Promise<number> {
    if (this.purging) return 0;
    this.purging = true;
    try {
      const now = this.clock.now();
      const touched = new Map<string, [string, string]>();
      if (this.listener) {
        for (const b of await this.store.bindings.listAll()) {
          if (b.expiresAt <= now) touched.set(`${b.tenant}\u0000${b.extension}`, [b.tenant, b.extension]);
        }
      }
      const count = await this.store.bindings.purgeExpired(now);
      if (count > 0) this.log.debug({ count }, "expired bindings purged");
      for (const [tenant, extension] of touched.values()) this.notify(tenant, extension);
      return count;
    } finally {
      this.purging = false;
    }
  }

  private schedulePurge(): void {
    this.timer = this.clock.setTimer(this.purgeIntervalMs, () => {
      if (!this.running) return;
      this.purge()
        .catch((err) => this.log.error({ err }, "binding purge failed"))
        .finally(() => {
          if (this.running) this.schedulePurge();
        });
    });
  }

  private async serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    }
  }

  /** §10.3 steps 5–8 for an authenticated REGISTER. */
  private async update(
    req: SipRequest,
    remote: RemoteAddress,
    tenant: string,
    extension: string,
  ): Promise<{ response: SipResponse; registered: Binding[] }> {
    let plan: { changes: Change[]; current: Binding[]; path: string[] | undefined };
    try {
      plan = await this.plan(req, remote, tenant, extension);
    } catch (err) {
      if (err instanceof RegisterRejection) {
        return { response: this.reply(req, err.status, err.reason, err.headers), registered: [] };
      }
      throw err;
    }
    if (plan.changes.length > 0) {
      try {
        await this.apply(tenant, extension, plan.changes);
      } catch (err) {
        this.log.error({ err, tenant, extension }, "binding update failed, rolled back");
        await this.restore(tenant, extension, plan.current);
        return { response: this.reply(req, 500, "Server Internal Error"), registered: [] };
      }
      this.notify(tenant, extension);
    }
    const registered = plan.changes.flatMap((c) => (c.kind === "upsert" ? [c.binding] : []));
    // The AOR's updates are serialised here, so what is stored now is what
    // was read plus the changes written: no need to read it again.
    return { response: this.ok(req, applied(plan.current, plan.changes), plan.path), registered };
  }

  private async plan(
    req: SipRequest,
    remote: RemoteAddress,
    tenant: string,
    extension: string,
  ): Promise<{ changes: Change[]; current: Binding[]; path: string[] | undefined }> {
    // §10.3 step 2: of the extensions a registrar could be required to apply, we support Path.
    const unsupported = getHeaders(req, "Require").filter((tag) => !SUPPORTED_TAGS.has(tag.toLowerCase()));
    if (unsupported.length > 0) {
      throw new RegisterRejection(420, "Bad Extension", [
        { name: "Unsupported", value: unsupported.join(", ") },
      ]);
    }
    const path = this.pathOf(req, remote);
    let contacts: NameAddr[] | "*";
    let headerExpires: number | undefined;
    let callId: string;
    let cseq: number;
    try {
      contacts = getContacts(req);
      headerExpires = getExpires(req);
      callId = getCallId(req);
      cseq = getCSeq(req).seq;
    } catch {
      throw new RegisterRejection(400, "Bad Request");
    }
    if (!Number.isInteger(cseq) || cseq < 0 || cseq > MAX_UINT32)
      throw new RegisterRejection(400, "Bad Request");

    const now = this.clock.now();
    const all = await this.store.bindings.list(tenant, extension);
    const current = all.filter((b) => b.expiresAt > now);

    if (contacts === "*") {
      // §10.3 step 6: "*" is only valid alone and with Expires: 0.
      if (headerExpires !== 0) throw new RegisterRejection(400, "Bad Request");
      for (const b of current) this.checkOrder(b, callId, cseq);
      return {
        changes: current.map((b) => ({ kind: "remove", contact: b.contact })),
        current,
        path: undefined,
      };
    }

    // §10.3 step 7: an `expires` parameter wins over the Expires header, which wins over the default.
    const wanted = new Map<string, { expires: number }>();
    for (const c of contacts) {
      const scheme = c.uri.scheme.toLowerCase();
      if (scheme !== "sip" && scheme !== "sips") throw new RegisterRejection(400, "Bad Request");
      const expires = this.expiresOf(c, headerExpires);
      if (expires !== 0 && expires < this.minExpires) {
        throw new RegisterRejection(423, "Interval Too Brief", [
          { name: "Min-Expires", value: String(this.minExpires) },
        ]);
      }
      wanted.set(formatUri(c.uri), { expires: Math.min(expires, this.maxExpires) });
    }

    const byContact = new Map(current.map((b) => [b.contact, b]));
    const userAgent = getHeader(req, "User-Agent");
    const source = { transport: remote.transport, address: remote.address, port: remote.port };
    const changes: Change[] = [];
    const kept = new Set<string>();
    for (const [contact, { expires }] of wanted) {
      const existing = byContact.get(contact);
      if (existing) this.checkOrder(existing, callId, cseq);
      if (expires === 0) {
        if (existing) changes.push({ kind: "remove", contact });
        continue;
      }
      kept.add(contact);
      const binding: Binding = {
        tenant,
        extension,
        contact,
        callId,
        cseq,
        expiresAt: now + expires * 1000,
        source,
      };
      if (userAgent !== undefined) binding.userAgent = userAgent;
      if (path !== undefined) binding.path = [...path];
      changes.push({ kind: "upsert", binding });
    }
    if (kept.size > this.maxContacts) throw new RegisterRejection(403, "Too Many Contacts");

    const removed = new Set(changes.filter((c) => c.kind === "remove").map((c) => c.contact));
    const others = current
      .filter((b) => !kept.has(b.contact) && !removed.has(b.contact))
      .sort((a, b) => a.expiresAt - b.expiresAt);
    const excess = others.length + kept.size - this.maxContacts;
    for (let i = 0; i < excess; i++) {
      changes.push({ kind: "remove", contact: others[i].contact });
      this.log.info({ tenant, extension, contact: others[i].contact }, "binding replaced: too many contacts");
    }
    return { changes, current, path };
  }

  /**
   * RFC 3327 §5.3: the Path header field values, topmost (the proxy next to
   * us) first, as written; undefined when there are none or when they are
   * not taken from this source. Each must be a name-addr with a SIP URI (400
   * otherwise): it becomes a Route of every request to the phone.
   */
  private pathOf(req: SipRequest, remote: RemoteAddress): string[] | undefined {
    const values = getHeaders(req, "Path");
    if (values.length === 0) return undefined;
    if (!this.acceptPath(remote)) {
      this.log.info(
        { source: `${remote.address}:${remote.port}`, callId: safeCallId(req) },
        "path of an untrusted source ignored",
      );
      return undefined;
    }
    if (values.length > MAX_PATH_ENTRIES) throw new RegisterRejection(400, "Bad Request");
    for (const value of values) {
      let entry: NameAddr;
      try {
        entry = parseNameAddr(value);
      } catch {
        throw new RegisterRejection(400, "Bad Request");
      }
      const scheme = entry.uri.scheme.toLowerCase();
      if (scheme !== "sip" && scheme !== "sips") throw new RegisterRejection(400, "Bad Request");
    }
    return values;
  }

  /** §10.3 step 7: within one Call-ID, CSeq must grow; otherwise the request is out of order. */
  private checkOrder(existing: Binding, callId: string, cseq: number): void {
    if (existing.callId === callId && cseq <= existing.cseq) {
      throw new RegisterRejection(500, "Server Internal Error");
    }
  }

  private expiresOf(contact: NameAddr, headerExpires: number | undefined): number {
    const param = contact.params.expires;
    if (param !== undefined && param !== null) {
      // RFC 3261 §20.19: a malformed value counts as the default.
      return EXPIRES_VALUE.test(param) ? Math.min(Number(param), MAX_UINT32) : this.defaultExpires;
    }
    return headerExpires ?? this.defaultExpires;
  }

  private async apply(tenant: string, extension: string, changes: Change[]): Promise<void> {
    for (const c of changes) {
      if (c.kind === "upsert") await this.store.bindings.upsert(c.binding);
      else await this.store.bindings.remove(tenant, extension, c.contact);
    }
  }

  /** Puts back the bindings as they were before a failed update (best effort). */
  private async restore(tenant: string, extension: string, before: Binding[]): Promise<void> {
    try {
      await this.store.bindings.removeAll(tenant, extension);
      for (const b of before) await this.store.bindings.upsert(b);
    } catch (err) {
      this.log.error({ err, tenant, extension }, "binding rollback failed");
    }
  }

  /**
   * §10.3 step 8: 200 listing every current binding with its remaining time,
   * and Date; RFC 3327 §5.3: the Path that was stored, when the REGISTER
   * said it supports Path.
   */
  private ok(req: SipRequest, bindings: Binding[], path: string[] | undefined): SipResponse {
    const now = this.clock.now();
    const headers: HeaderField[] = bindings.map((b) => ({
      name: "Contact",
      value: `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`,
    }));
    headers.push({ name: "Date", value: new Date(now).toUTCString() });
    if (path !== undefined && supportsPath(req)) {
      for (const value of path) headers.push({ name: "Path", value });
    }
    return this.reply(req, 200, "OK", headers);
  }

  private reply(req: SipRequest, status: number, reason: string, headers: HeaderField[] = []): SipResponse {
    // RFC 3261 §8.2.6.2: a To tag on a response outside a dialog (kept if the request had one).
    return createResponse(req, status, reason, { toTag: newTag(), headers });
  }

  private notify(tenant: string, extension: string): void {
    this.tell((l) => l.bindingsChanged(tenant, extension), tenant, extension);
  }

  private tell(what: (listener: RegistrarListener) => void, tenant: string, extension: string): void {
    if (!this.listener) return;
    try {
      what(this.listener);
    } catch (err) {
      this.log.error({ err, tenant, extension }, "registrar listener failed");
    }
  }
}

/** The bindings after `changes`, in the store's order (by contact). */
function applied(current: Binding[], changes: Change[]): Binding[] {
  const byContact = new Map(current.map((b) => [b.contact, b]));
  for (const c of changes) {
    if (c.kind === "upsert") byContact.set(c.binding.contact, c.binding);
    else byContact.delete(c.contact);
  }
  return [...byContact.values()].sort((a, b) => (a.contact < b.contact ? -1 : a.contact > b.contact ? 1 : 0));
}

/** "Supported: path" (RFC 3327 §5.3): the phone, or a proxy for it, understands a Path in the 200. */
function supportsPath(req: SipRequest): boolean {
  return getHeaders(req, "Supported").some((tag) => tag.toLowerCase() === "path");
}

function safeCallId(req: SipRequest): string | undefined {
  try {
    return getCallId(req);
  } catch {
    return undefined;
  }
}
