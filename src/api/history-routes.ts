// The call history over the API: a company's calls (its administrators and
// the provider), one extension's calls (its user too), as JSON pages or as a
// CSV file for a spreadsheet. Filters are query parameters, each checked and
// named when wrong: from, to (ISO 8601; without an offset, in the tenant's
// time zone), extension, outcome, direction, limit, before (the cursor of
// the previous page's `next`).
//
// CSV (RFC 4180): a header row, CRLF line ends, a field quoted when it holds
// a quote, a comma or a line break (its quotes doubled). A cell that a
// spreadsheet would read as a formula (starting with = + - @, a tab or a
// carriage return: OWASP's CSV injection) is prefixed with ', since a
// caller's name or a dialled string comes from whoever called.
import { Readable } from "node:stream";
import { DateTime } from "luxon";
import {
  CALL_DIRECTIONS,
  CALL_HISTORY_LIMIT_DEFAULT,
  CALL_HISTORY_LIMIT_MAX,
  CALL_OUTCOMES,
  type CallDirection,
  type CallHistoryFilter,
  type CallOutcome,
  type CallRecord,
  type Store,
  type Tenant,
} from "../store/types.ts";
import { ApiError } from "./errors.ts";
import type { Query, Route } from "./route.ts";
import type { JsonSchema } from "./schemas.ts";
import { EXTENSION_NUMBER_PATTERN, TENANT_NAME_PATTERN, ValidationError } from "./validation.ts";

export interface HistoryRouteDeps {
  store: Pick<Store, "callHistory" | "extensions">;
  tenantOr404(name: string): Promise<Tenant>;
}

/** Rows a CSV export reads from the store at a time. */
const CSV_PAGE = CALL_HISTORY_LIMIT_MAX;
const EXTENSION = new RegExp(EXTENSION_NUMBER_PATTERN, "u");
/** ISO 8601 as a person or a program writes it: a date, or a date and time, with an offset or not. */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const CURSOR = /^(\d{1,16}):([\x21-\x7e]{1,128})$/;

const str = (description: string): JsonSchema => ({ type: "string", description });
const iso = { type: "string", format: "date-time" };
const nullableString = { type: ["string", "null"] };

const FILTERS: Record<string, JsonSchema> = {
  from: str(
    "calls that started at or after this instant: ISO 8601, e.g. 2026-01-05T08:00:00Z; a date or a time without an offset is in the tenant's time zone",
  ),
  to: str("calls that started before this instant (ISO 8601, as from)"),
  outcome: { type: "string", enum: [...CALL_OUTCOMES] },
  direction: { type: "string", enum: [...CALL_DIRECTIONS] },
  limit: str(`calls per page, 1 to ${CALL_HISTORY_LIMIT_MAX} (default ${CALL_HISTORY_LIMIT_DEFAULT})`),
  before: str("the `next` of the previous page: the calls after it"),
};
const query = (extension: boolean): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  properties: extension
    ? {
        ...FILTERS,
        extension: str("calls that involved this extension: calling, rung, answering, its mailbox"),
      }
    : FILTERS,
});
const tenantParams: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: { name: { type: "string", pattern: TENANT_NAME_PATTERN } },
  required: ["name"],
};
const extensionParams: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: TENANT_NAME_PATTERN },
    number: { type: "string", pattern: EXTENSION_NUMBER_PATTERN },
  },
  required: ["name", "number"],
};

export const CallRecordSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    callId: { type: "string", description: "the caller's SIP Call-ID, to find the call in the logs" },
    direction: { type: "string", enum: [...CALL_DIRECTIONS] },
    startedAt: iso,
    answeredAt: { ...iso, type: ["string", "null"], description: "when the destination answered" },
    endedAt: iso,
    talkSeconds: { type: "integer", description: "from the answer to the end; 0 when not answered" },
    caller: { type: "string", description: 'an extension, an E.164 number, or "anonymous"' },
    callerName: nullableString,
    dialled: { type: "string", description: "as dialled; for a call from the trunk, the number it came to" },
    destination: {
      type: ["string", "null"],
      description: 'who answered or was rung last: an extension, a number, "voicemail:101", "app:*72"',
    },
    outcome: { type: "string", enum: [...CALL_OUTCOMES] },
    forwardedTo: { type: ["string", "null"], description: "the last target of a forwarding" },
    trunk: nullableString,
    extensions: {
      type: "array",
      items: { type: "string" },
      description: "the tenant's extensions that took part",
    },
  },
  required: [
    "id",
    "callId",
    "direction",
    "startedAt",
    "answeredAt",
    "endedAt",
    "talkSeconds",
    "caller",
    "callerName",
    "dialled",
    "destination",
    "outcome",
    "forwardedTo",
    "trunk",
    "extensions",
  ],
};

const CallHistoryPage: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    calls: { type: "array", items: CallRecordSchema },
    next: {
      type: ["string", "null"],
      description: "give it as `before` for the next page; null: no more calls",
    },
  },
  required: ["calls", "next"],
};

const isoOf = (ms: number): string => new Date(ms).toISOString();

export function callRecordView(r: CallRecord) {
  return {
    id: r.id,
    callId: r.callId,
    direction: r.direction,
    startedAt: isoOf(r.startedAt),
    answeredAt: r.answeredAt === undefined ? null : isoOf(r.answeredAt),
    endedAt: isoOf(r.endedAt),
    talkSeconds: r.answeredAt === undefined ? 0 : Math.max(0, Math.round((r.endedAt - r.answeredAt) / 1000)),
    caller: r.caller,
    callerName: r.callerName ?? null,
    dialled: r.dialled,
    destination: r.destination ?? null,
    outcome: r.outcome,
    forwardedTo: r.forwardedTo ?? null,
    trunk: r.trunk ?? null,
    extensions: r.extensions,
  };
}

/** The cursor after `r`: opaque to clients, its start and id to us. */
export function cursorOf(r: Pick<CallRecord, "startedAt" | "id">): string {
  return Buffer.from(`${r.startedAt}:${r.id}`, "utf8").toString("base64url");
}

/** One instant of a query, in the tenant's zone when it names none; undefined when unreadable. */
function instant(text: string, zone: string): number | undefined {
  if (!ISO_TIME.test(text)) return undefined;
  const t = DateTime.fromISO(text.replace(" ", "T"), { zone });
  return t.isValid ? t.toMillis() : undefined;
}

/**
 * The filters of a query, each checked: a ValidationError naming every
 * parameter that is wrong and what is expected.
 */
export function readHistoryQuery(q: Query, tenant: Tenant): CallHistoryFilter {
  const problems: string[] = [];
  const filter: CallHistoryFilter = {};
  for (const name of ["from", "to"] as const) {
    const raw = q[name];
    if (raw === undefined) continue;
    const at = instant(raw, tenant.timezone);
    if (at === undefined) {
      problems.push(
        `${name} ${JSON.stringify(raw)} is not a time: expected ISO 8601, e.g. 2026-01-05 or 2026-01-05T08:00:00Z`,
      );
    } else filter[name] = at;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    problems.push(`from ${q.from} must be before to ${q.to}`);
  }
  if (q.extension !== undefined) {
    if (EXTENSION.test(q.extension)) filter.extension = q.extension;
    else
      problems.push(
        `extension ${JSON.stringify(q.extension)} is not an extension number: expected 2 to 6 digits`,
      );
  }
  if (q.outcome !== undefined) {
    if ((CALL_OUTCOMES as readonly string[]).includes(q.outcome)) filter.outcome = q.outcome as CallOutcome;
    else problems.push(`outcome ${JSON.stringify(q.outcome)} must be one of: ${CALL_OUTCOMES.join(", ")}`);
  }
  if (q.direction !== undefined) {
    if ((CALL_DIRECTIONS as readonly string[]).includes(q.direction))
      filter.direction = q.direction as CallDirection;
    else
      problems.push(`direction ${JSON.stringify(q.direction)} must be one of: ${CALL_DIRECTIONS.join(", ")}`);
  }
  if (q.limit !== undefined) {
    const n = /^[0-9]{1,5}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (n >= 1 && n <= CALL_HISTORY_LIMIT_MAX) filter.limit = n;
    else
      problems.push(
        `limit ${JSON.stringify(q.limit)} must be a whole number from 1 to ${CALL_HISTORY_LIMIT_MAX}`,
      );
  }
  if (q.before !== undefined) {
    const m = CURSOR.exec(Buffer.from(q.before, "base64url").toString("utf8"));
    if (m && /^[A-Za-z0-9_-]+$/.test(q.before)) filter.before = { startedAt: Number(m[1]), id: m[2]! };
    else
      problems.push(`before ${JSON.stringify(q.before)} is not a cursor: give the next of a previous page`);
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return filter;
}

/** One CSV field (RFC 4180 §2), made harmless for spreadsheets (formula injection). */
export function csvField(value: string | number | null): string {
  let text = value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_COLUMNS = [
  "started_at",
  "answered_at",
  "ended_at",
  "talk_seconds",
  "direction",
  "caller",
  "caller_name",
  "dialled",
  "destination",
  "outcome",
  "forwarded_to",
  "trunk",
  "extensions",
  "call_id",
  "id",
] as const;

export function csvRow(r: CallRecord): string {
  const v = callRecordView(r);
  const cells = [
    v.startedAt,
    v.answeredAt,
    v.endedAt,
    v.talkSeconds,
    v.direction,
    v.caller,
    v.callerName,
    v.dialled,
    v.destination,
    v.outcome,
    v.forwardedTo,
    v.trunk,
    v.extensions.join(" "),
    v.callId,
    v.id,
  ];
  return `${cells.map(csvField).join(",")}\r\n`;
}

export function historyRoutes(deps: HistoryRouteDeps): Route[] {
  const { store } = deps;

  /** A page of calls, and the cursor of the next one when there are more. */
  const page = async (tenant: string, filter: CallHistoryFilter) => {
    const calls = await store.callHistory.list(tenant, filter);
    const last = calls[calls.length - 1];
    const limit = filter.limit ?? CALL_HISTORY_LIMIT_DEFAULT;
    // One row more, asked for by its own cursor, says whether there is a next page.
    const more =
      last !== undefined &&
      calls.length === limit &&
      (await store.callHistory.list(tenant, { ...filter, limit: 1, before: last })).length > 0;
    return { calls: calls.map(callRecordView), next: more && last ? cursorOf(last) : null };
  };

  /** Every call of the filter, a page of the store at a time, as CSV lines after the header. */
  async function* csvLines(tenant: string, filter: CallHistoryFilter): AsyncGenerator<string> {
    yield `${CSV_COLUMNS.join(",")}\r\n`;
    let left = filter.limit ?? Number.POSITIVE_INFINITY;
    let before = filter.before;
    while (left > 0) {
      const asked = Math.min(CSV_PAGE, left);
      const rows = await store.callHistory.list(tenant, { ...filter, before, limit: asked });
      if (rows.length > 0) yield rows.map(csvRow).join("");
      left -= rows.length;
      const last = rows[rows.length - 1];
      if (!last || rows.length < asked) return;
      before = { startedAt: last.startedAt, id: last.id };
    }
  }

  return [
    {
      method: "GET",
      url: "/api/v1/tenants/:name/calls/history",
      access: "tenant",
      summary:
        "The company's calls, newest first: when, who called, what was dialled, who answered or was rung last, how it ended (answered, busy, no-answer, unavailable, cancelled, failed, forwarded, voicemail, transferred, app); filtered, a page at a time",
      schema: { params: tenantParams, querystring: query(true), response: { 200: CallHistoryPage } },
      errors: [403, 404],
      async handler(req) {
        const tenant = await deps.tenantOr404(req.params.name);
        return page(tenant.name, readHistoryQuery(req.query, tenant));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/calls/history.csv",
      access: "tenant",
      summary:
        "The company's calls as a CSV file (RFC 4180, a header row), with the filters of calls/history; every call they match unless limit is given",
      schema: { params: tenantParams, querystring: query(true) },
      produces: "text/csv",
      errors: [403, 404],
      async handler(req, reply) {
        const tenant = await deps.tenantOr404(req.params.name);
        const filter = readHistoryQuery(req.query, tenant);
        const stream = Readable.from(csvLines(tenant.name, filter));
        stream.on("error", (err) =>
          req.log.error({ err, tenant: tenant.name }, "call history CSV export failed"),
        );
        return reply
          .header("content-type", "text/csv; charset=utf-8; header=present")
          .header("content-disposition", `attachment; filename="calls-${tenant.name}.csv"`)
          .header("cache-control", "no-store")
          .send(stream);
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/calls/history",
      access: "extension",
      summary:
        "One extension's calls, newest first (calling, rung, answering, its mailbox): its user's own list; the filters of calls/history but extension",
      schema: { params: extensionParams, querystring: query(false), response: { 200: CallHistoryPage } },
      errors: [403, 404],
      async handler(req) {
        const tenant = await deps.tenantOr404(req.params.name);
        const number = req.params.number;
        if (!(await store.extensions.get(tenant.name, number))) {
          throw new ApiError(404, "not_found", `extension ${number} does not exist in tenant ${tenant.name}`);
        }
        return page(tenant.name, { ...readHistoryQuery(req.query, tenant), extension: number });
      },
    },
  ];
}
