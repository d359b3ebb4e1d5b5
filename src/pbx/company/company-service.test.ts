import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { DateTime } from "luxon";
import { openStore } from "../../store/sql/open-store.ts";
import type { Actor, CompanyAudio, Schedule, Store, Tenant } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import type { CompanyAudioStore } from "./company.ts";
import { CompanyService, SCHEDULE_ACTOR } from "./company-service.ts";

const ZONE = "Europe/Zurich";
const MON = "2026-01-12";
const at = (date: string, time: string) => DateTime.fromISO(`${date}T${time}`, { zone: ZONE }).toMillis();
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5062" };

const WORKDAYS = ["mon", "tue", "wed", "thu", "fri"] as const;
const SHOP: Schedule = {
  modes: {
    open: { label: "ouvert", destination: { type: "hangup" } },
    closed: { label: "fermé", destination: { type: "voicemail", number: "101" } },
  },
  default: "closed",
  weekly: [
    { days: [...WORKDAYS], from: "08:00", to: "12:00", mode: "open" },
    { days: [...WORKDAYS], from: "13:30", to: "18:00", mode: "open" },
  ],
  exceptions: [],
};

/** The lamps as the event hub would hold them, and every publication. */
class Lamps {
  readonly on = new Map<string, boolean>();
  readonly published: [string, string, boolean][] = [];
  publishFeature(tenant: string, code: string, on: boolean): void {
    this.published.push([tenant, code, on]);
    this.on.set(`${tenant}/${code}`, on);
  }
  lit(tenant: string, code: string): boolean {
    return this.on.get(`${tenant}/${code}`) ?? false;
  }
}

/** Records what the service hands to the audio half. */
function audioStub(calls: unknown[][]): CompanyAudioStore {
  const row = (tenant: string, kind: CompanyAudio["kind"]): CompanyAudio => ({
    tenant,
    kind,
    source: "upload",
    durationMs: 1000,
    updatedAt: "2026-01-12T10:00:00.000Z",
  });
  const record = <T>(call: unknown[], result: T): T => {
    calls.push(call);
    return result;
  };
  return {
    audioFile: async (...args) => record(["audioFile", ...args], "/data/welcome.wav"),
    audio: async (...args) => record(["audio", ...args], row(args[0], args[1])),
    keepRecording: async (...args) => record(["keepRecording", ...args], row(args[0], args[1])),
    saveUpload: async (...args) => record(["saveUpload", ...args], row(args[0], args[1])),
    saveText: async (...args) => record(["saveText", ...args], row(args[0], args[1])),
    resetAudio: async (...args) => record(["resetAudio", ...args], true),
    forget: async (...args) => record(["forget", ...args], undefined),
  };
}

describe("CompanyService", () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let lamps: Lamps;
  let audioCalls: unknown[][];
  let service: CompanyService;
  let acme: Tenant;

  const open = () =>
    new CompanyService({ store, clock, log: silentLogger(), audio: audioStub(audioCalls), lamps });

  /** Closes the service and the store, and opens both again on the same files (a restart). */
  async function restart(): Promise<void> {
    service.close();
    await store.close();
    store = await openStore({ dataDir: dir });
    lamps = new Lamps();
    service = open();
    await service.start();
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-company-"));
    store = await openStore({ dataDir: dir });
    acme = await store.tenants.create({ name: "acme", domain: "acme.test", timezone: ZONE });
    await store.tenants.create({ name: "bistro", domain: "bistro.test", timezone: ZONE });
    clock = new FakeClock(at(MON, "11:45"));
    lamps = new Lamps();
    audioCalls = [];
    service = open();
    await service.start();
  });

  afterEach(async () => {
    service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("schedule", () => {
    it("starts with every lamp off and the default schedule open all the time", async () => {
      assert.equal(lamps.lit("acme", "*20"), false);
      assert.equal(lamps.lit("acme", "*11"), false);
      assert.ok(lamps.published.some(([t, c, on]) => t === "bistro" && c === "*11" && !on));
      assert.deepEqual(await service.scheduleState(acme), { mode: "open", label: "open", overridden: false });
      assert.deepEqual(await service.advanceSchedule(acme, phone), { kind: "no-transition" });
      assert.equal(await store.companyFlow.override("acme"), undefined);
      assert.equal(clock.timerCount, 0);
    });

    it("*20 at 11:45 closes until 13:30, then the schedule rules again by itself", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const advance = await service.advanceSchedule(acme, phone);
      assert.deepEqual(advance, {
        kind: "overridden",
        mode: "closed",
        label: "fermé",
        until: at(MON, "13:30"),
      });
      assert.deepEqual(await store.companyFlow.override("acme"), {
        tenant: "acme",
        mode: "closed",
        since: at(MON, "11:45"),
        until: at(MON, "13:30"),
      });
      const [audited] = await store.audit.list("acme", { limit: 1 });
      assert.equal(audited?.action, "schedule.override");
      assert.deepEqual(audited?.actor, phone);
      assert.equal(lamps.lit("acme", "*20"), true);
      assert.equal(lamps.lit("bistro", "*20"), false);
      assert.deepEqual(await service.scheduleState(acme), {
        mode: "closed",
        label: "fermé",
        overridden: true,
        until: at(MON, "13:30"),
        next: { at: at(MON, "12:00"), mode: "closed" },
      });

      await clock.advanceTo(at(MON, "13:30") - 1);
      assert.equal((await service.scheduleState(acme)).overridden, true);
      assert.equal(lamps.lit("acme", "*20"), true);

      await clock.advanceTo(at(MON, "13:30"));
      assert.equal(await store.companyFlow.override("acme"), undefined);
      assert.equal(lamps.lit("acme", "*20"), false);
      const [ended] = await store.audit.list("acme", { limit: 1 });
      assert.equal(ended?.action, "schedule.override");
      assert.deepEqual(ended?.actor, SCHEDULE_ACTOR);
      assert.equal(ended?.new, null);
      assert.deepEqual(await service.scheduleState(acme), {
        mode: "open",
        label: "ouvert",
        overridden: false,
        until: at(MON, "18:00"),
        next: { at: at(MON, "18:00"), mode: "closed" },
      });
      assert.equal(clock.timerCount, 0);
    });

    it("*20 at 07:30 opens until 12:00", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      clock = new FakeClock(at(MON, "07:30"));
      service.close();
      service = open();
      await service.start();
      assert.deepEqual(await service.advanceSchedule(acme, phone), {
        kind: "overridden",
        mode: "open",
        label: "ouvert",
        until: at(MON, "12:00"),
      });
      const state = await service.scheduleState(acme);
      assert.equal(state.mode, "open");
      assert.equal(state.overridden, true);
    });

    it("*20 again cancels the override", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      await service.advanceSchedule(acme, phone);
      await clock.advance(60_000);
      const cancelled = await service.advanceSchedule(acme, phone);
      assert.deepEqual(cancelled, {
        kind: "cancelled",
        state: {
          mode: "open",
          label: "ouvert",
          overridden: false,
          until: at(MON, "12:00"),
          next: { at: at(MON, "12:00"), mode: "closed" },
        },
      });
      assert.equal(await store.companyFlow.override("acme"), undefined);
      assert.equal(lamps.lit("acme", "*20"), false);
      assert.equal(clock.timerCount, 0);
      const [audited] = await store.audit.list("acme", { limit: 1 });
      assert.deepEqual(audited?.actor, phone);
      assert.equal(audited?.new, null);
    });

    it("two *20 at once: the second sees the first's override and cancels it", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const [first, second] = await Promise.all([
        service.advanceSchedule(acme, phone),
        service.advanceSchedule(acme, { kind: "phone", id: "102" }),
      ]);
      assert.equal(first.kind, "overridden");
      assert.equal(second.kind, "cancelled");
      assert.equal(clock.timerCount, 0);
    });

    it("a restart during the override re-arms its end", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      await service.advanceSchedule(acme, phone);
      await clock.advanceTo(at(MON, "12:30"));
      await restart();
      assert.equal(lamps.lit("acme", "*20"), true);
      assert.equal(clock.timerCount, 1);
      assert.equal((await service.scheduleState(acme)).overridden, true);
      await clock.advanceTo(at(MON, "13:30"));
      assert.equal(await store.companyFlow.override("acme"), undefined);
      assert.equal(lamps.lit("acme", "*20"), false);
    });

    it("a restart after the override's end drops it, audited by the system", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      await service.advanceSchedule(acme, phone);
      // The PBX is down from 12:00 to 14:00: the end at 13:30 passes unseen.
      service.close();
      await clock.advanceTo(at(MON, "14:00"));
      assert.notEqual(await store.companyFlow.override("acme"), undefined);
      await restart();
      assert.equal(await store.companyFlow.override("acme"), undefined);
      assert.equal(clock.timerCount, 0);
      assert.equal(lamps.lit("acme", "*20"), false);
      const [audited] = await store.audit.list("acme", { limit: 1 });
      assert.equal(audited?.action, "schedule.override");
      assert.deepEqual(audited?.actor, SCHEDULE_ACTOR);
      assert.equal(audited?.new, null);
      assert.equal((await service.scheduleState(acme)).mode, "open");
    });

    it("refresh follows an override the API set or removed", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const override = { tenant: "acme", mode: "closed", since: clock.now(), until: at(MON, "16:00") };
      await store.companyFlow.setOverride("acme", override, { kind: "api", id: "admin" });
      await service.refresh("acme");
      assert.equal(lamps.lit("acme", "*20"), true);
      assert.equal(clock.timerCount, 1);
      await store.companyFlow.setOverride("acme", null, { kind: "api", id: "admin" });
      await service.refresh("acme");
      assert.equal(lamps.lit("acme", "*20"), false);
      assert.equal(clock.timerCount, 0);
      // A new end re-arms the one timer.
      await store.companyFlow.setOverride("acme", override, { kind: "api", id: "admin" });
      await service.refresh("acme");
      await store.companyFlow.setOverride(
        "acme",
        { ...override, until: at(MON, "17:00") },
        { kind: "api", id: "admin" },
      );
      await service.refresh("acme");
      assert.equal(clock.timerCount, 1);
      await clock.advanceTo(at(MON, "16:30"));
      assert.equal(lamps.lit("acme", "*20"), true);
      await clock.advanceTo(at(MON, "17:00"));
      assert.equal(lamps.lit("acme", "*20"), false);
    });

    it("refresh of a deleted tenant forgets its timer and turns its lamps off", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      await service.advanceSchedule(acme, phone);
      await store.tenants.delete("acme");
      await service.refresh("acme");
      assert.equal(clock.timerCount, 0);
      assert.equal(lamps.lit("acme", "*20"), false);
    });

    it("close forgets every timer", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      await service.advanceSchedule(acme, phone);
      assert.equal(clock.timerCount, 1);
      service.close();
      assert.equal(clock.timerCount, 0);
    });
  });

  describe("call flow", () => {
    it("toggles between the two default states, lamp on while not normal", async () => {
      assert.deepEqual(await service.callFlow(acme), { state: "normal", label: "normal", normal: true });
      assert.deepEqual(await service.toggleCallFlow(acme, phone), {
        state: "vacation",
        label: "vacation",
        normal: false,
      });
      assert.equal((await store.companyFlow.callFlow("acme"))?.state, "vacation");
      assert.equal(lamps.lit("acme", "*11"), true);
      const [audited] = await store.audit.list("acme", { limit: 1 });
      assert.equal(audited?.action, "callflow.update");
      assert.deepEqual(audited?.actor, phone);
      assert.deepEqual(await service.callFlow(acme), { state: "vacation", label: "vacation", normal: false });

      // It stays until toggled again (no timer).
      assert.equal(clock.timerCount, 0);
      await clock.advance(30 * 86_400_000);
      assert.equal((await service.callFlow(acme)).state, "vacation");

      assert.deepEqual(await service.toggleCallFlow(acme, phone), {
        state: "normal",
        label: "normal",
        normal: true,
      });
      assert.equal(lamps.lit("acme", "*11"), false);
    });

    it("uses the company's own states and labels, the first being the normal one", async () => {
      await store.companyFlow.setCallFlow(
        "acme",
        {
          state: "night",
          states: {
            day: { label: "jour" },
            night: { label: "nuit", destination: { type: "voicemail", number: "101" } },
          },
        },
        { kind: "api", id: "admin" },
      );
      await service.refresh("acme");
      assert.equal(lamps.lit("acme", "*11"), true);
      assert.deepEqual(await service.callFlow(acme), { state: "night", label: "nuit", normal: false });
      assert.deepEqual(await service.toggleCallFlow(acme, phone), {
        state: "day",
        label: "jour",
        normal: true,
      });
      assert.equal(lamps.lit("acme", "*11"), false);
    });

    it("a restart keeps the state and lights the lamp again", async () => {
      await service.toggleCallFlow(acme, phone);
      await restart();
      assert.equal(lamps.lit("acme", "*11"), true);
      assert.equal((await service.callFlow(acme)).state, "vacation");
    });
  });

  it("publishes the lamps under the tenant's current codes", async () => {
    await service.toggleCallFlow(acme, phone);
    assert.equal(lamps.lit("acme", "*11"), true);
    await store.featureCodes.set("acme", "callflow.toggle", "*12");
    await service.refresh("acme");
    assert.equal(lamps.lit("acme", "*11"), false);
    assert.equal(lamps.lit("acme", "*12"), true);
  });

  it("works without lamps", async () => {
    service.close();
    service = new CompanyService({ store, clock, log: silentLogger(), audio: audioStub(audioCalls) });
    await service.start();
    assert.equal((await service.toggleCallFlow(acme, phone)).state, "vacation");
  });

  describe("live notices (the console)", () => {
    /** A service with a live feed that records every notice, the time it was published. */
    async function live(): Promise<string[]> {
      const heard: string[] = [];
      service.close();
      service = new CompanyService({
        store,
        clock,
        log: silentLogger(),
        audio: audioStub(audioCalls),
        lamps,
        live: {
          publish: (n) =>
            heard.push(
              `${DateTime.fromMillis(clock.now(), { zone: ZONE }).toFormat("HH:mm")} ${n.type} ${n.tenant}`,
            ),
        },
      });
      await service.start();
      heard.length = 0;
      return heard;
    }

    it("*20, its cancel, *11 and an API change each say schedule, for that tenant only", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const heard = await live();
      await service.advanceSchedule(acme, phone);
      await service.advanceSchedule(acme, phone);
      await service.toggleCallFlow(acme, phone);
      await service.refresh("acme");
      assert.deepEqual(heard, [
        "11:45 schedule acme",
        "11:45 schedule acme",
        "11:45 schedule acme",
        "11:45 schedule acme",
      ]);
      const bistro = (await store.tenants.get("bistro"))!;
      assert.deepEqual(await service.advanceSchedule(bistro, phone), { kind: "no-transition" });
      assert.equal(heard.length, 4, "nothing changed, nothing said");
    });

    it("the schedule's own transitions are notices at their instant, and an override's end too", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const heard = await live();
      await clock.advanceTo(at(MON, "18:30"));
      assert.deepEqual(heard, ["12:00 schedule acme", "13:30 schedule acme", "18:00 schedule acme"]);
      heard.length = 0;
      await clock.advanceTo(at("2026-01-13", "07:00"));
      await service.advanceSchedule(acme, phone);
      await clock.advanceTo(at("2026-01-13", "12:30"));
      // 07:00 *20 (open until 12:00); 08:00 the range begins (open, still); 12:00 lunch, and the override's end.
      assert.deepEqual(heard, ["07:00 schedule acme", "08:00 schedule acme", "12:00 schedule acme"]);
      assert.equal(await store.companyFlow.override("acme"), undefined);
    });

    it("a deleted tenant's boundary timer goes; close() leaves no timer", async () => {
      await store.companyFlow.setSchedule("acme", SHOP, { kind: "api", id: "admin" });
      const heard = await live();
      assert.equal(clock.timerCount, 1, "acme's next transition");
      await store.tenants.delete("acme");
      await service.refresh("acme");
      assert.deepEqual(heard, ["11:45 schedule acme"]);
      assert.equal(clock.timerCount, 0);
      await store.companyFlow.setSchedule("bistro", SHOP, { kind: "api", id: "admin" });
      await service.refresh("bistro");
      assert.equal(clock.timerCount, 1);
      service.close();
      assert.equal(clock.timerCount, 0);
    });
  });

  it("hands audio to the audio store", async () => {
    const admin: Actor = { kind: "api", id: "admin" };
    const upload = { bytes: Buffer.from("RIFF"), contentType: "audio/wav" };
    assert.equal(await service.audioFile("acme", "welcome"), "/data/welcome.wav");
    assert.equal((await service.audio("acme", "music"))?.kind, "music");
    await service.keepRecording("acme", "closed", "/tmp/rec.wav", phone);
    await service.saveUpload("acme", "waiting", upload, admin);
    await service.saveText("acme", "vacation", "Nous sommes en vacances", "fr", admin);
    assert.equal(await service.resetAudio("acme", "welcome", admin), true);
    assert.deepEqual(audioCalls, [
      ["audioFile", "acme", "welcome"],
      ["audio", "acme", "music"],
      ["keepRecording", "acme", "closed", "/tmp/rec.wav", phone],
      ["saveUpload", "acme", "waiting", upload, admin],
      ["saveText", "acme", "vacation", "Nous sommes en vacances", "fr", admin],
      ["resetAudio", "acme", "welcome", admin],
    ]);
  });
});
