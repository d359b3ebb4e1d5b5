// The ring indication's sound, made in the page (WebAudio, no file): the
// European ring (425 Hz, 1 s on, 4 s off, ETSI TR 101 041-2) while a call
// rings and nobody talks, and a short call-waiting beep (425 Hz, 0.2 s every
// 3 s) while one talks. A browser that blocks audio before a click on the
// page plays nothing; the page shows the call anyway.

export type RingKind = "ring" | "waiting";

export class Ringer {
  private ctx: AudioContext | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private kind: RingKind | undefined;

  /** Rings as `kind`, or stops with undefined. */
  set(kind: RingKind | undefined): void {
    if (kind === this.kind) return;
    this.stop();
    this.kind = kind;
    if (!kind) return;
    const [onMs, everyMs] = kind === "ring" ? [1000, 5000] : [200, 3000];
    const beep = () => this.tone(onMs);
    beep();
    this.timer = setInterval(beep, everyMs);
  }

  stop(): void {
    this.kind = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    void this.ctx?.close().catch(() => undefined);
    this.ctx = undefined;
  }

  private tone(ms: number): void {
    try {
      this.ctx ??= new AudioContext();
      const ctx = this.ctx;
      if (ctx.state === "suspended") void ctx.resume().catch(() => undefined);
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 425;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + ms / 1000);
    } catch (err) {
      // No audio output (or none allowed yet): the ring is shown on the page only.
      console.debug("softphone: ring tone not played", err);
    }
  }
}
