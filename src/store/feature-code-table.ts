// The rules of a tenant's feature-code table, kept apart from any database so
// that the SQLite and PostgreSQL stores apply the same ones.
//
// A phone sends the digits it collected as one dialled string ("*720791231212"),
// so the PBX finds the action by the code the string starts with: two codes of
// one table must therefore never be equal, nor one a prefix of the other
// ("*7" would swallow "*72...").
import { DEFAULT_FEATURE_CODES, FEATURE_ACTIONS, type FeatureAction, type FeatureCode } from "./types.ts";

/** `*` followed by 1 to 4 digits. */
export const FEATURE_CODE_PATTERN = "^\\*[0-9]{1,4}$";
const FEATURE_CODE_RE = new RegExp(FEATURE_CODE_PATTERN);

export function isFeatureCode(code: string): boolean {
  return FEATURE_CODE_RE.test(code);
}

export function isFeatureAction(action: string): action is FeatureAction {
  return (FEATURE_ACTIONS as readonly string[]).includes(action);
}

/** The defaults with a tenant's overrides applied, in the defaults' order. */
export function applyOverrides(overrides: ReadonlyMap<FeatureAction, string>): FeatureCode[] {
  return DEFAULT_FEATURE_CODES.map(({ code, action }) => ({ action, code: overrides.get(action) ?? code }));
}

/**
 * Why `code` cannot be given to `action` in `table`, or undefined when it can.
 * The action's own current code does not count: re-setting it is harmless.
 */
export function codeClash(
  table: readonly FeatureCode[],
  action: FeatureAction,
  code: string,
): string | undefined {
  for (const other of table) {
    if (other.action === action) continue;
    if (other.code === code) return `feature code ${code} is already used by ${other.action}`;
    if (other.code.startsWith(code) || code.startsWith(other.code)) {
      return `feature code ${code} clashes with ${other.code} (${other.action}): one is a prefix of the other`;
    }
  }
  return undefined;
}
