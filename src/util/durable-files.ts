// Writing files so that they survive a power cut, not only a crash of the
// process: the data is fsynced under a temporary name, renamed (atomic on
// POSIX file systems: a reader sees the old file or the new one, never half
// of one), and the directory is fsynced so that the rename itself is on
// disk (fsync(2): "fsync() on a file does not ensure that the entry in the
// directory containing the file has also reached disk").
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/** The suffix of every file that is not yet complete; start-up removes those left behind. */
export const TEMPORARY_SUFFIX = ".tmp";

/** Writes `data` to `path + ".tmp"` and fsyncs it; the caller renames it into place. */
export async function writeSynced(path: string, data: Uint8Array | string): Promise<string> {
  const tmp = path + TEMPORARY_SUFFIX;
  const file = await open(tmp, "w", 0o640);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  return tmp;
}

/** fsync of a directory: its entries (a rename, a new or removed file) reach the disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` (and its parents) when missing, then fsyncs the parent of
 * each directory it created: the new entries are durable before a file in
 * them counts as written.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // `first` is the top directory created; every one below it down to `dir` is new too.
  let at = dirname(first);
  await syncDirectory(at);
  for (const part of relative(at, dir).split(sep)) {
    at = join(at, part);
    await syncDirectory(at);
  }
}

/** Writes a whole file durably: temporary name, fsync, rename, fsync of the directory. */
export async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = await writeSynced(path, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlinkIfPresent(tmp);
    throw err;
  }
  await syncDirectory(dirname(path));
}

/** Removes a file; true when it was there. Errors other than "not there" are thrown. */
export async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
