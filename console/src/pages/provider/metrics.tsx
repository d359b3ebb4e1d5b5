// A few figures from the API (companies, trunks registered, phones
// registered, calls in progress) and the way to the Prometheus metrics.
import { api, tenantPath } from "../../api.ts";
import { ErrorText, Loading, PageTitle, Section } from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { useI18n } from "../../i18n/index.ts";
import type { Call, Registration, Tenant, Trunk } from "../../types.ts";

interface Figures {
  tenants: number;
  trunks: number;
  trunksRegistered: number;
  registrations: number;
  calls: number;
  answered: number;
}

async function figures(): Promise<Figures> {
  const [tenants, trunks, calls] = await Promise.all([
    api.get<Tenant[]>("/api/v1/tenants"),
    api.get<Trunk[]>("/api/v1/trunks"),
    api.get<Call[]>("/api/v1/calls"),
  ]);
  const regs = await Promise.all(
    tenants.map((x) => api.get<Registration[]>(`${tenantPath(x.name)}/registrations`)),
  );
  return {
    tenants: tenants.length,
    trunks: trunks.length,
    trunksRegistered: trunks.filter((x) => x.registration?.state === "registered").length,
    registrations: regs.reduce((n, r) => n + r.length, 0),
    calls: calls.length,
    answered: calls.filter((c) => c.state === "answered").length,
  };
}

export function MetricsPage() {
  const { t, fmt } = useI18n();
  const data = useResource(figures, []);
  useLive(["calls", "registrations", "trunks"], () => data.reload());
  const f = data.data;
  const items: [string, number | undefined][] = [
    [t("metrics.tenants"), f?.tenants],
    [t("metrics.trunksRegistered", { total: f?.trunks ?? 0 }), f?.trunksRegistered],
    [t("metrics.registrations"), f?.registrations],
    [t("metrics.calls"), f?.calls],
    [t("metrics.answered"), f?.answered],
  ];
  return (
    <>
      <PageTitle sub={t("metrics.intro")}>{t("metrics.title")}</PageTitle>
      <Section
        title={t("metrics.now")}
        actions={
          <button type="button" onClick={() => data.reload()}>
            {t("common.refresh")}
          </button>
        }
      >
        <Loading when={data.loading && !f} />
        <ErrorText error={data.error} />
        <dl class="figures">
          {items.map(([label, value]) => (
            <div key={label} class="figure">
              <dt>{label}</dt>
              <dd>{value === undefined ? "…" : fmt.number(value)}</dd>
            </div>
          ))}
        </dl>
      </Section>
      <Section title={t("metrics.prometheus")}>
        <p>{t("metrics.prometheusText")}</p>
        <p>
          <a href="/metrics" target="_blank" rel="noopener">
            /metrics
          </a>
        </p>
        <pre class="code">
          {`scrape_configs:
  - job_name: vpbx
    authorization: { credentials: <VPBX_METRICS_TOKEN> }
    static_configs: [{ targets: ["${location.host}"] }]`}
        </pre>
      </Section>
    </>
  );
}
