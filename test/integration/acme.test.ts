// Issue 13, certificates from an ACME CA (RFC 8555) against Pebble, Let's
// Encrypt's test CA, run here on loopback: vpbx orders a certificate for
// "localhost", Pebble validates HTTP-01 by fetching the challenge from
// vpbx's own HTTP server, the SIP TLS listener then presents the issued
// chain (verified against Pebble's root), the daily look on the injected
// clock renews it once less than 30 days remain and the listener presents
// the new one without a restart; a restart reuses the stored certificate,
// on HTTPS too.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as tls from "node:tls";
import type { Config } from "../../src/config.ts";
import { type RunningVpbx, startVpbx } from "../../src/main.ts";
import { acmePaths } from "../../src/util/acme-certificates.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/log.ts";
import { freeTcpPort, type Pebble, pebbleBinary, startPebble } from "../support/pebble.ts";
import { SHARED_PROMPT_CACHE } from "../support/test-pbx.ts";

const DAY = 86_400_000;
const missing = pebbleBinary() === undefined ? "pebble is not installed (apt-get install pebble)" : false;

/** The certificate a TLS server on 127.0.0.1:`port` presents to a client that verifies it for "localhost" against `ca`. */
function presented(port: number, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, servername: "localhost", ca, rejectUnauthorized: true },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (cert) resolve(cert);
        else reject(new Error("no peer certificate"));
      },
    );
    socket.once("error", reject);
  });
}

describe("certificates from an ACME CA (Pebble)", { skip: missing }, () => {
  let pebble: Pebble;
  /** The test's folder: the data directory, and the CA file of Pebble's HTTPS. */
  let work: string;
  let dataDir: string;
  let httpPort: number;
  let clock: FakeClock;
  let vpbx: RunningVpbx | undefined;
  let root: string;

  const config = (extra: Partial<Config> = {}): Config => ({
    dataDir,
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1",
    sipPort: 0,
    sipTlsPort: 0,
    httpPort,
    rtpPorts: { min: 42000, max: 42099 },
    mediaThreads: 0,
    overloadDelayMs: 0,
    adminToken: "test-admin-token-0123456789abcdef",
    logLevel: process.env.VPBX_TEST_LOG ?? "silent",
    mediaTimeoutSeconds: 60,
    digestAlgorithms: ["MD5"],
    smtpFrom: "vpbx@test.invalid",
    acme: {
      domains: ["localhost"],
      email: "hostmaster@example.com",
      directoryUrl: pebble.directoryUrl,
      directoryCaFile: join(work, "pebble-ca.pem"),
    },
    ...extra,
  });

  const start = (extra: Partial<Config> = {}) =>
    startVpbx(config(extra), {
      clock,
      log: createLogger(process.env.VPBX_TEST_LOG ?? "silent"),
      warmPrompts: false,
      promptCacheDir: SHARED_PROMPT_CACHE,
      acmeStatusPollMs: 100,
    });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "vpbx-acme-it-"));
    dataDir = join(work, "data");
    // Pebble validates HTTP-01 on the port vpbx's HTTP server will listen on.
    httpPort = await freeTcpPort();
    // 30½ days: more than 30 left when issued, less after one day of the clock.
    pebble = await startPebble({ httpPort, validitySeconds: Math.round(30.5 * 86_400) });
    writeFileSync(join(work, "pebble-ca.pem"), pebble.directoryCa);
    root = await pebble.rootCertificate();
    clock = new FakeClock(Date.now());
  });

  after(async () => {
    await vpbx?.stop();
    await pebble?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("vpbx gets a certificate over HTTP-01 and the SIP TLS listener presents it; the daily look renews it", {
    timeout: 120_000,
  }, async () => {
    vpbx = await start();
    const acme = vpbx.acme;
    assert.ok(acme, "ACME is on");
    const tlsPort = vpbx.sipTlsPort;
    assert.ok(tlsPort);
    const first = acme.current ?? (await acme.nextCertificate());
    assert.match(first.issuer, /Pebble Intermediate CA/);

    // The chain verifies against Pebble's root for the name asked.
    const shown = await presented(tlsPort, root);
    assert.equal(shown.fingerprint256, first.fingerprint256);
    assert.match(shown.issuer, /Pebble Intermediate CA/);
    assert.ok(shown.checkHost("localhost"));

    // Kept in the data directory, 0600 (the account key too).
    const paths = acmePaths(dataDir);
    for (const f of [paths.certFile, paths.keyFile, paths.accountKeyFile]) {
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }

    // One day later less than 30 days remain: the daily look orders again,
    // Pebble validates again, and the listener takes the new one.
    const renewed = acme.nextCertificate();
    await clock.advance(DAY);
    const second = await renewed;
    assert.notEqual(second.fingerprint256, first.fingerprint256);
    const now = await presented(tlsPort, root);
    assert.equal(now.fingerprint256, second.fingerprint256);
    assert.notEqual(now.serialNumber, shown.serialNumber);
    await vpbx.stop();
    vpbx = undefined;
  });

  test("a restart reuses the stored certificate, on the SIP TLS listener and on HTTPS", {
    timeout: 60_000,
  }, async () => {
    const paths = acmePaths(dataDir);
    const stored = new X509Certificate(readFileSync(paths.certFile));
    vpbx = await start({ httpTls: true });
    assert.equal(vpbx.acme?.current?.fingerprint256, stored.fingerprint256, "no new order");
    assert.equal((await presented(vpbx.sipTlsPort ?? 0, root)).fingerprint256, stored.fingerprint256);
    assert.equal((await presented(vpbx.httpPort, root)).fingerprint256, stored.fingerprint256);
    await vpbx.stop();
    vpbx = undefined;
  });
});
