import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { SqlAuthBlocks } from "./sql-auth-blocks.ts";
import { SqlSecrets } from "./sql-secrets.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

for (const engine of TEST_ENGINES) {
  describe(`shared secrets and authentication blocks on ${engine.name}`, () => {
    let t: TestContext;
    beforeEach(async () => {
      t = await engine.open();
    });
    afterEach(() => t.close());

    test("the first secret written is the one every node keeps", async () => {
      const a = new SqlSecrets(t.ctx);
      const b = new SqlSecrets(t.ctx);
      assert.equal(await a.get("nonce"), undefined);
      assert.equal(await a.setIfAbsent("nonce", "first"), "first");
      assert.equal(await b.setIfAbsent("nonce", "second"), "first");
      assert.equal(await b.get("nonce"), "first");
    });

    test("blocks are kept, replaced, listed while in force, purged", async () => {
      const blocks = new SqlAuthBlocks(t.ctx);
      const day = 86_400_000;
      const now = Date.UTC(2026, 10, 30);
      await blocks.put({ subject: "203.0.113.5", offences: 1, until: now + 600_000, lastAt: now });
      await blocks.put({ subject: "2001:db8:1:2::/64", offences: 3, until: now + 7 * day, lastAt: now });
      await blocks.put({ subject: "203.0.113.5", offences: 2, until: now + 3_600_000, lastAt: now + 1000 });
      assert.deepEqual(await blocks.get("203.0.113.5"), {
        subject: "203.0.113.5",
        offences: 2,
        until: now + 3_600_000,
        lastAt: now + 1000,
      });
      assert.deepEqual(
        (await blocks.active(now + 2 * 3_600_000)).map((b) => b.subject),
        ["2001:db8:1:2::/64"],
      );
      assert.equal(await blocks.purge(now + 500), 1);
      await blocks.remove("203.0.113.5");
      assert.equal(await blocks.get("203.0.113.5"), undefined);
    });
  });
}
