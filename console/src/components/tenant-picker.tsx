// The provider's choice of a company for pages that show one at a time
// (live registrations and calls, the audit log): kept in ?tenant= so that
// a reload or a link keeps it.
import { api } from "../api.ts";
import { useResource } from "../hooks.ts";
import { useI18n } from "../i18n/index.ts";
import { navigate, useLocation } from "../router.tsx";
import type { Tenant } from "../types.ts";
import { ErrorText, SelectField } from "./ui.tsx";

export function useTenants() {
  return useResource(() => api.get<Tenant[]>("/api/v1/tenants"), []);
}

export function TenantPicker({ value, allowAll }: { value: string; allowAll?: boolean }) {
  const { t } = useI18n();
  const loc = useLocation();
  const tenants = useTenants();
  const options = [
    ...(allowAll || value === ""
      ? [{ value: "", label: allowAll ? t("tenantPicker.all") : t("tenantPicker.choose") }]
      : []),
    ...(tenants.data ?? []).map((x) => ({ value: x.name, label: `${x.name} (${x.domain})` })),
  ];
  return (
    <div class="picker">
      <SelectField
        label={t("tenantPicker.label")}
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
