// The company's ring groups: members rung all at once or in order, and
// where an unanswered call goes then.
import { useState } from "preact/hooks";
import { api, seg, tenantPath } from "../../api.ts";
import { DestinationPicker, useDescribeDestination } from "../../components/destination.tsx";
import {
  ActionButton,
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
import { problemText, useI18n } from "../../i18n/index.ts";
import { hasProblems, type Problems, validateRingGroup } from "../../lib/validate.ts";
import type { Destination, Extension, RingGroup } from "../../types.ts";

export function RingGroupsPage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const base = `${tenantPath(tenant)}/ring-groups`;
  const groups = useResource(() => api.get<RingGroup[]>(base), [tenant]);
  const extensions = useResource(() => api.get<Extension[]>(`${tenantPath(tenant)}/extensions`), [tenant]);
  const describe = useDescribeDestination();
  const [editing, setEditing] = useState<string>();
  const edited = groups.data?.find((g) => g.name === editing);
  return (
    <>
      <PageTitle sub={t("groups.intro")}>{t("groups.title")}</PageTitle>
      <Section title={t("groups.list")}>
        <Loading when={groups.loading && !groups.data} />
        <ErrorText error={groups.error} />
        {groups.data && (
          <Table caption={t("groups.list")} empty={groups.data.length === 0} emptyText={t("groups.empty")}>
            <thead>
              <tr>
                <th scope="col">{t("groups.name")}</th>
                <th scope="col">{t("groups.members")}</th>
                <th scope="col">{t("groups.strategy")}</th>
                <th scope="col">{t("groups.timeout")}</th>
                <th scope="col">{t("groups.fallback")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("common.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.data.map((g) => (
                <tr key={g.name}>
                  <th scope="row">{g.name}</th>
                  <td>{g.members.join(", ")}</td>
                  <td>{t(`strategy.${g.strategy}`)}</td>
                  <td>
                    {g.timeout} s{g.strategy === "sequential" ? ` (${g.memberTimeout} s)` : ""}
                  </td>
                  <td>{describe(g.fallback)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      aria-expanded={editing === g.name}
                      onClick={() => setEditing(editing === g.name ? undefined : g.name)}
                    >
                      {t("common.edit")}
                    </button>
                    <ActionButton
                      label={t("common.delete")}
                      class="danger"
                      ariaLabel={t("groups.deleteOf", { name: g.name })}
                      confirm={t("groups.confirmDelete", { name: g.name })}
                      onClick={async () => {
                        await api.del(`${base}/${seg(g.name)}`);
                        groups.reload();
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Section>
      {edited && (
        <GroupForm
          key={edited.name}
          tenant={tenant}
          group={edited}
          extensions={extensions.data ?? []}
          groups={groups.data ?? []}
          onSaved={() => {
            setEditing(undefined);
            groups.reload();
          }}
        />
      )}
      <GroupForm
        tenant={tenant}
        extensions={extensions.data ?? []}
        groups={groups.data ?? []}
        onSaved={() => groups.reload()}
      />
    </>
  );
}

function GroupForm(props: {
  tenant: string;
  group?: RingGroup;
  extensions: Extension[];
  groups: RingGroup[];
  onSaved(): void;
}) {
  const { t } = useI18n();
  const g = props.group;
  const isNew = g === undefined;
  const [f, setF] = useState({
    name: g?.name ?? "",
    members: g?.members ?? [],
    strategy: g?.strategy ?? "simultaneous",
    timeout: String(g?.timeout ?? 30),
    memberTimeout: String(g?.memberTimeout ?? 15),
  });
  const [fallback, setFallback] = useState<Destination>(g?.fallback ?? { type: "hangup" });
  const [problems, setProblems] = useState<Problems>({});
  const title = isNew ? t("groups.create") : t("groups.editOf", { name: g.name });
  const toggle = (n: string, on: boolean) =>
    setF({ ...f, members: on ? [...f.members.filter((m) => m !== n), n] : f.members.filter((m) => m !== n) });
  const move = (i: number, by: number) => {
    const m = [...f.members];
    const j = i + by;
    if (j < 0 || j >= m.length) return;
    [m[i], m[j]] = [m[j], m[i]];
    setF({ ...f, members: m });
  };
  return (
    <Section title={title}>
      <Form
        label={title}
        submitLabel={isNew ? t("groups.createButton") : t("common.save")}
        invalid={hasProblems(validateRingGroup(f, isNew))}
        onInvalid={() => setProblems(validateRingGroup(f, isNew))}
        onSubmit={async () => {
          setProblems({});
          const body = {
            members: f.members,
            strategy: f.strategy,
            timeout: Number(f.timeout),
            memberTimeout: Number(f.memberTimeout),
            fallback,
          };
          const base = `${tenantPath(props.tenant)}/ring-groups`;
          if (isNew) {
            await api.post(base, { name: f.name, ...body });
            setF({ ...f, name: "", members: [] });
          } else await api.patch(`${base}/${seg(g.name)}`, body);
          props.onSaved();
        }}
      >
        <div class="grid">
          {isNew && (
            <TextField
              label={t("groups.name")}
              value={f.name}
              onValue={(v) => setF({ ...f, name: v })}
              error={problemText(t, problems.name)}
            />
          )}
          <SelectField
            label={t("groups.strategy")}
            value={f.strategy}
            onValue={(v) => setF({ ...f, strategy: v as RingGroup["strategy"] })}
            options={[
              { value: "simultaneous", label: t("strategy.simultaneous") },
              { value: "sequential", label: t("strategy.sequential") },
            ]}
          />
          <TextField
            label={t("groups.timeout")}
            type="number"
            inputMode="numeric"
            value={f.timeout}
            onValue={(v) => setF({ ...f, timeout: v })}
            error={problemText(t, problems.timeout)}
          />
          <TextField
            label={t("groups.memberTimeout")}
            type="number"
            inputMode="numeric"
            value={f.memberTimeout}
            onValue={(v) => setF({ ...f, memberTimeout: v })}
            error={problemText(t, problems.memberTimeout)}
          />
        </div>
        <fieldset>
          <legend>{t("groups.members")}</legend>
          {props.extensions.map((e) => (
            <label key={e.number} class="check-inline">
              <input
                type="checkbox"
                checked={f.members.includes(e.number)}
                onChange={(ev) => toggle(e.number, (ev.currentTarget as HTMLInputElement).checked)}
              />
              {e.number} · {e.displayName}
            </label>
          ))}
          {problems.members && (
            <small class="field-error" role="alert">
              {problemText(t, problems.members)}
            </small>
          )}
        </fieldset>
        {f.strategy === "sequential" && f.members.length > 1 && (
          <ol class="order" aria-label={t("groups.order")}>
            {f.members.map((m, i) => (
              <li key={m}>
                {m}{" "}
                <button
                  type="button"
                  aria-label={t("groups.up", { number: m })}
                  disabled={i === 0}
                  onClick={() => move(i, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  aria-label={t("groups.down", { number: m })}
                  disabled={i === f.members.length - 1}
                  onClick={() => move(i, 1)}
                >
                  ↓
                </button>
              </li>
            ))}
          </ol>
        )}
        <DestinationPicker
          label={t("groups.fallback")}
          value={fallback}
          onChange={setFallback}
          extensions={props.extensions}
          groups={props.groups.filter((x) => x.name !== g?.name)}
        />
      </Form>
    </Section>
  );
}
