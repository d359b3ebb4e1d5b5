import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism, hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

test("defaults", () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, resolve("./data"));
  assert.equal(c.databaseUrl, undefined, "SQLite in the data directory");
  assert.equal(c.bind, "0.0.0.0");
  assert.notEqual(isIP(c.publicAddress), 0);
  assert.notEqual(c.publicAddress, "0.0.0.0");
  assert.equal(c.sipPort, 5060);
  assert.equal(c.sipTlsPort, 5061, "SIP over TLS on its own port");
  assert.equal(c.tlsCertFile, undefined, "a self-signed certificate");
  assert.equal(c.httpPort, 8080);
  assert.equal(c.httpTls, undefined, "plain HTTP");
  assert.deepEqual(c.rtpPorts, { min: 10000, max: 20000 });
  assert.equal(c.mediaThreads, availableParallelism(), "one media thread per core");
  assert.equal(c.adminToken, undefined);
  assert.equal(c.logLevel, "info");
  assert.equal(c.mediaTimeoutSeconds, 60);
  assert.deepEqual(c.digestAlgorithms, ["MD5"]);
  assert.equal(c.smtpUrl, undefined);
  assert.equal(c.smtpFrom, `vpbx@${hostname() || "localhost"}`);
});

test("every variable is read", () => {
  const c = loadConfig({
    VPBX_DATA_DIR: "/var/lib/vpbx",
    VPBX_DATABASE_URL: "postgres://vpbx:s3cret@db.example:5432/vpbx",
    VPBX_BIND: "127.0.0.1",
    VPBX_SIP_PORT: "5070",
    VPBX_SIP_TLS_PORT: "5071",
    VPBX_HTTP_PORT: "0",
    VPBX_HTTP_TLS: "on",
    VPBX_RTP_PORTS: "30000-30100",
    VPBX_MEDIA_THREADS: "3",
    VPBX_MEDIA_NICE: "-5",
    VPBX_ADMIN_TOKEN: "a-long-enough-admin-token",
    VPBX_LOG_LEVEL: "debug",
    VPBX_MEDIA_TIMEOUT: "30",
    VPBX_DIGEST_ALGORITHMS: "sha-256, md5",
    VPBX_SMTP_URL: "smtp://vpbx:s3cret@mail.example:587",
    VPBX_SMTP_FROM: "Voicemail <voicemail@pbx.example.com>",
  });
  assert.deepEqual(c, {
    dataDir: "/var/lib/vpbx",
    databaseUrl: "postgres://vpbx:s3cret@db.example:5432/vpbx",
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1", // a concrete bind address is the public one by default
    sipPort: 5070,
    sipTlsPort: 5071,
    httpPort: 0,
    httpTls: true,
    rtpPorts: { min: 30000, max: 30100 },
    mediaThreads: 3,
    mediaNice: -5,
    adminToken: "a-long-enough-admin-token",
    logLevel: "debug",
    mediaTimeoutSeconds: 30,
    digestAlgorithms: ["SHA-256", "MD5"],
    smtpUrl: "smtp://vpbx:s3cret@mail.example:587",
    smtpFrom: "Voicemail <voicemail@pbx.example.com>",
  });
  assert.throws(() => loadConfig({ VPBX_DIGEST_ALGORITHMS: "SHA-512" }), /VPBX_DIGEST_ALGORITHMS="SHA-512"/);
  assert.equal(
    loadConfig({ VPBX_BIND: "::", VPBX_PUBLIC_ADDRESS: "2001:db8::5" }).publicAddress,
    "2001:db8::5",
  );
});

test("all problems are reported at once, each naming the variable, the value and what is expected", () => {
  let err: unknown;
  try {
    loadConfig({
      VPBX_BIND: "localhost",
      VPBX_PUBLIC_ADDRESS: "pbx.example.com",
      VPBX_SIP_PORT: "70000",
      VPBX_HTTP_PORT: "http",
      VPBX_RTP_PORTS: "10001-20000",
      VPBX_LOG_LEVEL: "verbose",
      VPBX_MEDIA_TIMEOUT: "-5",
      VPBX_ADMIN_TOKEN: "short",
    });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.equal(err.problems.length, 8);
  assert.doesNotMatch(err.message, /\n/);
  for (const name of [
    "BIND",
    "PUBLIC_ADDRESS",
    "SIP_PORT",
    "HTTP_PORT",
    "RTP_PORTS",
    "LOG_LEVEL",
    "MEDIA_TIMEOUT",
    "ADMIN_TOKEN",
  ]) {
    assert.match(err.message, new RegExp(`VPBX_${name}`));
  }
  assert.match(err.message, /VPBX_SIP_PORT="70000" is not a port: expected an integer from 0 to 65535/);
  assert.match(err.message, /VPBX_RTP_PORTS="10001-20000" .*even MIN/);
  assert.match(err.message, /VPBX_LOG_LEVEL="verbose" .*info/);
});

test("RTP range edges", () => {
  assert.deepEqual(loadConfig({ VPBX_RTP_PORTS: "1024-65535" }).rtpPorts, { min: 1024, max: 65535 });
  for (const bad of ["1022-2000", "2000-2000", "3000-2000", "10000-70000", "10000", "a-b"]) {
    assert.throws(() => loadConfig({ VPBX_RTP_PORTS: bad }), ConfigError, bad);
  }
});

test("media threads' nice value: -10 unless set, from -20 to 19, 0 not asked", () => {
  assert.equal(loadConfig({}).mediaNice, -10);
  assert.equal(loadConfig({ VPBX_MEDIA_NICE: "0" }).mediaNice, 0);
  assert.equal(loadConfig({ VPBX_MEDIA_NICE: "-20" }).mediaNice, -20);
  assert.equal(loadConfig({ VPBX_MEDIA_NICE: "19" }).mediaNice, 19);
  for (const bad of ["-21", "20", "high", "-5.5", "--1"]) {
    assert.throws(
      () => loadConfig({ VPBX_MEDIA_NICE: bad }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0].startsWith(`VPBX_MEDIA_NICE=${JSON.stringify(bad)} is not a nice value`),
      bad,
    );
  }
});

test("media threads: 0 keeps the media on the main thread; anything but a whole number is refused", () => {
  assert.equal(loadConfig({ VPBX_MEDIA_THREADS: "0" }).mediaThreads, 0);
  assert.equal(loadConfig({ VPBX_MEDIA_THREADS: " 16 " }).mediaThreads, 16);
  for (const bad of ["-1", "1.5", "two", "1025", "0x2"]) {
    assert.throws(
      () => loadConfig({ VPBX_MEDIA_THREADS: bad }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0].startsWith(
          `VPBX_MEDIA_THREADS=${JSON.stringify(bad)} is not a thread count: expected a whole number from 0`,
        ),
      bad,
    );
  }
});

test("SMTP URL and sender", () => {
  for (const good of [
    "smtp://mail.example",
    "smtp://mail.example:25/",
    "smtps://user%40example.com:p%40ss@mail.example:465",
    "smtp://127.0.0.1:2525",
    "smtp://mail.example:587?tls.rejectUnauthorized=false",
  ]) {
    assert.equal(loadConfig({ VPBX_SMTP_URL: good }).smtpUrl, good);
  }
  for (const bad of [
    "mail.example:587",
    "http://mail.example",
    "smtp://",
    "smtp://mail.example:99999",
    "smtp://mail.example/inbox",
  ]) {
    assert.throws(
      () => loadConfig({ VPBX_SMTP_URL: bad }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        /^VPBX_SMTP_URL=".*" is not an SMTP URL: expected smtp:\/\/user:password@host:587/.test(
          err.message.replace("invalid configuration: ", ""),
        ),
      bad,
    );
  }
  for (const good of ["vpbx@pbx.example.com", "Voicemail <vpbx@pbx.example.com>", "vpbx@localhost"]) {
    assert.equal(loadConfig({ VPBX_SMTP_FROM: good }).smtpFrom, good);
  }
  for (const bad of ["vpbx", "vpbx@", "@pbx.example.com", "a b@example.com", "Voicemail <vpbx>", "x@y..z"]) {
    assert.throws(
      () => loadConfig({ VPBX_SMTP_FROM: bad }),
      /VPBX_SMTP_FROM=".*" is not an e-mail address/,
      bad,
    );
  }
});

test("a wrong SMTP URL is reported without its password", () => {
  let err: unknown;
  try {
    loadConfig({ VPBX_SMTP_URL: "smpt://vpbx:hunter2-secret@mail.example:587" });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.doesNotMatch(err.message, /hunter2/);
  assert.doesNotMatch(err.message, /\n/);
  assert.match(err.message, /VPBX_SMTP_URL="smpt:\/\/vpbx:\*\*\*@mail.example:587" is not an SMTP URL/);
  assert.throws(
    () => loadConfig({ VPBX_SMTP_URL: "smtp://vpbx:p@ss/w0rd@" }),
    (e: unknown) => {
      return e instanceof ConfigError && !/p@ss|w0rd/.test(e.message);
    },
  );
});

test("PostgreSQL URL: postgres or postgresql with a host; a wrong one is reported without its password", () => {
  for (const good of [
    "postgres://db.example/vpbx",
    "postgresql://vpbx:p%40ss@10.0.0.5:5433/vpbx?sslmode=require",
    "postgres:///vpbx?host=/var/run/postgresql",
  ]) {
    assert.equal(loadConfig({ VPBX_DATABASE_URL: good }).databaseUrl, good);
  }
  assert.equal(loadConfig({ VPBX_DATABASE_URL: "  " }).databaseUrl, undefined, "blank: SQLite");
  for (const bad of [
    "db.example:5432",
    "mysql://vpbx:hunter2@db.example/vpbx",
    "postgres://",
    "postgres:///vpbx",
  ]) {
    assert.throws(
      () => loadConfig({ VPBX_DATABASE_URL: bad }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        /^VPBX_DATABASE_URL=".*" is not a PostgreSQL URL: expected postgres:\/\/user:password@host:5432\/database/.test(
          err.problems[0],
        ) &&
        !err.message.includes("hunter2"),
      bad,
    );
  }
});

test("several nodes: trusted proxies and the shared audio directory", () => {
  const c = loadConfig({
    VPBX_DATA_DIR: "/var/lib/vpbx",
    VPBX_TRUSTED_PROXIES: " 10.0.0.5, 10.0.1.0/24,2001:db8::/64 ",
    VPBX_AUDIO_URL: "file:///mnt/vpbx-audio/",
  });
  assert.deepEqual(c.trustedProxies, ["10.0.0.5", "10.0.1.0/24", "2001:db8::/64"]);
  assert.equal(c.audioDir, "/mnt/vpbx-audio");
  assert.equal(loadConfig({ VPBX_AUDIO_URL: "/srv/audio/../shared" }).audioDir, "/srv/shared");
  assert.equal(loadConfig({ VPBX_AUDIO_URL: "file://localhost/srv/a%20b" }).audioDir, "/srv/a b");
  // Unset (or blank): no proxy is trusted, the audio lives in the data directory.
  const d = loadConfig({ VPBX_TRUSTED_PROXIES: " , " });
  assert.equal(d.trustedProxies, undefined);
  assert.equal(d.audioDir, undefined);
});

test("a wrong proxy list or audio location names the variable and what is expected", () => {
  let err: unknown;
  try {
    loadConfig({
      VPBX_TRUSTED_PROXIES: "10.0.0.5, kamailio, 10.0.0.0/33",
      VPBX_AUDIO_URL: "s3://bucket/vpbx",
    });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.equal(err.problems.length, 2);
  assert.match(
    err.problems[0],
    /^VPBX_TRUSTED_PROXIES=".*" is not a list of proxies: .*\(not: "kamailio", "10.0.0.0\/33"\)$/,
  );
  assert.match(
    err.problems[1],
    /^VPBX_AUDIO_URL="s3:\/\/bucket\/vpbx" is not a directory: .*S3 bucket is not supported yet/,
  );
  for (const bad of ["audio", "./audio", "file://nas.example/share", "http://x/y"]) {
    assert.throws(() => loadConfig({ VPBX_AUDIO_URL: bad }), /VPBX_AUDIO_URL=.* is not a directory/, bad);
  }
});

test("SIP over TLS: its port, off, and the certificate files (both or neither, readable)", () => {
  assert.equal(loadConfig({ VPBX_SIP_TLS_PORT: "0" }).sipTlsPort, 0, "a free port (tests)");
  for (const off of ["off", "OFF", "no", "false", "disabled"]) {
    const c = loadConfig({ VPBX_SIP_TLS_PORT: off, VPBX_TLS_CERT: "/nonexistent.pem" });
    assert.equal(c.sipTlsPort, undefined, off);
    assert.equal("sipTlsPort" in c, false);
  }
  assert.throws(
    () => loadConfig({ VPBX_SIP_TLS_PORT: "tls" }),
    /VPBX_SIP_TLS_PORT="tls" is not a port: expected an integer from 0 to 65535 \(5061 by default\), or off/,
  );
  assert.throws(
    () => loadConfig({ VPBX_SIP_PORT: "5070", VPBX_SIP_TLS_PORT: "5070" }),
    /VPBX_SIP_TLS_PORT=5070 is already the port of VPBX_SIP_PORT/,
  );
  assert.throws(() => loadConfig({ VPBX_SIP_TLS_PORT: "8080" }), /already the port of VPBX_HTTP_PORT/);

  const dir = mkdtempSync(join(tmpdir(), "vpbx-config-tls-"));
  try {
    writeFileSync(join(dir, "cert.pem"), "-----BEGIN CERTIFICATE-----\n");
    writeFileSync(join(dir, "key.pem"), "-----BEGIN PRIVATE KEY-----\n");
    const c = loadConfig({ VPBX_TLS_CERT: join(dir, "cert.pem"), VPBX_TLS_KEY: join(dir, "key.pem") });
    assert.equal(c.tlsCertFile, join(dir, "cert.pem"));
    assert.equal(c.tlsKeyFile, join(dir, "key.pem"));
    assert.throws(
      () => loadConfig({ VPBX_TLS_CERT: join(dir, "cert.pem") }),
      /VPBX_TLS_CERT is set without VPBX_TLS_KEY: set both/,
    );
    assert.throws(
      () => loadConfig({ VPBX_TLS_KEY: join(dir, "key.pem") }),
      /VPBX_TLS_KEY is set without VPBX_TLS_CERT/,
    );
    let err: unknown;
    try {
      loadConfig({ VPBX_TLS_CERT: join(dir, "missing.pem"), VPBX_TLS_KEY: dir });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 2);
    assert.match(
      err.problems[0],
      /^VPBX_TLS_CERT=".*missing\.pem" is not a readable file: expected the path of a PEM certificate/,
    );
    assert.match(
      err.problems[1],
      /^VPBX_TLS_KEY=".*" is not a readable file: expected the path of its PEM private key/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("HTTPS on the HTTP port: on or off, with the certificate of SIP over TLS", () => {
  for (const on of ["on", "ON", "yes", "true", "1"])
    assert.equal(loadConfig({ VPBX_HTTP_TLS: on }).httpTls, true, on);
  for (const off of ["off", "no", "false", "0"]) {
    const c = loadConfig({ VPBX_HTTP_TLS: off });
    assert.equal("httpTls" in c, false, off);
  }
  assert.throws(
    () => loadConfig({ VPBX_HTTP_TLS: "https" }),
    /VPBX_HTTP_TLS="https" is not on or off: expected on \(HTTPS on VPBX_HTTP_PORT/,
  );
  // SIP over TLS off, HTTPS on: the certificate files are still read and checked.
  const dir = mkdtempSync(join(tmpdir(), "vpbx-config-https-"));
  try {
    writeFileSync(join(dir, "cert.pem"), "-----BEGIN CERTIFICATE-----\n");
    writeFileSync(join(dir, "key.pem"), "-----BEGIN PRIVATE KEY-----\n");
    const files = { VPBX_TLS_CERT: join(dir, "cert.pem"), VPBX_TLS_KEY: join(dir, "key.pem") };
    const c = loadConfig({ VPBX_SIP_TLS_PORT: "off", VPBX_HTTP_TLS: "on", ...files });
    assert.equal(c.sipTlsPort, undefined);
    assert.equal(c.tlsCertFile, join(dir, "cert.pem"));
    assert.equal(c.tlsKeyFile, join(dir, "key.pem"));
    assert.equal(loadConfig({ VPBX_SIP_TLS_PORT: "off", ...files }).tlsCertFile, undefined, "no TLS at all");
    assert.throws(
      () => loadConfig({ VPBX_SIP_TLS_PORT: "off", VPBX_HTTP_TLS: "on", VPBX_TLS_CERT: files.VPBX_TLS_CERT }),
      /VPBX_TLS_CERT is set without VPBX_TLS_KEY/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
