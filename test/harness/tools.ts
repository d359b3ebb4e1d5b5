// Finds the external SIP clients the interop tests drive. Locally a missing
// tool skips the test; in CI it fails it, because an interop test that
// quietly skips proves nothing (CI installs sip-tester, baresip-core, sox).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export type ToolName = "sipp" | "baresip" | "sox";

const found = new Map<ToolName, string | undefined>();

/** Path of `name` on PATH; undefined locally when missing, an Error in CI (CI=true). */
export function requireTool(name: ToolName): string | undefined {
  if (!found.has(name)) found.set(name, which(name));
  const path = found.get(name);
  if (path === undefined && process.env.CI === "true") {
    throw new Error(`${name} is not installed, but CI must run the interop tests (apt-get install sip-tester baresip-core sox)`);
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
