// The call history with its filters (dates in the company's time zone,
// extension, outcome, direction), page by page ("next"), and the same
// filters as a CSV file to download. A "calls" notice refetches the first page.
import { useState } from "preact/hooks";
import { api, query } from "../api.ts";
import { useLive, useResource } from "../hooks.ts";
import { useI18n } from "../i18n/index.ts";
import { CALL_DIRECTIONS, CALL_OUTCOMES, type HistoryCall, type HistoryPage } from "../types.ts";
import { Badge, ErrorText, Loading, Section, SelectField, Table, TextField } from "./ui.tsx";

const OUTCOME_KIND: Partial<Record<string, "ok" | "warn" | "bad" | "info">> = {
  answered: "ok",
  forwarded: "info",
  voicemail: "info",
  transferred: "info",
  busy: "warn",
  "no-answer": "warn",
  unavailable: "warn",
  cancelled: "warn",
  failed: "bad",
};

export interface HistoryProps {
  /** The JSON route: the company's, or one extension's. */
  path: string;
  /** The CSV route, when there is one. */
  csvPath?: string;
  /** The extension filter is offered (the company's history). */
  withExtension?: boolean;
}

export function History({ path, csvPath, withExtension }: HistoryProps) {
  const { t, fmt } = useI18n();
  const [filters, setFilters] = useState({ from: "", to: "", extension: "", outcome: "", direction: "" });
  const [applied, setApplied] = useState(filters);
  const [pages, setPages] = useState<HistoryCall[][]>([]);
  const [next, setNext] = useState<string | null>(null);
  const params = {
    // A date-time without an offset: the API reads it in the company's time zone.
    from: applied.from || undefined,
    to: applied.to || undefined,
    extension: withExtension ? applied.extension || undefined : undefined,
    outcome: applied.outcome || undefined,
    direction: applied.direction || undefined,
  };
  const first = useResource(async () => {
    const page = await api.get<HistoryPage>(`${path}${query({ ...params, limit: 50 })}`);
    setPages([page.calls]);
    setNext(page.next);
    return page;
  }, [path, JSON.stringify(applied)]);
  useLive(["calls"], () => {
    if (pages.length <= 1) first.reload();
  });
  const [more, setMore] = useState<{ busy: boolean; error?: Error }>({ busy: false });
  const calls = pages.flat();
  return (
    <Section title={t("history.title")}>
      <form
        class="filters"
        aria-label={t("history.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        <TextField
          label={t("history.since")}
          type="datetime-local"
          value={filters.from}
          onValue={(v) => setFilters({ ...filters, from: v })}
        />
        <TextField
          label={t("history.until")}
          type="datetime-local"
          value={filters.to}
          onValue={(v) => setFilters({ ...filters, to: v })}
        />
        {withExtension && (
          <TextField
            label={t("extensions.number")}
            inputMode="numeric"
            value={filters.extension}
            onValue={(v) => setFilters({ ...filters, extension: v })}
          />
        )}
        <SelectField
          label={t("history.outcome")}
          value={filters.outcome}
          onValue={(v) => setFilters({ ...filters, outcome: v })}
          options={[
            { value: "", label: t("history.any") },
            ...CALL_OUTCOMES.map((o) => ({ value: o, label: t(`outcome.${o}`) })),
          ]}
        />
        <SelectField
          label={t("history.direction")}
          value={filters.direction}
          onValue={(v) => setFilters({ ...filters, direction: v })}
          options={[
            { value: "", label: t("history.any") },
            ...CALL_DIRECTIONS.map((d) => ({ value: d, label: t(`direction.${d}`) })),
          ]}
        />
        <div class="form-actions">
          <button type="submit" class="primary">
            {t("history.apply")}
          </button>
          {csvPath && (
            <a class="button" href={`${csvPath}${query(params)}`} download="calls.csv">
              {t("history.csv")}
            </a>
          )}
        </div>
      </form>
      <Loading when={first.loading && pages.length === 0} />
      <ErrorText error={first.error} />
      {first.data && (
        <Table caption={t("history.title")} empty={calls.length === 0} emptyText={t("history.empty")}>
          <thead>
            <tr>
              <th scope="col">{t("history.started")}</th>
              <th scope="col">{t("history.direction")}</th>
              <th scope="col">{t("history.from")}</th>
              <th scope="col">{t("history.dialled")}</th>
              <th scope="col">{t("history.destination")}</th>
              <th scope="col">{t("history.outcome")}</th>
              <th scope="col">{t("history.talk")}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.id}>
                <td>{fmt.dateTime(c.startedAt)}</td>
                <td>{t(`direction.${c.direction}`)}</td>
                <td>
                  {c.caller}
                  {c.callerName && <div class="muted small">{c.callerName}</div>}
                </td>
                <td>{c.dialled}</td>
                <td>
                  {c.destination ?? "—"}
                  {c.forwardedTo && (
                    <div class="muted small">{t("history.forwardedTo", { to: c.forwardedTo })}</div>
                  )}
                  {c.trunk && <div class="muted small">{t("history.trunk", { trunk: c.trunk })}</div>}
                </td>
                <td>
                  <Badge kind={OUTCOME_KIND[c.outcome]}>{t(`outcome.${c.outcome}`)}</Badge>
                </td>
                <td>{c.answeredAt ? fmt.duration(c.talkSeconds * 1000) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {next && (
        <button
          type="button"
          disabled={more.busy}
          onClick={async () => {
            setMore({ busy: true });
            try {
              const page = await api.get<HistoryPage>(
                `${path}${query({ ...params, limit: 50, before: next })}`,
              );
              setPages([...pages, page.calls]);
              setNext(page.next);
              setMore({ busy: false });
            } catch (err) {
              setMore({ busy: false, error: err as Error });
            }
          }}
        >
          {t("history.more")}
        </button>
      )}
      {more.error && <ErrorText error={more.error.message} />}
    </Section>
  );
}
