// The company's extensions with their registered devices (live), and the
// form that creates one.
import { useState } from "preact/hooks";
import { api, seg, tenantPath } from "../../api.ts";
import { CallsTable, RegistrationsTable } from "../../components/live-tables.tsx";
import {
  Badge,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  Table,
  TextField,
} from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { problemText, useI18n } from "../../i18n/index.ts";
import { hasProblems, type Problems, validateNewExtension } from "../../lib/validate.ts";
import { Link, navigate } from "../../router.tsx";
import type { Call, Extension, Registration } from "../../types.ts";

export function ExtensionsPage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const base = tenantPath(tenant);
  const extensions = useResource(() => api.get<Extension[]>(`${base}/extensions`), [tenant]);
  const regs = useResource(() => api.get<Registration[]>(`${base}/registrations`), [tenant]);
  const calls = useResource(() => api.get<Call[]>(`${base}/calls`), [tenant]);
  useLive(["registrations"], () => regs.reload());
  useLive(["calls"], () => calls.reload());
  useLive(["voicemail"], () => extensions.reload());
  const devices = (n: string) => (regs.data ?? []).filter((r) => r.extension === n).length;
  return (
    <>
      <PageTitle sub={t("extensions.intro")}>{t("extensions.title")}</PageTitle>
      <Section title={t("extensions.list")}>
        <Loading when={extensions.loading && !extensions.data} />
        <ErrorText error={extensions.error} />
        {extensions.data && (
          <Table
            caption={t("extensions.list")}
            empty={extensions.data.length === 0}
            emptyText={t("extensions.empty")}
          >
            <thead>
              <tr>
                <th scope="col">{t("extensions.number")}</th>
                <th scope="col">{t("extensions.name")}</th>
                <th scope="col">{t("extensions.devices")}</th>
                <th scope="col">{t("extensions.callWaiting")}</th>
                <th scope="col">{t("nav.voicemail")}</th>
              </tr>
            </thead>
            <tbody>
              {extensions.data.map((e) => {
                const n = devices(e.number);
                return (
                  <tr key={e.number}>
                    <th scope="row">
                      <Link href={`/company/${seg(tenant)}/extensions/${seg(e.number)}`}>{e.number}</Link>
                    </th>
                    <td>{e.displayName}</td>
                    <td>
                      <Badge kind={n > 0 ? "ok" : undefined}>
                        {n > 0 ? t("extensions.registered", { count: n }) : t("extensions.offline")}
                      </Badge>
                    </td>
                    <td>{e.callWaiting ? t("common.on") : t("common.off")}</td>
                    <td>
                      {e.voicemail?.enabled ? t("common.on") : t("common.off")}
                      {e.voicemail?.remoteAccessLockedUntil && (
                        <>
                          {" "}
                          <Badge kind="bad">{t("voicemail.locked")}</Badge>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </Section>
      <Section title={t("live.registrations")}>
        <ErrorText error={regs.error} />
        <RegistrationsTable rows={regs.data ?? []} caption={t("live.registrations")} />
      </Section>
      <Section title={t("live.calls")}>
        <ErrorText error={calls.error} />
        <CallsTable rows={calls.data ?? []} caption={t("live.calls")} />
      </Section>
      <NewExtension tenant={tenant} />
    </>
  );
}

function NewExtension({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const [f, setF] = useState({ number: "", displayName: "", password: "" });
  const [problems, setProblems] = useState<Problems>({});
  return (
    <Section title={t("extensions.create")}>
      <Form
        label={t("extensions.create")}
        submitLabel={t("extensions.createButton")}
        invalid={hasProblems(validateNewExtension(f))}
        onInvalid={() => setProblems(validateNewExtension(f))}
        onSubmit={async () => {
          setProblems({});
          const e = await api.post<Extension>(`${tenantPath(tenant)}/extensions`, f);
          navigate(`/company/${seg(tenant)}/extensions/${seg(e.number)}`);
        }}
      >
        <div class="grid">
          <TextField
            label={t("extensions.number")}
            inputMode="numeric"
            value={f.number}
            onValue={(v) => setF({ ...f, number: v })}
            error={problemText(t, problems.number)}
          />
          <TextField
            label={t("extensions.name")}
            value={f.displayName}
            onValue={(v) => setF({ ...f, displayName: v })}
            error={problemText(t, problems.displayName)}
          />
          <TextField
            label={t("extensions.password")}
            hint={t("extensions.passwordHint")}
            type="password"
            autocomplete="new-password"
            value={f.password}
            onValue={(v) => setF({ ...f, password: v })}
            error={problemText(t, problems.password)}
          />
        </div>
      </Form>
    </Section>
  );
}
