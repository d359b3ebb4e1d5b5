// The HTTP-01 challenges in flight (RFC 8555 §8.3): while an ACME CA
// validates our control of a domain, it fetches
// http://<domain>/.well-known/acme-challenge/<token> and expects the key
// authorization of that token as the body. The certificate manager puts a
// token here before it tells the CA to validate and takes it away after;
// the HTTP server (api/server.ts) only reads. Nothing from the network ever
// adds an entry, so the map holds at most one token per name being ordered.

/** Where HTTP-01 tokens are fetched from (RFC 8555 §8.3). */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";

/** RFC 8555 §8.1: a token is base64url (RFC 4648 §5) without padding. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** What the HTTP server needs: the key authorization of a token, if it is ours. */
export interface AcmeChallengeLookup {
  keyAuthorization(token: string): string | undefined;
}

export class AcmeChallenges implements AcmeChallengeLookup {
  private readonly tokens = new Map<string, string>();

  /** Serves `keyAuthorization` for `token` until remove(token). Throws on a token that is not base64url. */
  add(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token))
      throw new Error(`not an ACME challenge token: ${JSON.stringify(token.slice(0, 40))}`);
    this.tokens.set(token, keyAuthorization);
  }

  remove(token: string): void {
    this.tokens.delete(token);
  }

  /** The key authorization to answer with; undefined for a token we did not ask to be validated. */
  keyAuthorization(token: string): string | undefined {
    return TOKEN.test(token) ? this.tokens.get(token) : undefined;
  }

  /** Tokens being served now. */
  get size(): number {
    return this.tokens.size;
  }
}
