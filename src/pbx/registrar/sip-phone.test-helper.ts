// A scripted phone for registrar and authenticator tests: writes requests as
// text (through the real parser) and answers digest challenges like a
// RFC 7616 client would.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeResponse, type DigestAlgorithm } from "../../sip/auth/digest.ts";
import { getHeaders, parseMessage, type SipRequest, type SipResponse } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore } from "../../store/sql/open-store.ts";
import type { Store } from "../../store/types.ts";

export const PHONE: RemoteAddress = { transport: "UDP", address: "192.0.2.10", port: 5062 };

export interface RequestSpec {
  method?: string;
  uri?: string;
  from?: string;
  to?: string;
  callId?: string;
  cseq?: number;
  contact?: string | string[];
  expires?: number;
  extra?: string[];
}

/** A request from a phone of acme.test, as bytes on the wire would say it. */
export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? "REGISTER";
  const lines = [
    `${method} ${spec.uri ?? "sip:acme.test"} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK${randomBytes(6).toString("hex")};rport`,
    "Max-Forwards: 70",
    `From: <${spec.from ?? "sip:101@acme.test"}>;tag=ft1`,
    `To: <${spec.to ?? spec.from ?? "sip:101@acme.test"}>`,
    `Call-ID: ${spec.callId ?? "reg-1@192.0.2.10"}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
  ];
  const contacts =
    spec.contact === undefined ? [] : Array.isArray(spec.contact) ? spec.contact : [spec.contact];
  for (const c of contacts) lines.push(`Contact: ${c}`);
  if (spec.expires !== undefined) lines.push(`Expires: ${spec.expires}`);
  lines.push("User-Agent: TestPhone/1.0", ...(spec.extra ?? []), "Content-Length: 0", "", "");
  const msg = parseMessage(Buffer.from(lines.join("\r\n")));
  if (msg.type !== "request") throw new Error("not a request");
  return msg;
}

/** The parameters of the challenge for `algorithm` in a 401/407. */
export function challengeOf(
  res: SipResponse,
  algorithm: DigestAlgorithm = "SHA-256",
): Record<string, string> {
  const name = res.status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
  for (const value of getHeaders(res, name)) {
    const params: Record<string, string> = {};
    for (const m of value.replace(/^Digest\s+/i, "").matchAll(/([a-z-]+)=(?:"([^"]*)"|([^,\s]+))/gi)) {
      params[m[1].toLowerCase()] = m[2] ?? m[3];
    }
    if (params.algorithm === algorithm) return params;
  }
  throw new Error(`no ${algorithm} challenge in ${res.status}`);
}

export interface Answer {
  user?: string;
  password: string;
  algorithm?: DigestAlgorithm;
  nc?: number;
  realm?: string;
  nonce?: string;
  /** The digest uri; the Request-URI when absent. */
  uri?: string;
  header?: "Authorization" | "Proxy-Authorization";
}

/** The request with an Authorization header answering `challenge` (RFC 7616 §3.4, qop=auth). */
export function authorize(req: SipRequest, challenge: SipResponse, a: Answer): SipRequest {
  const algorithm = a.algorithm ?? "SHA-256";
  const ch = challengeOf(challenge, algorithm);
  const realm = a.realm ?? ch.realm;
  const nonce = a.nonce ?? ch.nonce;
  const user = a.user ?? "101";
  const uri = a.uri ?? reqUri(req);
  const nc = (a.nc ?? 1).toString(16).padStart(8, "0");
  const cnonce = randomBytes(8).toString("hex");
  const ha1 = makeCredentials(user, realm, a.password)[algorithm === "MD5" ? "ha1Md5" : "ha1Sha256"];
  const response = computeResponse(algorithm, ha1, nonce, nc, cnonce, req.method, uri);
  const value =
    `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
    `response="${response}", algorithm=${algorithm}, cnonce="${cnonce}", qop=auth, nc=${nc}`;
  const name = a.header ?? (challenge.status === 407 ? "Proxy-Authorization" : "Authorization");
  return {
    ...req,
    headers: [...req.headers.filter((h) => h.name !== name), { name, value }],
  };
}

function reqUri(req: SipRequest): string {
  const u = req.uri;
  return `${u.scheme}:${u.user !== undefined ? u.user + "@" : ""}${u.host}${u.port !== undefined ? ":" + u.port : ""}`;
}

let stores: string | undefined;

/** One folder for every store of this test process, removed when it exits. */
function storesDir(): string {
  if (!stores) {
    const dir = mkdtempSync(join(tmpdir(), "vpbx-registrar-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    stores = dir;
  }
  return stores;
}

/** Tenant acme (acme.test) with 101 / 102, and tenant other (other.test) with 101. */
export async function seededStore(): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(join(storesDir(), "store-")) });
  await store.tenants.create({ name: "acme", domain: "acme.test" });
  await store.tenants.create({ name: "other", domain: "other.test" });
  for (const [tenant, domain, number, password] of [
    ["acme", "acme.test", "101", "secret101"],
    ["acme", "acme.test", "102", "secret102"],
    ["other", "other.test", "101", "otherpass"],
  ]) {
    await store.extensions.create({
      tenant,
      number,
      displayName: `Phone ${number}`,
      credentials: makeCredentials(number, domain, password),
    });
  }
  return store;
}
