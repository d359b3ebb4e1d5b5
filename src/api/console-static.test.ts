import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import {
  addConsoleStatic,
  CONSOLE_NOT_BUILT,
  CONSOLE_SECURITY_HEADERS,
  fileForPath,
  isConsolePath,
} from "./console-static.ts";

const INDEX = "<!doctype html><title>vpbx</title><script type=module src=/assets/index-AbC123xy.js></script>";

/** A server with the console in front and a token check behind it, as buildApi has. */
function server(dir: string): FastifyInstance {
  const app = Fastify();
  addConsoleStatic(app, { dir });
  app.addHook("onRequest", async (req, reply) => {
    if (req.headers.authorization !== "Bearer t") return reply.code(401).send({ error: "token" });
  });
  app.get("/api/v1/tenants", async () => []);
  app.get("/health", async () => ({ status: "ok" }));
  return app;
}

describe("the console's files", () => {
  let dir: string;
  let app: FastifyInstance;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-console-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), INDEX);
    writeFileSync(join(dir, "assets", "index-AbC123xy.js"), "console.log(1)");
    writeFileSync(join(dir, "assets", "index-AbC123xy.css"), "body{}");
    writeFileSync(join(dir, "robots.txt"), "User-agent: *");
    writeFileSync(join(dir, "..", "secret-beside.txt"), "no");
    app = server(dir);
  });
  after(async () => {
    await app.close();
    rmSync(join(dir, "..", "secret-beside.txt"), { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test("/ is index.html, never cached, with the security headers", async () => {
    const res = await app.inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, INDEX);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-cache");
    for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) {
      assert.equal(res.headers[name], value, name);
    }
    assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
  });

  test("a console route (client-side routing) is index.html, without the API's token", async () => {
    for (const url of ["/provider/tenants", "/company/acme/schedule?x=1", "/me/voicemail", "/login"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
    }
  });

  test("hashed assets are cached for long, with their content type", async () => {
    const js = await app.inject({ method: "GET", url: "/assets/index-AbC123xy.js" });
    assert.equal(js.statusCode, 200);
    assert.equal(js.body, "console.log(1)");
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(js.headers["x-content-type-options"], "nosniff");
    const css = await app.inject({ method: "GET", url: "/assets/index-AbC123xy.css" });
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    const txt = await app.inject({ method: "GET", url: "/robots.txt" });
    assert.equal(txt.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(txt.headers["cache-control"], "no-cache");
  });

  test("a missing asset is 404, not the page", async () => {
    const res = await app.inject({ method: "GET", url: "/assets/index-Old00000.js" });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /reload/);
  });

  test("HEAD answers like GET", async () => {
    const res = await app.inject({ method: "HEAD", url: "/assets/index-AbC123xy.js" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/javascript; charset=utf-8");
  });

  test("the API, /health, /metrics and /sip stay the API's (its token is asked)", async () => {
    assert.equal((await app.inject({ method: "GET", url: "/api/v1/tenants" })).statusCode, 401);
    assert.equal((await app.inject({ method: "GET", url: "/api/nothing" })).statusCode, 401);
    assert.equal((await app.inject({ method: "GET", url: "/metrics" })).statusCode, 401);
    assert.equal((await app.inject({ method: "GET", url: "/sip" })).statusCode, 401);
    assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 401);
    const ok = await app.inject({
      method: "GET",
      url: "/api/v1/tenants",
      headers: { authorization: "Bearer t" },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers["content-security-policy"], undefined);
  });

  test("other methods are not the console's", async () => {
    const res = await app.inject({ method: "POST", url: "/provider/tenants", payload: {} });
    assert.equal(res.statusCode, 401);
  });

  test("a path that leaves the directory gets the page, never the file", async () => {
    for (const url of [
      "/../secret-beside.txt",
      "/assets/..%2f..%2fsecret-beside.txt",
      "/%2e%2e/secret-beside.txt",
    ]) {
      const res = await app.inject({ method: "GET", url });
      assert.notEqual(res.body, "no", url);
    }
    // A malformed escape: Fastify refuses it before any hook.
    const bad = await app.inject({ method: "GET", url: "/%E0%A4%A" });
    assert.equal(bad.statusCode, 400);
  });

  test("fileForPath stays inside the directory", () => {
    assert.equal(fileForPath("/srv/c", "/a/b.js"), "/srv/c/a/b.js");
    assert.equal(fileForPath("/srv/c", "/../x"), undefined);
    assert.equal(fileForPath("/srv/c", "/a/../../c2/x"), undefined);
    assert.equal(fileForPath("/srv/c", "/%2e%2e/%2e%2e/x"), undefined);
    assert.equal(fileForPath("/srv/c", "/a/../b.js"), "/srv/c/b.js");
    assert.equal(fileForPath("/srv/c", "/a%00.js"), undefined);
    assert.equal(fileForPath("/srv/c", "/..\\x"), undefined);
    assert.equal(fileForPath("/srv/c", "/%zz"), undefined);
  });

  test("isConsolePath leaves the API's paths alone", () => {
    assert.equal(isConsolePath("/"), true);
    assert.equal(isConsolePath("/apis"), true);
    assert.equal(isConsolePath("/healthy"), true);
    assert.equal(isConsolePath("/api"), false);
    assert.equal(isConsolePath("/api/v1/session"), false);
    assert.equal(isConsolePath("/metrics"), false);
    assert.equal(isConsolePath("/sip"), false);
    assert.equal(isConsolePath("/health"), false);
  });
});

describe("a console not built", () => {
  test("/ answers 503 saying how to build it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vpbx-console-empty-"));
    const app = server(dir);
    try {
      const res = await app.inject({ method: "GET", url: "/" });
      assert.equal(res.statusCode, 503);
      assert.equal(res.body, CONSOLE_NOT_BUILT);
      assert.match(res.body, /npm run build:console/);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
      const api = await app.inject({ method: "GET", url: "/api/v1/tenants" });
      assert.equal(api.statusCode, 401);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
