// One route of the API as the server registers it and the OpenAPI document
// describes it (openapi.ts): the same object serves both.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RouteDoc } from "./openapi.ts";

export type Params = Record<string, string>;
export type Query = Record<string, string | undefined>;

export interface Route extends RouteDoc {
  handler(
    req: FastifyRequest<{ Params: Params; Body: unknown; Querystring: Query }>,
    reply: FastifyReply,
  ): Promise<unknown>;
  /** This route's own body limit in bytes (an audio upload), instead of the server's. */
  bodyLimit?: number;
}
