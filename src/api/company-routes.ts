// The REST routes of a company's inbound flow (issue 9): ring groups, the
// schedule and its `*20` override, the call flow switch (`*11`), and the
// company's own audio (the announcements of `*30`-`*33`, music for waiting
// callers). Settings are checked here (shape, then the store: what they name
// exists, no call goes round in a circle) and written to the store; whatever
// runs (the override's end, the feature lamps, the audio files) goes through
// the running Company service, the one the phones' codes use, so that an API
// change and a `*20` or `*11` on a phone keep the same lamps and timers.
import type { FastifyReply, FastifyRequest } from "fastify";
import { DateTime } from "luxon";
import {
  AudioRejected,
  type Company,
  type ScheduleAdvance,
  type ScheduleState,
} from "../pbx/company/company.ts";
import { COMPANY_AUDIO_LIMITS } from "../pbx/company/company-audio.ts";
import {
  type Actor,
  ANNOUNCEMENT_KINDS,
  type CompanyAudio,
  type CompanyAudioKind,
  DEFAULT_CALL_FLOW,
  DEFAULT_SCHEDULE,
  type RingGroup,
  type Store,
  type Tenant,
} from "../store/types.ts";
import {
  callFlowDestinations,
  inboundFlowProblems,
  ringGroupProblems,
  scheduleDestinations,
  validateAudioText,
  validateCallFlow,
  validateNewRingGroup,
  validateRingGroupPatch,
  validateSchedule,
} from "./company-validation.ts";
import { ApiError } from "./errors.ts";
import type { Route } from "./route.ts";
import * as S from "./schemas.ts";
import { ValidationError } from "./validation.ts";

/** An uploaded announcement or music file may be this large: the audio service's own limit. */
export const COMPANY_AUDIO_MAX_BYTES = COMPANY_AUDIO_LIMITS.maxUploadBytes;
/** The media types an announcement upload may declare; application/octet-stream: sniffed from the bytes. */
export const COMPANY_AUDIO_TYPES = ["audio/wav", "audio/x-wav", "audio/mpeg", "application/octet-stream"];

export interface CompanyRouteDeps {
  store: Store;
  company: Company;
  /** Who the audit log names for the changes of this request (auth/guard.ts actorOf). */
  actorOf(req: FastifyRequest): Actor;
  tenantOr404(name: string): Promise<Tenant>;
  /** Streams a WAV file; 404 naming `what` when it is missing. */
  sendWav(reply: FastifyReply, path: string, what: string, filename: string): Promise<unknown>;
}

/**
 * After the API changed what the service keeps in step (the override, the
 * call flow, the feature codes, a tenant's existence): re-arm the override's
 * end and set the lamps. The change itself is stored and stands; a failure
 * here is logged, not answered as a failed request.
 */
export async function refreshCompany(company: Company, req: FastifyRequest, tenant: string): Promise<void> {
  try {
    await company.refresh(tenant);
  } catch (err) {
    req.log.error({ err, tenant }, "refreshing the company's override timer and lamps failed");
  }
}

export function ringGroupView(g: RingGroup) {
  return {
    name: g.name,
    members: g.members,
    strategy: g.strategy,
    timeout: g.timeout,
    memberTimeout: g.memberTimeout,
    fallback: g.fallback,
    createdAt: g.createdAt,
  };
}

/** An instant (ms since the epoch) as ISO 8601 in the tenant's time zone: "2026-03-02T13:30:00.000+01:00". */
export function zonedIso(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISO() ?? new Date(ms).toISOString();
}

export function scheduleStateView(s: ScheduleState, zone: string) {
  return {
    mode: s.mode,
    label: s.label,
    overridden: s.overridden,
    until: s.until === undefined ? null : zonedIso(s.until, zone),
    next: s.next === undefined ? null : { at: zonedIso(s.next.at, zone), mode: s.next.mode },
  };
}

export function scheduleAdvanceView(a: ScheduleAdvance, zone: string) {
  switch (a.kind) {
    case "overridden":
      return { kind: a.kind, mode: a.mode, label: a.label, until: zonedIso(a.until, zone) };
    case "cancelled":
      return { kind: a.kind, state: scheduleStateView(a.state, zone) };
    case "no-transition":
      return { kind: a.kind };
  }
}

/** What the API shows of one kind of company audio; `custom` false: the default plays. */
export function companyAudioView(kind: CompanyAudioKind, a: CompanyAudio | undefined) {
  return {
    kind,
    custom: a !== undefined,
    source: a?.source ?? null,
    text: a?.text ?? null,
    durationMs: a?.durationMs ?? null,
    updatedAt: a?.updatedAt ?? null,
  };
}

const AUDIO_KINDS: readonly CompanyAudioKind[] = [...ANNOUNCEMENT_KINDS, "music"];

/** What callers hear when a kind has no audio of its own. */
function defaultOf(kind: CompanyAudioKind): string {
  return kind === "music" ? "callers hear the ringback tone" : "the default prompt plays";
}

function describe(kind: CompanyAudioKind): string {
  return kind === "music" ? "the music" : `the ${kind} announcement`;
}

export function companyRoutes(deps: CompanyRouteDeps): Route[] {
  const { store, company, actorOf, tenantOr404 } = deps;
  const base = "/api/v1/tenants/:name";

  const groupOr404 = async (tenant: string, name: string): Promise<RingGroup> => {
    const g = await store.ringGroups.get(tenant, name);
    if (!g) throw new ApiError(404, "not_found", `ring group ${name} does not exist in tenant ${tenant}`);
    return g;
  };
  const announcementOr404 = (kind: string): CompanyAudioKind => {
    if ((ANNOUNCEMENT_KINDS as readonly string[]).includes(kind)) return kind as CompanyAudioKind;
    throw new ApiError(
      404,
      "not_found",
      `there is no announcement ${JSON.stringify(kind)}: they are ${ANNOUNCEMENT_KINDS.join(", ")}`,
    );
  };
  const failIf = (problems: string[]) => {
    if (problems.length > 0) throw new ValidationError(problems);
  };

  /** GET, PUT and DELETE of one kind of audio, at `url`. */
  const audioRoutes = (
    url: string,
    kindOf: (params: Record<string, string>) => CompanyAudioKind,
    what: string,
    byDefault: string,
  ) => {
    const params = url.includes(":kind") ? S.params.announcement : S.params.tenant;
    const routes: Route[] = [
      {
        method: "GET",
        access: "tenant",
        url,
        summary: `${what} as WAV (8 kHz mono); 404 when the company has none of its own`,
        schema: { params },
        produces: "audio/wav",
        errors: [404],
        async handler(req, reply) {
          const tenant = await tenantOr404(req.params.name);
          const kind = kindOf(req.params);
          const path = await company.audioFile(tenant.name, kind);
          if (!path) {
            throw new ApiError(
              404,
              "not_found",
              `tenant ${tenant.name} has no ${kind === "music" ? "music" : `${kind} announcement`} of its own: ${defaultOf(kind)}`,
            );
          }
          return deps.sendWav(reply, path, describe(kind), `${kind}.wav`);
        },
      },
      {
        method: "PUT",
        access: "tenant",
        url,
        summary: `Replace ${what}: upload WAV or MP3 (converted to 8 kHz mono, at most ${COMPANY_AUDIO_MAX_BYTES / 1024 / 1024} MiB), or JSON {"text","language"?} said by speech synthesis; audited`,
        schema: {
          params,
          body: { content: { "application/json": { schema: S.AudioText } } },
          response: { 200: S.CompanyAudio },
        },
        consumes: COMPANY_AUDIO_TYPES,
        bodyLimit: COMPANY_AUDIO_MAX_BYTES,
        errors: [404, 413, 415],
        async handler(req) {
          const tenant = await tenantOr404(req.params.name);
          const kind = kindOf(req.params);
          let saved: CompanyAudio;
          try {
            if (Buffer.isBuffer(req.body)) {
              if (req.body.length === 0)
                throw new ValidationError(["the upload is empty: send the audio file"]);
              const contentType = req.headers["content-type"];
              saved = await company.saveUpload(
                tenant.name,
                kind,
                { bytes: req.body, contentType },
                actorOf(req),
              );
            } else if (req.body !== null && typeof req.body === "object") {
              const input = validateAudioText(req.body);
              saved = await company.saveText(
                tenant.name,
                kind,
                input.text,
                input.language ?? tenant.language,
                actorOf(req),
              );
            } else {
              throw new ApiError(
                415,
                "unsupported_media_type",
                `send the audio (Content-Type: ${COMPANY_AUDIO_TYPES.join(", ")}) or {"text":"..."} as application/json`,
              );
            }
          } catch (err) {
            if (err instanceof AudioRejected) throw new ValidationError([err.message]);
            throw err;
          }
          return companyAudioView(kind, saved);
        },
      },
      {
        method: "DELETE",
        access: "tenant",
        url,
        summary: `Back to the default (${byDefault}); 404 when the company has none of its own; audited`,
        schema: { params },
        errors: [404],
        async handler(req, reply) {
          const tenant = await tenantOr404(req.params.name);
          const kind = kindOf(req.params);
          if (!(await company.resetAudio(tenant.name, kind, actorOf(req)))) {
            throw new ApiError(
              404,
              "not_found",
              `tenant ${tenant.name} has no ${kind} audio of its own to remove`,
            );
          }
          return reply.code(204).send();
        },
      },
    ];
    return routes;
  };

  return [
    {
      method: "POST",
      access: "tenant",
      url: `${base}/ring-groups`,
      summary:
        "Create a ring group: extensions rung all at once or in order, for `timeout` seconds, then the fallback",
      schema: { params: S.params.tenant, body: S.NewRingGroup, response: { 201: S.RingGroup } },
      errors: [404, 409],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        const input = validateNewRingGroup(req.body, tenant);
        failIf(await ringGroupProblems(store, tenant.name, input.name, input));
        const g = await store.ringGroups.create({ ...input, tenant: tenant.name }, actorOf(req));
        return reply.code(201).send(ringGroupView(g));
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/ring-groups`,
      summary: "The tenant's ring groups",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.RingGroup) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return (await store.ringGroups.list(tenant.name)).map(ringGroupView);
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/ring-groups/:group`,
      summary: "One ring group",
      schema: { params: S.params.ringGroup, response: { 200: S.RingGroup } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return ringGroupView(await groupOr404(tenant.name, req.params.group));
      },
    },
    {
      method: "PATCH",
      access: "tenant",
      url: `${base}/ring-groups/:group`,
      summary: "Change a ring group's members, strategy, timeouts or fallback (not back to itself)",
      schema: { params: S.params.ringGroup, body: S.RingGroupPatch, response: { 200: S.RingGroup } },
      errors: [404, 409],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const { group } = req.params;
        await groupOr404(tenant.name, group);
        const patch = validateRingGroupPatch(req.body, tenant);
        failIf(await ringGroupProblems(store, tenant.name, group, patch));
        const g = await store.ringGroups.update(tenant.name, group, patch, actorOf(req));
        if (!g)
          throw new ApiError(404, "not_found", `ring group ${group} does not exist in tenant ${tenant.name}`);
        return ringGroupView(g);
      },
    },
    {
      method: "DELETE",
      access: "tenant",
      url: `${base}/ring-groups/:group`,
      summary:
        "Delete a ring group; 409 while a number, the schedule, the call flow or another group names it",
      schema: { params: S.params.ringGroup },
      errors: [404, 409],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        if (!(await store.ringGroups.delete(tenant.name, req.params.group, actorOf(req)))) {
          throw new ApiError(
            404,
            "not_found",
            `ring group ${req.params.group} does not exist in tenant ${tenant.name}`,
          );
        }
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/schedule`,
      summary: "The company's schedule: modes and their destinations, weekly ranges, dated exceptions",
      schema: { params: S.params.tenant, response: { 200: S.Schedule } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return (await store.companyFlow.schedule(tenant.name)) ?? DEFAULT_SCHEDULE;
      },
    },
    {
      method: "PUT",
      access: "tenant",
      url: `${base}/schedule`,
      summary:
        "Replace the schedule; 400 naming the entry at fault (overlapping ranges, end before start, unknown mode, a destination that leads back to the inbound flow); audited",
      schema: { params: S.params.tenant, body: S.SchedulePut, response: { 200: S.Schedule } },
      errors: [404, 409],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const schedule = validateSchedule(req.body, tenant);
        failIf(await inboundFlowProblems(store, tenant.name, scheduleDestinations(schedule)));
        await store.companyFlow.setSchedule(tenant.name, schedule, actorOf(req));
        await refreshCompany(company, req, tenant.name);
        return (await store.companyFlow.schedule(tenant.name)) ?? schedule;
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/schedule/state`,
      summary: "The schedule's mode now, whether *20 forced it, until when, and the next transition",
      schema: { params: S.params.tenant, response: { 200: S.ScheduleState } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return scheduleStateView(await company.scheduleState(tenant), tenant.timezone);
      },
    },
    {
      method: "POST",
      access: "tenant",
      url: `${base}/schedule/next`,
      summary:
        "What *20 does: force the next mode now until the transition after it, or cancel an active override; audited",
      schema: { params: S.params.tenant, response: { 200: S.ScheduleAdvance } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return scheduleAdvanceView(await company.advanceSchedule(tenant, actorOf(req)), tenant.timezone);
      },
    },
    {
      method: "DELETE",
      access: "tenant",
      url: `${base}/schedule/override`,
      summary: "Cancel the override of *20: the schedule rules again; 404 when none is active; audited",
      schema: { params: S.params.tenant },
      errors: [404],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        // The service's view, not the row: an override whose end has passed is over even while stored.
        if (!(await company.scheduleState(tenant)).overridden) {
          throw new ApiError(
            404,
            "not_found",
            `tenant ${tenant.name} has no override active: the schedule rules`,
          );
        }
        await store.companyFlow.setOverride(tenant.name, null, actorOf(req));
        await refreshCompany(company, req, tenant.name);
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/callflow`,
      summary: "The call flow switch (*11): its two states (the first is the normal one) and the state now",
      schema: { params: S.params.tenant, response: { 200: S.CallFlow } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return (await store.companyFlow.callFlow(tenant.name)) ?? DEFAULT_CALL_FLOW;
      },
    },
    {
      method: "PUT",
      access: "tenant",
      url: `${base}/callflow`,
      summary:
        "Replace the call flow switch: exactly two states (the first is the normal one), each with an optional label and destination (none: on to the schedule); audited",
      schema: { params: S.params.tenant, body: S.CallFlow, response: { 200: S.CallFlow } },
      errors: [404, 409],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const flow = validateCallFlow(req.body, tenant);
        failIf(await inboundFlowProblems(store, tenant.name, callFlowDestinations(flow)));
        await store.companyFlow.setCallFlow(tenant.name, flow, actorOf(req));
        await refreshCompany(company, req, tenant.name);
        return (await store.companyFlow.callFlow(tenant.name)) ?? flow;
      },
    },
    {
      method: "POST",
      access: "tenant",
      url: `${base}/callflow/toggle`,
      summary: "What *11 does: switch to the other state; audited",
      schema: { params: S.params.tenant, response: { 200: S.CallFlowView } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return company.toggleCallFlow(tenant, actorOf(req));
      },
    },
    {
      method: "GET",
      access: "tenant",
      url: `${base}/announcements`,
      summary: "The four announcements and the music: whether each is the company's own, and how it was made",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.CompanyAudio) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const own = new Map((await store.companyAudio.list(tenant.name)).map((a) => [a.kind, a]));
        return AUDIO_KINDS.map((k) => companyAudioView(k, own.get(k)));
      },
    },
    ...audioRoutes(
      `${base}/announcements/:kind`,
      (p) => announcementOr404(p.kind),
      "an announcement (welcome, waiting, closed, vacation)",
      "the default prompt in the tenant's language",
    ),
    ...audioRoutes(
      `${base}/music`,
      () => "music",
      "the music callers hear while they wait",
      "the ringback tone",
    ),
  ];
}
