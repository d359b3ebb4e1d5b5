// A company's API tokens, for its integrations (a CRM that sets forwarding,
// a script that reads the call history): made and revoked by the provider or
// an administrator of the company (route scope "tenant"), scoped to the
// whole company (admin) or to one extension (user). The token itself is in
// the 201 answer only; the list shows ids, scopes and last use.
import type { ApiToken, Store, Tenant } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import type { Route } from "../route.ts";
import * as S from "../schemas.ts";
import { ValidationError } from "../validation.ts";
import { hashTokenSecret, newApiToken } from "./api-tokens.ts";
import { actorOf, principalOf } from "./guard.ts";

export interface TokenRouteDeps {
  store: Store;
  tenantOr404(name: string): Promise<Tenant>;
}

export function apiTokenView(t: ApiToken) {
  return {
    id: t.id,
    role: t.role,
    extension: t.extension ?? null,
    description: t.description,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt === undefined ? null : new Date(t.lastUsedAt).toISOString(),
  };
}

export function tokenRoutes(deps: TokenRouteDeps): Route[] {
  const { store, tenantOr404 } = deps;
  const base = "/api/v1/tenants/:name/tokens";
  return [
    {
      method: "GET",
      url: base,
      access: "tenant",
      summary: "The company's API tokens (never their secrets), oldest first",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.ApiToken) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return (await store.apiTokens.list(tenant.name)).map(apiTokenView);
      },
    },
    {
      method: "POST",
      url: base,
      access: "tenant",
      summary:
        "Make an API token for the company (role admin) or one extension (role user, with extension); the token is in this answer only; audited",
      schema: { params: S.params.tenant, body: S.NewApiToken, response: { 201: S.CreatedApiToken } },
      errors: [404],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        const body = req.body as { role?: "admin" | "user"; extension?: string; description?: string };
        const role = body.role ?? "admin";
        if (role === "user" && body.extension === undefined) {
          throw new ValidationError(["a user token needs its extension"]);
        }
        if (role === "admin" && body.extension !== undefined) {
          throw new ValidationError(["an admin token is for the whole tenant: give no extension"]);
        }
        if (body.extension !== undefined && !(await store.extensions.get(tenant.name, body.extension))) {
          throw new ApiError(
            404,
            "not_found",
            `extension ${body.extension} does not exist in tenant ${tenant.name}`,
          );
        }
        const p = principalOf(req);
        const fresh = newApiToken();
        const t = await store.apiTokens.create(
          {
            id: fresh.id,
            secretHash: hashTokenSecret(fresh.secret),
            role,
            tenant: tenant.name,
            ...(body.extension === undefined ? {} : { extension: body.extension }),
            description: body.description ?? "",
            createdBy: p.username ?? p.actor.id,
          },
          actorOf(req),
        );
        req.log.info({ tenant: tenant.name, token: t.id, role, by: actorOf(req) }, "API token created");
        return reply.code(201).send({ ...apiTokenView(t), token: fresh.token });
      },
    },
    {
      method: "DELETE",
      url: `${base}/:id`,
      access: "tenant",
      summary: "Revoke an API token: it stops working at once; audited",
      schema: { params: S.params.token },
      errors: [404],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        if (!(await store.apiTokens.delete(tenant.name, req.params.id, actorOf(req)))) {
          throw new ApiError(
            404,
            "not_found",
            `API token ${req.params.id} does not exist in tenant ${tenant.name}`,
          );
        }
        req.log.info({ tenant: tenant.name, token: req.params.id, by: actorOf(req) }, "API token revoked");
        return reply.code(204).send();
      },
    },
  ];
}
