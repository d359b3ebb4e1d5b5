// The provider's list of companies, and the form that creates one.
import { useState } from "preact/hooks";
import { api } from "../../api.ts";
import { useTenants } from "../../components/tenant-picker.tsx";
import {
  Badge,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  SelectField,
  Table,
  TextField,
} from "../../components/ui.tsx";
import { useResource } from "../../hooks.ts";
import { LANGUAGE_NAMES, problemText, useI18n } from "../../i18n/index.ts";
import { hasProblems, type Problems, validateNewTenant } from "../../lib/validate.ts";
import { Link, navigate } from "../../router.tsx";
import { FEATURES, LANGUAGES, type Tenant, type Trunk } from "../../types.ts";

export function TenantsPage() {
  const { t, fmt } = useI18n();
  const tenants = useTenants();
  return (
    <>
      <PageTitle sub={t("tenants.intro")}>{t("tenants.title")}</PageTitle>
      <Section title={t("tenants.list")}>
        <Loading when={tenants.loading && !tenants.data} />
        <ErrorText error={tenants.error} />
        {tenants.data && (
          <Table caption={t("tenants.list")} empty={tenants.data.length === 0} emptyText={t("tenants.empty")}>
            <thead>
              <tr>
                <th scope="col">{t("tenants.name")}</th>
                <th scope="col">{t("tenants.domain")}</th>
                <th scope="col">{t("tenants.language")}</th>
                <th scope="col">{t("tenants.timezone")}</th>
                <th scope="col">{t("tenants.features")}</th>
                <th scope="col">{t("common.created")}</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data.map((x: Tenant) => (
                <tr key={x.name}>
                  <th scope="row">
                    <Link href={`/provider/tenants/${encodeURIComponent(x.name)}`}>{x.name}</Link>
                  </th>
                  <td>{x.domain}</td>
                  <td>{LANGUAGE_NAMES[x.language]}</td>
                  <td>{x.timezone}</td>
                  <td>
                    {FEATURES.filter((f) => x.features[f]).map((f) => (
                      <Badge key={f} kind="ok">
                        {t(`feature.${f}`)}
                      </Badge>
                    ))}
                  </td>
                  <td>{fmt.date(x.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Section>
      <NewTenant onCreated={(x) => navigate(`/provider/tenants/${encodeURIComponent(x.name)}`)} />
    </>
  );
}

function NewTenant({ onCreated }: { onCreated(t: Tenant): void }) {
  const { t } = useI18n();
  const trunks = useResource(() => api.get<Trunk[]>("/api/v1/trunks"), []);
  const [f, setF] = useState({
    name: "",
    domain: "",
    language: "fr",
    timezone: "Europe/Zurich",
    country: "CH",
    trunk: "",
  });
  const [problems, setProblems] = useState<Problems>({});
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const check = () => validateNewTenant(f);
  return (
    <Section title={t("tenants.create")}>
      <Form
        label={t("tenants.create")}
        submitLabel={t("tenants.createButton")}
        invalid={hasProblems(check())}
        onInvalid={() => setProblems(check())}
        onSubmit={async () => {
          setProblems({});
          const body: Record<string, string> = { name: f.name, domain: f.domain, language: f.language };
          if (f.timezone) body.timezone = f.timezone;
          if (f.country) body.country = f.country;
          if (f.trunk) body.trunk = f.trunk;
          onCreated(await api.post<Tenant>("/api/v1/tenants", body));
        }}
      >
        <div class="grid">
          <TextField
            label={t("tenants.name")}
            hint={t("tenants.nameHint")}
            value={f.name}
            onValue={set("name")}
            error={problemText(t, problems.name)}
            required
          />
          <TextField
            label={t("tenants.domain")}
            hint={t("tenants.domainHint")}
            value={f.domain}
            onValue={set("domain")}
            error={problemText(t, problems.domain)}
            required
          />
          <SelectField
            label={t("tenants.language")}
            value={f.language}
            onValue={set("language")}
            options={LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] }))}
          />
          <TextField
            label={t("tenants.timezone")}
            value={f.timezone}
            onValue={set("timezone")}
            error={problemText(t, problems.timezone)}
          />
          <TextField
            label={t("tenants.country")}
            value={f.country}
            onValue={(v) => set("country")(v.toUpperCase())}
            error={problemText(t, problems.country)}
            maxLength={2}
          />
          <SelectField
            label={t("tenants.trunk")}
            value={f.trunk}
            onValue={set("trunk")}
            options={[
              { value: "", label: t("tenants.defaultTrunk") },
              ...(trunks.data ?? []).map((x) => ({ value: x.name, label: x.name })),
            ]}
          />
        </div>
      </Form>
    </Section>
  );
}
