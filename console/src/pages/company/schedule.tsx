// The company's schedule: the mode now and the `*20` override (advance,
// cancel), the call flow switch (`*11`), the week (drawn, dragged, or typed
// in a form), dated exceptions (public holidays), and the modes with where
// each sends calls. The week, exceptions and modes are edited as a draft
// and saved together (PUT …/schedule: the API checks the whole document).
import { useEffect, useState } from "preact/hooks";
import { api, tenantPath } from "../../api.ts";
import {
  DestinationPicker,
  emptyDestination,
  useDescribeDestination,
} from "../../components/destination.tsx";
import {
  ActionButton,
  Badge,
  CheckboxField,
  ErrorText,
  Form,
  Loading,
  Notice,
  PageTitle,
  Section,
  SelectField,
  Table,
  TextField,
} from "../../components/ui.tsx";
import { type ModeInfo, WeekEditor } from "../../components/week-editor.tsx";
import { useAction, useLive, useResource } from "../../hooks.ts";
import { problemText, useI18n } from "../../i18n/index.ts";
import { weekPosition } from "../../lib/format.ts";
import {
  type Block,
  blocksFromWeekly,
  DAY_MINUTES,
  formatTime,
  indexOf,
  parseTime,
  placeBlock,
  removeBlock,
  SNAP_MINUTES,
  weekdayOf,
  weeklyFromBlocks,
} from "../../lib/schedule-model.ts";
import {
  checkModeName,
  hasProblems,
  type Problems,
  validateException,
  validateRange,
} from "../../lib/validate.ts";
import {
  type CallFlow,
  type CallFlowView,
  type Destination,
  type Extension,
  type RingGroup,
  type Schedule,
  type ScheduleAdvance,
  type ScheduleException,
  type ScheduleState,
  type Tenant,
  WEEKDAYS,
  type Weekday,
} from "../../types.ts";

interface Draft {
  blocks: Block[];
  exceptions: ScheduleException[];
  modes: Schedule["modes"];
  default: string;
}

function draftOf(s: Schedule): Draft {
  return {
    blocks: blocksFromWeekly(s.weekly),
    exceptions: [...s.exceptions],
    modes: { ...s.modes },
    default: s.default,
  };
}

function scheduleOf(d: Draft): Schedule {
  return { modes: d.modes, default: d.default, weekly: weeklyFromBlocks(d.blocks), exceptions: d.exceptions };
}

/** Quarter hours of a day, as the time selects offer them ("00:00" … "24:00"). */
function quarterHours(from: number, to: number, keep?: string): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  for (let m = from; m <= to; m += SNAP_MINUTES) out.push({ value: formatTime(m), label: formatTime(m) });
  if (keep && !out.some((o) => o.value === keep)) out.push({ value: keep, label: keep });
  return out.sort((a, b) => a.value.localeCompare(b.value));
}

export function SchedulePage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const base = tenantPath(tenant);
  const info = useResource(() => api.get<Tenant>(base), [tenant]);
  const schedule = useResource(() => api.get<Schedule>(`${base}/schedule`), [tenant]);
  const extensions = useResource(() => api.get<Extension[]>(`${base}/extensions`), [tenant]);
  const groups = useResource(() => api.get<RingGroup[]>(`${base}/ring-groups`), [tenant]);
  const [draft, setDraft] = useState<Draft>();
  const [dirty, setDirty] = useState(false);
  const save = useAction();
  const [saved, setSaved] = useState(false);

  // Another change of the schedule (another admin, the CLI) replaces the draft unless it has unsaved edits.
  useEffect(() => {
    if (schedule.data && !dirty) setDraft(draftOf(schedule.data));
  }, [schedule.data]);
  useLive(["schedule"], () => {
    if (!dirty) schedule.reload();
  });

  const edit = (d: Draft) => {
    setDraft(d);
    setDirty(true);
    setSaved(false);
  };

  return (
    <>
      <PageTitle sub={t("schedule.intro")}>{t("schedule.title")}</PageTitle>
      {info.data && !info.data.features.schedules && <p class="notice warn">{t("schedule.featureOff")}</p>}
      <StateSection tenant={tenant} modes={schedule.data?.modes} />
      <CallFlowSection tenant={tenant} extensions={extensions.data ?? []} groups={groups.data ?? []} />
      <Loading when={schedule.loading && !draft} />
      <ErrorText error={schedule.error} />
      {draft && (
        <>
          <section class="save-bar" aria-label={t("schedule.saveBar")}>
            {dirty ? (
              <Badge kind="warn">{t("schedule.unsaved")}</Badge>
            ) : (
              <Badge kind="ok">{t("schedule.upToDate")}</Badge>
            )}
            <button
              type="button"
              class="primary"
              disabled={!dirty || save.busy}
              aria-busy={save.busy}
              onClick={async () => {
                const ok = await save.run(async () => {
                  const s = await api.put<Schedule>(`${base}/schedule`, scheduleOf(draft));
                  setDirty(false);
                  schedule.set(s);
                  setDraft(draftOf(s));
                });
                setSaved(ok);
              }}
            >
              {t("schedule.save")}
            </button>
            <button
              type="button"
              disabled={!dirty}
              onClick={() => {
                if (schedule.data) setDraft(draftOf(schedule.data));
                setDirty(false);
              }}
            >
              {t("schedule.revert")}
            </button>
            <ErrorText error={save.error} />
            {saved && !dirty && <Notice>{t("common.saved")}</Notice>}
          </section>
          <WeekSection draft={draft} onChange={edit} />
          <ExceptionsSection draft={draft} onChange={edit} />
          <ModesSection
            draft={draft}
            onChange={edit}
            extensions={extensions.data ?? []}
            groups={groups.data ?? []}
          />
        </>
      )}
    </>
  );
}

export function modeInfos(modes: Schedule["modes"]): ModeInfo[] {
  return Object.entries(modes).map(([name, m], i) => ({ name, label: m.label ?? name, colour: i }));
}

function StateSection({ tenant, modes }: { tenant: string; modes?: Schedule["modes"] }) {
  const { t, fmt } = useI18n();
  const base = tenantPath(tenant);
  const state = useResource(() => api.get<ScheduleState>(`${base}/schedule/state`), [tenant]);
  const [last, setLast] = useState<ScheduleAdvance>();
  useLive(["schedule"], () => state.reload());
  // The mode changes with the clock too: read it again every minute.
  useEffect(() => {
    const timer = window.setInterval(() => state.reload(), 60_000);
    return () => window.clearInterval(timer);
  }, []);
  const s = state.data;
  return (
    <Section title={t("schedule.now")}>
      <ErrorText error={state.error} />
      {s && (
        <div class="state" aria-live="polite" data-testid="schedule-state" data-mode={s.mode}>
          <p class="big">
            {t("schedule.modeNow")} <strong>{s.label}</strong>{" "}
            {s.overridden && <Badge kind="warn">{t("schedule.overridden")}</Badge>}
          </p>
          {s.until && (
            <p>
              {t(s.overridden ? "schedule.overrideUntil" : "schedule.until", { when: fmt.dateTime(s.until) })}
            </p>
          )}
          {s.next && (
            <p class="muted">
              {t("schedule.next", {
                when: fmt.dateTime(s.next.at),
                mode: modes?.[s.next.mode]?.label ?? s.next.mode,
              })}
            </p>
          )}
        </div>
      )}
      <div class="inline-actions">
        <ActionButton
          label={t("schedule.advance")}
          title={t("schedule.advanceHint")}
          onClick={async () => {
            setLast(await api.post<ScheduleAdvance>(`${base}/schedule/next`));
            state.reload();
          }}
        />
        {s?.overridden && (
          <ActionButton
            label={t("schedule.cancelOverride")}
            onClick={async () => {
              await api.del(`${base}/schedule/override`);
              setLast(undefined);
              state.reload();
            }}
          />
        )}
      </div>
      {last?.kind === "no-transition" && <Notice>{t("schedule.noTransition")}</Notice>}
      {last?.kind === "overridden" && (
        <Notice>
          {t("schedule.advanced", { mode: last.label ?? last.mode ?? "", when: fmt.dateTime(last.until) })}
        </Notice>
      )}
    </Section>
  );
}

function CallFlowSection({
  tenant,
  extensions,
  groups,
}: {
  tenant: string;
  extensions: Extension[];
  groups: RingGroup[];
}) {
  const { t } = useI18n();
  const path = `${tenantPath(tenant)}/callflow`;
  const flow = useResource(() => api.get<CallFlow>(path), [tenant]);
  useLive(["schedule"], () => flow.reload());
  const describe = useDescribeDestination();
  const [editing, setEditing] = useState(false);
  const f = flow.data;
  const names = f ? Object.keys(f.states) : [];
  const labelOf = (n: string) => f?.states[n]?.label ?? n;
  return (
    <Section title={t("callflow.title")}>
      <ErrorText error={flow.error} />
      {f && (
        <>
          <p class="big" aria-live="polite" data-testid="callflow-state">
            {t("callflow.now")} <strong>{labelOf(f.state)}</strong>{" "}
            {f.state === names[0] ? (
              <Badge kind="ok">{t("callflow.normal")}</Badge>
            ) : (
              <Badge kind="warn">{t("callflow.switched")}</Badge>
            )}
          </p>
          <ul class="plain">
            {names.map((n) => (
              <li key={n}>
                <strong>{labelOf(n)}</strong>:{" "}
                {f.states[n].destination ? describe(f.states[n].destination) : t("callflow.toSchedule")}
              </li>
            ))}
          </ul>
          <div class="inline-actions">
            <ActionButton
              label={t("callflow.toggle", { to: labelOf(names.find((n) => n !== f.state) ?? "") })}
              onClick={async () => {
                await api.post<CallFlowView>(`${path}/toggle`);
                flow.reload();
              }}
            />
            <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
              {t("callflow.edit")}
            </button>
          </div>
          {editing && (
            <CallFlowForm
              flow={f}
              extensions={extensions}
              groups={groups}
              onSave={async (next) => {
                flow.set(await api.put<CallFlow>(path, next));
                setEditing(false);
              }}
            />
          )}
        </>
      )}
    </Section>
  );
}

function CallFlowForm(props: {
  flow: CallFlow;
  extensions: Extension[];
  groups: RingGroup[];
  onSave(f: CallFlow): Promise<void>;
}) {
  const { t } = useI18n();
  const [states, setStates] = useState(props.flow.states);
  const names = Object.keys(states);
  return (
    <Form
      label={t("callflow.edit")}
      submitLabel={t("common.save")}
      onSubmit={() => props.onSave({ state: props.flow.state, states })}
    >
      {names.map((n, i) => {
        const s = states[n];
        return (
          <fieldset key={n}>
            <legend>
              {i === 0 ? t("callflow.normalState", { name: n }) : t("callflow.otherState", { name: n })}
            </legend>
            <TextField
              label={t("schedule.modeLabel")}
              value={s.label ?? ""}
              maxLength={40}
              onValue={(v) => setStates({ ...states, [n]: { ...s, label: v === "" ? undefined : v } })}
            />
            <CheckboxField
              label={t("callflow.useSchedule")}
              checked={s.destination === undefined}
              onValue={(v) =>
                setStates({
                  ...states,
                  [n]: {
                    ...s,
                    destination: v
                      ? undefined
                      : emptyDestination("announcement", props.extensions, props.groups),
                  },
                })
              }
            />
            {s.destination && (
              <DestinationPicker
                label={t("callflow.destination")}
                value={s.destination}
                onChange={(d) => setStates({ ...states, [n]: { ...s, destination: d } })}
                extensions={props.extensions}
                groups={props.groups}
                exclude={["inbound-flow"]}
              />
            )}
          </fieldset>
        );
      })}
    </Form>
  );
}

function WeekSection({ draft, onChange }: { draft: Draft; onChange(d: Draft): void }) {
  const { t, zone } = useI18n();
  const [now, setNow] = useState(() => weekPosition(new Date(), zone));
  useEffect(() => {
    setNow(weekPosition(new Date(), zone));
    const timer = window.setInterval(() => setNow(weekPosition(new Date(), zone)), 30_000);
    return () => window.clearInterval(timer);
  }, [zone]);
  const modes = modeInfos(draft.modes);
  const names = modes.map((m) => m.name);
  const [paint, setPaint] = useState(names.find((n) => n !== draft.default) ?? names[0] ?? "");
  const [selected, setSelected] = useState<Block>();
  useEffect(() => {
    if (!names.includes(paint)) setPaint(names[0] ?? "");
  }, [names.join(",")]);
  const setBlocks = (blocks: Block[]) => onChange({ ...draft, blocks });
  const selectedIndex = selected ? indexOf(draft.blocks, selected) : -1;
  return (
    <Section title={t("schedule.week")}>
      <p class="muted">
        {t("schedule.weekIntro", { mode: draft.modes[draft.default]?.label ?? draft.default })}
      </p>
      <div class="toolbar">
        <SelectField
          label={t("schedule.paintMode")}
          value={paint}
          onValue={setPaint}
          options={modes.map((m) => ({ value: m.name, label: m.label }))}
        />
        <ul class="legend" aria-label={t("schedule.legend")}>
          {modes.map((m) => (
            <li key={m.name}>
              <span class={`swatch mode-${m.colour % 8}`} aria-hidden="true" /> {m.label}
              {m.name === draft.default ? ` (${t("schedule.default")})` : ""}
            </li>
          ))}
        </ul>
      </div>
      <div class="week-layout">
        <WeekEditor
          blocks={draft.blocks}
          onChange={setBlocks}
          modes={modes}
          paintMode={paint}
          selected={selectedIndex >= 0 ? selected : undefined}
          onSelect={setSelected}
          now={now}
        />
        <div class="week-side">
          {selectedIndex >= 0 && selected ? (
            <RangeForm
              key={`${selected.day}-${selected.from}-${selected.to}-${selected.mode}`}
              title={t("schedule.editRange")}
              modes={modes}
              initial={{
                days: [WEEKDAYS[selected.day]],
                from: formatTime(selected.from),
                to: formatTime(selected.to),
                mode: selected.mode,
              }}
              singleDay
              onSubmit={(r) => {
                const rest = removeBlock(draft.blocks, selectedIndex);
                const b: Block = {
                  day: WEEKDAYS.indexOf(r.days[0]),
                  from: parseTime(r.from) ?? 0,
                  to: parseTime(r.to) ?? DAY_MINUTES,
                  mode: r.mode,
                };
                const next = placeBlock(rest, b);
                setBlocks(next);
                setSelected(
                  next.find((o) => o.day === b.day && o.from <= b.from && o.to >= b.to && o.mode === b.mode),
                );
              }}
              onDelete={() => {
                setBlocks(removeBlock(draft.blocks, selectedIndex));
                setSelected(undefined);
              }}
              onClose={() => setSelected(undefined)}
            />
          ) : (
            <RangeForm
              title={t("schedule.addRange")}
              modes={modes}
              initial={{ days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "12:00", mode: paint }}
              onSubmit={(r) => {
                let next = draft.blocks;
                for (const d of r.days) {
                  next = placeBlock(next, {
                    day: WEEKDAYS.indexOf(d),
                    from: parseTime(r.from) ?? 0,
                    to: parseTime(r.to) ?? DAY_MINUTES,
                    mode: r.mode,
                  });
                }
                setBlocks(next);
              }}
            />
          )}
        </div>
      </div>
    </Section>
  );
}

interface RangeInput {
  days: Weekday[];
  from: string;
  to: string;
  mode: string;
}

function RangeForm(props: {
  title: string;
  modes: ModeInfo[];
  initial: RangeInput;
  singleDay?: boolean;
  onSubmit(r: RangeInput): void;
  onDelete?(): void;
  onClose?(): void;
}) {
  const { t } = useI18n();
  const [f, setF] = useState(props.initial);
  const [problems, setProblems] = useState<Problems>({});
  const names = props.modes.map((m) => m.name);
  const check = () => validateRange(f, names);
  return (
    <Form
      label={props.title}
      class="range-form"
      submitLabel={props.singleDay ? t("schedule.applyRange") : t("schedule.addRangeButton")}
      invalid={hasProblems(check())}
      onInvalid={() => setProblems(check())}
      onSubmit={async () => {
        setProblems({});
        props.onSubmit(f);
      }}
      extraButtons={
        <>
          {props.onDelete && (
            <button type="button" class="danger" onClick={props.onDelete}>
              {t("common.delete")}
            </button>
          )}
          {props.onClose && (
            <button type="button" onClick={props.onClose}>
              {t("common.close")}
            </button>
          )}
        </>
      }
    >
      <h3>{props.title}</h3>
      {props.singleDay ? (
        <SelectField
          label={t("schedule.day")}
          value={f.days[0]}
          onValue={(v) => setF({ ...f, days: [v as Weekday] })}
          options={WEEKDAYS.map((d) => ({ value: d, label: t(`day.${d}`) }))}
        />
      ) : (
        <fieldset>
          <legend>{t("schedule.days")}</legend>
          <div class="days">
            {WEEKDAYS.map((d) => (
              <label key={d} class="check-inline">
                <input
                  type="checkbox"
                  checked={f.days.includes(d)}
                  onChange={(e) =>
                    setF({
                      ...f,
                      days: (e.currentTarget as HTMLInputElement).checked
                        ? [...f.days, d]
                        : f.days.filter((x) => x !== d),
                    })
                  }
                />
                {t(`dayShort.${d}`)}
              </label>
            ))}
          </div>
          {problems.days && (
            <small class="field-error" role="alert">
              {problemText(t, problems.days)}
            </small>
          )}
        </fieldset>
      )}
      <div class="grid two">
        <SelectField
          label={t("schedule.from")}
          value={f.from}
          onValue={(v) => setF({ ...f, from: v })}
          options={quarterHours(0, DAY_MINUTES - SNAP_MINUTES, f.from)}
          error={problemText(t, problems.from)}
        />
        <SelectField
          label={t("schedule.to")}
          value={f.to}
          onValue={(v) => setF({ ...f, to: v })}
          options={quarterHours(SNAP_MINUTES, DAY_MINUTES, f.to)}
          error={problemText(t, problems.to)}
        />
      </div>
      <SelectField
        label={t("schedule.mode")}
        value={f.mode}
        onValue={(v) => setF({ ...f, mode: v })}
        options={props.modes.map((m) => ({ value: m.name, label: m.label }))}
        error={problemText(t, problems.mode)}
      />
    </Form>
  );
}

function ExceptionsSection({ draft, onChange }: { draft: Draft; onChange(d: Draft): void }) {
  const { t, fmt } = useI18n();
  const names = Object.keys(draft.modes);
  const labelOf = (n: string) => draft.modes[n]?.label ?? n;
  const [f, setF] = useState({
    date: "",
    mode: names.find((n) => n !== draft.default) ?? names[0] ?? "",
    wholeDay: true,
    from: "08:00",
    to: "12:00",
  });
  const [problems, setProblems] = useState<Problems>({});
  const sorted = [...draft.exceptions].sort(
    (a, b) => a.date.localeCompare(b.date) || (a.from ?? "").localeCompare(b.from ?? ""),
  );
  return (
    <Section title={t("schedule.exceptions")}>
      <p class="muted">{t("schedule.exceptionsIntro")}</p>
      <Table
        caption={t("schedule.exceptions")}
        empty={sorted.length === 0}
        emptyText={t("schedule.noExceptions")}
      >
        <thead>
          <tr>
            <th scope="col">{t("schedule.date")}</th>
            <th scope="col">{t("schedule.hours")}</th>
            <th scope="col">{t("schedule.mode")}</th>
            <th scope="col">
              <span class="visually-hidden">{t("common.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((x) => (
            <tr key={`${x.date}-${x.from ?? ""}`}>
              <th scope="row">
                {t(`dayShort.${WEEKDAYS[weekdayOf(x.date)]}`)} {fmt.date(`${x.date}T12:00:00Z`)}
              </th>
              <td>{x.from && x.to ? `${x.from}–${x.to}` : t("schedule.wholeDay")}</td>
              <td>{labelOf(x.mode)}</td>
              <td>
                <button
                  type="button"
                  class="danger"
                  aria-label={t("schedule.deleteException", { date: x.date })}
                  onClick={() => onChange({ ...draft, exceptions: draft.exceptions.filter((e) => e !== x) })}
                >
                  {t("common.delete")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      <Form
        label={t("schedule.addException")}
        submitLabel={t("schedule.addExceptionButton")}
        invalid={hasProblems(validateException(f, names))}
        onInvalid={() => setProblems(validateException(f, names))}
        onSubmit={async () => {
          setProblems({});
          const x: ScheduleException = { date: f.date, mode: f.mode };
          if (!f.wholeDay) {
            x.from = f.from;
            x.to = f.to;
          }
          onChange({ ...draft, exceptions: [...draft.exceptions, x] });
        }}
      >
        <div class="grid">
          <TextField
            label={t("schedule.date")}
            type="date"
            value={f.date}
            onValue={(v) => setF({ ...f, date: v })}
            error={problemText(t, problems.date)}
          />
          <SelectField
            label={t("schedule.mode")}
            value={f.mode}
            onValue={(v) => setF({ ...f, mode: v })}
            options={names.map((n) => ({ value: n, label: labelOf(n) }))}
            error={problemText(t, problems.mode)}
          />
        </div>
        <CheckboxField
          label={t("schedule.wholeDay")}
          checked={f.wholeDay}
          onValue={(v) => setF({ ...f, wholeDay: v })}
        />
        {!f.wholeDay && (
          <div class="grid two">
            <SelectField
              label={t("schedule.from")}
              value={f.from}
              onValue={(v) => setF({ ...f, from: v })}
              options={quarterHours(0, DAY_MINUTES - SNAP_MINUTES, f.from)}
              error={problemText(t, problems.from)}
            />
            <SelectField
              label={t("schedule.to")}
              value={f.to}
              onValue={(v) => setF({ ...f, to: v })}
              options={quarterHours(SNAP_MINUTES, DAY_MINUTES, f.to)}
              error={problemText(t, problems.to)}
            />
          </div>
        )}
      </Form>
    </Section>
  );
}

function ModesSection(props: {
  draft: Draft;
  onChange(d: Draft): void;
  extensions: Extension[];
  groups: RingGroup[];
}) {
  const { t } = useI18n();
  const { draft, onChange } = props;
  const describe = useDescribeDestination();
  const [open, setOpen] = useState<string>();
  const [name, setName] = useState("");
  const [shown, setShown] = useState(false);
  const names = Object.keys(draft.modes);
  const used = (n: string) =>
    n === draft.default ||
    draft.blocks.some((b) => b.mode === n) ||
    draft.exceptions.some((x) => x.mode === n);
  const nameProblem =
    checkModeName(name) ?? (names.includes(name) ? { key: "validate.modeTaken" as const } : undefined);
  const setMode = (n: string, m: Schedule["modes"][string]) =>
    onChange({ ...draft, modes: { ...draft.modes, [n]: m } });
  return (
    <Section title={t("schedule.modes")}>
      <p class="muted">{t("schedule.modesIntro")}</p>
      <SelectField
        label={t("schedule.defaultMode")}
        value={draft.default}
        onValue={(v) => onChange({ ...draft, default: v })}
        options={names.map((n) => ({ value: n, label: draft.modes[n].label ?? n }))}
      />
      <ul class="modes">
        {names.map((n) => {
          const m = draft.modes[n];
          return (
            <li key={n}>
              <div class="mode-head">
                <strong>{m.label ?? n}</strong> <code>{n}</code> → {describe(m.destination)}{" "}
                <button
                  type="button"
                  aria-expanded={open === n}
                  onClick={() => setOpen(open === n ? undefined : n)}
                >
                  {t("common.edit")}
                </button>
                <button
                  type="button"
                  class="danger"
                  disabled={used(n)}
                  title={used(n) ? t("schedule.modeInUse") : undefined}
                  aria-label={t("schedule.deleteMode", { name: n })}
                  onClick={() => {
                    const { [n]: _gone, ...rest } = draft.modes;
                    onChange({ ...draft, modes: rest });
                  }}
                >
                  {t("common.delete")}
                </button>
              </div>
              {open === n && (
                <div class="mode-edit">
                  <TextField
                    label={t("schedule.modeLabel")}
                    value={m.label ?? ""}
                    maxLength={40}
                    onValue={(v) => setMode(n, { ...m, label: v === "" ? undefined : v })}
                  />
                  <DestinationPicker
                    label={t("schedule.modeDestination")}
                    value={m.destination}
                    onChange={(d: Destination) => setMode(n, { ...m, destination: d })}
                    extensions={props.extensions}
                    groups={props.groups}
                    exclude={["inbound-flow"]}
                  />
                </div>
              )}
            </li>
          );
        })}
      </ul>
      <Form
        label={t("schedule.addMode")}
        submitLabel={t("schedule.addModeButton")}
        invalid={nameProblem !== undefined}
        onInvalid={() => setShown(true)}
        onSubmit={async () => {
          setMode(name, { destination: { type: "hangup" } });
          setOpen(name);
          setName("");
          setShown(false);
        }}
      >
        <TextField
          label={t("schedule.modeName")}
          hint={t("schedule.modeNameHint")}
          value={name}
          onValue={setName}
          error={shown ? problemText(t, nameProblem) : undefined}
        />
      </Form>
    </Section>
  );
}
