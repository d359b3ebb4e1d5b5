// Where the key that seals stored credentials (secret-box.ts) comes from:
// VPBX_SECRET_KEY, else a key file (VPBX_SECRET_KEY_FILE, by default
// <dataDir>/secret.key), generated on the first start. The key is kept apart
// from the database so that a copy of the database alone (a dump, a stolen
// backup of the file) opens no account; a copy of the whole data directory
// carries the default key file with it, which is why an operator who ships
// backups elsewhere sets VPBX_SECRET_KEY or keeps the key file outside.
// Every node of one PostgreSQL store must have the same key.
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  ensurePrivateDir,
  modeString,
  PRIVATE_FILE_MODE,
  tighten,
  writePrivateFile,
} from "../../util/file-permissions.ts";
import type { Logger } from "../../util/log.ts";
import { generateSecretKey, parseSecretKey, SecretBox } from "./secret-box.ts";

/** The key file of a data directory, unless VPBX_SECRET_KEY_FILE names another. */
export const SECRET_KEY_FILE = "secret.key";

/** What loadSecretKey reads of the configuration (Config has these fields). */
export interface SecretKeySettings {
  dataDir: string;
  /** VPBX_SECRET_KEY, decoded. */
  secretKey?: Buffer;
  /** VPBX_SECRET_KEY_FILE, resolved; undefined: <dataDir>/secret.key. */
  secretKeyFile?: string;
}

/**
 * The key of this process: VPBX_SECRET_KEY, else the key file (created with
 * a new random key, 0600, when it does not exist). Logs where the key came
 * from and its fingerprint (the same on every node of one store).
 */
export async function loadSecretKey(config: SecretKeySettings, log: Logger): Promise<Buffer> {
  if (config.secretKey !== undefined) {
    const key = Buffer.from(config.secretKey);
    log.info({ fingerprint: new SecretBox(key).fingerprint }, "secret key from VPBX_SECRET_KEY");
    return key;
  }
  const explicit = config.secretKeyFile !== undefined;
  const path = config.secretKeyFile ?? join(config.dataDir, SECRET_KEY_FILE);
  return readOrCreateKeyFile(path, { log, inDataDir: !explicit });
}

/**
 * The key in `path`, or a new one written there (0600, flushed with its
 * directory: a key lost in a power cut after credentials were sealed with it
 * would lose every credential). `inDataDir`: the folder is created 0700 when
 * missing and a looser key file is tightened; a key file the operator placed
 * elsewhere is only reported when others may read it.
 */
export function readOrCreateKeyFile(
  path: string,
  opts: { log?: Logger | undefined; inDataDir: boolean },
): Buffer {
  const { log } = opts;
  if (opts.inDataDir) ensurePrivateDir(dirname(path));
  const existing = readKeyFile(path);
  if (existing !== undefined) {
    checkKeyFileMode(path, opts.inDataDir, log);
    log?.info({ path, fingerprint: new SecretBox(existing).fingerprint }, "secret key from its file");
    return existing;
  }
  const { key, text } = generateSecretKey();
  // Written under a temporary name, then linked into place: link(2) fails
  // when the name exists, so two processes starting together keep one key
  // (the second reads the first one's), and nobody ever reads half a key.
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    writePrivateFile(tmp, text);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process wrote its key first: that one is the key.
      const theirs = readKeyFile(path);
      if (theirs === undefined) throw err;
      return theirs;
    }
  } catch (err) {
    throw new Error(
      `cannot create the secret key file ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    try {
      unlinkSync(tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        log?.warn(
          { err, path: tmp },
          "a temporary copy of the secret key could not be removed: remove it by hand",
        );
      }
    }
  }
  syncDirectory(dirname(path));
  log?.warn(
    { path, fingerprint: new SecretBox(key).fingerprint },
    `a new secret key was generated in ${path}: back it up apart from the database (without it the stored credentials cannot be read); every node of a PostgreSQL store needs this same key`,
  );
  return key;
}

/** The key of the file at `path`; undefined when there is no such file. */
function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new Error(
      `cannot read the secret key file ${path} (${code ?? "error"}): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const key = parseSecretKey(text);
  if (key === undefined) {
    // Never echo the content: it may be a key with a typo.
    throw new Error(
      `the secret key file ${path} does not hold a key: expected 64 hex characters or the base64 of 32 bytes (e.g. from: openssl rand -hex 32)`,
    );
  }
  return key;
}

function checkKeyFileMode(path: string, inDataDir: boolean, log: Logger | undefined): void {
  if (process.platform === "win32") return; // no mode bits: the folder's ACLs apply
  if (inDataDir) {
    const was = tighten(path, PRIVATE_FILE_MODE);
    if (was !== undefined) {
      log?.warn(
        { path, was: modeString(was) },
        `the secret key file ${path} was ${modeString(was)}: tightened to 0600`,
      );
    }
    return;
  }
  const mode = lstatSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    log?.warn(
      { path, mode: modeString(mode), fix: `chmod 600 ${path}` },
      `the secret key file ${path} is ${modeString(mode)}, open to other users: run chmod 600 ${path}`,
    );
  }
}

/** fsync(2) of a directory makes a new name in it durable (POSIX leaves it to the directory). */
function syncDirectory(dir: string): void {
  if (process.platform === "win32") return; // directories cannot be opened for fsync there
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
