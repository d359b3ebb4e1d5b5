// The self-signed certificate that SIP over TLS (RFC 3261 §26.2, RFC 5630)
// starts with when the operator gave none (VPBX_TLS_CERT / VPBX_TLS_KEY).
// Phones rarely verify a server certificate, and those that do are told to
// trust this one; a real certificate replaces it by configuration.
//
// Written with node:crypto and a small DER writer (X.509, RFC 5280) instead
// of the `selfsigned` package: that package pulls in node-forge (~1.6 MB of
// JavaScript crypto) to do what node:crypto does natively, and the house
// allows no new dependency without need. The writer below emits only the few
// ASN.1 types a certificate needs.
import { createPrivateKey, generateKeyPair, randomBytes, sign, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { isIP, isIPv4 } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensurePrivateDir, writePrivateFile } from "./file-permissions.ts";
import type { Logger } from "./log.ts";

/** What the certificate is for: its subject and alternative names. */
export interface CertificateNames {
  /** IP addresses the PBX is reached at (the public address). */
  addresses: string[];
  /** Host names (the machine's host name); names that are not DNS names are left out. */
  hostnames: string[];
}

export interface SelfSignedOptions extends CertificateNames {
  /** Milliseconds since the epoch: the start of the validity (a day earlier, for clocks that lag). */
  now: number;
  /** Validity in days (default 3650). */
  days?: number;
  /** RSA modulus size (default 2048: what every phone's TLS stack takes). */
  modulusBits?: number;
}

export interface PemPair {
  cert: string;
  key: string;
}

export interface EnsuredCertificate {
  certFile: string;
  keyFile: string;
  /** True when it was made now, false when the one from an earlier start was reused. */
  created: boolean;
}

const DAY_MS = 86_400_000;
/** A certificate that ends within this time is replaced at start rather than reused. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

export const SELF_SIGNED_DIR = "tls";
export const SELF_SIGNED_CERT = "cert.pem";
export const SELF_SIGNED_KEY = "key.pem";

// --- DER (X.690 §8, distinguished encoding) ------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octetString = (b: Buffer) => tlv(0x04, b);
const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const NULL = Buffer.from([0x05, 0x00]);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A BIT STRING of whole bytes, or of `bits` leading bits of `bytes` (X.690 §8.6). */
function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.from([unusedBits]), bytes);
}

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1] < 0x80) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, trimmed[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(ms: number): Buffer {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  const year = d.getUTCFullYear();
  if (year < 2050) return tlv(0x17, Buffer.from(two(year % 100) + rest, "latin1"));
  return tlv(0x18, Buffer.from(String(year) + rest, "latin1"));
}

function name(commonName: string): Buffer {
  // Name ::= RDNSequence: O=vpbx, CN=<host>.
  return sequence(
    set(sequence(oid("2.5.4.10"), utf8String("vpbx"))),
    set(sequence(oid("2.5.4.3"), utf8String(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), TRUE, octetString(value)) : sequence(oid(id), octetString(value));
}

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split(".").map(Number));
  // IPv6: a trailing dotted quad is the last two groups; "::" stands for the missing zero groups.
  let text = address;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(all[i], 16), 2 * i);
  return out;
}

/** A host name a certificate can carry as a dNSName (RFC 5280 §4.2.1.6: preferred name syntax). */
function isDnsName(host: string): boolean {
  return (
    host.length <= 253 &&
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
      host,
    ) &&
    isIP(host) === 0
  );
}

function usableNames(names: CertificateNames): CertificateNames {
  const addresses = [...new Set(names.addresses.filter((a) => isIP(a) !== 0 && !/%/.test(a)))];
  const hostnames = [...new Set(names.hostnames.filter(isDnsName).map((h) => h.toLowerCase()))];
  return { addresses, hostnames };
}

/**
 * Makes a self-signed X.509 v3 server certificate (RFC 5280) with an RSA key:
 * subject CN the first host name (else the first address), every address
 * and host name as a subjectAltName (what TLS clients check, RFC 6125 §6.4),
 * keyUsage digitalSignature + keyEncipherment, extKeyUsage serverAuth,
 * basicConstraints CA:FALSE, signed with SHA-256.
 */
export async function createSelfSignedCertificate(opts: SelfSignedOptions): Promise<PemPair> {
  const { addresses, hostnames } = usableNames(opts);
  if (addresses.length === 0 && hostnames.length === 0) {
    throw new Error("a certificate needs at least one IP address or host name");
  }
  const { privateKey, publicKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: opts.modulusBits ?? 2048,
  });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const sha256WithRsa = sequence(oid("1.2.840.113549.1.1.11"), NULL);
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 16 random ones make it unique.
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const notBefore = opts.now - DAY_MS;
  const notAfter = opts.now + (opts.days ?? 3650) * DAY_MS;
  const subject = name(hostnames[0] ?? addresses[0]);
  const altNames = sequence(
    ...addresses.map((a) => tlv(0x87, ipBytes(a))),
    ...hostnames.map((h) => tlv(0x82, Buffer.from(h, "latin1"))),
  );
  const extensions = sequence(
    extension("2.5.29.19", true, sequence()), // basicConstraints: not a CA
    extension("2.5.29.15", true, bitString(Buffer.from([0xa0]), 5)), // digitalSignature, keyEncipherment
    extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"))), // serverAuth
    extension("2.5.29.17", false, altNames),
  );
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // version v3
    integer(serial),
    sha256WithRsa,
    subject, // issuer: self-signed
    sequence(time(notBefore), time(notAfter)),
    subject,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = sequence(tbs, sha256WithRsa, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { cert, key };
}

/** The names of the self-signed certificate of this server: its public address and the machine's host name. */
export function selfSignedNames(publicAddress: string): CertificateNames {
  return { addresses: [publicAddress], hostnames: [hostname()] };
}

/**
 * Why a certificate from an earlier start cannot be reused, or undefined
 * when it can: it must parse, match its key, be valid now and for another
 * month, and name every address and host name it is for.
 */
export function reuseProblem(pair: PemPair, names: CertificateNames, now: number): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return "the key does not match the certificate";
  } catch (err) {
    return `unreadable: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (Date.parse(cert.validFrom) > now) return "not valid yet";
  if (Date.parse(cert.validTo) - RENEW_BEFORE_MS < now) return "expired or about to expire";
  const { addresses, hostnames } = usableNames(names);
  for (const a of addresses) if (cert.checkIP(a) === undefined) return `does not name ${a}`;
  for (const h of hostnames)
    if (cert.checkHost(h, { wildcards: false }) === undefined) return `does not name ${h}`;
  return undefined;
}

/**
 * The self-signed certificate in `<dataDir>/tls/` (cert.pem, key.pem, both
 * 0600 in a 0700 folder): the one of an earlier start when it is still
 * good (reuseProblem, for the addresses), else a new one. A new pair is written under
 * temporary names and renamed into place, key first, so that a crash leaves
 * either the old pair, the new one, or a mismatch that the next start
 * replaces.
 */
export async function ensureSelfSignedCertificate(
  dataDir: string,
  names: CertificateNames,
  opts: { now: number; log: Logger },
): Promise<EnsuredCertificate> {
  const dir = join(dataDir, SELF_SIGNED_DIR);
  const certFile = join(dir, SELF_SIGNED_CERT);
  const keyFile = join(dir, SELF_SIGNED_KEY);
  ensurePrivateDir(dir);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const old = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
    // Only the addresses must still match: a container's host name changes
    // with every start, and phones are pointed at the address (or at a DNS
    // name that no self-signed certificate can know).
    const problem = reuseProblem(old, { addresses: names.addresses, hostnames: [] }, opts.now);
    if (problem === undefined) return { certFile, keyFile, created: false };
    opts.log.info({ certFile, problem }, "self-signed TLS certificate replaced");
  }
  const pair = await createSelfSignedCertificate({ ...names, now: opts.now });
  for (const [file, data] of [
    [keyFile, pair.key],
    [certFile, pair.cert],
  ] as const) {
    const tmp = `${file}.tmp`;
    rmSync(tmp, { force: true });
    writePrivateFile(tmp, data);
    renameSync(tmp, file);
  }
  return { certFile, keyFile, created: true };
}
