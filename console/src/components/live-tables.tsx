// Phones registered (devices) and calls in progress, as tables: the provider's
// live page and the company's extensions page show them.
import { useI18n } from "../i18n/index.ts";
import type { Call, Registration } from "../types.ts";
import { Badge, Table } from "./ui.tsx";

export function RegistrationsTable({ rows, caption }: { rows: readonly Registration[]; caption: string }) {
  const { t, fmt } = useI18n();
  return (
    <Table caption={caption} empty={rows.length === 0} emptyText={t("live.noRegistrations")}>
      <thead>
        <tr>
          <th scope="col">{t("extensions.number")}</th>
          <th scope="col">{t("live.device")}</th>
          <th scope="col">{t("live.source")}</th>
          <th scope="col">{t("live.expires")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.extension}-${r.contact}`}>
            <th scope="row">{r.extension}</th>
            <td>
              {r.userAgent || "—"}
              <div class="muted small break">{r.contact}</div>
            </td>
            <td class="break">{r.source}</td>
            <td>{fmt.time(r.expiresAt)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

export function CallsTable({
  rows,
  caption,
  showTenant,
}: {
  rows: readonly Call[];
  caption: string;
  showTenant?: boolean;
}) {
  const { t, fmt } = useI18n();
  return (
    <Table caption={caption} empty={rows.length === 0} emptyText={t("live.noCalls")}>
      <thead>
        <tr>
          {showTenant && <th scope="col">{t("live.tenant")}</th>}
          <th scope="col">{t("history.from")}</th>
          <th scope="col">{t("history.to")}</th>
          <th scope="col">{t("live.state")}</th>
          <th scope="col">{t("live.since")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => (
          <tr key={c.id}>
            {showTenant && <td>{c.tenant}</td>}
            <td>{c.from}</td>
            <td>{c.to}</td>
            <td>
              <Badge kind={c.state === "answered" ? "ok" : "warn"}>{t(`callState.${c.state}`)}</Badge>
            </td>
            <td>{fmt.time(c.answeredAt ?? c.startedAt)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
