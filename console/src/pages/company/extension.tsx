// One extension: its settings, call waiting, forwarding, devices
// (registrations, live), mailbox options, and its deletion.
import { useEffect, useState } from "preact/hooks";
import { api, extensionPath, seg, tenantPath } from "../../api.ts";
import { ForwardingSection } from "../../components/forwarding.tsx";
import { RegistrationsTable } from "../../components/live-tables.tsx";
import { MailboxSettings } from "../../components/mailbox-settings.tsx";
import {
  ActionButton,
  CheckboxField,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  SelectField,
  Switch,
  TextField,
} from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { LANGUAGE_NAMES, problemText, useI18n } from "../../i18n/index.ts";
import {
  checkDisplayName,
  checkInteger,
  checkPassword,
  checkPhoneNumber,
  LIMITS,
  type Problem,
} from "../../lib/validate.ts";
import { Link, navigate } from "../../router.tsx";
import { type Extension, LANGUAGES, type Registration } from "../../types.ts";

export function ExtensionPage({ tenant, number }: { tenant: string; number: string }) {
  const { t } = useI18n();
  const path = extensionPath(tenant, number);
  const ext = useResource(() => api.get<Extension>(path), [path]);
  const regs = useResource(() => api.get<Registration[]>(`${tenantPath(tenant)}/registrations`), [tenant]);
  useLive(
    ["registrations"],
    () => regs.reload(),
    (n) => n.extension === undefined || n.extension === number,
  );
  const e = ext.data;
  return (
    <>
      <PageTitle sub={e?.displayName}>{t("extension.title", { number })}</PageTitle>
      <p>
        <Link href={`/company/${seg(tenant)}/extensions`}>← {t("extension.back")}</Link>
        {" · "}
        <Link href={`/company/${seg(tenant)}/voicemail/${seg(number)}`}>{t("extension.messages")}</Link>
      </p>
      <Loading when={ext.loading && !e} />
      <ErrorText error={ext.error} />
      {e && (
        <>
          <Section title={t("extension.devices")}>
            <RegistrationsTable
              rows={(regs.data ?? []).filter((r) => r.extension === number)}
              caption={t("extension.devices")}
            />
          </Section>
          <Section title={t("extensions.callWaiting")}>
            <Switch
              label={t("extensions.callWaiting")}
              hint={t("extension.callWaitingHint")}
              checked={e.callWaiting}
              onToggle={async (next) => ext.set(await api.patch<Extension>(path, { callWaiting: next }))}
            />
          </Section>
          <ForwardingSection tenant={tenant} number={number} />
          <Settings tenant={tenant} extension={e} onChange={ext.set} />
          <MailboxSettings tenant={tenant} extension={e} onChange={ext.set} />
          <Section title={t("extension.delete")}>
            <p>{t("extension.deleteWarning")}</p>
            <ActionButton
              label={t("extension.deleteButton", { number })}
              class="danger"
              confirm={t("extension.confirmDelete", { number })}
              onClick={async () => {
                await api.del(path);
                navigate(`/company/${seg(tenant)}/extensions`);
              }}
            />
          </Section>
        </>
      )}
    </>
  );
}

function Settings({
  tenant,
  extension,
  onChange,
}: {
  tenant: string;
  extension: Extension;
  onChange(e: Extension): void;
}) {
  const { t } = useI18n();
  const initial = () => ({
    displayName: extension.displayName,
    language: extension.language ?? "",
    ringTimeoutSeconds: String(extension.ringTimeoutSeconds),
    maxCalls: String(extension.maxCalls),
    callerId: extension.callerId ?? "",
    pickupGroup: extension.pickupGroup ?? "",
    mwiUnsolicited: extension.mwiUnsolicited,
    password: "",
  });
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial()), [extension]);
  const [shown, setShown] = useState(false);
  const problems: Record<string, Problem | undefined> = {
    displayName: checkDisplayName(f.displayName),
    ringTimeoutSeconds: checkInteger(f.ringTimeoutSeconds, LIMITS.ringTimeoutMin, LIMITS.ringTimeoutMax),
    maxCalls: checkInteger(f.maxCalls, LIMITS.maxCallsMin, LIMITS.maxCallsMax),
    callerId: f.callerId === "" ? undefined : checkPhoneNumber(f.callerId),
    password: f.password === "" ? undefined : checkPassword(f.password, extension.number),
  };
  const err = (k: string) => (shown ? problemText(t, problems[k]) : undefined);
  return (
    <Section title={t("extension.settings")}>
      <Form
        label={t("extension.settings")}
        submitLabel={t("common.save")}
        done={t("common.saved")}
        invalid={Object.values(problems).some(Boolean)}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          const body: Record<string, unknown> = {
            displayName: f.displayName,
            language: f.language === "" ? null : f.language,
            ringTimeoutSeconds: Number(f.ringTimeoutSeconds),
            maxCalls: Number(f.maxCalls),
            callerId: f.callerId === "" ? null : f.callerId,
            pickupGroup: f.pickupGroup === "" ? null : f.pickupGroup,
            mwiUnsolicited: f.mwiUnsolicited,
          };
          if (f.password) body.password = f.password;
          onChange(await api.patch<Extension>(extensionPath(tenant, extension.number), body));
        }}
      >
        <div class="grid">
          <TextField
            label={t("extensions.name")}
            value={f.displayName}
            onValue={(v) => setF({ ...f, displayName: v })}
            error={err("displayName")}
          />
          <SelectField
            label={t("nav.language")}
            value={f.language}
            onValue={(v) => setF({ ...f, language: v })}
            options={[
              { value: "", label: t("extension.languageTenant") },
              ...LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] })),
            ]}
          />
          <TextField
            label={t("extension.ringTimeout")}
            type="number"
            inputMode="numeric"
            value={f.ringTimeoutSeconds}
            onValue={(v) => setF({ ...f, ringTimeoutSeconds: v })}
            error={err("ringTimeoutSeconds")}
          />
          <TextField
            label={t("extension.maxCalls")}
            hint={t("extension.maxCallsHint")}
            type="number"
            inputMode="numeric"
            value={f.maxCalls}
            onValue={(v) => setF({ ...f, maxCalls: v })}
            error={err("maxCalls")}
          />
          <TextField
            label={t("extension.callerId")}
            hint={t("extension.callerIdHint")}
            type="tel"
            value={f.callerId}
            onValue={(v) => setF({ ...f, callerId: v })}
            error={err("callerId")}
          />
          <TextField
            label={t("extension.pickupGroup")}
            value={f.pickupGroup}
            onValue={(v) => setF({ ...f, pickupGroup: v })}
          />
          <TextField
            label={t("extension.newPassword")}
            hint={t("extensions.passwordHint")}
            type="password"
            autocomplete="new-password"
            value={f.password}
            onValue={(v) => setF({ ...f, password: v })}
            error={err("password")}
          />
        </div>
        <CheckboxField
          label={t("extension.mwiUnsolicited")}
          checked={f.mwiUnsolicited}
          onValue={(v) => setF({ ...f, mwiUnsolicited: v })}
        />
      </Form>
    </Section>
  );
}
