// The self-signed certificate of SIP over TLS: a valid X.509 v3 certificate
// (checked by node:crypto and by a real TLS handshake that verifies it),
// written 0600 in a 0700 folder of the data directory, reused while it is
// good, and replaced when it has expired, names another address or lost its key.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { silentLogger } from "./log.ts";
import {
  createSelfSignedCertificate,
  ensureSelfSignedCertificate,
  type PemPair,
  reuseProblem,
} from "./tls-certificate.ts";

const DAY = 86_400_000;

describe("self-signed TLS certificate", () => {
  let pair: PemPair;
  const now = Date.now();
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), "vpbx-cert-"));
    dirs.push(d);
    return d;
  };

  before(async () => {
    pair = await createSelfSignedCertificate({
      addresses: ["192.0.2.10", "2001:db8::5", "::ffff:192.0.2.11"],
      hostnames: ["pbx.example.com", "not a name", "Upper.Example"],
      now,
    });
  });
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("is an X.509 v3 server certificate, signed by its own key, naming every address and host", () => {
    const cert = new X509Certificate(pair.cert);
    assert.ok(cert.verify(cert.publicKey), "self-signed");
    assert.ok(cert.checkPrivateKey(createPrivateKey(pair.key)));
    assert.equal(cert.subject, "O=vpbx\nCN=pbx.example.com");
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.equal(cert.publicKey.asymmetricKeyType, "rsa");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(cert.checkIP("192.0.2.10"), "192.0.2.10");
    assert.ok(cert.checkIP("2001:db8::5"));
    assert.ok(cert.checkIP("192.0.2.11") ?? cert.checkIP("::ffff:192.0.2.11"));
    assert.equal(cert.checkHost("pbx.example.com"), "pbx.example.com");
    assert.ok(cert.checkHost("upper.example"));
    assert.ok(!(cert.subjectAltName ?? "").includes("not a name"));
    assert.ok(Math.abs(Date.parse(cert.validFrom) - (now - DAY)) < 2000);
    assert.ok(Date.parse(cert.validTo) > now + 3649 * DAY);
  });

  it("writes dates from 2050 on as GeneralizedTime", async () => {
    const late = await createSelfSignedCertificate({
      addresses: ["192.0.2.10"],
      hostnames: [],
      now: Date.UTC(2049, 5, 1),
      days: 400,
    });
    const cert = new X509Certificate(late.cert);
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 2050);
    assert.equal(cert.subject, "O=vpbx\nCN=192.0.2.10");
  });

  it("refuses to make a certificate for nobody", async () => {
    await assert.rejects(
      createSelfSignedCertificate({ addresses: ["nope"], hostnames: ["-bad-"], now }),
      /at least one IP address or host name/,
    );
  });

  it("passes a TLS handshake whose client trusts it and checks the name", async () => {
    const local = await createSelfSignedCertificate({
      addresses: ["127.0.0.1"],
      hostnames: ["pbx.test"],
      now,
    });
    const server = net.createServer((sock) => {
      const s = new tls.TLSSocket(sock, {
        isServer: true,
        secureContext: tls.createSecureContext({ cert: local.cert, key: local.key }),
      });
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const connect = (servername: string) =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const c = tls.connect({ host: "127.0.0.1", port, servername, ca: [local.cert] }, () => resolve(c));
        c.once("error", reject);
      });
    try {
      const c = await connect("pbx.test");
      assert.equal(c.authorized, true);
      c.destroy();
      await assert.rejects(connect("other.test"), /altnames/i);
    } finally {
      server.close();
    }
  });

  it("is written 0600 in a 0700 folder of the data directory, then reused", async () => {
    const dir = dataDir();
    const names = { addresses: ["127.0.0.1"], hostnames: ["pbx.test"] };
    const first = await ensureSelfSignedCertificate(dir, names, { now, log: silentLogger() });
    assert.equal(first.created, true);
    assert.equal(first.certFile, join(dir, "tls", "cert.pem"));
    assert.equal(first.keyFile, join(dir, "tls", "key.pem"));
    assert.equal(statSync(join(dir, "tls")).mode & 0o777, 0o700);
    assert.equal(statSync(first.certFile).mode & 0o777, 0o600);
    assert.equal(statSync(first.keyFile).mode & 0o777, 0o600);
    const cert = readFileSync(first.certFile, "utf8");
    // A host name that changed (a container's) does not make a new one: phones use the address.
    const renamed = { addresses: ["127.0.0.1"], hostnames: ["container-4f2a"] };
    const again = await ensureSelfSignedCertificate(dir, renamed, {
      now: now + 100 * DAY,
      log: silentLogger(),
    });
    assert.equal(again.created, false);
    assert.equal(readFileSync(again.certFile, "utf8"), cert);
  });

  it("is replaced when it expires, names another address, or its key is gone or another", async () => {
    const dir = dataDir();
    const names = { addresses: ["127.0.0.1"], hostnames: [] };
    const log = silentLogger();
    await ensureSelfSignedCertificate(dir, names, { now, log });
    const certFile = join(dir, "tls", "cert.pem");
    const keyFile = join(dir, "tls", "key.pem");
    const read = () => readFileSync(certFile, "utf8");

    let before = read();
    assert.equal(
      (await ensureSelfSignedCertificate(dir, names, { now: now + 3640 * DAY, log })).created,
      true,
    );
    assert.notEqual(read(), before);

    before = read();
    const moved = { addresses: ["127.0.0.2"], hostnames: [] };
    assert.equal((await ensureSelfSignedCertificate(dir, moved, { now, log })).created, true);
    assert.ok(new X509Certificate(read()).checkIP("127.0.0.2"));

    writeFileSync(keyFile, pair.key);
    assert.equal((await ensureSelfSignedCertificate(dir, moved, { now, log })).created, true);
    assert.ok(new X509Certificate(read()).checkPrivateKey(createPrivateKey(readFileSync(keyFile))));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);

    rmSync(keyFile);
    assert.equal((await ensureSelfSignedCertificate(dir, moved, { now, log })).created, true);
  });

  it("says why a pair cannot be reused", () => {
    const names = { addresses: ["192.0.2.10"], hostnames: ["pbx.example.com"] };
    assert.equal(reuseProblem(pair, names, now), undefined);
    assert.match(
      String(reuseProblem(pair, { ...names, addresses: ["192.0.2.99"] }, now)),
      /does not name 192\.0\.2\.99/,
    );
    assert.match(String(reuseProblem(pair, names, now - 2 * DAY)), /not valid yet/);
    assert.match(String(reuseProblem(pair, names, now + 3630 * DAY)), /expire/);
    assert.match(String(reuseProblem({ cert: "junk", key: pair.key }, names, now)), /unreadable/);
  });
});
