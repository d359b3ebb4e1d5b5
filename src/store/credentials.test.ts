import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { makeCredentials } from "./credentials.ts";

// RFC 7616 §3.9.1: the example's published responses are built on HA1; if
// our HA1 were wrong, these responses would not come out.
test("HA1 values reproduce the responses of RFC 7616 §3.9.1", () => {
  const c = makeCredentials("Mufasa", "http-auth@example.org", "Circle of Life");
  assert.equal(c.realm, "http-auth@example.org");
  const nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  const response = (alg: string, ha1: string) => {
    const h = (s: string) => createHash(alg).update(s).digest("hex");
    return h([ha1, nonce, "00000001", cnonce, "auth", h("GET:/dir/index.html")].join(":"));
  };
  assert.equal(response("md5", c.ha1Md5), "8ca523f5e9506fed4657c9700eebdbec");
  assert.equal(
    response("sha256", c.ha1Sha256),
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
});

test("HA1 is the hex hash of user:realm:password", () => {
  const c = makeCredentials("101", "acme.test", "s3cret-pass");
  // printf '101:acme.test:s3cret-pass' | md5sum / sha256sum
  assert.equal(c.ha1Md5, "c8f6dacb3d42b2cdeefa4363e0e4b59d");
  assert.equal(c.ha1Sha256, "3ff4fb4ed313af628f816dbbdb5ff1478142abd72d0eca7c4b0942a283c19120");
});

test("the realm changes the hashes", () => {
  const a = makeCredentials("101", "acme.test", "s3cret-pass");
  const b = makeCredentials("101", "other.test", "s3cret-pass");
  assert.notEqual(a.ha1Md5, b.ha1Md5);
  assert.notEqual(a.ha1Sha256, b.ha1Sha256);
});
