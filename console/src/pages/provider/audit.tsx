// A company's audit log: who changed what (forwarding, features, policy,
// mailboxes, the schedule, users and tokens), newest first.
import { useState } from "preact/hooks";
import { api, query, tenantPath } from "../../api.ts";
import { TenantPicker } from "../../components/tenant-picker.tsx";
import { ErrorText, Loading, PageTitle, Section, SelectField, Table } from "../../components/ui.tsx";
import { useResource } from "../../hooks.ts";
import { useI18n } from "../../i18n/index.ts";
import type { AuditEvent } from "../../types.ts";

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** The provider picks the company (`fixed` undefined); a company's page shows its own. */
export function AuditPage({ tenant, fixed }: { tenant: string; fixed?: boolean }) {
  const { t, fmt } = useI18n();
  const [limit, setLimit] = useState("100");
  const events = useResource(
    () =>
      tenant ? api.get<AuditEvent[]>(`${tenantPath(tenant)}/audit${query({ limit })}`) : Promise.resolve([]),
    [tenant, limit],
  );
  return (
    <>
      <PageTitle sub={t("audit.intro")}>{t("audit.title")}</PageTitle>
      <div class="toolbar">
        {!fixed && <TenantPicker value={tenant} />}
        <SelectField
          label={t("audit.limit")}
          value={limit}
          onValue={setLimit}
          options={["50", "100", "500", "1000"].map((v) => ({ value: v, label: v }))}
        />
      </div>
      {tenant ? (
        <Section title={t("audit.events", { tenant })}>
          <Loading when={events.loading && !events.data} />
          <ErrorText error={events.error} />
          <Table caption={t("audit.events", { tenant })} empty={(events.data ?? []).length === 0}>
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
      ) : (
        <p class="muted">{t("audit.pickTenant")}</p>
      )}
    </>
  );
}
