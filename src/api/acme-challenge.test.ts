// HTTP-01 (RFC 8555 §8.3): the key authorization of a token being validated,
// as the body, without any credential; 404 for any other token; nothing
// else of the server changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { AcmeChallenges } from "../util/acme-challenges.ts";
import { addAcmeChallenge } from "./acme-challenge.ts";

async function server() {
  const challenges = new AcmeChallenges();
  const app = Fastify();
  addAcmeChallenge(app, challenges);
  // What comes after (the console's hook answers every GET outside the API) never sees the path.
  app.addHook("onRequest", async (_req, reply) => {
    reply.code(200).send("the console's page");
    return reply;
  });
  await app.ready();
  return { app, challenges };
}

test("a token being validated is answered with its key authorization, no credential asked", async () => {
  const { app, challenges } = await server();
  challenges.add(
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3",
  );
  const res = await app.inject({
    method: "GET",
    url: "/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3");
  assert.match(String(res.headers["content-type"]), /^text\/plain/);
  assert.equal(res.headers["cache-control"], "no-store");
  const head = await app.inject({
    method: "HEAD",
    url: "/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
  });
  assert.equal(head.statusCode, 200);
  await app.close();
});

test("an unknown, removed or malformed token is 404; other paths and methods are left alone", async () => {
  const { app, challenges } = await server();
  challenges.add("tok-1", "tok-1.thumb");
  challenges.remove("tok-1");
  for (const url of [
    "/.well-known/acme-challenge/tok-1",
    "/.well-known/acme-challenge/other",
    "/.well-known/acme-challenge/",
    "/.well-known/acme-challenge/..%2f..%2fetc%2fpasswd",
    "/.well-known/acme-challenge/a/b",
  ]) {
    const res = await app.inject({ method: "GET", url });
    assert.equal(res.statusCode, 404, url);
    assert.doesNotMatch(res.body, /console/, url);
  }
  assert.equal((await app.inject({ method: "GET", url: "/.well-known/other" })).body, "the console's page");
  assert.equal(
    (await app.inject({ method: "POST", url: "/.well-known/acme-challenge/tok-1" })).body,
    "the console's page",
  );
  await app.close();
});

test("the store refuses a token that is not base64url (RFC 8555 §8.1)", () => {
  const challenges = new AcmeChallenges();
  assert.throws(() => challenges.add("../etc", "x"), /not an ACME challenge token/);
  assert.equal(challenges.size, 0);
});
