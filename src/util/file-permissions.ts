// The data directory holds the database (credentials, voicemail metadata),
// the secret key, voicemail recordings and the admin token's hash: nobody but
// the user vpbx runs as has any business reading them. So the directory is
// 0700 and every file in it 0600, set explicitly at creation (mkdir and open
// apply the umask, and a umask of 022 is the common default), and checked at
// start: what vpbx itself writes there is tightened, anything else that is
// looser is reported with the chmod that fixes it.
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  type Stats,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "./log.ts";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Bits that give the group or others any access. */
const GROUP_OTHER = 0o077;

/**
 * What vpbx writes at the top of its data directory: files, and folders it
 * fills (every file under them is vpbx's). Anything else there is the
 * operator's and is only reported, never changed.
 */
export const VPBX_DATA_FILES: readonly string[] = [
  "vpbx.sqlite",
  "vpbx.sqlite-wal",
  "vpbx.sqlite-shm",
  "vpbx.sqlite-journal",
  "secret.key",
  "admin-token.sha256",
];
export const VPBX_DATA_FOLDERS: readonly string[] = [
  "voicemail",
  "company-audio",
  "recordings",
  "prompts",
  "tls",
];

/** "0644". */
export function modeString(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/**
 * mkdir -p whose new directories are 0700 whatever the umask (an existing
 * directory keeps its mode: checkDataPermissions reports it). Returns whether
 * `path` was created.
 */
export function ensurePrivateDir(path: string): boolean {
  const first = mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return false;
  // mkdir(2) applied the umask: set the mode of each directory made, from `path` up to the first one.
  for (let dir = path; ; dir = dirname(dir)) {
    chmodSync(dir, PRIVATE_DIR_MODE);
    if (dir === first || dirname(dir) === dir) break;
  }
  return true;
}

/**
 * Creates `path` empty as 0600 (whatever the umask) when it does not exist;
 * an existing file is left as it is. Returns whether it was created.
 */
export function createPrivateFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Writes a new file (never over an existing one: EEXIST) as 0600 whatever the
 * umask, and flushes it to the disk before returning.
 */
export function writePrivateFile(path: string, data: string | Buffer): void {
  const fd = openSync(path, "wx", PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sets `path` to `mode` when it gives more than that (a file vpbx wrote). The
 * mode it had when it was changed; undefined when it was tight already or is
 * gone, or is a symbolic link (chmod would follow it out of the directory).
 */
export function tighten(path: string, mode: number): number | undefined {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined; // nothing to protect
    throw err;
  }
  if (st.isSymbolicLink() || (st.mode & 0o777 & ~mode) === 0) return undefined;
  chmodSync(path, mode);
  return st.mode & 0o777;
}

export interface LoosePath {
  path: string;
  /** "0755" */
  mode: string;
  /** The command that fixes it. */
  fix: string;
}

export interface PermissionReport {
  /** Files and folders of vpbx that were looser and are now 0600/0700. */
  tightened: string[];
  /** What is looser and was left as it is (the operator's, or not ours to change). */
  loose: LoosePath[];
}

/**
 * The start-up check of the data directory: the directory itself should be
 * 0700 (reported with the chmod to run when looser, never changed: it may be
 * a mount point the operator set up), vpbx's own files and folders in it
 * (VPBX_DATA_FILES, VPBX_DATA_FOLDERS) are tightened to 0600/0700 with a
 * warning, and any other entry that is looser is reported. Symbolic links
 * are not followed. A missing directory is fine (it is created 0700).
 */
export async function checkDataPermissions(dataDir: string, log: Logger): Promise<PermissionReport> {
  const report: PermissionReport = { tightened: [], loose: [] };
  // Windows has no mode bits to speak of: the ACLs of the folder apply.
  if (process.platform === "win32") return report;
  let top: Stats;
  try {
    top = lstatSync(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return report; // created 0700 when the store opens
    throw err;
  }
  if (!top.isDirectory()) return report; // the store reports a data directory that is not one
  if ((top.mode & GROUP_OTHER) !== 0) {
    loose(report, log, dataDir, top.mode, `chmod 700 ${shellQuote(dataDir)}`, "the data directory");
  }
  for (const name of readdirSync(dataDir).sort()) {
    const path = join(dataDir, name);
    const st = lstatOrGone(path);
    if (st === undefined || st.isSymbolicLink()) continue;
    const isOurs = st.isDirectory() ? VPBX_DATA_FOLDERS.includes(name) : VPBX_DATA_FILES.includes(name);
    if (isOurs) {
      const changed: Array<{ path: string; was: number }> = [];
      const refused = tightenTree(path, st, changed);
      for (const r of refused) {
        loose(report, log, r.path, r.mode, chmodFix(r.path, r.isDir), "vpbx could not tighten it");
      }
      if (changed.length > 0) {
        report.tightened.push(...changed.map((c) => c.path));
        log.warn(
          {
            path,
            was: modeString(changed[0].was),
            count: changed.length,
            paths: changed.slice(0, 5).map((c) => c.path),
          },
          changed.length === 1 && changed[0].path === path
            ? `${path} was ${modeString(changed[0].was)}, readable by other users: tightened to ${st.isDirectory() ? "0700" : "0600"}`
            : `${changed.length} entries under ${path} were readable by other users: tightened to 0600 (files) and 0700 (folders)`,
        );
      }
    } else if ((st.mode & GROUP_OTHER) !== 0) {
      loose(
        report,
        log,
        path,
        st.mode,
        chmodFix(path, st.isDirectory()),
        "not a file of vpbx: left as it is",
      );
    }
  }
  return report;
}

/** Tightens `path` and, for a folder, everything under it; returns what chmod refused. */
function tightenTree(
  path: string,
  st: Stats,
  changed: Array<{ path: string; was: number }>,
): Array<{ path: string; mode: number; isDir: boolean }> {
  const refused: Array<{ path: string; mode: number; isDir: boolean }> = [];
  const walk = (p: string, s: Stats): void => {
    if (s.isSymbolicLink()) return;
    const isDir = s.isDirectory();
    const mode = isDir ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if ((s.mode & 0o777 & ~mode) !== 0) {
      try {
        chmodSync(p, mode);
        changed.push({ path: p, was: s.mode & 0o777 });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Owned by another user (EPERM) or on a read-only mount (EROFS): the operator fixes it.
        if (code === "EPERM" || code === "EROFS") refused.push({ path: p, mode: s.mode, isDir });
        else if (code !== "ENOENT") throw err; // ENOENT: removed meanwhile, nothing left to protect
      }
    }
    if (!isDir) return;
    for (const name of readdirSync(p).sort()) {
      const child = join(p, name);
      const cs = lstatOrGone(child);
      if (cs !== undefined) walk(child, cs);
    }
  };
  walk(path, st);
  return refused;
}

function lstatOrGone(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined; // removed while we looked
    throw err;
  }
}

function loose(report: PermissionReport, log: Logger, path: string, mode: number, fix: string, why: string) {
  const entry: LoosePath = { path, mode: modeString(mode), fix };
  report.loose.push(entry);
  log.warn(entry, `${path} is ${entry.mode}, open to other users (${why}): run ${fix}`);
}

function chmodFix(path: string, isDir: boolean): string {
  return isDir ? `chmod -R go-rwx ${shellQuote(path)}` : `chmod 600 ${shellQuote(path)}`;
}

/** A path as a POSIX shell reads it back, quoted only when it needs to be. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
