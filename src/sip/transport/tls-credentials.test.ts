// The TLS certificate from files: loaded with a clear error when it cannot
// be, reloaded when the files change (on the injected clock) or when asked,
// and a broken replacement leaves the one in use in place.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import * as tls from "node:tls";
import { pino } from "pino";
import { FakeClock } from "../../util/clock.ts";
import { createSelfSignedCertificate, type PemPair } from "../../util/tls-certificate.ts";
import { TLS_POLL_MS, TlsCredentials } from "./tls-credentials.ts";

/** The subject of the certificate a server with this context presents (as the transport uses it). */
async function presented(context: tls.SecureContext): Promise<string> {
  const server = net.createServer((sock) => {
    const secure = new tls.TLSSocket(sock, { isServer: true, secureContext: context });
    secure.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  try {
    return await new Promise((resolve, reject) => {
      const c = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
        resolve(c.getPeerX509Certificate()?.subject ?? "");
        c.destroy();
      });
      c.once("error", reject);
    });
  } finally {
    server.close();
  }
}

describe("TlsCredentials", () => {
  let a: PemPair;
  let b: PemPair;
  let dir: string;
  let clock: FakeClock;
  let lines: Array<Record<string, unknown>>;
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });

  before(async () => {
    const now = Date.now();
    [a, b] = await Promise.all([
      createSelfSignedCertificate({ addresses: [], hostnames: ["a.test"], now }),
      createSelfSignedCertificate({ addresses: [], hostnames: ["b.test"], now }),
    ]);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-tls-cred-"));
    clock = new FakeClock(Date.now());
    lines = [];
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (pair: PemPair, certName = "cert.pem", keyName = "key.pem") => {
    writeFileSync(join(dir, certName), pair.cert);
    writeFileSync(join(dir, keyName), pair.key);
  };
  const load = () =>
    TlsCredentials.load({ certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem"), clock, log });

  it("loads a pair and logs what it is", async () => {
    write(a);
    const creds = load();
    assert.match(await presented(creds.context), /CN=a\.test/);
    const loaded = lines.find((l) => l.msg === "TLS certificate loaded");
    assert.ok(loaded);
    assert.match(String(loaded.subject), /a\.test/);
  });

  it("refuses a pair it cannot use, naming the file", () => {
    assert.throws(load, /cannot read the TLS certificate .*cert\.pem/);
    writeFileSync(join(dir, "cert.pem"), a.cert);
    writeFileSync(join(dir, "key.pem"), b.key);
    assert.throws(load, /cert\.pem and key .*key\.pem cannot be used/);
    writeFileSync(join(dir, "cert.pem"), "not a certificate");
    writeFileSync(join(dir, "key.pem"), a.key);
    assert.throws(load, /cannot be used/);
  });

  it("reloads when the files change, on the clock, and hands the new context on", async () => {
    write(a);
    const creds = load();
    const changes: tls.SecureContext[] = [];
    creds.onChange = (c) => changes.push(c);
    creds.start();
    await clock.advance(TLS_POLL_MS);
    assert.equal(changes.length, 0, "nothing changed");
    write(b);
    await clock.advance(TLS_POLL_MS);
    assert.equal(changes.length, 1);
    assert.match(await presented(creds.context), /CN=b\.test/);
    assert.ok(lines.some((l) => l.msg === "TLS certificate reloaded"));
    creds.stop();
    write(a);
    await clock.advance(TLS_POLL_MS);
    assert.equal(changes.length, 1, "stopped");
  });

  it("follows a symbolic link swapped to a new pair (certbot's live/ folder)", async () => {
    write(a, "a-cert.pem", "a-key.pem");
    write(b, "b-cert.pem", "b-key.pem");
    symlinkSync(join(dir, "a-cert.pem"), join(dir, "cert.pem"));
    symlinkSync(join(dir, "a-key.pem"), join(dir, "key.pem"));
    const creds = load();
    let changed = 0;
    creds.onChange = () => changed++;
    creds.start();
    unlinkSync(join(dir, "cert.pem"));
    unlinkSync(join(dir, "key.pem"));
    symlinkSync(join(dir, "b-cert.pem"), join(dir, "cert.pem"));
    symlinkSync(join(dir, "b-key.pem"), join(dir, "key.pem"));
    await clock.advance(TLS_POLL_MS);
    assert.equal(changed, 1);
    assert.match(await presented(creds.context), /CN=b\.test/);
    creds.stop();
  });

  it("keeps the pair in use when the new one is half written, and takes it once complete", async () => {
    write(a);
    const creds = load();
    let changed = 0;
    creds.onChange = () => changed++;
    creds.start();
    writeFileSync(join(dir, "cert.pem"), b.cert); // the key is still a's
    await clock.advance(TLS_POLL_MS);
    assert.equal(changed, 0);
    assert.match(await presented(creds.context), /CN=a\.test/);
    assert.ok(
      lines.some((l) => l.msg === "TLS certificate not reloaded: the one in use stays" && l.level === 40),
    );
    writeFileSync(join(dir, "key.pem"), b.key);
    await clock.advance(TLS_POLL_MS);
    assert.equal(changed, 1);
    assert.match(await presented(creds.context), /CN=b\.test/);
    creds.stop();
  });

  it("reloads on demand (SIGHUP) even when the files look the same", () => {
    write(a);
    const creds = load();
    let changed = 0;
    creds.onChange = () => changed++;
    assert.equal(creds.reload("SIGHUP"), true);
    assert.equal(changed, 1);
    rmSync(join(dir, "key.pem"));
    assert.equal(creds.reload("SIGHUP"), false);
    assert.equal(changed, 1);
  });

  it("switches to another pair (an ACME certificate), which is then the one polled and reloaded", async () => {
    write(a);
    write(b, "b-cert.pem", "b-key.pem");
    const creds = load();
    let changed = 0;
    creds.onChange = () => changed++;
    creds.start();
    // A pair that does not load changes nothing.
    const broken = { certFile: join(dir, "b-cert.pem"), keyFile: join(dir, "key.pem") };
    assert.equal(creds.switchTo(broken, "ACME certificate issued"), false);
    assert.equal(changed, 0);
    assert.match(await presented(creds.context), /CN=a\.test/);
    const other = { certFile: join(dir, "b-cert.pem"), keyFile: join(dir, "b-key.pem") };
    assert.equal(creds.switchTo(other, "ACME certificate issued"), true);
    assert.equal(changed, 1);
    assert.match(await presented(creds.context), /CN=b\.test/);
    assert.ok(
      lines.some((l) => l.msg === "TLS certificate reloaded" && l.reason === "ACME certificate issued"),
    );
    // The old files changing no longer matters; the new ones do.
    write(a, "cert.pem", "key.pem");
    await clock.advance(TLS_POLL_MS);
    assert.equal(changed, 1, "the first pair is not watched any more");
    write(a, "b-cert.pem", "b-key.pem");
    await clock.advance(TLS_POLL_MS);
    assert.equal(changed, 2);
    assert.match(await presented(creds.context), /CN=a\.test/);
    creds.stop();
  });

  it("warns when the certificate has expired", async () => {
    const old = await createSelfSignedCertificate({
      addresses: ["127.0.0.1"],
      hostnames: [],
      now: Date.now() - 400 * 86_400_000,
      days: 30,
    });
    write(old);
    load();
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).includes("has expired")));
  });
});
