// A company's own audio: the four announcements of `*30`-`*33` and the
// music for waiting callers, recorded on a phone, uploaded (WAV or MP3) or
// synthesised from a text.
//
// Files. <dataDir>/company-audio/<tenant>/<kind>.wav, 8 kHz mono 16-bit.
// A file is written durably (temporary name, fsync, rename, fsync of the
// directory: durable-files.ts) and only then is its row committed
// (store.companyAudio), so a row never names audio that is not on disk; a
// crash between the two leaves a file without a row, which nobody plays
// (audioFile asks the row first) and the next save overwrites. A reset goes
// the other way round: the row first, then the file. Operations on one
// (tenant, kind) run one after the other, so a save and a reset racing each
// other cannot leave a row and a file that disagree.
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type Actor,
  ANNOUNCEMENT_KINDS,
  type AnnouncementKind,
  type CompanyAudio,
  type CompanyAudioKind,
  type Language,
  type Store,
} from "../../store/types.ts";
import { ensureDirectory, syncDirectory, unlinkIfPresent, writeDurably } from "../../util/durable-files.ts";
import type { Logger } from "../../util/log.ts";
import { type ConversionJob, type Converted, convertAudioInWorker } from "./audio-conversion.ts";
import { AudioRejected, type AudioUpload, type CompanyAudioStore } from "./company.ts";

/** The limits of company audio; the API's documentation quotes them. */
export const COMPANY_AUDIO_LIMITS = {
  /** An upload's size in bytes (20 MB: a 2-minute CD-quality WAV, a 20-minute MP3). */
  maxUploadBytes: 20 * 1024 * 1024,
  /** An announcement's length (welcome, waiting, closed, vacation). */
  maxAnnouncementSeconds: 5 * 60,
  /** The music's length (it loops). */
  maxMusicSeconds: 15 * 60,
  /** A phone recording's sound after its silent edges are cut: less is a slip of the finger. */
  minRecordingSeconds: 0.5,
  /** A text to synthesise, in characters. */
  maxTextLength: 1000,
} as const;

/** Tenant names become a directory name: only plain slugs pass. */
const TENANT_DIR = /^[a-z0-9][a-z0-9-]*$/;
const AUDIO_KINDS: readonly string[] = [...ANNOUNCEMENT_KINDS, "music"];

export interface CompanyAudioDeps {
  store: Store;
  /** Files live under <dataDir>/company-audio. */
  dataDir: string;
  log: Logger;
  /** Speech synthesis: 8 kHz mono 16-bit PCM (the prompts' Synthesizer). */
  speak(text: string, language: Language): Promise<Int16Array>;
  /** Turns audio into the 8 kHz WAV kept; default: in a worker thread (tests may convert in-process). */
  convert?(job: ConversionJob): Promise<Converted>;
}

function label(kind: CompanyAudioKind): string {
  return kind === "music" ? "the music" : `the ${kind} announcement`;
}

function maxSeconds(kind: CompanyAudioKind): number {
  return kind === "music"
    ? COMPANY_AUDIO_LIMITS.maxMusicSeconds
    : COMPANY_AUDIO_LIMITS.maxAnnouncementSeconds;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export class CompanyAudioFiles implements CompanyAudioStore {
  private readonly root: string;
  private readonly convert: (job: ConversionJob) => Promise<Converted>;
  /** The tail of the operations queued per "<tenant>/<kind>". */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: CompanyAudioDeps) {
    this.root = join(deps.dataDir, "company-audio");
    this.convert = deps.convert ?? convertAudioInWorker;
  }

  // --- Paths ---------------------------------------------------------------

  /** The tenant's directory; RangeError on a name that is not a slug (it becomes a path component). */
  private tenantDir(tenant: string): string {
    if (!TENANT_DIR.test(tenant)) throw new RangeError(`tenant name ${JSON.stringify(tenant)} is not a slug`);
    return join(this.root, tenant);
  }

  /** Where a kind's audio lives; RangeError on an unknown kind or a bad tenant name. */
  filePath(tenant: string, kind: CompanyAudioKind): string {
    if (!AUDIO_KINDS.includes(kind)) throw new RangeError(`unknown company audio ${JSON.stringify(kind)}`);
    return join(this.tenantDir(tenant), `${kind}.wav`);
  }

  // --- Reading -------------------------------------------------------------

  async audio(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined> {
    this.filePath(tenant, kind);
    return this.deps.store.companyAudio.get(tenant, kind);
  }

  async audioFile(tenant: string, kind: CompanyAudioKind): Promise<string | undefined> {
    const path = this.filePath(tenant, kind);
    const row = await this.deps.store.companyAudio.get(tenant, kind);
    if (!row) return undefined;
    try {
      await stat(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // The data directory lost a file (restored from an older backup,
      // deleted by hand): the default plays until the audio is set again.
      this.deps.log.warn({ tenant, kind, path }, "company audio has a row but no file; playing the default");
      return undefined;
    }
  }

  // --- Saving --------------------------------------------------------------

  async keepRecording(
    tenant: string,
    kind: AnnouncementKind,
    recording: string,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.filePath(tenant, kind);
    if (!(ANNOUNCEMENT_KINDS as readonly string[]).includes(kind)) {
      throw new RangeError(
        `a phone recording is kept only as an announcement, not as ${JSON.stringify(kind)}`,
      );
    }
    const converted = await this.convert({
      audio: { bytes: await readFile(recording), contentType: "audio/wav" },
      label: "the recording",
      maxSeconds: maxSeconds(kind),
      trim: true,
      minSeconds: COMPANY_AUDIO_LIMITS.minRecordingSeconds,
    });
    const saved = await this.file(tenant, kind, converted, { source: "recording" }, actor);
    // Filed: the endpoint's take is no longer needed. A refused take (too
    // short, silent) stays for the menu, which may offer to record again.
    try {
      await unlinkIfPresent(recording);
    } catch (err) {
      this.deps.log.warn(
        { err, tenant, kind, recording },
        "could not remove a kept recording's temporary file",
      );
    }
    return saved;
  }

  async saveUpload(
    tenant: string,
    kind: CompanyAudioKind,
    upload: AudioUpload,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.filePath(tenant, kind);
    const max = COMPANY_AUDIO_LIMITS.maxUploadBytes;
    if (upload.bytes.length > max) {
      throw new AudioRejected(
        `the file is ${megabytes(upload.bytes.length)}, more than the ${max / (1024 * 1024)} MB allowed: ` +
          "shorten it or send it as MP3",
      );
    }
    const converted = await this.convert({
      audio: { bytes: upload.bytes, contentType: upload.contentType },
      label: label(kind),
      maxSeconds: maxSeconds(kind),
      trim: false,
      minSeconds: 0,
    });
    return this.file(tenant, kind, converted, { source: "upload" }, actor);
  }

  async saveText(
    tenant: string,
    kind: CompanyAudioKind,
    text: string,
    language: Language,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.filePath(tenant, kind);
    const trimmed = text.trim();
    if (trimmed === "") throw new AudioRejected("the text is empty: write what the announcement should say");
    const length = [...trimmed].length;
    const max = COMPANY_AUDIO_LIMITS.maxTextLength;
    if (length > max) {
      throw new AudioRejected(`the text has ${length} characters; at most ${max} can be spoken: shorten it`);
    }
    const samples = await this.deps.speak(trimmed, language);
    const converted = await this.convert({
      audio: { samples },
      label: `the spoken text of ${label(kind)}`,
      maxSeconds: maxSeconds(kind),
      trim: false,
      minSeconds: 0,
    });
    return this.file(tenant, kind, converted, { source: "text", text: trimmed }, actor);
  }

  /** Writes the file, then commits the row (see the top of this file). */
  private file(
    tenant: string,
    kind: CompanyAudioKind,
    converted: Converted,
    what: Pick<CompanyAudio, "source" | "text">,
    actor: Actor,
  ): Promise<CompanyAudio> {
    return this.exclusive(tenant, kind, async () => {
      const path = this.filePath(tenant, kind);
      const previous = await this.deps.store.companyAudio.get(tenant, kind);
      await ensureDirectory(this.tenantDir(tenant));
      await writeDurably(path, converted.wav);
      try {
        const row = await this.deps.store.companyAudio.set(
          { tenant, kind, ...what, durationMs: converted.durationMs },
          actor,
        );
        this.deps.log.info(
          { tenant, kind, source: what.source, durationMs: converted.durationMs },
          "company audio saved",
        );
        return row;
      } catch (err) {
        if (previous) {
          // The old audio is overwritten and cannot come back; the old row
          // still names it, so the new sound plays with the old details.
          this.deps.log.error(
            { err, tenant, kind },
            "company audio file replaced but its row was not updated",
          );
        } else {
          await this.removeFile(tenant, kind);
        }
        throw err;
      }
    });
  }

  // --- Reset ---------------------------------------------------------------

  async resetAudio(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean> {
    this.filePath(tenant, kind);
    return this.exclusive(tenant, kind, async () => {
      const deleted = await this.deps.store.companyAudio.delete(tenant, kind, actor);
      // Also when there was no row: a file left by a crash before its row.
      await this.removeFile(tenant, kind);
      if (deleted) this.deps.log.info({ tenant, kind }, "company audio back to the default");
      return deleted;
    });
  }

  async forget(tenant: string): Promise<void> {
    const dir = this.tenantDir(tenant);
    await rm(dir, { recursive: true, force: true });
    this.deps.log.info({ tenant }, "company audio removed with its company");
  }

  private async removeFile(tenant: string, kind: CompanyAudioKind): Promise<void> {
    if (await unlinkIfPresent(this.filePath(tenant, kind))) await syncDirectory(this.tenantDir(tenant));
  }

  /** Runs `work` after every earlier operation on the same tenant and kind has ended. */
  private exclusive<T>(tenant: string, kind: CompanyAudioKind, work: () => Promise<T>): Promise<T> {
    const key = `${tenant}/${kind}`;
    const before = this.busy.get(key) ?? Promise.resolve();
    const run = before.then(work);
    const tail = run.catch(() => undefined);
    this.busy.set(key, tail);
    void tail.then(() => {
      if (this.busy.get(key) === tail) this.busy.delete(key);
    });
    return run;
  }
}
