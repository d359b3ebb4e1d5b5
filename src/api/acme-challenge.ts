// HTTP-01 answers (RFC 8555 §8.3) on the HTTP server: while an ACME CA
// validates the server's domain, it fetches
// `/.well-known/acme-challenge/<token>` (RFC 8615 well-known URI) and wants
// the token's key authorization as the body. Public by nature (the CA has no
// credentials), outside /api/ so the guard never sees it; answered in an
// onRequest hook put before the console's, which would otherwise answer
// every GET outside the API with its page. The API knows nothing of ACME:
// main.ts gives the lookup (util/acme-challenges.ts) that the certificate
// manager fills.
import type { FastifyInstance } from "fastify";
import { ACME_CHALLENGE_PATH, type AcmeChallengeLookup } from "../util/acme-challenges.ts";

/** Answers GET/HEAD `/.well-known/acme-challenge/<token>`: the key authorization, else 404. */
export function addAcmeChallenge(app: FastifyInstance, lookup: AcmeChallengeLookup): void {
  app.addHook("onRequest", async (req, reply) => {
    if (req.method !== "GET" && req.method !== "HEAD") return;
    const path = req.url.split("?", 1)[0];
    if (!path.startsWith(ACME_CHALLENGE_PATH)) return;
    const answer = lookup.keyAuthorization(path.slice(ACME_CHALLENGE_PATH.length));
    // Never cached: a token is answered only while its validation runs.
    reply.header("cache-control", "no-store").header("content-type", "text/plain; charset=utf-8");
    if (answer === undefined) reply.code(404).send("no such ACME challenge token\n");
    else reply.code(200).send(answer);
    return reply;
  });
}
