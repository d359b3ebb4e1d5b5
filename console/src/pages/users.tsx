// The console's users and the API tokens of integrations. The provider sees
// every user and picks a company for its tokens; a company's administrator
// sees the users and tokens of the company only (the API narrows it too).
import { useState } from "preact/hooks";
import { api, query, seg, tenantPath } from "../api.ts";
import { useTenants } from "../components/tenant-picker.tsx";
import {
  ActionButton,
  ErrorText,
  Form,
  Loading,
  Notice,
  PageTitle,
  Section,
  SelectField,
  Table,
  TextField,
} from "../components/ui.tsx";
import { useResource } from "../hooks.ts";
import { LANGUAGE_NAMES, problemText, useI18n } from "../i18n/index.ts";
import {
  checkExtensionNumber,
  checkPassword,
  hasProblems,
  type Problems,
  validateUser,
} from "../lib/validate.ts";
import { type ApiToken, type ConsoleUser, type Extension, LANGUAGES, type Session } from "../types.ts";

export function UsersPage({ session, tenant }: { session: Session; tenant?: string }) {
  const { t } = useI18n();
  const provider = session.user.role === "provider";
  const fixedTenant = tenant ?? (provider ? undefined : (session.user.tenant ?? undefined));
  const [tokenTenant, setTokenTenant] = useState(fixedTenant ?? "");
  const tenants = useTenants();
  return (
    <>
      <PageTitle sub={t("users.intro")}>
        {fixedTenant ? t("users.titleOf", { tenant: fixedTenant }) : t("users.title")}
      </PageTitle>
      <Users session={session} tenant={fixedTenant} />
      <Section title={t("tokens.title")}>
        <p class="muted">{t("tokens.intro")}</p>
        {!fixedTenant && (
          <SelectField
            label={t("tenantPicker.label")}
            value={tokenTenant}
            onValue={setTokenTenant}
            options={[
              { value: "", label: t("tenantPicker.choose") },
              ...(tenants.data ?? []).map((x) => ({ value: x.name, label: x.name })),
            ]}
          />
        )}
        {tokenTenant ? (
          <Tokens tenant={tokenTenant} key={tokenTenant} />
        ) : (
          <p class="muted">{t("tokens.pickTenant")}</p>
        )}
      </Section>
    </>
  );
}

function Users({ session, tenant }: { session: Session; tenant?: string }) {
  const { t, fmt } = useI18n();
  const provider = session.user.role === "provider";
  const users = useResource(() => api.get<ConsoleUser[]>(`/api/v1/users${query({ tenant })}`), [tenant]);
  const [editing, setEditing] = useState<string>();
  return (
    <>
      <Section title={t("users.list")}>
        <Loading when={users.loading && !users.data} />
        <ErrorText error={users.error} />
        {users.data && (
          <Table caption={t("users.list")} empty={users.data.length === 0}>
            <thead>
              <tr>
                <th scope="col">{t("users.username")}</th>
                <th scope="col">{t("users.role")}</th>
                {!tenant && <th scope="col">{t("live.tenant")}</th>}
                <th scope="col">{t("extensions.number")}</th>
                <th scope="col">{t("nav.language")}</th>
                <th scope="col">{t("common.created")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("common.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.username}>
                  <th scope="row">{u.username}</th>
                  <td>{t(`role.${u.role}`)}</td>
                  {!tenant && <td>{u.tenant ?? "—"}</td>}
                  <td>{u.extension ?? "—"}</td>
                  <td>{u.language ? LANGUAGE_NAMES[u.language] : t("users.languageDefault")}</td>
                  <td>{fmt.date(u.createdAt)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      aria-expanded={editing === u.username}
                      onClick={() => setEditing(editing === u.username ? undefined : u.username)}
                    >
                      {t("common.edit")}
                    </button>
                    {u.username !== session.user.username && (
                      <ActionButton
                        label={t("common.delete")}
                        class="danger"
                        ariaLabel={t("users.deleteOf", { name: u.username })}
                        confirm={t("users.confirmDelete", { name: u.username })}
                        onClick={async () => {
                          await api.del(`/api/v1/users/${seg(u.username)}`);
                          users.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Section>
      {editing && users.data?.some((u) => u.username === editing) && (
        <EditUser
          key={editing}
          user={users.data.find((u) => u.username === editing) as ConsoleUser}
          self={editing === session.user.username}
          onSaved={() => {
            setEditing(undefined);
            users.reload();
          }}
        />
      )}
      <NewUser provider={provider} tenant={tenant} onCreated={() => users.reload()} />
    </>
  );
}

function EditUser({ user, self, onSaved }: { user: ConsoleUser; self: boolean; onSaved(): void }) {
  const { t } = useI18n();
  const [language, setLanguage] = useState<string>(user.language ?? "");
  const [password, setPassword] = useState("");
  const [current, setCurrent] = useState("");
  const [shown, setShown] = useState(false);
  const problem = password === "" ? undefined : checkPassword(password);
  return (
    <Section title={t("users.editOf", { name: user.username })}>
      <Form
        label={t("users.editOf", { name: user.username })}
        submitLabel={t("common.save")}
        invalid={problem !== undefined}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          const body: Record<string, unknown> = { language: language === "" ? null : language };
          if (password) {
            body.password = password;
            if (self) body.currentPassword = current;
          }
          await api.patch(`/api/v1/users/${seg(user.username)}`, body);
          onSaved();
        }}
      >
        <div class="grid">
          <SelectField
            label={t("nav.language")}
            value={language}
            onValue={setLanguage}
            options={[
              { value: "", label: t("users.languageDefault") },
              ...LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] })),
            ]}
          />
          <TextField
            label={t("users.newPassword")}
            hint={t("users.passwordHint")}
            type="password"
            autocomplete="new-password"
            value={password}
            onValue={setPassword}
            error={shown ? problemText(t, problem) : undefined}
          />
          {self && password && (
            <TextField
              label={t("users.currentPassword")}
              type="password"
              autocomplete="current-password"
              value={current}
              onValue={setCurrent}
            />
          )}
        </div>
      </Form>
    </Section>
  );
}

function NewUser({ provider, tenant, onCreated }: { provider: boolean; tenant?: string; onCreated(): void }) {
  const { t } = useI18n();
  const tenants = useTenants();
  const [f, setF] = useState({
    username: "",
    password: "",
    role: "admin",
    tenant: tenant ?? "",
    extension: "",
    language: "",
  });
  const extensions = useResource(
    () =>
      f.tenant && f.role === "user"
        ? api.get<Extension[]>(`${tenantPath(f.tenant)}/extensions`)
        : Promise.resolve([]),
    [f.tenant, f.role],
  );
  const [problems, setProblems] = useState<Problems>({});
  const roles = provider ? ["provider", "admin", "user"] : ["admin", "user"];
  return (
    <Section title={t("users.create")}>
      <Form
        label={t("users.create")}
        submitLabel={t("users.createButton")}
        done={t("users.created")}
        invalid={hasProblems(validateUser(f))}
        onInvalid={() => setProblems(validateUser(f))}
        onSubmit={async () => {
          setProblems({});
          const body: Record<string, string> = { username: f.username, password: f.password, role: f.role };
          if (f.role !== "provider") body.tenant = f.tenant;
          if (f.role === "user") body.extension = f.extension;
          if (f.language) body.language = f.language;
          await api.post("/api/v1/users", body);
          setF({ ...f, username: "", password: "", extension: "" });
          onCreated();
        }}
      >
        <div class="grid">
          <TextField
            label={t("users.username")}
            value={f.username}
            autocomplete="off"
            onValue={(v) => setF({ ...f, username: v })}
            error={problemText(t, problems.username)}
          />
          <TextField
            label={t("users.password")}
            hint={t("users.passwordHint")}
            type="password"
            autocomplete="new-password"
            value={f.password}
            onValue={(v) => setF({ ...f, password: v })}
            error={problemText(t, problems.password)}
          />
          <SelectField
            label={t("users.role")}
            value={f.role}
            onValue={(v) => setF({ ...f, role: v })}
            options={roles.map((r) => ({ value: r, label: t(`role.${r}` as "role.admin") }))}
          />
          {f.role !== "provider" && !tenant && (
            <SelectField
              label={t("live.tenant")}
              value={f.tenant}
              onValue={(v) => setF({ ...f, tenant: v })}
              error={problemText(t, problems.tenant)}
              options={[
                { value: "", label: t("tenantPicker.choose") },
                ...(tenants.data ?? []).map((x) => ({ value: x.name, label: x.name })),
              ]}
            />
          )}
          {f.role === "user" && (
            <SelectField
              label={t("extensions.number")}
              value={f.extension}
              onValue={(v) => setF({ ...f, extension: v })}
              error={problemText(t, problems.extension)}
              options={[
                { value: "", label: "—" },
                ...(extensions.data ?? []).map((e) => ({
                  value: e.number,
                  label: `${e.number} · ${e.displayName}`,
                })),
              ]}
            />
          )}
          <SelectField
            label={t("nav.language")}
            value={f.language}
            onValue={(v) => setF({ ...f, language: v })}
            options={[
              { value: "", label: t("users.languageDefault") },
              ...LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] })),
            ]}
          />
        </div>
      </Form>
    </Section>
  );
}

function Tokens({ tenant }: { tenant: string }) {
  const { t, fmt } = useI18n();
  const base = `${tenantPath(tenant)}/tokens`;
  const tokens = useResource(() => api.get<ApiToken[]>(base), [tenant]);
  const [f, setF] = useState({ description: "", role: "admin", extension: "" });
  const [created, setCreated] = useState<ApiToken>();
  const [shown, setShown] = useState(false);
  const problem = f.role === "user" ? checkExtensionNumber(f.extension) : undefined;
  return (
    <>
      <ErrorText error={tokens.error} />
      {tokens.data && (
        <Table caption={t("tokens.title")} empty={tokens.data.length === 0} emptyText={t("tokens.empty")}>
          <thead>
            <tr>
              <th scope="col">{t("tokens.id")}</th>
              <th scope="col">{t("tokens.description")}</th>
              <th scope="col">{t("users.role")}</th>
              <th scope="col">{t("tokens.createdBy")}</th>
              <th scope="col">{t("tokens.lastUsed")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((k) => (
              <tr key={k.id}>
                <th scope="row">
                  <code>{k.id}</code>
                </th>
                <td>{k.description || "—"}</td>
                <td>
                  {t(`role.${k.role}`)}
                  {k.extension ? ` · ${k.extension}` : ""}
                </td>
                <td>
                  {k.createdBy ?? ""} <span class="muted small">{fmt.date(k.createdAt)}</span>
                </td>
                <td>{k.lastUsedAt ? fmt.dateTime(k.lastUsedAt) : t("tokens.never")}</td>
                <td>
                  <ActionButton
                    label={t("tokens.revoke")}
                    class="danger"
                    ariaLabel={t("tokens.revokeOf", { id: k.id })}
                    confirm={t("tokens.confirmRevoke", { id: k.id })}
                    onClick={async () => {
                      await api.del(`${base}/${seg(k.id)}`);
                      tokens.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <h3>{t("tokens.create")}</h3>
      <Form
        label={t("tokens.create")}
        submitLabel={t("tokens.createButton")}
        invalid={problem !== undefined}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          const body: Record<string, string> = { role: f.role, description: f.description };
          if (f.role === "user") body.extension = f.extension;
          setCreated(await api.post<ApiToken>(base, body));
          setF({ ...f, description: "" });
          tokens.reload();
        }}
      >
        <div class="grid">
          <TextField
            label={t("tokens.description")}
            value={f.description}
            maxLength={200}
            onValue={(v) => setF({ ...f, description: v })}
          />
          <SelectField
            label={t("users.role")}
            value={f.role}
            onValue={(v) => setF({ ...f, role: v })}
            options={[
              { value: "admin", label: t("role.admin") },
              { value: "user", label: t("role.user") },
            ]}
          />
          {f.role === "user" && (
            <TextField
              label={t("extensions.number")}
              inputMode="numeric"
              value={f.extension}
              onValue={(v) => setF({ ...f, extension: v })}
              error={shown ? problemText(t, problem) : undefined}
            />
          )}
        </div>
      </Form>
      {created?.token && (
        <Notice>
          {t("tokens.shownOnce")} <code class="secret">{created.token}</code>
        </Notice>
      )}
    </>
  );
}
