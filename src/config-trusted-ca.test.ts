// VPBX_TLS_TRUSTED_CA: the CAs that vouch for carriers reached over TLS.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

test("unset: the system's CAs only", () => {
  assert.equal(loadConfig({}).tlsTrustedCaFile, undefined);
});

test("a readable file is taken, by its absolute path", () => {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-ca-"));
  try {
    const file = join(dir, "ca.pem");
    writeFileSync(file, "-----BEGIN CERTIFICATE-----\n");
    assert.equal(loadConfig({ VPBX_TLS_TRUSTED_CA: file }).tlsTrustedCaFile, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file that cannot be read is a configuration error that names the setting and what it expects", () => {
  assert.throws(
    () => loadConfig({ VPBX_TLS_TRUSTED_CA: "/nonexistent/ca.pem" }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /VPBX_TLS_TRUSTED_CA="\/nonexistent\/ca\.pem" is not a readable file: expected the path of PEM certificates/.test(
        err.message,
      ),
  );
});
