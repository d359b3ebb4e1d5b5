// The provider's portal: tenants, trunks, live registrations and calls,
// the audit log, metrics, and the console's users with the API tokens.
import type { ComponentChildren } from "preact";
import type { I18n } from "../../i18n/index.ts";
import { type Location, matchPath, type NavItem } from "../../router.tsx";
import type { Session } from "../../types.ts";
import { UsersPage } from "../users.tsx";
import { AuditPage } from "./audit.tsx";
import { LivePage } from "./live.tsx";
import { MetricsPage } from "./metrics.tsx";
import { TenantPage } from "./tenant.tsx";
import { TenantsPage } from "./tenants.tsx";
import { TrunksPage } from "./trunks.tsx";

export function providerNav(t: I18n["t"]): NavItem[] {
  return [
    { href: "/provider/tenants", label: t("nav.tenants") },
    { href: "/provider/trunks", label: t("nav.trunks") },
    { href: "/provider/live", label: t("nav.live") },
    { href: "/provider/audit", label: t("nav.audit") },
    { href: "/provider/metrics", label: t("nav.metrics") },
    { href: "/provider/users", label: t("nav.users") },
  ];
}

export function providerPage(loc: Location, session: Session): ComponentChildren | undefined {
  const p = loc.path;
  if (p === "/provider/tenants") return <TenantsPage />;
  const tenant = matchPath("/provider/tenants/:name", p);
  if (tenant) return <TenantPage name={tenant.name} key={tenant.name} />;
  if (p === "/provider/trunks") return <TrunksPage />;
  if (p === "/provider/live") return <LivePage tenant={loc.query.get("tenant") ?? ""} />;
  if (p === "/provider/audit") return <AuditPage tenant={loc.query.get("tenant") ?? ""} />;
  if (p === "/provider/metrics") return <MetricsPage />;
  if (p === "/provider/users") return <UsersPage session={session} />;
  return undefined;
}
