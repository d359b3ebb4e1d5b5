import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { concat, silence, sine, speechLike } from "../../../test/harness/audio.ts";
import { readWav, writeWav } from "../../media/codec/wav.ts";
import { activeRms } from "../../prompts/levels.ts";
import { openStore, type SqlStore } from "../../store/sql/open-store.ts";
import { type Actor, type CompanyAudioKind, type Language, StoreConflict } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { capturingLogger } from "../../util/log.ts";
import { type ConversionJob, convertAudio } from "./audio-conversion.ts";
import { AudioRejected } from "./company.ts";
import { COMPANY_AUDIO_LIMITS, CompanyAudioFiles } from "./company-audio.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-company-audio-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const MP3 = readFileSync(new URL("../../media/codec/fixtures/tone-1khz.mp3", import.meta.url));
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

/** -16 dBFS, the prompts' speech level, as an RMS in 16-bit units. */
const PROMPT_RMS = 32768 * 10 ** (-16 / 20);

/** A 16-bit stereo WAV at `rate` with the same signal in both channels. */
function stereoWav(mono: Int16Array, rate: number): Buffer {
  const wav = writeWav(new Int16Array(mono.length * 2), rate);
  wav.writeUInt16LE(2, 22); // channels
  wav.writeUInt32LE(rate * 4, 28); // byte rate
  wav.writeUInt16LE(4, 32); // block align
  for (let i = 0; i < mono.length; i++) {
    wav.writeInt16LE(mono[i], 44 + i * 4);
    wav.writeInt16LE(mono[i], 46 + i * 4);
  }
  return wav;
}

/** The dominant frequency by zero crossings over the middle of the signal. */
function frequency(samples: Int16Array, rate = 8000): number {
  const from = Math.floor(samples.length * 0.1);
  const to = Math.floor(samples.length * 0.9);
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if (samples[i - 1] < 0 !== samples[i] < 0) crossings++;
  return (crossings / 2) * (rate / (to - from));
}

describe("company audio files", () => {
  let dataDir: string;
  let store: SqlStore;
  let logged: ReturnType<typeof capturingLogger>;
  let spoken: Array<{ text: string; language: Language }>;
  let converted: ConversionJob[];
  let audio: CompanyAudioFiles;

  /** In-process conversion (the worker is tested on its own below), recording each job. */
  const make = (convert?: (job: ConversionJob) => ReturnType<typeof convertAudio>) =>
    new CompanyAudioFiles({
      store,
      dataDir,
      log: logged.log,
      speak: async (text, language) => {
        spoken.push({ text, language });
        return concat(silence(200), speechLike(1500), silence(200));
      },
      convert:
        convert ??
        ((job) => {
          converted.push(job);
          return convertAudio(job);
        }),
    });

  beforeEach(async () => {
    dataDir = join(root, `d${n++}`);
    store = await openStore({ dataDir, clock: new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0)) });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    logged = capturingLogger();
    spoken = [];
    converted = [];
    audio = make();
  });
  afterEach(async () => {
    await store.close();
  });

  const fileOf = (kind: CompanyAudioKind, tenant = "acme") =>
    join(dataDir, "company-audio", tenant, `${kind}.wav`);

  /** The row and the file exist together or not at all; no temporary file is left. */
  async function assertAgree(kind: CompanyAudioKind, present: boolean, tenant = "acme"): Promise<void> {
    const row = await store.companyAudio.get(tenant, kind);
    assert.equal(row !== undefined, present, `row of ${kind}`);
    assert.equal(existsSync(fileOf(kind, tenant)), present, `file of ${kind}`);
    assert.equal(await audio.audioFile(tenant, kind), present ? fileOf(kind, tenant) : undefined);
    const dir = join(dataDir, "company-audio", tenant);
    if (existsSync(dir)) {
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary file",
      );
    }
  }

  function recording(samples: Int16Array): string {
    const path = join(root, `rec-${n++}.wav`);
    writeFileSync(path, writeWav(samples, 8000));
    return path;
  }

  test("a 44.1 kHz stereo WAV upload is kept as an 8 kHz mono WAV at the prompts' level", async () => {
    const quiet = speechLike(2000, 44100).map((s) => Math.round(s / 8));
    const row = await audio.saveUpload("acme", "welcome", { bytes: stereoWav(quiet, 44100) }, api);
    assert.equal(row.tenant, "acme");
    assert.equal(row.kind, "welcome");
    assert.equal(row.source, "upload");
    assert.equal(row.text, undefined);
    assert.equal(row.durationMs, 2000);
    assert.deepEqual(await audio.audio("acme", "welcome"), row);
    const kept = readWav(readFileSync(fileOf("welcome")));
    assert.equal(kept.sampleRate, 8000);
    assert.equal(kept.samples.length, 16000);
    // The header says mono 16-bit PCM.
    const header = readFileSync(fileOf("welcome")).subarray(20, 36);
    assert.deepEqual([header.readUInt16LE(0), header.readUInt16LE(2), header.readUInt16LE(14)], [1, 1, 16]);
    const rms = activeRms(kept.samples);
    assert.ok(Math.abs(20 * Math.log10(rms / PROMPT_RMS)) < 1, `level ${rms}`);
    await assertAgree("welcome", true);
    const events = (await store.audit.list("acme")).map((e) => e.action);
    assert.ok(events.includes("announcement.set"), events.join());
  });

  test("an MP3 upload (no content type) becomes its 1 kHz tone at 8 kHz", async () => {
    const row = await audio.saveUpload("acme", "music", { bytes: MP3 }, api);
    assert.equal(row.source, "upload");
    assert.ok(row.durationMs >= 1000 && row.durationMs < 1100, `${row.durationMs} ms`);
    const kept = readWav(readFileSync(fileOf("music")));
    assert.ok(Math.abs(frequency(kept.samples) - 1000) < 10);
    await assertAgree("music", true);
  });

  test("a text is spoken in the given language and kept with its text", async () => {
    const row = await audio.saveText("acme", "closed", "  Nous sommes fermés.  ", "fr", phone);
    assert.deepEqual(spoken, [{ text: "Nous sommes fermés.", language: "fr" }]);
    assert.equal(row.source, "text");
    assert.equal(row.text, "Nous sommes fermés.");
    assert.equal(row.durationMs, 1900);
    await assertAgree("closed", true);
  });

  test("text limits: empty and longer than 1000 characters are rejected before synthesis", async () => {
    await assert.rejects(audio.saveText("acme", "closed", " \n ", "fr", api), /the text is empty/);
    const long = "é".repeat(COMPANY_AUDIO_LIMITS.maxTextLength + 1);
    await assert.rejects(
      audio.saveText("acme", "closed", long, "fr", api),
      (err: unknown) => err instanceof AudioRejected && /1001 characters; at most 1000/.test(err.message),
    );
    // 1000 characters (not UTF-16 units: "é" is one) pass.
    await audio.saveText("acme", "closed", "é".repeat(1000), "fr", api);
    assert.equal(spoken.length, 1);
  });

  test("a kept recording is trimmed, normalised and filed; the endpoint's file is removed", async () => {
    const take = recording(concat(silence(1500), speechLike(2000), silence(2500)));
    const row = await audio.keepRecording("acme", "vacation", take, phone);
    assert.equal(row.source, "recording");
    // Trimmed to the sound plus a 40 ms margin on each side (10 ms frames).
    assert.ok(row.durationMs >= 2000 && row.durationMs <= 2100, `${row.durationMs} ms`);
    assert.equal(readWav(readFileSync(fileOf("vacation"))).samples.length, (row.durationMs * 8000) / 1000);
    assert.ok(!existsSync(take), "the recording is removed");
    assert.deepEqual(
      converted.map((j) => j.trim),
      [true],
    );
    await assertAgree("vacation", true);
  });

  test("a recording shorter than 0.5 s of sound is refused; the old one stays, the take too", async () => {
    const first = await audio.keepRecording("acme", "waiting", recording(speechLike(1000)), phone);
    const take = recording(concat(silence(2000), sine(700, 300), silence(2000)));
    await assert.rejects(audio.keepRecording("acme", "waiting", take, phone), (err: unknown) => {
      assert.ok(err instanceof AudioRejected);
      assert.match(err.message, /too short/);
      return true;
    });
    await assert.rejects(audio.keepRecording("acme", "waiting", recording(silence(3000)), phone), /no sound/);
    assert.ok(existsSync(take), "the menu still has the take");
    assert.deepEqual(await audio.audio("acme", "waiting"), first);
    await assertAgree("waiting", true);
  });

  test("reset removes the row and the file; nothing to reset answers false", async () => {
    await audio.saveUpload("acme", "welcome", { bytes: MP3, contentType: "audio/mpeg" }, api);
    assert.equal(await audio.resetAudio("acme", "welcome", api), true);
    await assertAgree("welcome", false);
    assert.equal(await audio.resetAudio("acme", "welcome", api), false);
    const events = (await store.audit.list("acme")).map((e) => e.action);
    assert.ok(events.includes("announcement.reset"), events.join());
  });

  test("reset also removes a file left without its row (a crash between file and row)", async () => {
    mkdirSync(join(dataDir, "company-audio", "acme"), { recursive: true });
    writeFileSync(fileOf("closed"), writeWav(speechLike(500), 8000));
    assert.equal(await audio.audioFile("acme", "closed"), undefined, "no row: the default plays");
    assert.equal(await audio.resetAudio("acme", "closed", api), false);
    await assertAgree("closed", false);
  });

  test("a row whose file is gone plays the default and is logged", async () => {
    await audio.saveUpload("acme", "closed", { bytes: MP3 }, api);
    rmSync(fileOf("closed"));
    assert.equal(await audio.audioFile("acme", "closed"), undefined);
    assert.ok(logged.lines.some((l) => l.level === 40 && /no file/.test(String(l.msg))));
    assert.ok(await audio.audio("acme", "closed"), "the row is still there");
  });

  test("limits: 20 MB per upload, 5 minutes per announcement, 15 minutes of music", async () => {
    const big = Buffer.alloc(COMPANY_AUDIO_LIMITS.maxUploadBytes + 1);
    await assert.rejects(
      audio.saveUpload("acme", "music", { bytes: big }, api),
      (err: unknown) => err instanceof AudioRejected && /more than the 20 MB allowed/.test(err.message),
    );
    assert.equal(converted.length, 0, "refused before any decoding");

    const fiveMinutesAndOne = writeWav(sine(440, 301_000, 4000), 8000);
    await assert.rejects(
      audio.saveUpload("acme", "welcome", { bytes: fiveMinutesAndOne }, api),
      (err: unknown) => {
        assert.ok(err instanceof AudioRejected);
        assert.equal(
          err.message,
          "the welcome announcement is longer than 5 minutes: shorten it to at most 5 minutes",
        );
        return true;
      },
    );
    await assertAgree("welcome", false);
    const music = await audio.saveUpload("acme", "music", { bytes: fiveMinutesAndOne }, api);
    assert.equal(music.durationMs, 301_000);
    await assertAgree("music", true);
    assert.deepEqual(
      converted.map((j) => j.maxSeconds),
      [300, 900],
    );
  });

  test("bad audio is refused with its reason and changes nothing", async () => {
    const before = await audio.saveUpload("acme", "welcome", { bytes: MP3 }, api);
    for (const [bytes, reason] of [
      [Buffer.alloc(0), /empty/],
      [Buffer.from("GIF89a not audio at all"), /neither WAV nor MP3/],
      [writeWav(new Int16Array(8000), 8000), /no sound/],
    ] as const) {
      await assert.rejects(
        audio.saveUpload("acme", "welcome", { bytes: Buffer.from(bytes) }, api),
        (err: unknown) => err instanceof AudioRejected && reason.test(err.message),
      );
    }
    assert.deepEqual(await audio.audio("acme", "welcome"), before);
    await assertAgree("welcome", true);
  });

  test("a bad tenant name or kind never becomes a path", async () => {
    for (const tenant of ["../etc", "Acme", "", "-x", "a/b"]) {
      await assert.rejects(audio.saveUpload(tenant, "welcome", { bytes: MP3 }, api), RangeError);
      await assert.rejects(audio.audioFile(tenant, "welcome"), RangeError);
      await assert.rejects(audio.resetAudio(tenant, "welcome", api), RangeError);
    }
    await assert.rejects(
      audio.saveUpload("acme", "../../x" as CompanyAudioKind, { bytes: MP3 }, api),
      RangeError,
    );
    await assert.rejects(
      audio.keepRecording("acme", "music" as "welcome", recording(speechLike(1000)), phone),
      RangeError,
    );
    assert.equal(converted.length, 0);
    assert.ok(!existsSync(join(dataDir, "company-audio")), "nothing written");
  });

  test("an unknown tenant: the store refuses the row and the new file is removed", async () => {
    await assert.rejects(audio.saveUpload("nobody", "welcome", { bytes: MP3 }, api), StoreConflict);
    await assertAgree("welcome", false, "nobody");
  });

  test("a save and a reset of the same audio run one after the other", async () => {
    const saving = audio.saveUpload("acme", "waiting", { bytes: MP3 }, api);
    const resetting = (async () => {
      // Let the save reach its file before the reset asks.
      await new Promise((resolve) => setImmediate(resolve));
      return audio.resetAudio("acme", "waiting", api);
    })();
    await saving;
    assert.equal(await resetting, true);
    await assertAgree("waiting", false);
  });

  test("the default conversion runs in a worker thread, rejections included", async () => {
    audio = new CompanyAudioFiles({ store, dataDir, log: logged.log, speak: async () => speechLike(1000) });
    const row = await audio.saveUpload(
      "acme",
      "music",
      { bytes: stereoWav(speechLike(1000, 44100), 44100) },
      api,
    );
    assert.equal(row.durationMs, 1000);
    assert.equal(readWav(readFileSync(fileOf("music"))).sampleRate, 8000);
    await assertAgree("music", true);
    await assert.rejects(
      audio.saveUpload("acme", "welcome", { bytes: Buffer.from("junk junk junk") }, api),
      (err: unknown) => err instanceof AudioRejected && /neither WAV nor MP3/.test(err.message),
    );
    const text = await audio.saveText("acme", "welcome", "Bonjour", "fr", api);
    assert.equal(text.durationMs, 1000);
  });
});
