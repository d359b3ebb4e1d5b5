// Dates, times and durations as the user reads them: in the company's time
// zone (not the browser's: a provider in Zurich looks at a company in
// Lisbon in Lisbon's time), with the language's own formats (Intl).
import type { Lang } from "../types.ts";
import { LOCALES } from "./language.ts";

/** A zone Intl knows, else undefined (the browser's own is used then). */
export function knownZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    // An unknown zone name (RangeError): the browser's own zone is the best left.
    return undefined;
  }
}

export interface Formatter {
  dateTime(iso: string | number | null | undefined): string;
  date(iso: string | number | null | undefined): string;
  time(iso: string | number | null | undefined): string;
  /** "1:05" (m:ss) or "1:02:03" */
  duration(ms: number | null | undefined): string;
  number(n: number): string;
}

export function formatter(lang: Lang, zone?: string): Formatter {
  const locale = LOCALES[lang];
  const timeZone = knownZone(zone);
  const fmt = (opts: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(locale, { ...opts, timeZone });
  const dateTime = fmt({ dateStyle: "medium", timeStyle: "short" });
  const date = fmt({ weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const time = fmt({ hour: "2-digit", minute: "2-digit" });
  const numbers = new Intl.NumberFormat(locale);
  const when = (v: string | number | null | undefined, f: Intl.DateTimeFormat) => {
    if (v === null || v === undefined || v === "") return "";
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? String(v) : f.format(d);
  };
  return {
    dateTime: (v) => when(v, dateTime),
    date: (v) => when(v, date),
    time: (v) => when(v, time),
    duration: (ms) => formatDuration(ms),
    number: (n) => numbers.format(n),
  };
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "";
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Where an instant falls in the company's week: the day (0 = Monday) and the minute of that day, in its zone. */
export function weekPosition(at: Date, zone?: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: knownZone(zone),
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(part("weekday"));
  return { day: Math.max(0, day), minute: Number(part("hour")) * 60 + Number(part("minute")) };
}
