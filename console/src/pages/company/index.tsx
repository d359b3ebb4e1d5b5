// A company's pages: what its administrator (or the provider, for any
// company) manages. Every path names the company: /company/<name>/...
import type { ComponentChildren } from "preact";
import { seg } from "../../api.ts";
import type { I18n } from "../../i18n/index.ts";
import { type Location, matchPath, type NavItem } from "../../router.tsx";
import type { Session, Tenant } from "../../types.ts";
import { AuditPage } from "../provider/audit.tsx";
import { UsersPage } from "../users.tsx";
import { AnnouncementsPage } from "./announcements.tsx";
import { ExtensionPage } from "./extension.tsx";
import { ExtensionsPage } from "./extensions.tsx";
import { HistoryPage } from "./history.tsx";
import { RingGroupsPage } from "./ring-groups.tsx";
import { SchedulePage } from "./schedule.tsx";
import { CompanySettingsPage } from "./settings.tsx";
import { MailboxPage, VoicemailPage } from "./voicemail.tsx";

export function companyNav(t: I18n["t"], tenant: string, _info?: Tenant): NavItem[] {
  const base = `/company/${seg(tenant)}`;
  return [
    { href: `${base}/extensions`, label: t("nav.extensions") },
    { href: `${base}/ring-groups`, label: t("nav.ringGroups") },
    { href: `${base}/schedule`, label: t("nav.schedule") },
    { href: `${base}/announcements`, label: t("nav.announcements") },
    { href: `${base}/voicemail`, label: t("nav.voicemail") },
    { href: `${base}/history`, label: t("nav.history") },
    { href: `${base}/users`, label: t("nav.usersTokens") },
    { href: `${base}/audit`, label: t("nav.audit") },
    { href: `${base}/settings`, label: t("nav.settings") },
  ];
}

type Params = Record<string, string>;

const ROUTES: [string, (r: Params, session: Session) => ComponentChildren][] = [
  ["/extensions", (r) => <ExtensionsPage tenant={r.tenant} key={r.tenant} />],
  [
    "/extensions/:number",
    (r) => <ExtensionPage tenant={r.tenant} number={r.number} key={`${r.tenant}/${r.number}`} />,
  ],
  ["/ring-groups", (r) => <RingGroupsPage tenant={r.tenant} key={r.tenant} />],
  ["/schedule", (r) => <SchedulePage tenant={r.tenant} key={r.tenant} />],
  ["/announcements", (r) => <AnnouncementsPage tenant={r.tenant} key={r.tenant} />],
  ["/voicemail", (r) => <VoicemailPage tenant={r.tenant} key={r.tenant} />],
  [
    "/voicemail/:number",
    (r) => <MailboxPage tenant={r.tenant} number={r.number} key={`${r.tenant}/${r.number}`} />,
  ],
  ["/history", (r) => <HistoryPage tenant={r.tenant} key={r.tenant} />],
  ["/users", (r, session) => <UsersPage session={session} tenant={r.tenant} key={r.tenant} />],
  ["/audit", (r) => <AuditPage tenant={r.tenant} fixed key={r.tenant} />],
  ["/settings", (r) => <CompanySettingsPage tenant={r.tenant} key={r.tenant} />],
];

export function companyPage(loc: Location, session: Session): ComponentChildren | undefined {
  for (const [pattern, render] of ROUTES) {
    const r = matchPath(`/company/:tenant${pattern}`, loc.path);
    if (r) return render(r, session);
  }
  return undefined;
}
