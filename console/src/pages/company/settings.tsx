// What a company's administrator may change of the company itself: its
// language (the voice prompts' and the console's), time zone (the schedule's
// and the console's dates), the operator (0 during a voicemail greeting),
// the waiting announcement's interval, and who may dial the company-wide
// codes (*20, *11, *30-*33) with an optional PIN. Its features are the
// provider's to switch: they are shown here.
import { useEffect, useState } from "preact/hooks";
import { api, tenantPath } from "../../api.ts";
import {
  Badge,
  CheckboxField,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  SelectField,
  TextField,
} from "../../components/ui.tsx";
import { useResource } from "../../hooks.ts";
import { LANGUAGE_NAMES, problemText, useI18n } from "../../i18n/index.ts";
import { checkInteger, checkPin, checkTimezone, LIMITS, type Problem } from "../../lib/validate.ts";
import { type Extension, FEATURES, LANGUAGES, type Tenant } from "../../types.ts";

export function CompanySettingsPage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const info = useResource(() => api.get<Tenant>(tenantPath(tenant)), [tenant]);
  const extensions = useResource(() => api.get<Extension[]>(`${tenantPath(tenant)}/extensions`), [tenant]);
  const x = info.data;
  return (
    <>
      <PageTitle sub={x ? `${x.domain}` : undefined}>{t("company.title")}</PageTitle>
      <Loading when={info.loading && !x} />
      <ErrorText error={info.error} />
      {x && (
        <>
          <Section title={t("tenant.features")}>
            <p class="muted">{t("company.featuresIntro")}</p>
            <ul class="plain">
              {FEATURES.map((f) => (
                <li key={f}>
                  {t(`feature.${f}`)}:{" "}
                  <Badge kind={x.features[f] ? "ok" : undefined}>
                    {x.features[f] ? t("common.on") : t("common.off")}
                  </Badge>
                </li>
              ))}
            </ul>
          </Section>
          <Settings tenant={x} extensions={extensions.data ?? []} onChange={info.set} />
        </>
      )}
    </>
  );
}

function Settings({
  tenant,
  extensions,
  onChange,
}: {
  tenant: Tenant;
  extensions: Extension[];
  onChange(t: Tenant): void;
}) {
  const { t } = useI18n();
  const initial = () => ({
    language: tenant.language as string,
    timezone: tenant.timezone,
    operator: tenant.operator ?? "",
    waitingSeconds: String(tenant.waitingSeconds),
    everyone: tenant.companyCodes.extensions === null,
    allowed: tenant.companyCodes.extensions ?? [],
    pin: "",
    removePin: false,
  });
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial()), [tenant]);
  const [shown, setShown] = useState(false);
  const problems: Record<string, Problem | undefined> = {
    timezone: checkTimezone(f.timezone),
    waitingSeconds: checkInteger(f.waitingSeconds, LIMITS.waitingSecondsMin, LIMITS.waitingSecondsMax),
    pin: f.pin === "" ? undefined : checkPin(f.pin),
  };
  const err = (k: string) => (shown ? problemText(t, problems[k]) : undefined);
  return (
    <Section title={t("tenant.settings")}>
      <Form
        label={t("tenant.settings")}
        submitLabel={t("common.save")}
        done={t("common.saved")}
        invalid={Object.values(problems).some(Boolean)}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          const companyCodes: Record<string, unknown> = { extensions: f.everyone ? null : f.allowed };
          if (f.pin) companyCodes.pin = f.pin;
          else if (f.removePin) companyCodes.pin = null;
          onChange(
            await api.patch<Tenant>(tenantPath(tenant.name), {
              language: f.language,
              timezone: f.timezone,
              operator: f.operator === "" ? null : f.operator,
              waitingSeconds: Number(f.waitingSeconds),
              companyCodes,
            }),
          );
        }}
      >
        <div class="grid">
          <SelectField
            label={t("tenants.language")}
            hint={t("company.languageHint")}
            value={f.language}
            onValue={(v) => setF({ ...f, language: v })}
            options={LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] }))}
          />
          <TextField
            label={t("tenants.timezone")}
            value={f.timezone}
            onValue={(v) => setF({ ...f, timezone: v })}
            error={err("timezone")}
          />
          <SelectField
            label={t("company.operator")}
            hint={t("company.operatorHint")}
            value={f.operator}
            onValue={(v) => setF({ ...f, operator: v })}
            options={[
              { value: "", label: t("company.noOperator") },
              ...extensions.map((e) => ({ value: e.number, label: `${e.number} · ${e.displayName}` })),
            ]}
          />
          <TextField
            label={t("tenant.waitingSeconds")}
            hint={t("tenant.waitingSecondsHint")}
            type="number"
            inputMode="numeric"
            value={f.waitingSeconds}
            onValue={(v) => setF({ ...f, waitingSeconds: v })}
            error={err("waitingSeconds")}
          />
        </div>
        <fieldset>
          <legend>{t("company.codes")}</legend>
          <CheckboxField
            label={t("company.everyone")}
            checked={f.everyone}
            onValue={(v) => setF({ ...f, everyone: v })}
          />
          {!f.everyone &&
            extensions.map((e) => (
              <label key={e.number} class="check-inline">
                <input
                  type="checkbox"
                  checked={f.allowed.includes(e.number)}
                  onChange={(ev) => {
                    const on = (ev.currentTarget as HTMLInputElement).checked;
                    setF({
                      ...f,
                      allowed: on ? [...f.allowed, e.number] : f.allowed.filter((n) => n !== e.number),
                    });
                  }}
                />
                {e.number} · {e.displayName}
              </label>
            ))}
          <TextField
            label={t("company.pin")}
            hint={tenant.companyCodes.pin ? t("company.pinSet") : t("company.pinNone")}
            type="password"
            inputMode="numeric"
            autocomplete="new-password"
            value={f.pin}
            onValue={(v) => setF({ ...f, pin: v })}
            error={err("pin")}
          />
          {tenant.companyCodes.pin && (
            <CheckboxField
              label={t("company.removePin")}
              checked={f.removePin}
              onValue={(v) => setF({ ...f, removePin: v })}
            />
          )}
        </fieldset>
      </Form>
    </Section>
  );
}
