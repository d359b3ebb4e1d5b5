// The provider's SIP trunks to carriers, with the registration state the
// running PBX reports (live: a "trunks" notice refetches them).
import { useState } from "preact/hooks";
import { api, seg } from "../../api.ts";
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
  Table,
  TextField,
} from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { problemText, useI18n } from "../../i18n/index.ts";
import { hasProblems, type Problems, validateTrunk } from "../../lib/validate.ts";
import { NUMBER_FORMATS, TRANSPORTS, type Trunk, type TrunkRegistration } from "../../types.ts";

export function RegistrationBadge({ r }: { r: TrunkRegistration | null }) {
  const { t } = useI18n();
  if (!r) return <Badge>{t("trunks.unknown")}</Badge>;
  const kind =
    r.state === "registered"
      ? "ok"
      : r.state === "failed"
        ? "bad"
        : r.state === "registering"
          ? "warn"
          : undefined;
  return (
    <Badge kind={kind}>
      {t(`trunkState.${r.state}`)}
      {r.lastStatus ? ` (${r.lastStatus})` : ""}
    </Badge>
  );
}

export function TrunksPage() {
  const { t, fmt } = useI18n();
  const trunks = useResource(() => api.get<Trunk[]>("/api/v1/trunks"), []);
  useLive(["trunks"], () => trunks.reload());
  const [editing, setEditing] = useState<string | undefined>(undefined);
  return (
    <>
      <PageTitle sub={t("trunks.intro")}>{t("trunks.title")}</PageTitle>
      <Section title={t("trunks.list")}>
        <Loading when={trunks.loading && !trunks.data} />
        <ErrorText error={trunks.error} />
        {trunks.data && (
          <Table caption={t("trunks.list")} empty={trunks.data.length === 0} emptyText={t("trunks.empty")}>
            <thead>
              <tr>
                <th scope="col">{t("trunks.name")}</th>
                <th scope="col">{t("trunks.host")}</th>
                <th scope="col">{t("trunks.registration")}</th>
                <th scope="col">{t("trunks.username")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("common.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {trunks.data.map((x) => (
                <tr key={x.name}>
                  <th scope="row">
                    {x.name} {x.isDefault && <Badge kind="info">{t("trunks.default")}</Badge>}
                  </th>
                  <td>
                    {x.host}:{x.port} ({x.transport.toUpperCase()})
                  </td>
                  <td>
                    <RegistrationBadge r={x.registration} />
                    {x.registration?.lastError && <div class="muted small">{x.registration.lastError}</div>}
                    {x.registration?.expiresAt && (
                      <div class="muted small">
                        {t("trunks.until", { when: fmt.dateTime(x.registration.expiresAt) })}
                      </div>
                    )}
                  </td>
                  <td>{x.username ?? "—"}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      onClick={() => setEditing(editing === x.name ? undefined : x.name)}
                      aria-expanded={editing === x.name}
                    >
                      {t("common.edit")}
                    </button>
                    <ActionButton
                      label={t("common.delete")}
                      class="danger"
                      ariaLabel={t("trunks.deleteOf", { name: x.name })}
                      confirm={t("trunks.confirmDelete", { name: x.name })}
                      onClick={async () => {
                        await api.del(`/api/v1/trunks/${seg(x.name)}`);
                        trunks.reload();
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Section>
      {editing && trunks.data?.find((x) => x.name === editing) && (
        <TrunkForm
          key={editing}
          trunk={trunks.data.find((x) => x.name === editing)}
          onSaved={() => {
            setEditing(undefined);
            trunks.reload();
          }}
        />
      )}
      <TrunkForm onSaved={() => trunks.reload()} />
    </>
  );
}

function TrunkForm({ trunk, onSaved }: { trunk?: Trunk; onSaved(): void }) {
  const { t } = useI18n();
  const isNew = trunk === undefined;
  const [f, setF] = useState({
    name: trunk?.name ?? "",
    host: trunk?.host ?? "",
    port: String(trunk?.port ?? 5060),
    transport: trunk?.transport ?? "udp",
    username: trunk?.username ?? "",
    password: "",
    register: trunk?.register ?? false,
    numberFormat: trunk?.numberFormat ?? "e164",
    inboundAddresses: (trunk?.inboundAddresses ?? []).join(", "),
    isDefault: trunk?.isDefault ?? false,
  });
  const [problems, setProblems] = useState<Problems>({});
  const title = isNew ? t("trunks.create") : t("trunks.editOf", { name: trunk.name });
  return (
    <Section title={title}>
      <Form
        label={title}
        submitLabel={isNew ? t("trunks.createButton") : t("common.save")}
        invalid={hasProblems(validateTrunk(f, isNew))}
        onInvalid={() => setProblems(validateTrunk(f, isNew))}
        onSubmit={async () => {
          setProblems({});
          const body: Record<string, unknown> = {
            host: f.host,
            port: Number(f.port),
            transport: f.transport,
            register: f.register,
            numberFormat: f.numberFormat,
            inboundAddresses: f.inboundAddresses.split(/[\s,]+/).filter(Boolean),
          };
          if (isNew) {
            body.name = f.name;
            if (f.username) body.username = f.username;
            if (f.password) body.password = f.password;
            if (f.isDefault) body.isDefault = true;
            await api.post("/api/v1/trunks", body);
            setF({ ...f, name: "", host: "", password: "", username: "" });
          } else {
            body.username = f.username === "" ? null : f.username;
            if (f.password) body.password = f.password;
            if (f.isDefault && !trunk.isDefault) body.isDefault = true;
            await api.patch(`/api/v1/trunks/${seg(trunk.name)}`, body);
          }
          onSaved();
        }}
      >
        <div class="grid">
          {isNew && (
            <TextField
              label={t("trunks.name")}
              value={f.name}
              onValue={(v) => setF({ ...f, name: v })}
              error={problemText(t, problems.name)}
            />
          )}
          <TextField
            label={t("trunks.host")}
            value={f.host}
            onValue={(v) => setF({ ...f, host: v })}
            error={problemText(t, problems.host)}
          />
          <TextField
            label={t("trunks.port")}
            type="number"
            inputMode="numeric"
            value={f.port}
            onValue={(v) => setF({ ...f, port: v })}
            error={problemText(t, problems.port)}
          />
          <SelectField
            label={t("trunks.transport")}
            value={f.transport}
            onValue={(v) => setF({ ...f, transport: v })}
            options={TRANSPORTS.map((x) => ({ value: x, label: x.toUpperCase() }))}
          />
          <TextField
            label={t("trunks.username")}
            value={f.username}
            autocomplete="off"
            onValue={(v) => setF({ ...f, username: v })}
          />
          <TextField
            label={t("trunks.password")}
            hint={!isNew && trunk.hasPassword ? t("trunks.passwordKept") : undefined}
            type="password"
            autocomplete="new-password"
            value={f.password}
            onValue={(v) => setF({ ...f, password: v })}
          />
          <SelectField
            label={t("trunks.numberFormat")}
            value={f.numberFormat}
            onValue={(v) => setF({ ...f, numberFormat: v })}
            options={NUMBER_FORMATS.map((x) => ({ value: x, label: t(`numberFormat.${x}`) }))}
          />
          <TextField
            label={t("trunks.inbound")}
            hint={t("trunks.inboundHint")}
            value={f.inboundAddresses}
            onValue={(v) => setF({ ...f, inboundAddresses: v })}
          />
        </div>
        <CheckboxField
          label={t("trunks.register")}
          checked={f.register}
          onValue={(v) => setF({ ...f, register: v })}
        />
        <CheckboxField
          label={t("trunks.isDefault")}
          checked={f.isDefault}
          disabled={!isNew && trunk.isDefault}
          onValue={(v) => setF({ ...f, isDefault: v })}
        />
      </Form>
    </Section>
  );
}
