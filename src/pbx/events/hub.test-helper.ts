// A hub without sockets for the state machine's tests: a fake UA core that
// records the NOTIFYs and answers them as told, SUBSCRIBEs written as text
// through the real parser, a server transaction that records its answer, and
// a SQLite store with two companies.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dialog } from "../../sip/dialog/dialog.ts";
import { dialogKey } from "../../sip/dialog/dialog.ts";
import type { InDialogOptions, UserAgent } from "../../sip/dialog/user-agent.ts";
import {
  createResponse,
  getCallId,
  getFrom,
  getHeader,
  getTo,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import type { NameAddr } from "../../sip/message/types.ts";
import { markSynthetic, type ServerTransaction } from "../../sip/transaction/types.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore } from "../../store/sql/open-store.ts";
import type { Binding, Extension, Store, Tenant } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { EventHub } from "./event-hub.ts";
import type { EventHubDeps, MailboxCounts } from "./types.ts";

export const PHONE: RemoteAddress = { transport: "UDP", address: "192.0.2.10", port: 5062 };

export interface SubscribeSpec {
  uri?: string;
  event?: string | null;
  expires?: number | null;
  accept?: string;
  from?: string;
  fromTag?: string;
  toTag?: string;
  callId?: string;
  cseq?: number;
  contact?: string | null;
  method?: string;
  /** Record-Route values, as a proxy in front would add them. */
  recordRoute?: string[];
}

/** A SUBSCRIBE from 101's phone of acme.test, as the wire would carry it. */
export function subscribeRequest(spec: SubscribeSpec = {}): SipRequest {
  const method = spec.method ?? "SUBSCRIBE";
  const uri = spec.uri ?? "sip:102@acme.test";
  const lines = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK${randomBytes(6).toString("hex")};rport`,
    "Max-Forwards: 70",
    `From: <${spec.from ?? "sip:101@acme.test"}>;tag=${spec.fromTag ?? "ft1"}`,
    `To: <${uri}>${spec.toTag ? `;tag=${spec.toTag}` : ""}`,
    `Call-ID: ${spec.callId ?? "sub-1@192.0.2.10"}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
  ];
  if (spec.contact !== null) lines.push(`Contact: <${spec.contact ?? "sip:101@192.0.2.10:5062"}>`);
  if (spec.event !== null) lines.push(`Event: ${spec.event ?? "dialog"}`);
  if (spec.expires !== null && spec.expires !== undefined) lines.push(`Expires: ${spec.expires}`);
  if (spec.accept !== undefined) lines.push(`Accept: ${spec.accept}`);
  for (const rr of spec.recordRoute ?? []) lines.push(`Record-Route: ${rr}`);
  lines.push("User-Agent: TestPhone/1.0", "Content-Length: 0", "", "");
  const msg = parseMessage(Buffer.from(lines.join("\r\n")));
  if (msg.type !== "request") throw new Error("not a request");
  return msg;
}

export class FakeTx implements ServerTransaction {
  readonly isInvite = false;
  readonly responses: SipResponse[] = [];
  constructor(
    readonly request: SipRequest,
    readonly remote: RemoteAddress = PHONE,
  ) {}
  respond(res: SipResponse): void {
    this.responses.push(res);
  }
  get final(): SipResponse {
    const last = this.responses.at(-1);
    if (!last) throw new Error("no response");
    return last;
  }
}

export interface SentNotify {
  dialog: Dialog;
  request: SipRequest;
  /** Settles the NOTIFY when `answer` is "hold". */
  answer(status: number, synthetic?: boolean): void;
}

/** The parts of the UA core the hub uses. */
export class FakeUa {
  readonly dialogs = new Map<string, Dialog>();
  readonly notifies: SentNotify[] = [];
  readonly outOfDialog: Array<{ request: SipRequest; remote: RemoteAddress }> = [];
  /** How the next NOTIFYs are answered: a status, "hold" (answered by hand), or a synthetic 408. */
  answer: number | "hold" | "timeout" = 200;

  contactFor(remote: RemoteAddress): NameAddr {
    const params: Record<string, string | null> = remote.transport === "UDP" ? {} : { transport: "tcp" };
    return { uri: { scheme: "sip", host: "192.0.2.1", port: 5060, params, headers: {} }, params: {} };
  }

  register(dialog: Dialog): void {
    this.dialogs.set(dialog.id, dialog);
  }

  forget(dialog: Dialog): void {
    this.dialogs.delete(dialog.id);
  }

  findDialog(req: SipRequest): Dialog | undefined {
    return this.dialogs.get(
      dialogKey(getCallId(req), getTo(req).params.tag ?? "", getFrom(req).params.tag ?? ""),
    );
  }

  request(dialog: Dialog, method: string, opts: InDialogOptions = {}): Promise<SipResponse> {
    const request = dialog.createRequest(method, opts);
    return new Promise((resolve) => {
      const answer = (status: number, synthetic = false) => {
        const res = createResponse(request, status);
        resolve(synthetic ? markSynthetic(res) : res);
      };
      this.notifies.push({ dialog, request, answer });
      if (this.answer === "timeout") answer(408, true);
      else if (this.answer !== "hold") answer(this.answer);
    });
  }

  async sendRequest(request: SipRequest, remote: RemoteAddress): Promise<SipResponse> {
    this.outOfDialog.push({ request, remote });
    return createResponse(request, 200);
  }
}

export interface Fixture {
  clock: FakeClock;
  store: Store;
  ua: FakeUa;
  hub: EventHub;
  acme: Tenant;
  bistro: Tenant;
  ext(tenant: string, number: string): Promise<Extension>;
  /** Registered devices per "tenant/extension". */
  devices: Map<string, Binding[]>;
  mailboxes: Map<string, MailboxCounts>;
  /** A new hub on the same store and clock (a restart), with a new fake UA, and these deps as EventHubDeps has them. */
  restart(
    limits?: EventHubDeps["limits"],
    extra?: Pick<EventHubDeps, "sourceOf" | "restoreOwnOnly">,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function hubFixture(limits?: EventHubDeps["limits"]): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-events-"));
  const clock = new FakeClock();
  const store = await openStore({ dataDir: dir, clock });
  const acme = await store.tenants.create({ name: "acme", domain: "acme.test" });
  const bistro = await store.tenants.create({ name: "bistro", domain: "bistro.test" });
  for (const [tenant, number, name] of [
    ["acme", "101", "Alice"],
    ["acme", "102", "Bob <Sales> & Co"],
    ["acme", "103", "Carol"],
    ["bistro", "101", "Dora"],
  ]) {
    await store.extensions.create({
      tenant,
      number,
      displayName: name,
      credentials: makeCredentials(number, `${tenant}.test`, `pw-${number}-secret`),
    });
  }
  const devices = new Map<string, Binding[]>();
  const mailboxes = new Map<string, MailboxCounts>();
  const make = (
    ua: FakeUa,
    l: EventHubDeps["limits"],
    extra: Pick<EventHubDeps, "sourceOf" | "restoreOwnOnly"> = {},
  ) =>
    new EventHub({
      ...extra,
      ua: ua as unknown as UserAgent,
      store,
      clock,
      log: silentLogger(),
      contactFor: (remote) => ua.contactFor(remote),
      devices: async (tenant, extension) => devices.get(`${tenant}/${extension}`) ?? [],
      mailbox: async (tenant, extension) =>
        mailboxes.get(`${tenant}/${extension}`) ?? { newMessages: 0, oldMessages: 0 },
      limits: l,
    });
  const fixture: Fixture = {
    clock,
    store,
    ua: new FakeUa(),
    hub: undefined as unknown as EventHub,
    acme,
    bistro,
    devices,
    mailboxes,
    async ext(tenant, number) {
      const e = await store.extensions.get(tenant, number);
      if (!e) throw new Error(`no extension ${tenant}/${number}`);
      return e;
    },
    async restart(l = limits, extra) {
      await fixture.hub.stop();
      fixture.ua = new FakeUa();
      fixture.hub = make(fixture.ua, l, extra);
      await fixture.hub.start();
    },
    async close() {
      await fixture.hub.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fixture.hub = make(fixture.ua, limits);
  await fixture.hub.start();
  return fixture;
}

/** Lets promise chains run (the hub's store calls and NOTIFY queue) without moving the clock. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function header(msg: SipRequest | SipResponse, name: string): string | undefined {
  return getHeader(msg, name);
}
