// VPBX_ACME_*: a certificate from an ACME CA (RFC 8555) for the server's
// DNS names, Let's Encrypt by default; never together with the operator's
// own files, never with TLS off, each mistake said with what is expected.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";
import { LETS_ENCRYPT_DIRECTORY, LETS_ENCRYPT_STAGING_DIRECTORY } from "./util/acme-certificates.ts";
import { createSelfSignedCertificate } from "./util/tls-certificate.ts";

const BASE = { VPBX_DATA_DIR: "/tmp/vpbx-config-test" };
const dir = mkdtempSync(join(tmpdir(), "vpbx-config-acme-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The problems of a ConfigError thrown by loadConfig(env), joined. */
function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join("\n");
    throw err;
  }
  assert.fail(`no problem with ${JSON.stringify(env)}`);
}

test("ACME: unset is no ACME; a domain gets Let's Encrypt production, names lower-cased and deduplicated", () => {
  assert.equal(loadConfig(BASE).acme, undefined);
  assert.deepEqual(
    loadConfig({ ...BASE, VPBX_ACME_DOMAIN: "PBX.Example.com, sip.example.com., pbx.example.com" }).acme,
    { domains: ["pbx.example.com", "sip.example.com"], directoryUrl: LETS_ENCRYPT_DIRECTORY },
  );
  const c = loadConfig({
    ...BASE,
    VPBX_ACME_DOMAIN: "pbx.example.com",
    VPBX_ACME_EMAIL: "hostmaster@example.com",
    VPBX_ACME_DIRECTORY: "letsencrypt-staging",
  });
  assert.deepEqual(c.acme, {
    domains: ["pbx.example.com"],
    email: "hostmaster@example.com",
    directoryUrl: LETS_ENCRYPT_STAGING_DIRECTORY,
  });
  assert.equal(
    loadConfig({
      ...BASE,
      VPBX_ACME_DOMAIN: "pbx.example.com",
      VPBX_ACME_DIRECTORY: "https://ca.internal/acme/dir",
    }).acme?.directoryUrl,
    "https://ca.internal/acme/dir",
  );
});

test("ACME: a private CA's certificate for the directory's HTTPS is read from a PEM file", async () => {
  const pair = await createSelfSignedCertificate({
    addresses: [],
    hostnames: ["ca.internal"],
    now: Date.now(),
  });
  const ca = join(dir, "ca.pem");
  writeFileSync(ca, pair.cert);
  const c = loadConfig({
    ...BASE,
    VPBX_ACME_DOMAIN: "pbx.example.com",
    VPBX_ACME_DIRECTORY: "https://ca.internal/acme/dir",
    VPBX_ACME_DIRECTORY_CA: ca,
  });
  assert.equal(c.acme?.directoryCaFile, ca);
  writeFileSync(join(dir, "not-pem.txt"), "hello");
  assert.match(
    problems({ VPBX_ACME_DOMAIN: "pbx.example.com", VPBX_ACME_DIRECTORY_CA: join(dir, "not-pem.txt") }),
    /VPBX_ACME_DIRECTORY_CA=.* is not a readable PEM certificate/,
  );
});

test("ACME and VPBX_TLS_CERT/VPBX_TLS_KEY together are a configuration error", async () => {
  const pair = await createSelfSignedCertificate({
    addresses: ["127.0.0.1"],
    hostnames: [],
    now: Date.now(),
  });
  writeFileSync(join(dir, "cert.pem"), pair.cert);
  writeFileSync(join(dir, "key.pem"), pair.key);
  const text = problems({
    VPBX_ACME_DOMAIN: "pbx.example.com",
    VPBX_TLS_CERT: join(dir, "cert.pem"),
    VPBX_TLS_KEY: join(dir, "key.pem"),
  });
  assert.match(text, /VPBX_ACME_DOMAIN and VPBX_TLS_CERT\/VPBX_TLS_KEY are both set.*not both/);
  assert.match(
    problems({ VPBX_ACME_DOMAIN: "pbx.example.com", VPBX_TLS_CERT: join(dir, "cert.pem") }),
    /both set/,
  );
});

test("ACME with neither SIP over TLS nor HTTPS on is refused: nothing would use the certificate", () => {
  assert.match(
    problems({ VPBX_ACME_DOMAIN: "pbx.example.com", VPBX_SIP_TLS_PORT: "off" }),
    /nothing would use its certificate/,
  );
  const c = loadConfig({
    ...BASE,
    VPBX_ACME_DOMAIN: "pbx.example.com",
    VPBX_SIP_TLS_PORT: "off",
    VPBX_HTTP_TLS: "on",
  });
  assert.deepEqual(c.acme?.domains, ["pbx.example.com"]);
});

test("ACME: wildcards, addresses, bad names, e-mails and directories are refused with what is expected", () => {
  assert.match(problems({ VPBX_ACME_DOMAIN: "*.example.com" }), /wildcard name needs a DNS-01 challenge/);
  assert.match(problems({ VPBX_ACME_DOMAIN: "203.0.113.5" }), /an IP address, not a DNS name/);
  assert.match(
    problems({ VPBX_ACME_DOMAIN: "pbx_1.example.com" }),
    /not a DNS name.*e\.g\. pbx\.example\.com/,
  );
  assert.match(problems({ VPBX_ACME_DOMAIN: " , " }), /names no domain/);
  assert.match(
    problems({ VPBX_ACME_DOMAIN: "pbx.example.com", VPBX_ACME_EMAIL: "hostmaster" }),
    /VPBX_ACME_EMAIL="hostmaster" is not an e-mail address/,
  );
  for (const bad of ["http://ca.example/dir", "letsencrypt-prod", "ftp://x"]) {
    assert.match(
      problems({ VPBX_ACME_DOMAIN: "pbx.example.com", VPBX_ACME_DIRECTORY: bad }),
      /VPBX_ACME_DIRECTORY=.* is not an ACME directory: expected its https:\/\/ URL, or letsencrypt/,
      bad,
    );
  }
});

test("ACME settings without VPBX_ACME_DOMAIN are refused, naming it", () => {
  const text = problems({ VPBX_ACME_EMAIL: "hostmaster@example.com", VPBX_ACME_DIRECTORY: "letsencrypt" });
  assert.match(text, /VPBX_ACME_EMAIL is set without VPBX_ACME_DOMAIN/);
  assert.match(text, /VPBX_ACME_DIRECTORY is set without VPBX_ACME_DOMAIN/);
});
