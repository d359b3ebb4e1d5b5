// The prompts room: what the PBX says (catalogue, numbers, dates), and the
// audio for it (overrides, synthesis cache, espeak-ng in a worker).
import { LANGUAGES, type Language } from "../store/types.ts";
import type { Logger } from "../util/log.ts";
import { PROMPT_IDS } from "./catalogue.ts";
import { PromptLibrary } from "./prompt-cache.ts";
import type { Synth } from "./synthesizer.ts";
import { fragmentIds } from "./words.ts";

export { isPromptId, PROMPT_IDS, type PromptId, promptText, UnknownPrompt } from "./catalogue.ts";
export { activeRms, normalise, trimSilence } from "./levels.ts";
export {
  MAX_SPOKEN_TEXT,
  PromptLibrary,
  type PromptLibraryOptions,
  type PromptLibraryStats,
} from "./prompt-cache.ts";
export {
  type DateLike,
  type Gender,
  GROUP_PAUSE_MS,
  type PromptPart,
  sayDate,
  sayDigits,
  sayMessageCounts,
  sayMessageEnvelope,
  sayNumber,
  sayTime,
  sayWeekday,
  sayWeekdayDate,
} from "./say.ts";
export { PROMPT_SAMPLE_RATE, SYNTH_VERSION, type Synth, Synthesizer, VOICES } from "./synthesizer.ts";
export { fragmentIds, fragmentText } from "./words.ts";

/** Every id that a language can play: the catalogue sentences and the number/date fragments. */
export function allPromptIds(language: Language): string[] {
  return [...PROMPT_IDS, ...fragmentIds(language)];
}

/**
 * Synthesises ahead every catalogue sentence and every fragment that is not
 * in the cache yet (`vpbx prompts build`, and in the background at PBX
 * start), so no caller ever waits for espeak-ng. Texts shared by several ids
 * (digit.7 and number.7) are synthesised once.
 */
export async function buildPromptCache(opts: {
  dataDir: string;
  languages?: Language[];
  log: Logger;
  synth?: Synth;
  /**
   * The running PBX's own library: its one speech worker does the work (a
   * second library would start a second worker, ~150 MB more for as long),
   * and it is left open.
   */
  library?: PromptLibrary;
}): Promise<{ generated: number; cached: number; ms: number }> {
  const started = performance.now();
  const library =
    opts.library ?? new PromptLibrary({ dataDir: opts.dataDir, log: opts.log, synth: opts.synth });
  let generated = 0;
  let cached = 0;
  try {
    for (const language of opts.languages ?? LANGUAGES) {
      for (const id of allPromptIds(language)) {
        if ((await library.ensureCached(id, language)) === "generated") generated++;
        else cached++;
      }
    }
  } finally {
    if (!opts.library) await library.close();
  }
  const ms = Math.round(performance.now() - started);
  opts.log.info({ generated, cached, ms }, "prompt cache built");
  return { generated, cached, ms };
}
