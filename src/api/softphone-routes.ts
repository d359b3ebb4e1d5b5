// What the console's softphone needs to register as its extension (issue
// 13): where the SIP WebSocket is, who to be, and the digest secret. The
// secret is the extension's stored MD5 HA1 (RFC 7616 §3.4.2), which JsSIP
// takes instead of a password (its `ha1` and `realm`): the password itself
// is never stored, and the page never learns it.
//
// The HA1 lets whoever holds it register as the extension, as the password
// would: only the extension's user, its company's administrators and the
// provider may read it (access "extension"), and the answer is never cached.
import type { FastifyRequest } from "fastify";
import type { Store, Tenant } from "../store/types.ts";
import { ApiError } from "./errors.ts";
import type { Route } from "./route.ts";
import { type JsonSchema, params } from "./schemas.ts";

export interface SoftphoneRouteDeps {
  store: Pick<Store, "extensions">;
  tenantOr404(name: string): Promise<Tenant>;
  /** SIP over WebSocket is served at /sip on this server (ApiDeps.sipWebSocket). */
  sipWebSocket: boolean;
}

/** Where the API server serves SIP over WebSocket (server.ts SIP_WEBSOCKET_PATH). */
const SIP_PATH = "/sip";

const str = (description: string): JsonSchema => ({ type: "string", description });

export const SoftphoneCredentials: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["wsUrl", "uri", "authorizationUser", "realm", "ha1", "displayName"],
  properties: {
    wsUrl: str(
      "The SIP WebSocket (RFC 7118) on the host the page came from: wss:// when the API is HTTPS, else ws://",
    ),
    uri: str("The extension's SIP URI (sip:<number>@<tenant domain>)"),
    authorizationUser: str("The digest user name: the extension number"),
    realm: str("The digest realm of the extension's credentials"),
    ha1: str("MD5(user:realm:password) as hex: JsSIP's `ha1`, a password equivalent; keep it secret"),
    displayName: str("The extension's display name"),
  },
};

/**
 * The WebSocket URL of this server as the request reached it: the scheme
 * by the connection (HTTPS → wss), the host as the browser named it (Host,
 * RFC 9110 §7.2), so that the page connects back where it came from.
 */
export function webSocketUrl(req: Pick<FastifyRequest, "protocol" | "host">): string {
  const scheme = req.protocol === "https" ? "wss" : "ws";
  return `${scheme}://${req.host}${SIP_PATH}`;
}

export function softphoneRoutes(deps: SoftphoneRouteDeps): Route[] {
  return [
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/webrtc",
      access: "extension",
      summary:
        "What the console's softphone registers with (JsSIP): the SIP WebSocket URL of this host, the extension's URI, its digest user, realm and MD5 HA1 (a password equivalent: the extension's user, its company's administrators and the provider only); 503 when SIP over WebSocket is off",
      schema: { params: params.extension, response: { 200: SoftphoneCredentials } },
      errors: [403, 404, 503],
      async handler(req, reply) {
        const tenant = await deps.tenantOr404(req.params.name);
        const extension = await deps.store.extensions.get(tenant.name, req.params.number);
        if (!extension) {
          throw new ApiError(
            404,
            "not_found",
            `extension ${req.params.number} does not exist in ${tenant.name}`,
          );
        }
        if (!deps.sipWebSocket) {
          throw new ApiError(
            503,
            "unavailable",
            "the softphone needs SIP over WebSocket, which is off on this server (it is served at /sip on the HTTP port when on)",
          );
        }
        // A password equivalent: no cache, no proxy, no back button keeps it (RFC 9111 §5.2.2.5).
        reply.header("cache-control", "no-store");
        return {
          wsUrl: webSocketUrl(req),
          uri: `sip:${extension.number}@${tenant.domain}`,
          authorizationUser: extension.number,
          realm: extension.credentials.realm,
          ha1: extension.credentials.ha1Md5,
          displayName: extension.displayName,
        };
      },
    },
  ];
}
