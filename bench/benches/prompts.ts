// Figure 6: time to synthesise a prompt with espeak-ng (WebAssembly, in the
// prompt library's worker) into an empty cache, as on a fresh install.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROMPT_IDS, PromptLibrary } from "../../src/prompts/index.ts";
import { silentLogger } from "../../src/util/log.ts";
import { round } from "../lib/histogram.ts";
import type { BenchContext } from "./context.ts";

export async function benchPrompts(ctx: BenchContext): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "vpbx-bench-prompts-"));
  const library = new PromptLibrary({ dataDir, log: silentLogger() });
  const ids = PROMPT_IDS.slice(0, ctx.quick ? 4 : 10);
  const times: number[] = [];
  let audioSeconds = 0;
  try {
    for (const id of ids) {
      const t = performance.now();
      const pcm = await library.get(id, "fr");
      times.push(performance.now() - t);
      audioSeconds += pcm.length / 8000;
    }
  } finally {
    await library.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The first includes starting the worker and compiling espeak-ng.
  const rest = times.slice(1);
  ctx.report.emit({
    bench: "prompts",
    prompts: times.length,
    language: "fr",
    first_ms: round(times[0] ?? 0, 0),
    mean_ms: round(rest.reduce((a, b) => a + b, 0) / (rest.length || 1), 0),
    max_ms: round(Math.max(0, ...rest), 0),
    audio_s_per_prompt: round(audioSeconds / (times.length || 1), 2),
    synthesized: library.stats.synthesized,
  });
}
