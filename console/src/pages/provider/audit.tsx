// The audit logs: who changed what, newest first. A company's page shows its
// own log (forwarding, features, policy, mailboxes, the schedule, users and
// tokens); the provider's page shows the provider's own log (trunks,
// companies created and deleted, provider users) or, picked, a company's.
import { useState } from "preact/hooks";
import { api, query, tenantPath } from "../../api.ts";
import { useTenants } from "../../components/tenant-picker.tsx";
import { ErrorText, Loading, PageTitle, Section, SelectField, Table } from "../../components/ui.tsx";
import { useResource } from "../../hooks.ts";
import { useI18n } from "../../i18n/index.ts";
import { navigate, useLocation } from "../../router.tsx";
import type { AuditEvent } from "../../types.ts";

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/**
 * Whose log the provider reads: its own first (the default, ?tenant= absent),
 * then each company; kept in ?tenant= so that a reload or a link keeps it.
 */
function LogPicker({ value }: { value: string }) {
  const { t } = useI18n();
  const loc = useLocation();
  const tenants = useTenants();
  const options = [
    { value: "", label: t("audit.provider") },
    ...(tenants.data ?? []).map((x) => ({ value: x.name, label: `${x.name} (${x.domain})` })),
  ];
  return (
    <div class="picker">
      <SelectField
        label={t("audit.log")}
        value={value}
        options={options}
        onValue={(v) => {
          const q = new URLSearchParams(loc.query);
          if (v) q.set("tenant", v);
          else q.delete("tenant");
          const s = q.toString();
          navigate(`${loc.path}${s ? `?${s}` : ""}`, { replace: true });
        }}
      />
      <ErrorText error={tenants.error} />
    </div>
  );
}

/**
 * `fixed`: a company's page, its own log. Otherwise the provider's page:
 * `tenant` "" is the provider's own log, a name that company's.
 */
export function AuditPage({ tenant, fixed }: { tenant: string; fixed?: boolean }) {
  const { t, fmt } = useI18n();
  const [limit, setLimit] = useState("100");
  const events = useResource(
    () =>
      tenant
        ? api.get<AuditEvent[]>(`${tenantPath(tenant)}/audit${query({ limit })}`)
        : fixed
          ? Promise.resolve([])
          : api.get<AuditEvent[]>(`/api/v1/audit${query({ limit })}`),
    [tenant, fixed, limit],
  );
  const title = tenant ? t("audit.events", { tenant }) : t("audit.providerEvents");
  return (
    <>
      <PageTitle sub={fixed ? t("audit.intro") : t("audit.providerIntro")}>{t("audit.title")}</PageTitle>
      <div class="toolbar">
        {!fixed && <LogPicker value={tenant} />}
        <SelectField
          label={t("audit.limit")}
          value={limit}
          onValue={setLimit}
          options={["50", "100", "500", "1000"].map((v) => ({ value: v, label: v }))}
        />
      </div>
      <Section title={title}>
        <Loading when={events.loading && !events.data} />
        <ErrorText error={events.error} />
        <Table caption={title} empty={(events.data ?? []).length === 0}>
          <thead>
            <tr>
              <th scope="col">{t("audit.at")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.subject")}</th>
              <th scope="col">{t("audit.change")}</th>
            </tr>
          </thead>
          <tbody>
            {(events.data ?? []).map((e, i) => (
              <tr key={`${e.at}-${i}`}>
                <td>{fmt.dateTime(e.at)}</td>
                <td>
                  {t(`actor.${e.actor.kind}` as "actor.api")} {e.actor.id}
                  {e.actor.source && <div class="muted small">{e.actor.source}</div>}
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.subject}</td>
                <td class="break">
                  {show(e.old)} → {show(e.new)}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Section>
    </>
  );
}
