// The company's call history.
import { tenantPath } from "../../api.ts";
import { History } from "../../components/history.tsx";
import { PageTitle } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.ts";

export function HistoryPage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const base = `${tenantPath(tenant)}/calls/history`;
  return (
    <>
      <PageTitle sub={t("history.intro")}>{t("history.pageTitle")}</PageTitle>
      <History path={base} csvPath={`${base}.csv`} withExtension />
    </>
  );
}
