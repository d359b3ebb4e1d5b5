// Finds the external SIP clients the interop tests drive. Locally a missing
// tool skips the test; in CI it fails it, because an interop test that
// quietly skips proves nothing (CI installs sip-tester, baresip-core, sox).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export type ToolName = "sipp" | "baresip" | "sox";

const found = new Map<string, string | undefined>();

/** Path of `name` on PATH; undefined locally when missing, an Error in CI (CI=true). */
export function requireTool(name: ToolName): string | undefined {
  const key = `${name}|${process.env.PATH ?? ""}`;
  if (!found.has(key)) found.set(key, which(name));
  const path = found.get(key);
  if (path === undefined && process.env.CI === "true") {
    throw new Error(
      `${name} is not installed, but CI must run the interop tests (apt-get install sip-tester baresip-core sox)`,
    );
  }
  return path;
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
