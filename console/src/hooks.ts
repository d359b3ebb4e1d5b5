// Small hooks shared by the pages: a resource read from the API (with
// reload, kept on screen while it reloads), an action whose failure is
// shown next to its button or form, and live notices from the server.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { ApiFailure } from "./api.ts";
import type { LiveEventType, LiveNotice, LiveState } from "./live.ts";

export interface Resource<T> {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  reload(): void;
  set(data: T): void;
}

export function asFailure(err: unknown): ApiFailure {
  if (err instanceof ApiFailure) return err;
  return new ApiFailure(0, "error", err instanceof Error ? err.message : String(err));
}

/** Loads `load()` now and whenever `deps` change; `reload()` loads again (the old data stays meanwhile). */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // The caller's deps say when to load again (the loader itself changes at every render).
  useEffect(() => {
    let current = true;
    setLoading(true);
    loadRef.current().then(
      (d) => {
        if (!current) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (!current) return;
        setError(asFailure(err));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, set: setData };
}

export interface Action {
  run(fn: () => Promise<unknown>): Promise<boolean>;
  busy: boolean;
  error: ApiFailure | undefined;
  clear(): void;
}

/** Runs one change at a time; its failure stays in `error` until the next run. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(asFailure(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { run, busy, error, clear: () => setError(undefined) };
}

export interface LiveHub {
  subscribe(listener: (n: LiveNotice) => void): () => void;
  state: LiveState | "off";
}

export const LiveContext = createContext<LiveHub>({ subscribe: () => () => undefined, state: "off" });

/**
 * Calls `onNotice` for live notices of these types (and after a reconnect);
 * `filter` narrows them (an extension's own, say).
 */
export function useLive(
  types: readonly LiveEventType[],
  onNotice: (n: LiveNotice) => void,
  filter?: (n: LiveNotice) => boolean,
): void {
  const hub = useContext(LiveContext);
  const ref = useRef({ onNotice, filter, types });
  ref.current = { onNotice, filter, types };
  useEffect(
    () =>
      hub.subscribe((n) => {
        const { onNotice: cb, filter: keep, types: wanted } = ref.current;
        if (n.type !== "reconnected" && !wanted.includes(n.type)) return;
        if (n.type !== "reconnected" && keep && !keep(n)) return;
        cb(n);
      }),
    [hub],
  );
}

export function useLiveState(): LiveState | "off" {
  return useContext(LiveContext).state;
}
