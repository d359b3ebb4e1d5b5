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
