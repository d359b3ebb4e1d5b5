// The certificate of the SIP over TLS listener (RFC 3261 §26.2, RFC 5630):
// a PEM pair read from files into a SecureContext, read again when the files
// change (a renewal by certbot or a Kubernetes secret swaps them under us)
// or when asked (SIGHUP), or when another pair is handed over (an ACME
// certificate replacing the self-signed one it started with). Connections
// already open keep the context they were accepted with; a pair that does
// not load (half written, key and certificate that do not match) leaves the
// one in use in place.

import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as tls from "node:tls";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/**
 * TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1; RFC 7525 §3.1.1).
 * The cipher suites are Node's defaults, which with these versions are
 * forward-secret AEAD suites first (TLS 1.3 AES-GCM and ChaCha20-Poly1305,
 * ECDHE with AES-GCM for 1.2), in the server's order of preference.
 */
export const TLS_VERSIONS = { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" } as const;

/** How often the files are looked at for a change (two stat calls). */
export const TLS_POLL_MS = 30_000;

/** The settings of accepted TLS connections: this certificate (and chain) and key, TLS 1.2–1.3. */
export function serverTlsOptions(pem: { cert: string | Buffer; key: string | Buffer }) {
  return { cert: pem.cert, key: pem.key, ...TLS_VERSIONS, honorCipherOrder: true };
}

/** The context of accepted TLS connections (serverTlsOptions). */
export function serverSecureContext(pem: { cert: string | Buffer; key: string | Buffer }): tls.SecureContext {
  return tls.createSecureContext(serverTlsOptions(pem));
}

export interface TlsCredentialsOptions {
  /** PEM: the certificate, then any intermediate certificates. */
  certFile: string;
  /** PEM: its private key. */
  keyFile: string;
  clock: Clock;
  log: Logger;
  /** How often the files are checked for a change (default TLS_POLL_MS). */
  pollMs?: number;
}

/** What identifies the content of a file without reading it: its inode, size and time of change. */
function signature(files: string[]): string {
  return files
    .map((f) => {
      try {
        // stat follows symbolic links: a swapped link target is a change.
        const st = statSync(f);
        return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? "?"}`;
      }
    })
    .join("|");
}

export class TlsCredentials {
  /** Called with the new context after every successful reload. */
  onChange: (context: tls.SecureContext) => void = () => {};
  private current: tls.SecureContext;
  private currentPem: { cert: Buffer; key: Buffer };
  private seen: string;
  private timer: Timer | undefined;
  private stopped = false;
  private readonly pollMs: number;
  /** The files read now: opts' at first, another pair after switchTo. */
  private files: { certFile: string; keyFile: string };

  private constructor(
    private readonly opts: TlsCredentialsOptions,
    loaded: { context: tls.SecureContext; pem: { cert: Buffer; key: Buffer } },
    seen: string,
  ) {
    this.current = loaded.context;
    this.currentPem = loaded.pem;
    this.seen = seen;
    this.pollMs = opts.pollMs ?? TLS_POLL_MS;
    this.files = { certFile: opts.certFile, keyFile: opts.keyFile };
  }

  /**
   * Reads the pair once. Throws an Error that names the file and the
   * problem when it cannot be used: a start without a working certificate
   * is better refused than half done.
   */
  static load(opts: TlsCredentialsOptions): TlsCredentials {
    const seen = signature([opts.certFile, opts.keyFile]);
    return new TlsCredentials(opts, TlsCredentials.read(opts), seen);
  }

  /** The context for connections accepted now. */
  get context(): tls.SecureContext {
    return this.current;
  }

  /**
   * The PEM pair the context was made of, for a server that takes options
   * rather than a context (the HTTPS server: https.createServer and
   * setSecureContext, with serverTlsOptions).
   */
  get pem(): { cert: Buffer; key: Buffer } {
    return this.currentPem;
  }

  /** Starts looking at the files every pollMs of the clock. */
  start(): void {
    if (this.stopped || this.timer) return;
    const tick = () => {
      this.timer = undefined;
      if (this.stopped) return;
      const now = signature([this.files.certFile, this.files.keyFile]);
      if (now !== this.seen) {
        // Remembered even when the pair does not load: a half-written pair
        // is followed by another write, which is another change.
        this.seen = now;
        this.reload("the certificate files changed");
      }
      this.arm(tick);
    };
    this.arm(tick);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Reads the files again; on success the new context goes to onChange.
   * Returns whether it was taken. A failure is logged and keeps the old one.
   */
  reload(reason: string): boolean {
    return this.take(this.files, reason);
  }

  /**
   * Reads another pair (a certificate just issued by an ACME CA) and, when
   * it loads, uses it from now on: onChange gets it, and these are the
   * files polled and reloaded on SIGHUP. A pair that does not load is
   * logged and changes nothing. Returns whether it was taken.
   */
  switchTo(files: { certFile: string; keyFile: string }, reason: string): boolean {
    const seen = signature([files.certFile, files.keyFile]);
    if (!this.take(files, reason)) return false;
    this.files = { ...files };
    this.seen = seen;
    return true;
  }

  private take(files: { certFile: string; keyFile: string }, reason: string): boolean {
    let loaded: ReturnType<typeof TlsCredentials.read>;
    try {
      loaded = TlsCredentials.read({ ...this.opts, ...files }, reason);
    } catch (err) {
      this.opts.log.warn(
        { err, certFile: files.certFile, keyFile: files.keyFile, reason },
        "TLS certificate not reloaded: the one in use stays",
      );
      return false;
    }
    this.current = loaded.context;
    this.currentPem = loaded.pem;
    try {
      this.onChange(loaded.context);
    } catch (err) {
      this.opts.log.error({ err }, "applying the reloaded TLS certificate failed");
      return false;
    }
    return true;
  }

  private arm(tick: () => void): void {
    const timer = this.opts.clock.setTimer(this.pollMs, tick);
    timer.unref?.();
    this.timer = timer;
  }

  private static read(
    opts: TlsCredentialsOptions,
    reason?: string,
  ): { context: tls.SecureContext; pem: { cert: Buffer; key: Buffer } } {
    const load = (file: string, what: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
      }
    };
    const cert = load(opts.certFile, "certificate");
    const key = load(opts.keyFile, "key");
    let context: tls.SecureContext;
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
      context = serverSecureContext({ cert, key });
    } catch (err) {
      throw new Error(
        `the TLS certificate ${opts.certFile} and key ${opts.keyFile} cannot be used: ${(err as Error).message}`,
      );
    }
    const validTo = Date.parse(x509.validTo);
    const fields = {
      certFile: opts.certFile,
      subject: x509.subject.replace(/\n/g, ", "),
      altNames: x509.subjectAltName,
      validTo: new Date(validTo).toISOString(),
      sha256: x509.fingerprint256,
      ...(reason ? { reason } : {}),
    };
    if (validTo < opts.clock.now())
      opts.log.warn(fields, "the TLS certificate has expired: phones that verify it will refuse it");
    else opts.log.info(fields, reason ? "TLS certificate reloaded" : "TLS certificate loaded");
    return { context, pem: { cert, key } };
  }
}
