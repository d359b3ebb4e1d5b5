import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError } from "../config.ts";
import { ADMIN_TOKEN_FILE, resolveAdminToken } from "./admin-token.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-token-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("a configured token is used as is and nothing is written", () => {
  const dir = join(root, "configured");
  const t = resolveAdminToken({ adminToken: "configured-token-123" }, dir);
  assert.equal(t.token, undefined);
  assert.equal(t.verify("configured-token-123"), true);
  assert.equal(t.verify("configured-token-12"), false);
  assert.equal(t.verify(""), false);
  assert.throws(() => statSync(join(dir, ADMIN_TOKEN_FILE)));
});

test("first start generates a token, stores only its hash (0600), later starts verify it", () => {
  const dir = join(root, "generated");
  const first = resolveAdminToken({}, dir);
  assert.match(first.token ?? "", /^[A-Za-z0-9_-]{43}$/);
  const file = join(dir, ADMIN_TOKEN_FILE);
  const stored = readFileSync(file, "utf8");
  assert.match(stored, /^[0-9a-f]{64}\n$/);
  assert.ok(!stored.includes(first.token ?? "?"));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(first.verify(first.token ?? ""), true);

  const second = resolveAdminToken({}, dir);
  assert.equal(second.token, undefined, "never shown again");
  assert.equal(second.verify(first.token ?? ""), true);
  assert.equal(second.verify("something else"), false);
});

test("a damaged hash file is a clear configuration error", () => {
  const dir = join(root, "damaged");
  resolveAdminToken({}, dir);
  writeFileSync(join(dir, ADMIN_TOKEN_FILE), "garbage");
  assert.throws(
    () => resolveAdminToken({}, dir),
    (e: Error) => e instanceof ConfigError && /delete it/.test(e.message),
  );
});
