// The company's four announcements (welcome *30, waiting *31, closed *32,
// vacation *33) and its music for waiting callers: heard in the page,
// recorded in the browser, uploaded (WAV or MP3), or spoken from a text.
import { useState } from "preact/hooks";
import { api, tenantPath } from "../../api.ts";
import { AudioUpload, Recorder } from "../../components/recorder.tsx";
import {
  ActionButton,
  Badge,
  ErrorText,
  Form,
  Loading,
  PageTitle,
  Section,
  SelectField,
  TextArea,
} from "../../components/ui.tsx";
import { useResource } from "../../hooks.ts";
import { LANGUAGE_NAMES, useI18n } from "../../i18n/index.ts";
import { type CompanyAudio, LANGUAGES, type Tenant } from "../../types.ts";

const CODES: Record<string, string> = { welcome: "*30", waiting: "*31", closed: "*32", vacation: "*33" };

/** The media type of an uploaded file as the API takes it (sniffed from the bytes when unknown). */
export function uploadType(f: File): string {
  const type = f.type.toLowerCase();
  if (["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"].includes(type)) return "audio/wav";
  if (type === "audio/mpeg" || type === "audio/mp3") return "audio/mpeg";
  return "application/octet-stream";
}

export function AnnouncementsPage({ tenant }: { tenant: string }) {
  const { t } = useI18n();
  const base = tenantPath(tenant);
  const audio = useResource(() => api.get<CompanyAudio[]>(`${base}/announcements`), [tenant]);
  const info = useResource(() => api.get<Tenant>(base), [tenant]);
  return (
    <>
      <PageTitle sub={t("announcements.intro")}>{t("announcements.title")}</PageTitle>
      {info.data && !info.data.features.announcements && (
        <p class="notice warn">{t("announcements.featureOff")}</p>
      )}
      <Loading when={audio.loading && !audio.data} />
      <ErrorText error={audio.error} />
      {(audio.data ?? []).map((a) => (
        <AudioCard
          key={a.kind}
          tenant={tenant}
          audio={a}
          language={info.data?.language ?? "fr"}
          onChange={() => audio.reload()}
        />
      ))}
    </>
  );
}

function AudioCard({
  tenant,
  audio,
  language,
  onChange,
}: {
  tenant: string;
  audio: CompanyAudio;
  language: string;
  onChange(): void;
}) {
  const { t, fmt } = useI18n();
  const path =
    audio.kind === "music"
      ? `${tenantPath(tenant)}/music`
      : `${tenantPath(tenant)}/announcements/${audio.kind}`;
  const [text, setText] = useState(audio.text ?? "");
  const [lang, setLang] = useState(language);
  const title =
    audio.kind === "music"
      ? t("announcement.music")
      : `${t(`announcement.${audio.kind}`)} (${CODES[audio.kind]})`;
  const src = `${path}?v=${encodeURIComponent(audio.updatedAt ?? "")}`;
  return (
    <Section title={title} id={`audio-${audio.kind}`}>
      <p class="muted">{t(`announcementHint.${audio.kind}`)}</p>
      <p>
        {audio.custom ? (
          <>
            <Badge kind="ok">{t(`audioSource.${audio.source ?? "upload"}`)}</Badge>{" "}
            {audio.durationMs !== null && fmt.duration(audio.durationMs)}{" "}
            {audio.updatedAt && <span class="muted small">{fmt.dateTime(audio.updatedAt)}</span>}
          </>
        ) : (
          <Badge wrap>
            {audio.kind === "music" ? t("announcements.defaultMusic") : t("announcements.default")}
          </Badge>
        )}
      </p>
      {audio.custom && (
        <div class="player">
          {/* biome-ignore lint/a11y/useMediaCaption: the text it was made from is shown beside it when there is one */}
          <audio controls preload="none" src={src} aria-label={t("announcements.play", { name: title })} />
          {audio.text && <blockquote class="muted">{audio.text}</blockquote>}
          <ActionButton
            label={t("announcements.reset")}
            confirm={t("announcements.confirmReset", { name: title })}
            onClick={async () => {
              await api.del(path);
              onChange();
            }}
          />
        </div>
      )}
      <div class="audio-tools">
        <div>
          <h3>{t("announcements.record")}</h3>
          <Recorder
            label={t("announcements.recordOf", { name: title })}
            onRecorded={async (wav) => {
              await api.put(path, { raw: wav, type: "audio/wav" });
              onChange();
            }}
          />
        </div>
        <div>
          <h3>{t("announcements.upload")}</h3>
          <AudioUpload
            label={t("announcements.uploadFile")}
            accept="audio/wav,audio/x-wav,audio/mpeg,.wav,.mp3"
            onFile={async (f) => {
              await api.put(path, { raw: f, type: uploadType(f) });
              onChange();
            }}
          />
        </div>
      </div>
      {audio.kind !== "music" && (
        <>
          <h3>{t("announcements.speak")}</h3>
          <Form
            label={t("announcements.speakOf", { name: title })}
            submitLabel={t("announcements.speakButton")}
            invalid={text.trim() === ""}
            onSubmit={async () => {
              await api.put(path, { text: text.trim(), language: lang });
              onChange();
            }}
          >
            <TextArea label={t("announcements.text")} value={text} onValue={setText} maxLength={1000} />
            <SelectField
              label={t("nav.language")}
              value={lang}
              onValue={setLang}
              options={LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] }))}
            />
          </Form>
        </>
      )}
    </Section>
  );
}
