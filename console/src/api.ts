// The console's only way to the server: the public REST API under /api/v1,
// with the session cookie (same origin) and, on every change, the CSRF
// token the login answered (X-CSRF-Token). An error answer of the API,
// {error:{code,message}}, becomes an ApiFailure whose message is shown next
// to the form that caused it.

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiFailure";
  }
}

let csrfToken: string | undefined;
/** Called when a request finds the session gone (401): the app shows the login page. */
let onSessionLost: (() => void) | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function setSessionLostHandler(handler: (() => void) | undefined): void {
  onSessionLost = handler;
}

/** A file or recording sent as it is (audio uploads), instead of JSON. */
export interface RawBody {
  raw: Blob;
  type: string;
}

function isRaw(body: unknown): body is RawBody {
  return typeof body === "object" && body !== null && "raw" in body && (body as RawBody).raw instanceof Blob;
}

export interface RequestOptions {
  /** A 401 here is an answer to show (the login form), not a lost session. */
  expectUnauthorized?: boolean;
}

/** Reads an error answer: the API's {error:{code,message}}, else the status line. */
async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error && typeof body.error.message === "string") {
      return new ApiFailure(res.status, body.error.code ?? "error", body.error.message);
    }
  } catch {
    // Not JSON (a proxy's error page): the status line and the text say what happened.
  }
  const detail = text && text.length < 200 ? `: ${text}` : "";
  return new ApiFailure(res.status, "http_" + res.status, `${res.status} ${res.statusText}${detail}`);
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let payload: BodyInit | undefined;
  if (isRaw(body)) {
    headers["content-type"] = body.type;
    payload = body.raw;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (err) {
    throw new ApiFailure(0, "network", err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) {
    const failure = await failureOf(res);
    if (res.status === 401 && !opts.expectUnauthorized) onSessionLost?.();
    throw failure;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("json")) return (await res.json()) as T;
  return (await res.text()) as T;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>("GET", path, undefined, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("POST", path, body, opts),
  put: <T>(path: string, body?: unknown) => request<T>("PUT", path, body),
  patch: <T>(path: string, body?: unknown) => request<T>("PATCH", path, body),
  del: <T = void>(path: string) => request<T>("DELETE", path),
};

/** A path segment, escaped (tenant names and extensions are plain; E.164 numbers carry a +). */
export const seg = (s: string): string => encodeURIComponent(s);

/** The API path of a tenant, and of one of its extensions. */
export const tenantPath = (tenant: string): string => `/api/v1/tenants/${seg(tenant)}`;
export const extensionPath = (tenant: string, number: string): string =>
  `${tenantPath(tenant)}/extensions/${seg(number)}`;

/** A query string of the defined, non-empty values ("" when none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
