// The process configuration, from VPBX_* environment variables (twelve-factor:
// one image, configured by its environment). Every problem is collected so
// that an operator fixes them all in one go, not one per restart.
import { X509Certificate } from "node:crypto";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism, hostname, networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSecretKey } from "./store/sql/secret-box.ts";
import { LETS_ENCRYPT_DIRECTORY, LETS_ENCRYPT_STAGING_DIRECTORY } from "./util/acme-certificates.ts";

/** The certificate of SIP over TLS and HTTPS from an ACME CA (RFC 8555), instead of files or a self-signed one. */
export interface AcmeConfig {
  /** VPBX_ACME_DOMAIN: the DNS names (comma-separated), the first one the subject. */
  domains: string[];
  /** VPBX_ACME_EMAIL: the account's contact for the CA's notices. */
  email?: string;
  /** VPBX_ACME_DIRECTORY: the CA's directory URL (default Let's Encrypt's production one). */
  directoryUrl: string;
  /** VPBX_ACME_DIRECTORY_CA, resolved: a PEM CA trusted for the directory's HTTPS (a private CA). */
  directoryCaFile?: string;
}

/** Names VPBX_ACME_DIRECTORY takes instead of a URL. */
export const ACME_DIRECTORY_NAMES: Readonly<Record<string, string>> = {
  letsencrypt: LETS_ENCRYPT_DIRECTORY,
  "letsencrypt-staging": LETS_ENCRYPT_STAGING_DIRECTORY,
};

export interface Config {
  dataDir: string;
  /**
   * The PostgreSQL database of the store ("postgres://user:pass@host:5432/vpbx");
   * undefined: SQLite in the data directory.
   */
  databaseUrl?: string;
  bind: string;
  /** The address that phones and carriers reach us at (Via, Contact, SDP c=). */
  publicAddress: string;
  /** 0 lets the system choose a free port (tests). */
  sipPort: number;
  /**
   * VPBX_SIP_TLS_PORT: the SIP over TLS listener (RFC 3261 §26.2); loadConfig
   * sets 5061 by default, 0 a free port (tests). Undefined: no TLS listener
   * (VPBX_SIP_TLS_PORT=off, and a Config written in code without it).
   */
  sipTlsPort?: number;
  /**
   * VPBX_TLS_CERT and VPBX_TLS_KEY, resolved: PEM files of the certificate
   * (with its chain) and its key, reloaded on SIGHUP and when they change.
   * Undefined: a self-signed certificate made in `<dataDir>/tls/`.
   */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /**
   * VPBX_TLS_TRUSTED_CA: PEM certificates of CAs trusted beside the system's
   * when a trunk over TLS is verified.
   */
  tlsTrustedCaFile?: string;
  /**
   * VPBX_ACME_DOMAIN (with VPBX_ACME_EMAIL, VPBX_ACME_DIRECTORY,
   * VPBX_ACME_DIRECTORY_CA): the certificate comes from an ACME CA, proven
   * by HTTP-01 on the HTTP port, kept in `<dataDir>/tls/acme/` and renewed
   * before it ends; the self-signed one serves until the first is issued.
   * Never together with tlsCertFile/tlsKeyFile.
   */
  acme?: AcmeConfig;
  httpPort: number;
  /**
   * VPBX_HTTP_TLS=on: the HTTP port speaks HTTPS with the certificate of SIP
   * over TLS (tlsCertFile, else the self-signed one), reloaded with it, and
   * SIP over WebSocket on it is WSS (browsers need a secure page for the
   * microphone). Undefined or false: plain HTTP, WS.
   */
  httpTls?: boolean;
  /** RTP on even ports, RTCP on the odd port above (RFC 3550 §11). */
  rtpPorts: { min: number; max: number };
  /**
   * VPBX_MEDIA_THREADS: worker threads that hold the RTP sockets and relay
   * bridged calls, each on its share of rtpPorts; 0 keeps the media on the
   * main thread. loadConfig sets it (default: one per core,
   * os.availableParallelism()); undefined means that default too.
   */
  mediaThreads?: number;
  /**
   * VPBX_MEDIA_NICE: the nice value of the media threads (−20 … 19, default
   * DEFAULT_MEDIA_NICE). Below the signalling thread's, a media thread
   * woken by a packet takes the core at once, not after another thread's
   * time slice; raising it needs CAP_SYS_NICE (else a warning, and the
   * threads keep the process's). 0: not asked. Undefined means the default.
   */
  mediaNice?: number;
  adminToken?: string;
  logLevel: string;
  mediaTimeoutSeconds: number;
  /**
   * Caps on accepted SIP/TCP connections (each holds a file handle):
   * VPBX_TCP_MAX_CONNECTIONS in all (default 10000), VPBX_TCP_MAX_PER_SOURCE
   * from one IPv4 address or IPv6 /64 (default 50). Undefined (the variable
   * unset): the transport's defaults, which are these.
   */
  tcpMaxConnections?: number;
  tcpMaxPerSource?: number;
  /**
   * VPBX_OVERLOAD_DELAY_MS: the signalling thread's event-loop delay (p99 over
   * a quarter second) above which new calls are refused with 503 and
   * Retry-After until it is back under half of it (default 200; 0 = never).
   */
  overloadDelayMs?: number;
  /**
   * VPBX_RTPENGINE=host:port: rtpengine's ng control socket; the media of
   * every call then goes through rtpengine, and bridged calls are relayed by
   * it (apps still play and record here). Unset: our own relay.
   */
  rtpengine?: { host: string; port: number };
  /** VPBX_TCP_IDLE_TIMEOUT: seconds an authenticated TCP connection may stay silent (default 900). */
  tcpIdleTimeoutSeconds?: number;
  /** VPBX_TCP_UNAUTHENTICATED_TIMEOUT: seconds a TCP peer that has not authenticated may go without a complete message (default 30). */
  tcpUnauthenticatedTimeoutSeconds?: number;
  /** Digest algorithms offered to phones, preferred first (RFC 8760 §2.4). */
  digestAlgorithms: Array<"MD5" | "SHA-256">;
  /**
   * Where voicemail e-mails go ("smtp://user:pass@mail.example:587",
   * "smtps://…" for TLS from the first byte); undefined: no mail is sent and
   * the queued ones wait for it.
   */
  smtpUrl?: string;
  /** The From of voicemail e-mails: "vpbx@pbx.example.com" or "Voicemail <vpbx@pbx.example.com>". */
  smtpFrom: string;
  /**
   * VPBX_SECRET_KEY, decoded: the key that seals stored credentials
   * (store/sql/secret-box.ts); undefined: the key file.
   */
  secretKey?: Buffer;
  /** VPBX_SECRET_KEY_FILE, resolved; undefined: `<dataDir>/secret.key` (generated on the first start). */
  secretKeyFile?: string;
  /**
   * VPBX_TRUSTED_PROXIES: addresses and CIDR networks of the SIP proxies in
   * front of the nodes (Kamailio). A request from one counts as coming from
   * the phone below it (its Via), and only their Path is kept. Undefined: none.
   */
  trustedProxies?: string[];
  /**
   * VPBX_AUDIO_URL, as an absolute directory: the root of voicemail messages,
   * greetings and the company's audio files, shared by every node (NFS).
   * Undefined: the data directory.
   */
  audioDir?: string;
  /**
   * VPBX_CALL_HISTORY_DAYS: days a call's record is kept (purged once a day);
   * 0 keeps no history at all. Undefined (the variable unset): 365,
   * DEFAULT_CALL_HISTORY_DAYS.
   */
  callHistoryDays?: number;
  /**
   * VPBX_METRICS_TOKEN: the bearer token of GET /metrics (Prometheus), apart
   * from the API's tokens. Undefined: /metrics is off (404).
   */
  metricsToken?: string;
}

/** VPBX_CALL_HISTORY_DAYS by default: a year of calls. */
export const DEFAULT_CALL_HISTORY_DAYS = 365;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/**
 * The media threads' nice value unless VPBX_MEDIA_NICE says otherwise. With
 * 500 relayed calls on one core (`npm run bench -- --only relay`), the
 * added jitter p99 was 4.4-6.6 ms in three runs at the process's priority,
 * and 0-7.3 ms at -10, under 5 ms in 12 runs of 17 (median 3.4 ms).
 */
export const DEFAULT_MEDIA_NICE = -10;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };

  const port = (name: string, fallback: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= 0 && n <= 65535)) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a port: expected an integer from 0 to 65535`);
      return fallback;
    }
    return n;
  };

  const dataDir = resolve(get("VPBX_DATA_DIR") ?? "./data");

  const databaseRaw = get("VPBX_DATABASE_URL");
  let databaseUrl: string | undefined;
  if (databaseRaw !== undefined) {
    if (isPostgresUrl(databaseRaw)) databaseUrl = databaseRaw;
    else {
      // The URL carries the database password: never echo it into a log.
      problems.push(
        `VPBX_DATABASE_URL=${JSON.stringify(hidePassword(databaseRaw))} is not a PostgreSQL URL: expected postgres://user:password@host:5432/database (or unset it for SQLite in the data directory)`,
      );
    }
  }

  const bind = get("VPBX_BIND") ?? "0.0.0.0";
  if (isIP(bind) === 0) {
    problems.push(
      `VPBX_BIND=${JSON.stringify(bind)} is not an IP address: expected e.g. 0.0.0.0, :: or 192.0.2.10`,
    );
  }

  let publicAddress = get("VPBX_PUBLIC_ADDRESS") ?? defaultPublicAddress(bind);
  if (isIP(publicAddress) === 0) {
    problems.push(
      `VPBX_PUBLIC_ADDRESS=${JSON.stringify(publicAddress)} is not an IP address: expected the address phones reach this server at, e.g. 203.0.113.5`,
    );
    publicAddress = "127.0.0.1";
  } else if (publicAddress === "0.0.0.0" || publicAddress === "::") {
    problems.push(
      `VPBX_PUBLIC_ADDRESS=${publicAddress} cannot be reached: expected a concrete address phones can send to`,
    );
  }

  const sipPort = port("VPBX_SIP_PORT", 5060);
  const httpPort = port("VPBX_HTTP_PORT", 8080);

  // SIP over TLS: a port of its own (5061, RFC 3261 §19.1.2), or off; its
  // certificate from files, or self-signed when none is given.
  let sipTlsPort: number | undefined = 5061;
  const tlsPortRaw = get("VPBX_SIP_TLS_PORT");
  if (tlsPortRaw !== undefined && /^(off|no|false|disabled?)$/i.test(tlsPortRaw)) sipTlsPort = undefined;
  else if (tlsPortRaw !== undefined) {
    const n = /^[0-9]+$/.test(tlsPortRaw) ? Number(tlsPortRaw) : Number.NaN;
    if (!(n >= 0 && n <= 65535)) {
      problems.push(
        `VPBX_SIP_TLS_PORT=${JSON.stringify(tlsPortRaw)} is not a port: expected an integer from 0 to 65535 (5061 by default), or off for no SIP over TLS`,
      );
    } else sipTlsPort = n;
  }
  if (sipTlsPort !== undefined && sipTlsPort !== 0 && (sipTlsPort === sipPort || sipTlsPort === httpPort)) {
    problems.push(
      `VPBX_SIP_TLS_PORT=${sipTlsPort} is already the port of ${sipTlsPort === sipPort ? "VPBX_SIP_PORT" : "VPBX_HTTP_PORT"}: SIP over TLS needs a port of its own, e.g. 5061`,
    );
  }
  // HTTPS on the HTTP port, with the same certificate (default off).
  let httpTls = false;
  const httpTlsRaw = get("VPBX_HTTP_TLS");
  if (httpTlsRaw !== undefined && /^(on|yes|true|1)$/i.test(httpTlsRaw)) httpTls = true;
  else if (httpTlsRaw !== undefined && !/^(off|no|false|0)$/i.test(httpTlsRaw)) {
    problems.push(
      `VPBX_HTTP_TLS=${JSON.stringify(httpTlsRaw)} is not on or off: expected on (HTTPS on VPBX_HTTP_PORT with the certificate of VPBX_TLS_CERT, or the self-signed one) or off (plain HTTP, the default)`,
    );
  }
  const tlsUsed = sipTlsPort !== undefined || httpTls;
  const tlsCertRaw = get("VPBX_TLS_CERT");
  const tlsKeyRaw = get("VPBX_TLS_KEY");
  const tlsFiles: { tlsCertFile?: string; tlsKeyFile?: string } = {};
  // With TLS off (SIP and HTTP) the certificate settings are not used, and not checked.
  if (tlsUsed && (tlsCertRaw === undefined) !== (tlsKeyRaw === undefined)) {
    problems.push(
      `${tlsCertRaw === undefined ? "VPBX_TLS_KEY" : "VPBX_TLS_CERT"} is set without ${tlsCertRaw === undefined ? "VPBX_TLS_CERT" : "VPBX_TLS_KEY"}: set both (PEM files of the certificate and of its key), or neither for a self-signed certificate`,
    );
  } else if (tlsCertRaw !== undefined && tlsKeyRaw !== undefined && tlsUsed) {
    for (const [name, raw, what] of [
      ["VPBX_TLS_CERT", tlsCertRaw, "a PEM certificate (with its chain)"],
      ["VPBX_TLS_KEY", tlsKeyRaw, "its PEM private key"],
    ] as const) {
      const file = resolve(raw);
      if (!isReadableFile(file)) {
        problems.push(`${name}=${JSON.stringify(raw)} is not a readable file: expected the path of ${what}`);
      }
    }
    tlsFiles.tlsCertFile = resolve(tlsCertRaw);
    tlsFiles.tlsKeyFile = resolve(tlsKeyRaw);
  }

  // ACME (RFC 8555): a certificate for the server's DNS name from a CA,
  // Let's Encrypt unless another directory is named.
  const acmeRaw = {
    VPBX_ACME_DOMAIN: get("VPBX_ACME_DOMAIN"),
    VPBX_ACME_EMAIL: get("VPBX_ACME_EMAIL"),
    VPBX_ACME_DIRECTORY: get("VPBX_ACME_DIRECTORY"),
    VPBX_ACME_DIRECTORY_CA: get("VPBX_ACME_DIRECTORY_CA"),
  };
  let acme: AcmeConfig | undefined;
  if (acmeRaw.VPBX_ACME_DOMAIN === undefined) {
    for (const [name, value] of Object.entries(acmeRaw)) {
      if (value !== undefined)
        problems.push(
          `${name} is set without VPBX_ACME_DOMAIN: set VPBX_ACME_DOMAIN to this server's DNS name for a certificate from an ACME CA, or unset ${name}`,
        );
    }
  } else {
    acme = readAcme(acmeRaw, problems);
    if (tlsCertRaw !== undefined || tlsKeyRaw !== undefined) {
      problems.push(
        "VPBX_ACME_DOMAIN and VPBX_TLS_CERT/VPBX_TLS_KEY are both set: the certificate comes either from your files (VPBX_TLS_CERT and VPBX_TLS_KEY) or from an ACME CA (VPBX_ACME_DOMAIN), not both: unset one of them",
      );
    }
    if (!tlsUsed) {
      problems.push(
        "VPBX_ACME_DOMAIN is set but nothing would use its certificate: SIP over TLS is off (VPBX_SIP_TLS_PORT=off) and so is HTTPS (VPBX_HTTP_TLS): turn one on, or unset VPBX_ACME_DOMAIN",
      );
    }
  }

  let rtpPorts = { min: 10000, max: 20000 };
  const rtpRaw = get("VPBX_RTP_PORTS");
  if (rtpRaw !== undefined) {
    const m = /^([0-9]{1,5})\s*-\s*([0-9]{1,5})$/.exec(rtpRaw);
    const min = m ? Number(m[1]) : Number.NaN;
    const max = m ? Number(m[2]) : Number.NaN;
    if (!m || min < 1024 || max > 65535 || min % 2 !== 0 || min >= max) {
      problems.push(
        `VPBX_RTP_PORTS=${JSON.stringify(rtpRaw)} is not a usable range: expected MIN-MAX with an even MIN, MIN < MAX, both within 1024-65535, e.g. 10000-20000`,
      );
    } else {
      rtpPorts = { min, max };
    }
  }

  // One media thread per core by default: the relay of a bridged call then
  // never waits behind signalling, and every core carries calls.
  let mediaThreads = availableParallelism();
  const threadsRaw = get("VPBX_MEDIA_THREADS");
  if (threadsRaw !== undefined) {
    const n = /^[0-9]+$/.test(threadsRaw) ? Number(threadsRaw) : Number.NaN;
    if (!(n >= 0 && n <= 1024)) {
      problems.push(
        `VPBX_MEDIA_THREADS=${JSON.stringify(threadsRaw)} is not a thread count: expected a whole number from 0 (media on the main thread) to 1024, e.g. ${availableParallelism()} (one per core, the default)`,
      );
    } else {
      mediaThreads = n;
    }
  }

  let mediaNice = DEFAULT_MEDIA_NICE;
  const niceRaw = get("VPBX_MEDIA_NICE");
  if (niceRaw !== undefined) {
    const n = /^-?[0-9]+$/.test(niceRaw) ? Number(niceRaw) : Number.NaN;
    if (!(n >= -20 && n <= 19)) {
      problems.push(
        `VPBX_MEDIA_NICE=${JSON.stringify(niceRaw)} is not a nice value: expected a whole number from -20 (the highest priority) to 19, e.g. ${DEFAULT_MEDIA_NICE} (the default), or 0 to leave the media threads at the process's priority`,
      );
    } else {
      mediaNice = n;
    }
  }

  const logLevel = get("VPBX_LOG_LEVEL") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(
      `VPBX_LOG_LEVEL=${JSON.stringify(logLevel)} is not a log level: expected one of ${LOG_LEVELS.join(", ")}`,
    );
  }

  let mediaTimeoutSeconds = 60;
  const mediaRaw = get("VPBX_MEDIA_TIMEOUT");
  if (mediaRaw !== undefined) {
    const n = /^[0-9]+$/.test(mediaRaw) ? Number(mediaRaw) : Number.NaN;
    if (!(n >= 1 && n <= 86400)) {
      problems.push(
        `VPBX_MEDIA_TIMEOUT=${JSON.stringify(mediaRaw)} is not a timeout: expected whole seconds from 1 to 86400`,
      );
    } else {
      mediaTimeoutSeconds = n;
    }
  }

  // TCP caps and timeouts: set only when given, else the transport's
  // defaults apply (sip/transport TCP_DEFAULTS, the values documented above).
  const wholeNumber = (name: string, min: number, max: number, what: string): number | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= min && n <= max)) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not ${what}: expected a whole number from ${min} to ${max}`,
      );
      return undefined;
    }
    return n;
  };
  const tcp = {
    tcpMaxConnections: wholeNumber("VPBX_TCP_MAX_CONNECTIONS", 1, 1_000_000, "a connection count"),
    tcpMaxPerSource: wholeNumber("VPBX_TCP_MAX_PER_SOURCE", 1, 1_000_000, "a connection count"),
    tcpIdleTimeoutSeconds: wholeNumber("VPBX_TCP_IDLE_TIMEOUT", 1, 86_400, "a timeout in seconds"),
    tcpUnauthenticatedTimeoutSeconds: wholeNumber(
      "VPBX_TCP_UNAUTHENTICATED_TIMEOUT",
      1,
      3_600,
      "a timeout in seconds",
    ),
  };

  const overloadDelayMs = wholeNumber("VPBX_OVERLOAD_DELAY_MS", 0, 60_000, "a delay in milliseconds");

  let rtpengine: Config["rtpengine"];
  const rtpengineRaw = get("VPBX_RTPENGINE");
  if (rtpengineRaw !== undefined) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(rtpengineRaw);
    const host = m ? (m[1] ?? m[2]) : "";
    const port = m ? Number(m[3]) : 0;
    if (!m || isIP(host) === 0 || port < 1 || port > 65535) {
      problems.push(
        `VPBX_RTPENGINE=${JSON.stringify(rtpengineRaw)} is not rtpengine's ng address: expected IP:port, e.g. 127.0.0.1:2223 (its listen-ng)`,
      );
    } else rtpengine = { host, port };
  }

  // RFC 8760 lets a server offer SHA-256 beside MD5, but real phones do not
  // cope: SIPp takes the first challenge and fails on SHA-256, baresip gives
  // up on the whole response when one challenge is not MD5. So MD5 alone by
  // default; a provider whose phones all do SHA-256 can offer it (first).
  const digestAlgorithms: Config["digestAlgorithms"] = [];
  const digestRaw = get("VPBX_DIGEST_ALGORITHMS") ?? "MD5";
  for (const name of digestRaw.split(",").map((x) => x.trim().toUpperCase())) {
    if ((name === "MD5" || name === "SHA-256") && !digestAlgorithms.includes(name))
      digestAlgorithms.push(name);
    else {
      problems.push(
        `VPBX_DIGEST_ALGORITHMS=${JSON.stringify(digestRaw)} is not a list of digest algorithms: expected MD5 and/or SHA-256, comma-separated, preferred first`,
      );
      break;
    }
  }

  const smtpRaw = get("VPBX_SMTP_URL");
  let smtpUrl: string | undefined;
  if (smtpRaw !== undefined) {
    if (isSmtpUrl(smtpRaw)) smtpUrl = smtpRaw;
    else {
      // The URL carries the SMTP password: never echo it into a log.
      problems.push(
        `VPBX_SMTP_URL=${JSON.stringify(hidePassword(smtpRaw))} is not an SMTP URL: expected smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS), user and password optional`,
      );
    }
  }

  const smtpFrom = get("VPBX_SMTP_FROM") ?? `vpbx@${hostname() || "localhost"}`;
  if (!isMailbox(smtpFrom)) {
    problems.push(
      `VPBX_SMTP_FROM=${JSON.stringify(smtpFrom)} is not an e-mail address: expected e.g. vpbx@pbx.example.com or "Voicemail <vpbx@pbx.example.com>"`,
    );
  }

  const config: Config = {
    dataDir,
    bind,
    publicAddress,
    sipPort,
    httpPort,
    rtpPorts,
    mediaThreads,
    mediaNice,
    logLevel,
    mediaTimeoutSeconds,
    digestAlgorithms,
    smtpFrom,
  };
  if (databaseUrl !== undefined) config.databaseUrl = databaseUrl;
  if (sipTlsPort !== undefined) config.sipTlsPort = sipTlsPort;
  if (httpTls) config.httpTls = true;
  if (tlsUsed) Object.assign(config, tlsFiles);
  if (acme !== undefined && tlsUsed) config.acme = acme;
  for (const [key, value] of Object.entries(tcp) as Array<[keyof typeof tcp, number | undefined]>) {
    if (value !== undefined) config[key] = value;
  }
  if (overloadDelayMs !== undefined) config.overloadDelayMs = overloadDelayMs;
  if (rtpengine !== undefined) config.rtpengine = rtpengine;
  if (smtpUrl !== undefined) config.smtpUrl = smtpUrl;
  const adminToken = get("VPBX_ADMIN_TOKEN");
  if (adminToken !== undefined) {
    if (adminToken.length < 16) {
      problems.push(
        "VPBX_ADMIN_TOKEN is too short: expected at least 16 characters (or unset it to have one generated)",
      );
    }
    config.adminToken = adminToken;
  }

  const proxiesRaw = get("VPBX_TRUSTED_PROXIES");
  if (proxiesRaw !== undefined) {
    const entries = proxiesRaw
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "");
    const bad = entries.filter((e) => !isAddressOrNetwork(e));
    if (bad.length > 0) {
      problems.push(
        `VPBX_TRUSTED_PROXIES=${JSON.stringify(proxiesRaw)} is not a list of proxies: expected IP addresses or CIDR networks, comma-separated, e.g. 10.0.0.5, 10.0.1.0/24 (not: ${bad.map((b) => JSON.stringify(b)).join(", ")})`,
      );
    } else if (entries.length > 0) config.trustedProxies = entries;
  }

  const audioRaw = get("VPBX_AUDIO_URL");
  if (audioRaw !== undefined) {
    const dir = audioDirectory(audioRaw);
    if (dir === undefined) {
      problems.push(
        `VPBX_AUDIO_URL=${JSON.stringify(audioRaw)} is not a directory: expected file:///mnt/vpbx-audio or an absolute path such as /mnt/vpbx-audio (an S3 bucket is not supported yet)`,
      );
    } else config.audioDir = dir;
  }

  const secretKeyRaw = get("VPBX_SECRET_KEY");
  const secretKeyFile = get("VPBX_SECRET_KEY_FILE");
  if (secretKeyRaw !== undefined) {
    const key = parseSecretKey(secretKeyRaw);
    // The value is a secret: never echoed, even when wrong.
    if (key === undefined) {
      problems.push(
        "VPBX_SECRET_KEY is not a key: expected 64 hex characters or the base64 of 32 bytes (e.g. from: openssl rand -hex 32)",
      );
    } else config.secretKey = key;
    if (secretKeyFile !== undefined) {
      problems.push("VPBX_SECRET_KEY and VPBX_SECRET_KEY_FILE are both set: set only one of them");
    }
  } else if (secretKeyFile !== undefined) config.secretKeyFile = resolve(secretKeyFile);

  const historyDays = wholeNumber(
    "VPBX_CALL_HISTORY_DAYS",
    0,
    36_500,
    "a number of days (0: keep no call history)",
  );
  if (historyDays !== undefined) config.callHistoryDays = historyDays;

  const metricsToken = get("VPBX_METRICS_TOKEN");
  if (metricsToken !== undefined) {
    // The value is a secret: never echoed, even when wrong.
    if (metricsToken.length < 16 || /\s/.test(metricsToken)) {
      problems.push(
        "VPBX_METRICS_TOKEN is not a usable token: expected at least 16 characters without spaces (e.g. from: openssl rand -hex 32), or unset it to turn /metrics off",
      );
    } else config.metricsToken = metricsToken;
  }

  // Carriers reached over TLS are verified against the system's CAs and
  // these (a carrier, or a test, with a private CA).
  const trustedCaRaw = get("VPBX_TLS_TRUSTED_CA");
  if (trustedCaRaw !== undefined) {
    const file = resolve(trustedCaRaw);
    if (!isReadableFile(file)) {
      problems.push(
        `VPBX_TLS_TRUSTED_CA=${JSON.stringify(trustedCaRaw)} is not a readable file: expected the path of PEM certificates of the CAs that sign your carriers' certificates`,
      );
    } else config.tlsTrustedCaFile = file;
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** VPBX_ACME_* read when VPBX_ACME_DOMAIN is set: each problem said with what is expected. */
function readAcme(raw: Record<string, string | undefined>, problems: string[]): AcmeConfig {
  const domainRaw = raw.VPBX_ACME_DOMAIN ?? "";
  const domains: string[] = [];
  for (const entry of domainRaw.split(",").map((d) => d.trim().toLowerCase().replace(/\.$/, ""))) {
    if (entry === "") continue;
    let why: string | undefined;
    if (entry.startsWith("*."))
      why = "a wildcard name needs a DNS-01 challenge, and vpbx answers HTTP-01 only";
    else if (isIP(entry) !== 0) why = "an IP address, not a DNS name";
    else if (!isDnsName(entry)) why = "not a DNS name";
    if (why) {
      problems.push(
        `VPBX_ACME_DOMAIN=${JSON.stringify(domainRaw)}: ${JSON.stringify(entry)} is ${why}: expected the DNS names phones reach this server at, comma-separated, e.g. pbx.example.com`,
      );
    } else if (!domains.includes(entry)) domains.push(entry);
  }
  if (domains.length === 0 && !problems.some((p) => p.startsWith("VPBX_ACME_DOMAIN="))) {
    problems.push(
      `VPBX_ACME_DOMAIN=${JSON.stringify(domainRaw)} names no domain: expected e.g. pbx.example.com`,
    );
  }
  const acme: AcmeConfig = { domains, directoryUrl: ACME_DIRECTORY_NAMES.letsencrypt };
  const email = raw.VPBX_ACME_EMAIL;
  if (email !== undefined) {
    if (/^[^@\s<>"]+@[^@\s.<>]+(?:\.[^@\s.<>]+)+$/.test(email)) acme.email = email;
    else {
      problems.push(
        `VPBX_ACME_EMAIL=${JSON.stringify(email)} is not an e-mail address: expected the address the CA writes to about this certificate, e.g. hostmaster@example.com`,
      );
    }
  }
  const directory = raw.VPBX_ACME_DIRECTORY;
  if (directory !== undefined) {
    const named = ACME_DIRECTORY_NAMES[directory.toLowerCase()];
    let url: URL | undefined;
    try {
      url = new URL(directory);
    } catch {
      // Not a URL: a name of ACME_DIRECTORY_NAMES, or a problem said below.
      url = undefined;
    }
    if (named !== undefined) acme.directoryUrl = named;
    else if (url?.protocol === "https:" && url.hostname !== "") acme.directoryUrl = url.href;
    else {
      problems.push(
        `VPBX_ACME_DIRECTORY=${JSON.stringify(directory)} is not an ACME directory: expected its https:// URL, or letsencrypt (the default) or letsencrypt-staging (${LETS_ENCRYPT_STAGING_DIRECTORY}, for trying a setup)`,
      );
    }
  }
  const caRaw = raw.VPBX_ACME_DIRECTORY_CA;
  if (caRaw !== undefined) {
    const file = resolve(caRaw);
    if (!isReadableFile(file) || !isPemCertificate(file)) {
      problems.push(
        `VPBX_ACME_DIRECTORY_CA=${JSON.stringify(caRaw)} is not a readable PEM certificate: expected the file of the CA that signed your private ACME directory's HTTPS certificate (Let's Encrypt needs none)`,
      );
    } else acme.directoryCaFile = file;
  }
  return acme;
}

/** A DNS name (RFC 1123 labels): letters, digits and inner hyphens, at most 63 a label and 253 in all. */
function isDnsName(name: string): boolean {
  return /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(
    name,
  );
}

/** A file whose first certificate parses (a CA's PEM). */
function isPemCertificate(path: string): boolean {
  try {
    new X509Certificate(readFileSync(path));
    return true;
  } catch {
    // Not PEM, or not a certificate: the caller reports what is expected.
    return false;
  }
}

/** "192.0.2.1", "2001:db8::1", "10.0.0.0/8", "2001:db8::/32": an address, or a network with a prefix length its family allows. */
function isAddressOrNetwork(entry: string): boolean {
  const slash = entry.indexOf("/");
  const family = isIP(slash < 0 ? entry : entry.slice(0, slash));
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = entry.slice(slash + 1);
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** A file: URL (file:///mnt/audio, no host) or an absolute path, as a normalised absolute path; anything else undefined. */
function audioDirectory(raw: string): string | undefined {
  if (raw.startsWith("/")) return resolve(raw);
  if (!/^file:/i.test(raw)) return undefined;
  try {
    const url = new URL(raw);
    if (url.hostname !== "" && url.hostname !== "localhost") return undefined;
    return resolve(fileURLToPath(url));
  } catch {
    // Not a URL that names a local directory: the caller reports what is expected.
    return undefined;
  }
}

/** A file this process can read (a certificate or key named by the operator). */
function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    // Missing or unreadable: the caller reports what is expected.
    return false;
  }
}

/** postgres: or postgresql:, and a host (or a socket directory in `?host=`). */
function isPostgresUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not a URL at all: the caller reports it with what is expected.
    return false;
  }
  return (
    (url.protocol === "postgres:" || url.protocol === "postgresql:") &&
    (url.hostname !== "" || (url.searchParams.get("host") ?? "") !== "")
  );
}

/** smtp: or smtps:, a host, and a port if one is written (the URL parser checks its range). */
function isSmtpUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not a URL at all: the caller reports it with what is expected.
    return false;
  }
  return (
    (url.protocol === "smtp:" || url.protocol === "smtps:") &&
    url.hostname !== "" &&
    (url.pathname === "" || url.pathname === "/")
  );
}

/**
 * "smtp://user:secret@host" → "smtp://user:***@host", also when the rest does
 * not parse: everything between the first ":" of the userinfo and the last "@"
 * goes (a password may hold an unencoded "@" or "/").
 */
function hidePassword(raw: string): string {
  const start = raw.indexOf("://");
  const at = raw.lastIndexOf("@");
  if (start < 0 || at < start) return raw;
  const colon = raw.indexOf(":", start + 3);
  if (colon < 0 || colon > at) return raw;
  return `${raw.slice(0, colon)}:***${raw.slice(at)}`;
}

/** An addr-spec (RFC 5322 §3.4.1) alone or in a name-addr: enough to catch a typo, not a full parser. */
function isMailbox(value: string): boolean {
  const m = /^(?:[^<>]*<([^<>\s]+)>|([^<>\s]+))$/.exec(value);
  const addr = m?.[1] ?? m?.[2];
  return addr !== undefined && /^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*$/.test(addr);
}

/** The bind address if it is a concrete one, else the first external IPv4 address, else loopback. */
function defaultPublicAddress(bind: string): string {
  if (isIP(bind) !== 0 && bind !== "0.0.0.0" && bind !== "::") return bind;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}
