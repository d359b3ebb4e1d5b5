// What a caller of the company's inbound flow hears while the company's
// phones ring: ringback (or the company's music) in a loop, interrupted by
// the waiting announcement after the first wait and again after each
// further one, until someone answers or the flow moves on. One player per
// caller; it lives across the ring steps of a sequential ring group so the
// music and the announcement's rhythm do not restart with each member.
import { stat } from "node:fs/promises";
import { MediaClosedError, type MediaEndpoint, type PlayItem } from "../../media/endpoint/index.ts";
import type { Language } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { SpeechRenderer } from "./speech.ts";
import type { WaitingMedia } from "./steps.ts";

/** Swiss ringback: 425 Hz, 1 s on, 4 s off. */
export const RINGBACK: PlayItem[] = [
  { kind: "tone", freqs: [425], ms: 1000 },
  { kind: "silence", ms: 4000 },
];

export interface WaitingPlayerDeps {
  clock: Clock;
  speech: SpeechRenderer;
  log: Logger;
  language: Language;
  tenant: string;
}

export class WaitingPlayer {
  private timer: Timer | undefined;
  private stopped = false;
  private music: PlayItem[] = RINGBACK;
  /** True while the announcement plays: the loop waits for it instead of restarting the music. */
  private announcing = false;

  constructor(
    readonly endpoint: MediaEndpoint,
    readonly media: WaitingMedia,
    private readonly deps: WaitingPlayerDeps,
  ) {}

  async start(): Promise<void> {
    if (this.media.music) {
      try {
        this.music = await sharedAudio(this.media.music, this.deps);
      } catch (err) {
        this.deps.log.warn(
          { err, file: this.media.music },
          "the company's music cannot be read: ringback instead",
        );
      }
    }
    if (this.stopped) return;
    this.loop();
    if (this.media.announcement) this.arm(this.media.firstMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private loop(): void {
    if (this.stopped || this.announcing || this.endpoint.isClosed) return;
    this.endpoint.play(this.music).then(
      () => this.loop(),
      (err: unknown) => this.ended(err),
    );
  }

  private arm(ms: number): void {
    this.timer = this.deps.clock.setTimer(ms, () => {
      this.timer = undefined;
      this.announce().catch((err: unknown) => this.ended(err));
    });
  }

  private async announce(): Promise<void> {
    if (this.stopped || this.endpoint.isClosed) return;
    const audio = await this.deps.speech.render(
      this.media.announcement!,
      this.deps.language,
      this.deps.tenant,
    );
    if (this.stopped || this.endpoint.isClosed) return;
    this.announcing = true;
    // The announcement cuts the music where it is; the music starts again after it.
    this.endpoint.stopPlayback();
    this.deps.log.info("waiting announcement");
    try {
      await this.endpoint.play(audio);
    } finally {
      this.announcing = false;
    }
    this.arm(this.media.everyMs);
    this.loop();
  }

  /** The endpoint closes when someone answers or the flow moves on: that ends the music. */
  private ended(err: unknown): void {
    if (err instanceof MediaClosedError || this.stopped) return;
    this.deps.log.warn({ err }, "waiting media failed");
  }
}

/**
 * Music may be long (minutes): its samples are read once and shared by
 * every waiting caller of the company, until the file changes.
 */
const shared = new Map<string, { key: string; items: PlayItem[] }>();
const MAX_SHARED = 32;

async function sharedAudio(path: string, deps: WaitingPlayerDeps): Promise<PlayItem[]> {
  const info = await stat(path);
  const key = `${info.mtimeMs}:${info.size}`;
  const hit = shared.get(path);
  if (hit && hit.key === key) return hit.items;
  const items = await deps.speech.render([{ file: path }], deps.language, deps.tenant);
  if (shared.size >= MAX_SHARED) shared.delete(shared.keys().next().value!);
  shared.set(path, { key, items });
  return items;
}
