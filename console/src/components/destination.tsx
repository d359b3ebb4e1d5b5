// Where a call goes (a number's destination, a schedule mode's, a ring
// group's fallback, a call flow state's): the API's Destination, chosen
// with a type and what that type needs; an announcement names where the
// call goes after it (nested up to three levels, as the API allows).
import { useI18n } from "../i18n/index.ts";
import {
  ANNOUNCEMENT_KINDS,
  type AnnouncementKind,
  DESTINATION_TYPES,
  type Destination,
  type DestinationType,
  type Extension,
  type RingGroup,
} from "../types.ts";
import { SelectField, TextField } from "./ui.tsx";

const MAX_DEPTH = 3;

export function emptyDestination(
  type: DestinationType,
  extensions: readonly Extension[],
  groups: readonly RingGroup[],
): Destination {
  switch (type) {
    case "extension":
    case "voicemail":
      return { type, number: extensions[0]?.number ?? "" };
    case "external":
      return { type, number: "" };
    case "ring-group":
      return { type, name: groups[0]?.name ?? "" };
    case "announcement":
      return { type, announcement: "closed", then: { type: "hangup" } };
    case "inbound-flow":
      return { type };
    case "hangup":
      return { type };
  }
}

/** One line saying where a destination leads ("Extension 101", "Announcement closed, then hang up"). */
export function useDescribeDestination(): (d: Destination | undefined) => string {
  const { t } = useI18n();
  const describe = (d: Destination | undefined): string => {
    if (!d) return t("destination.none");
    switch (d.type) {
      case "extension":
        return t("destination.toExtension", { number: d.number });
      case "voicemail":
        return t("destination.toVoicemail", { number: d.number });
      case "external":
        return t("destination.toExternal", { number: d.number });
      case "ring-group":
        return t("destination.toGroup", { name: d.name });
      case "announcement":
        return t("destination.toAnnouncement", {
          announcement: t(`announcement.${d.announcement}`),
          then: describe(d.then),
        });
      case "inbound-flow":
        return t("destinationType.inbound-flow");
      case "hangup":
        return t("destinationType.hangup");
    }
  };
  return describe;
}

export function DestinationPicker(props: {
  label: string;
  value: Destination;
  onChange(d: Destination): void;
  extensions: readonly Extension[];
  groups: readonly RingGroup[];
  /** Types left out here (inbound-flow where it would loop). */
  exclude?: readonly DestinationType[];
  depth?: number;
}) {
  const { t } = useI18n();
  const depth = props.depth ?? 1;
  const d = props.value;
  const types = DESTINATION_TYPES.filter(
    (ty) =>
      !(props.exclude ?? []).includes(ty) && (ty !== "announcement" || depth < MAX_DEPTH || d.type === ty),
  );
  const extensionOptions = props.extensions.map((e) => ({
    value: e.number,
    label: `${e.number} · ${e.displayName}`,
  }));
  return (
    <fieldset class="destination">
      <legend>{props.label}</legend>
      <SelectField
        label={t("destination.type")}
        value={d.type}
        options={types.map((ty) => ({ value: ty, label: t(`destinationType.${ty}`) }))}
        onValue={(v) =>
          props.onChange(emptyDestination(v as DestinationType, props.extensions, props.groups))
        }
      />
      {(d.type === "extension" || d.type === "voicemail") &&
        (extensionOptions.length > 0 ? (
          <SelectField
            label={t("destination.extension")}
            value={d.number}
            options={
              extensionOptions.some((o) => o.value === d.number)
                ? extensionOptions
                : [{ value: d.number, label: d.number || "—" }, ...extensionOptions]
            }
            onValue={(v) => props.onChange({ type: d.type, number: v })}
          />
        ) : (
          <TextField
            label={t("destination.extension")}
            value={d.number}
            inputMode="numeric"
            onValue={(v) => props.onChange({ type: d.type, number: v })}
          />
        ))}
      {d.type === "external" && (
        <TextField
          label={t("destination.number")}
          value={d.number}
          type="tel"
          placeholder="079 123 12 12"
          onValue={(v) => props.onChange({ type: "external", number: v })}
        />
      )}
      {d.type === "ring-group" && (
        <SelectField
          label={t("destination.group")}
          value={d.name}
          options={[
            ...(props.groups.some((g) => g.name === d.name) ? [] : [{ value: d.name, label: d.name || "—" }]),
            ...props.groups.map((g) => ({ value: g.name, label: g.name })),
          ]}
          onValue={(v) => props.onChange({ type: "ring-group", name: v })}
        />
      )}
      {d.type === "announcement" && (
        <>
          <SelectField
            label={t("destination.announcement")}
            value={d.announcement}
            options={ANNOUNCEMENT_KINDS.map((k) => ({ value: k, label: t(`announcement.${k}`) }))}
            onValue={(v) => props.onChange({ ...d, announcement: v as AnnouncementKind })}
          />
          <DestinationPicker
            {...props}
            label={t("destination.then")}
            value={d.then}
            depth={depth + 1}
            onChange={(then) => props.onChange({ ...d, then })}
          />
        </>
      )}
    </fieldset>
  );
}
