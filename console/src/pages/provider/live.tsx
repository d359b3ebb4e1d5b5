// Registrations and calls in progress, live: the provider picks a company
// (or sees every company's calls); notices of the events stream refetch.
import { api, tenantPath } from "../../api.ts";
import { CallsTable, RegistrationsTable } from "../../components/live-tables.tsx";
import { TenantPicker } from "../../components/tenant-picker.tsx";
import { ErrorText, PageTitle, Section } from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { useI18n } from "../../i18n/index.ts";
import type { Call, Registration } from "../../types.ts";

export function LivePage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const regs = useResource(
    () => (tenant ? api.get<Registration[]>(`${tenantPath(tenant)}/registrations`) : Promise.resolve([])),
    [tenant],
  );
  const calls = useResource(() => api.get<Call[]>("/api/v1/calls"), []);
  useLive(["registrations"], () => regs.reload());
  useLive(["calls"], () => calls.reload());
  const shown = (calls.data ?? []).filter((c) => !tenant || c.tenant === tenant);
  return (
    <>
      <PageTitle sub={t("live.intro")}>{t("live.title")}</PageTitle>
      <TenantPicker value={tenant} allowAll />
      <Section
        title={t("live.calls")}
        actions={
          <button type="button" onClick={() => calls.reload()}>
            {t("common.refresh")}
          </button>
        }
      >
        <ErrorText error={calls.error} />
        <CallsTable rows={shown} caption={t("live.calls")} showTenant={!tenant} />
      </Section>
      <Section title={t("live.registrations")}>
        {tenant ? (
          <>
            <ErrorText error={regs.error} />
            <RegistrationsTable rows={regs.data ?? []} caption={t("live.registrations")} />
          </>
        ) : (
          <p class="muted">{t("live.pickTenant")}</p>
        )}
      </Section>
    </>
  );
}
