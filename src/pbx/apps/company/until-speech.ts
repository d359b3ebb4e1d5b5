// Until when a mode forced by `*20` holds, as the confirmation says it after
// the mode's name, in the company's time zone: the time alone today
// ("... jusqu'à treize heures trente"), "demain à" tomorrow, the weekday
// within the week ("... jusqu'à lundi à huit heures"), and the weekday with
// its date a week or more ahead (an override may last up to 14 days).
import { DateTime } from "luxon";
import { sayWeekday, sayWeekdayDate } from "../../../prompts/index.ts";
import type { Language } from "../../../store/types.ts";
import type { Speech } from "../call-control.ts";
import { spoken } from "../voicemail/menu-keys.ts";

/**
 * The words after the mode's name for an end at `until`, said at `now` (ms
 * since the epoch), with the days counted on the calendar of `zone` (an IANA
 * zone; a DST change in between makes no day longer or shorter here).
 * Throws RangeError on an unknown zone.
 */
export function spokenUntil(until: number, now: number, zone: string, language: Language): Speech[] {
  const end = DateTime.fromMillis(until, { zone });
  const today = DateTime.fromMillis(now, { zone });
  if (!end.isValid || !today.isValid) throw new RangeError(`unknown time zone ${zone}`);
  const time: Speech = { time: { hour: end.hour, minute: end.minute } };
  const days = Math.round(end.startOf("day").diff(today.startOf("day"), "days").days);
  if (days <= 0) return ["schedule.switched.until", time];
  if (days === 1) return ["schedule.switched.until-tomorrow", time];
  const day =
    days < 7
      ? sayWeekday(end.weekday, language)
      : sayWeekdayDate(end.weekday, { year: end.year, month: end.month, day: end.day }, language);
  return ["schedule.switched.until-day", ...spoken(day), "schedule.switched.at", time];
}
