import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { openStore, SQLITE_FILE } from "../store/sql/open-store.ts";
import {
  checkDataPermissions,
  createPrivateFile,
  ensurePrivateDir,
  modeString,
  writePrivateFile,
} from "./file-permissions.ts";
import { capturingLogger } from "./log.ts";

const mode = (path: string) => modeString(statSync(path).mode);

/** Runs `fn` under a umask that would leave everything open to everyone. */
async function underOpenUmask<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = process.umask(0o000);
  try {
    return await fn();
  } finally {
    process.umask(before);
  }
}

describe("permissions of the data directory", { skip: process.platform === "win32" }, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-perm-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a fresh data directory: 0700, the SQLite file and its -wal and -shm 0600, the key file 0600, whatever the umask", async () => {
    const dataDir = join(dir, "srv", "vpbx");
    await underOpenUmask(async () => {
      const store = await openStore({ dataDir });
      try {
        await store.tenants.create({ name: "acme", domain: "acme.test" });
        assert.equal(mode(join(dir, "srv")), "0700", "every folder it made");
        assert.equal(mode(dataDir), "0700");
        for (const file of [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, "secret.key"]) {
          assert.equal(mode(join(dataDir, file)), "0600", file);
        }
      } finally {
        await store.close();
      }
    });
    const { log, lines } = capturingLogger();
    assert.deepEqual(await checkDataPermissions(dataDir, log), { tightened: [], loose: [] });
    assert.equal(lines.length, 0, "nothing to say of a fresh directory");
  });

  test("an older vpbx's files (0644) are tightened when the store opens, with a warning", async () => {
    const dataDir = join(dir, "data");
    const secretKey = randomBytes(32);
    await (await openStore({ dataDir, secretKey })).close();
    chmodSync(join(dataDir, SQLITE_FILE), 0o644);
    const { log, lines } = capturingLogger();
    await (await openStore({ dataDir, secretKey, log })).close();
    assert.equal(mode(join(dataDir, SQLITE_FILE)), "0600");
    const warning = lines.find((l) => l.path === join(dataDir, SQLITE_FILE));
    assert.equal(warning?.level, 40, "warn");
    assert.equal(warning?.was, "0644");
  });

  test("helpers: new folders 0700 and files 0600 under any umask; an existing one is left as it is", async () => {
    await underOpenUmask(() => {
      assert.equal(ensurePrivateDir(join(dir, "a", "b")), true);
      assert.equal(mode(join(dir, "a")), "0700");
      assert.equal(mode(join(dir, "a", "b")), "0700");
      assert.equal(ensurePrivateDir(join(dir, "a", "b")), false);
      assert.equal(createPrivateFile(join(dir, "a", "f")), true);
      assert.equal(mode(join(dir, "a", "f")), "0600");
      writePrivateFile(join(dir, "a", "g"), "data");
      assert.equal(mode(join(dir, "a", "g")), "0600");
      assert.throws(() => writePrivateFile(join(dir, "a", "g"), "again"), /EEXIST/);
      writeFileSync(join(dir, "open"), "x", { mode: 0o644 });
      assert.equal(createPrivateFile(join(dir, "open")), false);
      assert.equal(mode(join(dir, "open")), "0644");
    });
  });

  test("a loose data directory: vpbx's files are tightened, the rest is reported with the chmod to run", async () => {
    const dataDir = join(dir, "data");
    mkdirSync(join(dataDir, "voicemail", "acme", "101"), { recursive: true });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, "voicemail"), 0o755);
    chmodSync(join(dataDir, "voicemail", "acme"), 0o755);
    chmodSync(join(dataDir, "voicemail", "acme", "101"), 0o755);
    const files = {
      db: join(dataDir, SQLITE_FILE),
      key: join(dataDir, "secret.key"),
      token: join(dataDir, "admin-token.sha256"),
      message: join(dataDir, "voicemail", "acme", "101", "m1.wav"),
      notes: join(dataDir, "operator notes.txt"),
      outside: join(dir, "outside.txt"),
    };
    for (const f of Object.values(files)) {
      writeFileSync(f, "x");
      chmodSync(f, 0o644);
    }
    symlinkSync(files.outside, join(dataDir, "prompts"));

    const { log, lines } = capturingLogger();
    const report = await checkDataPermissions(dataDir, log);

    for (const f of [files.db, files.key, files.token, files.message]) assert.equal(mode(f), "0600", f);
    for (const d of ["voicemail", "voicemail/acme", "voicemail/acme/101"])
      assert.equal(mode(join(dataDir, d)), "0700", d);
    assert.equal(mode(dataDir), "0755", "the data directory itself is the operator's to change");
    assert.equal(mode(files.notes), "0644", "not vpbx's: left as it is");
    assert.equal(mode(files.outside), "0644", "a symbolic link is not followed");
    assert.deepEqual(
      report.tightened.sort(),
      [
        files.token,
        files.key,
        files.db,
        join(dataDir, "voicemail"),
        join(dataDir, "voicemail", "acme"),
        join(dataDir, "voicemail", "acme", "101"),
        files.message,
      ].sort(),
    );
    assert.deepEqual(report.loose, [
      { path: dataDir, mode: "0755", fix: `chmod 700 ${dataDir}` },
      { path: files.notes, mode: "0644", fix: `chmod 600 '${files.notes}'` },
    ]);
    for (const l of lines) assert.equal(l.level, 40, "every line a warning");
    const said = lines.map((l) => String(l.msg));
    assert.ok(
      said.some((m) => m.includes(dataDir) && m.includes("0755") && m.includes(`chmod 700 ${dataDir}`)),
    );
    assert.ok(
      said.some((m) => m.includes("operator notes.txt") && m.includes("0644") && m.includes("chmod 600")),
    );
    assert.ok(said.some((m) => m.includes(files.db) && m.includes("0644") && m.includes("0600")));

    // Checked again: all quiet but the operator's two.
    const again = capturingLogger();
    assert.deepEqual((await checkDataPermissions(dataDir, again.log)).tightened, []);
    assert.equal(again.lines.length, 2);
  });

  test("a data directory that does not exist yet is fine", async () => {
    const { log, lines } = capturingLogger();
    assert.deepEqual(await checkDataPermissions(join(dir, "none"), log), { tightened: [], loose: [] });
    assert.equal(lines.length, 0);
  });
});
