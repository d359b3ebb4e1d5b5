import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ApiToken, Store } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { hashTokenSecret, looksLikeApiToken, newApiToken, resolveApiToken } from "./api-tokens.ts";

describe("API tokens", () => {
  test("vpbx_<12 letters or digits>_<43 base64url>, fresh each time", () => {
    const a = newApiToken();
    assert.match(a.token, /^vpbx_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(a.token, `vpbx_${a.id}_${a.secret}`);
    assert.ok(looksLikeApiToken(a.token));
    assert.ok(!looksLikeApiToken("some-admin-token"));
    const ids = new Set(Array.from({ length: 200 }, () => newApiToken().id));
    assert.equal(ids.size, 200);
  });

  test("resolve: the right secret only, its use noted once a minute", async () => {
    const { id, secret, token } = newApiToken();
    const row: ApiToken = {
      id,
      secretHash: hashTokenSecret(secret),
      role: "admin",
      tenant: "acme",
      description: "",
      createdBy: "admin",
      createdAt: "",
    };
    const touched: number[] = [];
    const store = {
      apiTokens: {
        get: async (asked: string) => (asked === id ? { ...row } : undefined),
        touch: async (_id: string, at: number) => {
          touched.push(at);
          row.lastUsedAt = at;
        },
      },
    } as unknown as Pick<Store, "apiTokens">;
    const clock = new FakeClock();
    assert.equal((await resolveApiToken(store, clock, token))?.tenant, "acme");
    await resolveApiToken(store, clock, token);
    assert.equal(touched.length, 1);
    clock.tick(60_000);
    await resolveApiToken(store, clock, token);
    assert.equal(touched.length, 2);
    const other = newApiToken();
    assert.equal(
      await resolveApiToken(store, clock, `vpbx_${id}_${other.secret}`),
      undefined,
      "wrong secret",
    );
    assert.equal(await resolveApiToken(store, clock, other.token), undefined, "unknown id");
    assert.equal(await resolveApiToken(store, clock, `vpbx_${id}_short`), undefined, "malformed");
  });
});
