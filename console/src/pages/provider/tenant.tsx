// One company as the provider sees it: its features "enabled on request"
// (switches), settings, dialling policy, public numbers, locked mailboxes,
// and a way into its own pages (extensions, schedule...).
import { useEffect, useState } from "preact/hooks";
import { api, extensionPath, query, seg, tenantPath } from "../../api.ts";
import { DestinationPicker, useDescribeDestination } from "../../components/destination.tsx";
import {
  ActionButton,
  Badge,
  CheckboxField,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  SelectField,
  Switch,
  Table,
  TextField,
} from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { LANGUAGE_NAMES, problemText, useI18n } from "../../i18n/index.ts";
import {
  checkCountry,
  checkDomain,
  checkInteger,
  checkPhoneNumber,
  checkTimezone,
  LIMITS,
  type Problem,
} from "../../lib/validate.ts";
import { Link, navigate } from "../../router.tsx";
import {
  type Destination,
  type DiallingPolicy,
  type Extension,
  FEATURES,
  type FeatureSwitches,
  LANGUAGES,
  POLICY_SWITCHES,
  type RingGroup,
  type Tenant,
  type TenantNumber,
  type Trunk,
} from "../../types.ts";

export function TenantPage({ name }: { name: string }) {
  const { t } = useI18n();
  const tenant = useResource(() => api.get<Tenant>(tenantPath(name)), [name]);
  const x = tenant.data;
  return (
    <>
      <PageTitle sub={x ? `${x.domain} · ${x.timezone}` : undefined}>{t("tenant.title", { name })}</PageTitle>
      <p>
        <Link href="/provider/tenants">← {t("tenant.back")}</Link>
        {" · "}
        <Link href={`/company/${seg(name)}/extensions`}>{t("tenant.openCompany")}</Link>
      </p>
      <Loading when={tenant.loading && !x} />
      <ErrorText error={tenant.error} />
      {x && (
        <>
          <Features tenant={x} onChange={(features) => tenant.set({ ...x, features })} />
          <Settings tenant={x} onChange={tenant.set} />
          <Policy tenant={x} onChange={(policy) => tenant.set({ ...x, policy })} />
          <Numbers tenant={x} />
          <LockedMailboxes tenant={x} />
          <DangerZone tenant={x} />
        </>
      )}
    </>
  );
}

function Features({ tenant, onChange }: { tenant: Tenant; onChange(f: FeatureSwitches): void }) {
  const { t } = useI18n();
  return (
    <Section title={t("tenant.features")}>
      <p class="muted">{t("tenant.featuresIntro")}</p>
      <div class="switches">
        {FEATURES.map((f) => (
          <Switch
            key={f}
            label={t(`feature.${f}`)}
            hint={t(`featureHint.${f}`)}
            checked={tenant.features[f]}
            onToggle={async (next) =>
              onChange(await api.patch<FeatureSwitches>(`${tenantPath(tenant.name)}/features`, { [f]: next }))
            }
          />
        ))}
      </div>
    </Section>
  );
}

function Settings({ tenant, onChange }: { tenant: Tenant; onChange(t: Tenant): void }) {
  const { t } = useI18n();
  const trunks = useResource(() => api.get<Trunk[]>("/api/v1/trunks"), []);
  const initial = () => ({
    domain: tenant.domain,
    language: tenant.language as string,
    timezone: tenant.timezone,
    country: tenant.country,
    trunk: tenant.trunk ?? "",
    maxCalls: String(tenant.maxCalls),
    waitingSeconds: String(tenant.waitingSeconds),
    requireEncryption: tenant.requireEncryption,
  });
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial()), [tenant]);
  const problems: Record<string, Problem | undefined> = {
    domain: checkDomain(f.domain),
    timezone: checkTimezone(f.timezone),
    country: checkCountry(f.country),
    maxCalls: checkInteger(f.maxCalls, 1, LIMITS.tenantMaxCallsMax),
    waitingSeconds: checkInteger(f.waitingSeconds, LIMITS.waitingSecondsMin, LIMITS.waitingSecondsMax),
  };
  const [shown, setShown] = useState(false);
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
          const body = {
            domain: f.domain,
            language: f.language,
            timezone: f.timezone,
            country: f.country,
            trunk: f.trunk === "" ? null : f.trunk,
            maxCalls: Number(f.maxCalls),
            waitingSeconds: Number(f.waitingSeconds),
            requireEncryption: f.requireEncryption,
          };
          onChange(await api.patch<Tenant>(tenantPath(tenant.name), body));
        }}
      >
        <div class="grid">
          <TextField
            label={t("tenants.domain")}
            value={f.domain}
            onValue={(v) => setF({ ...f, domain: v })}
            error={err("domain")}
          />
          <SelectField
            label={t("tenants.language")}
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
          <TextField
            label={t("tenants.country")}
            value={f.country}
            maxLength={2}
            onValue={(v) => setF({ ...f, country: v.toUpperCase() })}
            error={err("country")}
          />
          <SelectField
            label={t("tenants.trunk")}
            value={f.trunk}
            onValue={(v) => setF({ ...f, trunk: v })}
            options={[
              { value: "", label: t("tenants.defaultTrunk") },
              ...(trunks.data ?? []).map((x) => ({ value: x.name, label: x.name })),
              ...(f.trunk && !(trunks.data ?? []).some((x) => x.name === f.trunk)
                ? [{ value: f.trunk, label: f.trunk }]
                : []),
            ]}
          />
          <TextField
            label={t("tenant.maxCalls")}
            type="number"
            inputMode="numeric"
            value={f.maxCalls}
            onValue={(v) => setF({ ...f, maxCalls: v })}
            error={err("maxCalls")}
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
        <CheckboxField
          label={t("tenant.requireEncryption")}
          hint={t("tenant.requireEncryptionHint")}
          checked={f.requireEncryption}
          onValue={(v) => setF({ ...f, requireEncryption: v })}
        />
      </Form>
    </Section>
  );
}

function Policy({ tenant, onChange }: { tenant: Tenant; onChange(p: DiallingPolicy): void }) {
  const { t } = useI18n();
  const path = `${tenantPath(tenant.name)}/policy`;
  const [max, setMax] = useState(String(tenant.policy.maxExternalCalls));
  useEffect(() => setMax(String(tenant.policy.maxExternalCalls)), [tenant.policy.maxExternalCalls]);
  const problem = checkInteger(max, 0, LIMITS.maxExternalCallsMax);
  const [shown, setShown] = useState(false);
  return (
    <Section title={t("tenant.policy")}>
      <p class="muted">{t("tenant.policyIntro")}</p>
      <div class="switches">
        {POLICY_SWITCHES.map((s) => (
          <Switch
            key={s}
            label={t(`policy.${s}`)}
            checked={tenant.policy[s]}
            onToggle={async (next) => onChange(await api.patch<DiallingPolicy>(path, { [s]: next }))}
          />
        ))}
      </div>
      <Form
        label={t("tenant.maxExternalCalls")}
        submitLabel={t("common.save")}
        done={t("common.saved")}
        invalid={problem !== undefined}
        onInvalid={() => setShown(true)}
        onSubmit={async () =>
          onChange(await api.patch<DiallingPolicy>(path, { maxExternalCalls: Number(max) }))
        }
      >
        <TextField
          label={t("tenant.maxExternalCalls")}
          type="number"
          inputMode="numeric"
          value={max}
          onValue={setMax}
          error={shown ? problemText(t, problem) : undefined}
        />
      </Form>
    </Section>
  );
}

function Numbers({ tenant }: { tenant: Tenant }) {
  const { t, fmt } = useI18n();
  const base = tenantPath(tenant.name);
  const numbers = useResource(() => api.get<TenantNumber[]>(`${base}/numbers`), [tenant.name]);
  const extensions = useResource(() => api.get<Extension[]>(`${base}/extensions`), [tenant.name]);
  const groups = useResource(() => api.get<RingGroup[]>(`${base}/ring-groups`), [tenant.name]);
  const describe = useDescribeDestination();
  const [number, setNumber] = useState("");
  const [dest, setDest] = useState<Destination>({ type: "inbound-flow" });
  const [shown, setShown] = useState(false);
  const problem = checkPhoneNumber(number);
  return (
    <Section title={t("numbers.title")}>
      <ErrorText error={numbers.error} />
      {numbers.data && (
        <Table caption={t("numbers.title")} empty={numbers.data.length === 0} emptyText={t("numbers.empty")}>
          <thead>
            <tr>
              <th scope="col">{t("numbers.number")}</th>
              <th scope="col">{t("numbers.destination")}</th>
              <th scope="col">{t("common.created")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {numbers.data.map((n, i) => (
              <tr key={n.number}>
                <th scope="row">
                  {n.number} {i === 0 && <Badge kind="info">{t("numbers.main")}</Badge>}
                </th>
                <td>{describe(n.destination)}</td>
                <td>{fmt.date(n.createdAt)}</td>
                <td>
                  <ActionButton
                    label={t("common.delete")}
                    ariaLabel={t("numbers.delete", { number: n.number })}
                    class="danger"
                    confirm={t("numbers.confirmDelete", { number: n.number })}
                    onClick={async () => {
                      await api.del(`${base}/numbers/${seg(n.number)}`);
                      numbers.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <h3>{t("numbers.add")}</h3>
      <Form
        label={t("numbers.add")}
        submitLabel={t("numbers.addButton")}
        invalid={problem !== undefined}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          await api.post(`${base}/numbers`, { number, destination: dest });
          setNumber("");
          setShown(false);
          numbers.reload();
        }}
      >
        <TextField
          label={t("numbers.number")}
          type="tel"
          placeholder="+41 21 555 01 00"
          value={number}
          onValue={setNumber}
          error={shown ? problemText(t, problem) : undefined}
        />
        <DestinationPicker
          label={t("numbers.destination")}
          value={dest}
          onChange={setDest}
          extensions={extensions.data ?? []}
          groups={groups.data ?? []}
        />
      </Form>
    </Section>
  );
}

function LockedMailboxes({ tenant }: { tenant: Tenant }) {
  const { t, fmt } = useI18n();
  const extensions = useResource(
    () => api.get<Extension[]>(`${tenantPath(tenant.name)}/extensions`),
    [tenant.name],
  );
  useLive(["voicemail"], () => extensions.reload());
  const locked = (extensions.data ?? []).filter((e) => e.voicemail?.remoteAccessLockedUntil);
  return (
    <Section title={t("tenant.lockedMailboxes")}>
      <ErrorText error={extensions.error} />
      <Table
        caption={t("tenant.lockedMailboxes")}
        empty={locked.length === 0}
        emptyText={t("tenant.noLockedMailboxes")}
      >
        <thead>
          <tr>
            <th scope="col">{t("extensions.number")}</th>
            <th scope="col">{t("extensions.name")}</th>
            <th scope="col">{t("voicemail.lockedUntil")}</th>
            <th scope="col">
              <span class="visually-hidden">{t("common.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {locked.map((e) => (
            <tr key={e.number}>
              <th scope="row">{e.number}</th>
              <td>{e.displayName}</td>
              <td>{fmt.dateTime(e.voicemail?.remoteAccessLockedUntil)}</td>
              <td>
                <ActionButton
                  label={t("voicemail.unlock")}
                  ariaLabel={t("voicemail.unlockOf", { number: e.number })}
                  onClick={async () => {
                    await api.post(`${extensionPath(tenant.name, e.number)}/voicemail/unlock`);
                    extensions.reload();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Section>
  );
}

function DangerZone({ tenant }: { tenant: Tenant }) {
  const { t } = useI18n();
  const [typed, setTyped] = useState("");
  return (
    <Section title={t("tenant.delete")}>
      <p>{t("tenant.deleteWarning")}</p>
      <Form
        label={t("tenant.delete")}
        submitLabel={t("tenant.deleteButton")}
        class="danger-form"
        invalid={typed !== tenant.name}
        onInvalid={() => undefined}
        onSubmit={async () => {
          await api.del(`${tenantPath(tenant.name)}${query({})}`);
          navigate("/provider/tenants");
        }}
      >
        <TextField
          label={t("tenant.deleteConfirm", { name: tenant.name })}
          value={typed}
          onValue={setTyped}
          autocomplete="off"
        />
      </Form>
    </Section>
  );
}
