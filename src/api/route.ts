// One route of the API as the server registers it and the OpenAPI document
// describes it (openapi.ts): the same object serves both.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Access } from "./auth/principal.ts";
import type { RouteDoc } from "./openapi.ts";

export type Params = Record<string, string>;
export type Query = Record<string, string | undefined>;

export interface Route extends RouteDoc {
  /**
   * Who may use it (auth/principal.ts): checked by the guard (auth/guard.ts)
   * before the handler runs, against the URL's `:name` (tenant) and `:number`
   * (extension); published in the OpenAPI document.
   */
  access: Access;
  handler(
    req: FastifyRequest<{ Params: Params; Body: unknown; Querystring: Query }>,
    reply: FastifyReply,
  ): Promise<unknown>;
  /** This route's own body limit in bytes (an audio upload), instead of the server's. */
  bodyLimit?: number;
}
