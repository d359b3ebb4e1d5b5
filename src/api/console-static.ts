// The web console's files (console/dist, built by Vite) served by the API's
// own Fastify, so that one process and one port give both: no second server,
// no new dependency. Any GET outside the API's paths answers index.html, so
// that the console's own routes (/provider/tenants, /me/voicemail) survive a
// reload (client-side routing); the console then talks to /api/v1 only.
//
// It answers in an onRequest hook registered before the API's token check:
// the console's files are public (what they show comes from the API, which
// checks every request), and a hook that replies ends the request there
// (the later hooks and the 404 handler never run for it).
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/** Where `npm run build:console` writes the console (Vite's outDir). */
export const CONSOLE_DIST_DIR = fileURLToPath(new URL("../../console/dist", import.meta.url));

/** Paths that belong to the API, the metrics, SIP over WebSocket and the health check: never the console's. */
const NOT_CONSOLE = [/^\/api(\/|$)/, /^\/metrics(\/|$)/, /^\/sip(\/|$)/, /^\/health(\/|$)/];

/**
 * Security headers of every console answer: the page may load only its own
 * scripts and styles (no inline ones: Vite emits none), play its own and
 * recorded (blob:) audio, talk to its own API and to SIP over WebSocket
 * (the softphone), and never be framed (clickjacking).
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; media-src 'self' blob:; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".wav": "audio/wav",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** Vite's hashed files (assets/index-B3x9_kQa.js): their name changes with their content. */
const HASHED_ASSET = /^\/assets\/[^/]+-[A-Za-z0-9_-]{6,}\.[a-z0-9]+$/;
const LONG_CACHE = "public, max-age=31536000, immutable";

export const CONSOLE_NOT_BUILT =
  "The web console is not built: run `npm run build:console` (npm ci and vpbx start build it too), then reload this page.";

export interface ConsoleStaticOptions {
  /** The built console (default CONSOLE_DIST_DIR). */
  dir?: string;
}

/** Whether a request path (without its query) is the console's to answer. */
export function isConsolePath(path: string): boolean {
  return !NOT_CONSOLE.some((re) => re.test(path));
}

/**
 * The file under `dir` that a URL path names, or undefined when the path
 * is malformed or leaves `dir` (`/../`, `%2e%2e`, a NUL byte).
 */
export function fileForPath(dir: string, path: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape (%E0%A4%A) names no file: the caller answers index.html.
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const root = resolve(dir);
  const file = resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  return file;
}

async function regularFile(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG") return undefined;
    throw err;
  }
}

/** Serves the console from `opts.dir` for every GET or HEAD outside the API's paths. */
export function addConsoleStatic(app: FastifyInstance, opts: ConsoleStaticOptions = {}): void {
  const dir = resolve(opts.dir ?? CONSOLE_DIST_DIR);
  const index = resolve(dir, "index.html");

  const sendIndex = async (reply: FastifyReply) => {
    let html: Buffer;
    try {
      html = await readFile(index);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return reply
        .code(503)
        .header("content-type", "text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .header("retry-after", "30")
        .send(CONSOLE_NOT_BUILT);
    }
    // Always asked again: it names the hashed files of the current build.
    return reply
      .code(200)
      .header("content-type", CONTENT_TYPES[".html"])
      .header("cache-control", "no-cache")
      .send(html);
  };

  app.addHook("onRequest", async (req, reply) => {
    if (req.method !== "GET" && req.method !== "HEAD") return;
    // A WebSocket upgrade is SIP's (or refused by its own hook), never a page.
    if (req.headers.upgrade !== undefined) return;
    const path = req.url.split("?", 1)[0];
    if (!isConsolePath(path)) return;
    for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) reply.header(name, value);

    const file = path === "/" ? undefined : fileForPath(dir, path);
    const size = file === undefined || file === index ? undefined : await regularFile(file);
    if (file !== undefined && size !== undefined) {
      const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
      return reply
        .code(200)
        .header("content-type", type)
        .header("content-length", size)
        .header("cache-control", HASHED_ASSET.test(path) ? LONG_CACHE : "no-cache")
        .send(createReadStream(file));
    }
    // A missing script or style of an older build must not come back as HTML
    // (the browser would refuse it with a MIME error): reload the page instead.
    if (path.startsWith("/assets/")) {
      return reply
        .code(404)
        .header("content-type", "text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .send(`no such file ${path}: the console was rebuilt, reload the page`);
    }
    return sendIndex(reply);
  });
}
