// The ACME certificate's life on the injected clock, with a stand-in CA
// (the real one, pebble, is test/integration/acme.test.ts): ordered at the
// first start and kept 0600, reused by the next start, renewed on the daily
// look once less than 30 days remain, retried with growing delays and an
// actionable log after a failure, never replaced by something unusable.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import {
  ACME_CHECK_EVERY_MS,
  ACME_RETRY_FIRST_MS,
  AcmeCertificates,
  type AcmeCertificatesOptions,
  type AcmeFiles,
  type AcmeIssuer,
  acmePaths,
  storedAcmeCertificate,
} from "./acme-certificates.ts";
import { AcmeChallenges } from "./acme-challenges.ts";
import { FakeClock } from "./clock.ts";
import { createSelfSignedCertificate } from "./tls-certificate.ts";

const DAY = 86_400_000;
const DIRECTORY = "https://ca.test/directory";
const DOMAINS = ["pbx.example.com"];

describe("AcmeCertificates", () => {
  let dataDir: string;
  let clock: FakeClock;
  let lines: Array<Record<string, unknown>>;
  let installed: Array<{ files: AcmeFiles; reason: string }>;
  let orders: number[];
  let managers: AcmeCertificates[];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });

  /** A stand-in CA: a certificate for the names asked, valid `days` from the clock's now. */
  const issuer =
    (days = 90): AcmeIssuer =>
    async ({ domains }) => {
      orders.push(clock.now());
      return createSelfSignedCertificate({ addresses: [], hostnames: domains, now: clock.now(), days });
    };

  const manager = (over: Partial<AcmeCertificatesOptions> = {}) => {
    const m = new AcmeCertificates({
      dataDir,
      settings: { domains: DOMAINS, directoryUrl: DIRECTORY },
      challenges: new AcmeChallenges(),
      clock,
      log,
      install: (files, reason) => {
        installed.push({ files, reason });
        return true;
      },
      issuer: issuer(),
      ...over,
    });
    managers.push(m);
    return m;
  };

  /** Lets the clock's due timers run and the order they started (key generation, files) finish. */
  const settled = async (m: AcmeCertificates) => {
    await clock.advance(0);
    await m.whenIdle();
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "vpbx-acme-"));
    clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    lines = [];
    installed = [];
    orders = [];
    managers = [];
  });
  afterEach(() => {
    for (const m of managers) m.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("orders at the first start, keeps key and certificate 0600 in tls/acme (0700), and installs it", async () => {
    const m = manager();
    const next = m.nextCertificate();
    m.start();
    const cert = await next;
    assert.equal(orders.length, 1);
    const paths = acmePaths(dataDir);
    assert.equal(statSync(paths.dir).mode & 0o777, 0o700);
    for (const f of [paths.certFile, paths.keyFile, paths.metaFile])
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.deepEqual(
      installed.map((i) => i.files.certFile),
      [paths.certFile],
    );
    assert.match(installed[0].reason, /ACME certificate issued \(no usable certificate\)/);
    const x509 = new X509Certificate(readFileSync(paths.certFile));
    assert.equal(cert.fingerprint256, x509.fingerprint256);
    assert.ok(x509.checkHost("pbx.example.com"));
    assert.deepEqual(JSON.parse(readFileSync(paths.metaFile, "utf8")).directoryUrl, DIRECTORY);
    const issued = lines.find((l) => String(l.msg).startsWith("ACME: certificate issued"));
    assert.ok(issued, "logged");
    assert.equal(issued.renewFrom, new Date(cert.validTo - 30 * DAY).toISOString());
  });

  it("a restart reuses the stored certificate, and the daily look renews it once less than 30 days remain", async () => {
    const first = manager();
    const got = first.nextCertificate();
    first.start();
    const old = await got;
    first.stop();
    orders = [];
    installed = [];

    const second = manager();
    second.start();
    assert.equal(orders.length, 0, "no order: the stored one serves");
    assert.equal(second.current?.fingerprint256, old.fingerprint256);
    // 90 days of validity: renewed on the first daily look with less than 30 days left.
    const dueDay = Math.floor((old.validTo - 30 * DAY - clock.now()) / ACME_CHECK_EVERY_MS) + 1;
    await clock.advance((dueDay - 1) * ACME_CHECK_EVERY_MS);
    assert.equal(orders.length, 0, "not yet: 30 days or more left");
    const renewed = second.nextCertificate();
    await clock.advance(ACME_CHECK_EVERY_MS);
    const fresh = await renewed;
    assert.equal(orders.length, 1);
    assert.notEqual(fresh.fingerprint256, old.fingerprint256);
    assert.match(installed[0].reason, /renewal: (29|30) days left/);
    assert.equal(second.current?.fingerprint256, fresh.fingerprint256);
    assert.equal(
      new X509Certificate(readFileSync(acmePaths(dataDir).certFile)).fingerprint256,
      fresh.fingerprint256,
      "the stored one is the new one",
    );
  });

  it("a failed order is logged with what to fix and retried after 10, 20, 40 minutes; the certificate in use stays", async () => {
    let failing = true;
    const real = issuer();
    const m = manager({
      issuer: async (o) => {
        if (!failing) return real(o);
        orders.push(clock.now());
        throw new Error("Fetching http://pbx.example.com/.well-known/acme-challenge/abc: Connection refused");
      },
    });
    const start = clock.now();
    m.start();
    await settled(m);
    assert.equal(m.failedOrders, 1);
    assert.equal(installed.length, 0);
    const error = lines.find((l) => l.level === 50);
    assert.ok(error);
    assert.match(String(error.msg), /ordering a certificate for pbx\.example\.com failed/);
    assert.match(String(error.msg), /forward port 80 to VPBX_HTTP_PORT/);
    assert.equal(error.inUse, "the self-signed certificate");
    assert.equal(error.retryInMinutes, 10);
    await clock.advance(ACME_RETRY_FIRST_MS);
    await settled(m);
    await clock.advance(2 * ACME_RETRY_FIRST_MS);
    await settled(m);
    assert.deepEqual(
      orders.map((t) => (t - start) / 60_000),
      [0, 10, 30],
    );
    failing = false;
    const next = m.nextCertificate();
    await clock.advance(4 * ACME_RETRY_FIRST_MS);
    await next;
    assert.equal(m.failedOrders, 0, "a success starts the delays over");
    assert.equal(installed.length, 1);
  });

  it("says which setting to look at for a CA that cannot be reached, a name that does not resolve, a rate limit", async () => {
    const cases: Array<[string, RegExp]> = [
      ["getaddrinfo ENOTFOUND ca.test", /cannot reach the ACME directory https:\/\/ca\.test\/directory/],
      ["DNS problem: NXDOMAIN looking up A for pbx.example.com", /must resolve \(A\/AAAA records\)/],
      ["Error creating new order :: too many certificates already issued", /rate limit.*letsencrypt-staging/],
      ["something else", /see the CA's message/],
    ];
    for (const [message, hint] of cases) {
      lines = [];
      const m = manager({
        issuer: async () => {
          orders.push(clock.now());
          throw new Error(message);
        },
      });
      m.start();
      await settled(m);
      m.stop();
      assert.match(String(lines.find((l) => l.level === 50)?.msg), hint, message);
    }
  });

  it("never installs a certificate that does not name the domain, or that does not load", async () => {
    const m = manager({
      issuer: async () => {
        orders.push(clock.now());
        return createSelfSignedCertificate({
          addresses: [],
          hostnames: ["other.example.com"],
          now: clock.now(),
        });
      },
    });
    m.start();
    await settled(m);
    assert.equal(installed.length, 0);
    assert.equal(existsSync(acmePaths(dataDir).certFile), false, "nothing stored");
    assert.match(String(lines.find((l) => l.level === 50)?.msg), /does not name pbx\.example\.com/);

    const refused = manager({ install: () => false });
    refused.start();
    await settled(refused);
    assert.equal(refused.failedOrders, 1);
    assert.equal(refused.current, undefined);
  });

  it("a stored certificate of another directory, for other names, or expired is ordered again", async () => {
    const m = manager();
    const got = m.nextCertificate();
    m.start();
    await got;
    m.stop();
    const now = clock.now();
    assert.ok(
      "certificate" in storedAcmeCertificate(dataDir, { domains: DOMAINS, directoryUrl: DIRECTORY }, now),
    );
    const staging = storedAcmeCertificate(
      dataDir,
      { domains: DOMAINS, directoryUrl: "https://other/dir" },
      now,
    );
    assert.match("problem" in staging ? staging.problem : "", /another directory/);
    const names = storedAcmeCertificate(
      dataDir,
      { domains: [...DOMAINS, "sip.example.com"], directoryUrl: DIRECTORY },
      now,
    );
    assert.match("problem" in names ? names.problem : "", /does not name sip\.example\.com/);
    const late = storedAcmeCertificate(
      dataDir,
      { domains: DOMAINS, directoryUrl: DIRECTORY },
      now + 200 * DAY,
    );
    assert.match("problem" in late ? late.problem : "", /expired/);
    writeFileSync(acmePaths(dataDir).keyFile, "garbage");
    const broken = storedAcmeCertificate(dataDir, { domains: DOMAINS, directoryUrl: DIRECTORY }, now);
    assert.match("problem" in broken ? broken.problem : "", /cannot be used: unreadable/);

    orders = [];
    const again = manager({ settings: { domains: DOMAINS, directoryUrl: "https://other/dir" } });
    const next = again.nextCertificate();
    again.start();
    await next;
    assert.equal(orders.length, 1, "ordered from the new directory");
  });

  it("after stop, no look, no retry, and an order in flight installs nothing", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const real = issuer();
    const m = manager({
      issuer: async (o) => {
        await gate;
        return real(o);
      },
    });
    m.start();
    m.stop();
    release();
    await settled(m);
    assert.equal(installed.length, 0);
    const timers = clock.timerCount;
    await clock.advance(10 * DAY);
    assert.equal(orders.length, 1, "nothing more ordered");
    assert.ok(clock.timerCount <= timers);
  });
});
