// A real Chromium for tests (the Debian package `chromium`, driven by
// playwright-core), with a fake microphone playing a WAV file and the
// permission prompt answered yes, and a tiny page server: getUserMedia needs
// a secure context, which http://127.0.0.1 is and a data: URL is not.
//
// When the binary is missing the tests skip (chromiumSkip() says why),
// except under CI=true, where CI installs it and its absence is a failure:
// launchChromium() then throws with the install command.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { writeWav } from "../../src/media/codec/wav.ts";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The Chromium binary: $VPBX_CHROMIUM, else Debian's. */
export function findChromium(): string | undefined {
  const own = process.env.VPBX_CHROMIUM;
  if (own) return existsSync(own) ? own : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

const MISSING = "Chromium is not installed (Debian: apt-get install chromium)";

/**
 * Why the browser tests cannot run here, or undefined when they can. Under
 * CI=true a missing Chromium is no reason to skip: the test fails instead.
 */
export function chromiumSkip(): string | undefined {
  if (findChromium() !== undefined || process.env.CI === "true") return undefined;
  return MISSING;
}

export interface ChromiumOptions {
  /** A WAV file the fake microphone plays (looped); without it Chromium's beep. */
  audioFile?: string;
  /**
   * Let WebRTC use loopback interfaces (Chromium ignores them by default),
   * so that a browser and a server on 127.0.0.1 pair on loopback.
   */
  allowLoopback?: boolean;
  args?: string[];
}

/** Launches headless Chromium with a fake microphone and camera and no permission prompts. */
export async function launchChromium(opts: ChromiumOptions = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(`${MISSING}, and CI=true needs it`);
  const args = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    // Remote audio plays (and is measured) without a click on the page.
    "--autoplay-policy=no-user-gesture-required",
  ];
  if (opts.audioFile) args.push(`--use-file-for-fake-audio-capture=${opts.audioFile}`);
  // Host candidates as addresses, never registered as mDNS names (no multicast announcement leaves the machine).
  args.push("--disable-features=WebRtcHideLocalIpsWithMdns");
  if (opts.allowLoopback) args.push("--allow-loopback-in-peer-connection");
  // Chromium refuses to start as root with its sandbox (CI runs as root).
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  args.push(...(opts.args ?? []));
  return chromium.launch({ executablePath, args, headless: true });
}

/** A page served from http://127.0.0.1 on an ephemeral port: a secure context for media. */
export async function openPage(
  browser: Browser,
  html = "<!doctype html><title>vpbx test</title>",
): Promise<{
  page: Page;
  close(): Promise<void>;
}> {
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  return {
    page,
    close: async () => {
      await page.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A WAV of a sine tone in a temporary directory; `remove()` deletes it. */
export function toneWavFile(
  frequency: number,
  seconds = 5,
  sampleRate = 48_000,
  amplitude = 0.3,
): { path: string; remove(): void } {
  const samples = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) {
    samples[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  }
  const dir = mkdtempSync(join(tmpdir(), "vpbx-tone-"));
  const path = join(dir, `tone-${frequency}.wav`);
  writeFileSync(path, writeWav(samples, sampleRate));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A hand-made peer in the page (no SIP: the test carries its SDP): one
 * RTCPeerConnection with the fake microphone, its offers and answers, and
 * probes of what it hears (inbound-rtp statistics, a WebAudio analyser).
 * Functions on window: startCall(), acceptAnswer(sdp), answerCall(sdp),
 * inbound(), peak(), connectionState(), hangUp().
 */
export const PEER_PAGE = `<!doctype html><title>vpbx peer</title><script>
let pc, analyser, ctx;
function listen() {
  pc.ontrack = (e) => {
    const s = new MediaStream([e.track]);
    // Played by a media element (headless: to no device): Chromium computes
    // inbound-rtp audioLevel from the playout, and feeds a remote track to
    // WebAudio only while an element plays it.
    const el = new Audio();
    el.srcObject = s;
    el.play().catch(() => {});
    ctx = new AudioContext();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    ctx.createMediaStreamSource(s).connect(analyser);
  };
}
async function open() {
  if (pc) pc.close();
  pc = new RTCPeerConnection();
  listen();
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  for (const t of mic.getTracks()) pc.addTrack(t, mic);
}
async function startCall() {
  await open();
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.sdp;
}
async function acceptAnswer(sdp) {
  await pc.setRemoteDescription({ type: "answer", sdp });
}
async function answerCall(sdp) {
  await open();
  await pc.setRemoteDescription({ type: "offer", sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
}
async function inbound() {
  if (!pc) return null;
  const stats = await pc.getStats();
  let r = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      r = { packetsReceived: s.packetsReceived, audioLevel: s.audioLevel ?? 0, energy: s.totalAudioEnergy ?? 0 };
    }
  });
  return r;
}
function peak() {
  if (!analyser) return null;
  const data = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(data);
  let best = 1;
  for (let i = 2; i < data.length; i++) if (data[i] > data[best]) best = i;
  return { hz: (best * ctx.sampleRate) / analyser.fftSize, db: data[best] };
}
function connectionState() {
  return pc ? pc.connectionState : "none";
}
function hangUp() {
  if (pc) pc.close();
  pc = undefined;
  analyser = undefined;
}
</script>`;

/** Power of `frequency` in the samples (Goertzel), as a share of their total power: ~1 for a pure tone. */
export function toneShare(samples: Int16Array, frequency: number, rate = 8000): number {
  const w = (2 * Math.PI * frequency) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (const x of samples) {
    const s = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
    total += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // A pure tone of N samples puts N/2 · Σx² into its Goertzel bin.
  return total === 0 ? 0 : power / ((samples.length / 2) * total);
}

/** Polls `probe` (real time: a browser runs on its own clock) until `ok`; throws naming `what`. */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
    last = await probe();
  }
  return last;
}
