import assert from "node:assert/strict";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { resolve } from "node:path";
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
  assert.equal(c.httpPort, 8080);
  assert.deepEqual(c.rtpPorts, { min: 10000, max: 20000 });
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
    VPBX_HTTP_PORT: "0",
    VPBX_RTP_PORTS: "30000-30100",
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
    httpPort: 0,
    rtpPorts: { min: 30000, max: 30100 },
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
