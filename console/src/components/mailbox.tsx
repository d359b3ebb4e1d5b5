// One mailbox's messages (played in the page, downloaded, saved, deleted)
// and its greetings (played, uploaded, recorded, deleted). A "voicemail"
// notice of the events stream (a new message) refetches the list.
import { useState } from "preact/hooks";
import { api, extensionPath, seg } from "../api.ts";
import { useLive, useResource } from "../hooks.ts";
import { useI18n } from "../i18n/index.ts";
import { GREETING_KINDS, type GreetingKind, type VoicemailMessage } from "../types.ts";
import { AudioUpload, Recorder } from "./recorder.tsx";
import { ActionButton, Badge, ErrorText, Loading, Section } from "./ui.tsx";

export function Messages({ tenant, number }: { tenant: string; number: string }) {
  const { t, fmt } = useI18n();
  const base = `${extensionPath(tenant, number)}/voicemail/messages`;
  const messages = useResource(() => api.get<VoicemailMessage[]>(base), [base]);
  useLive(
    ["voicemail"],
    () => messages.reload(),
    (n) => n.extension === undefined || n.extension === number,
  );
  const list = messages.data ?? [];
  return (
    <Section
      title={t("messages.title")}
      actions={
        <button type="button" onClick={() => messages.reload()}>
          {t("common.refresh")}
        </button>
      }
    >
      <Loading when={messages.loading && !messages.data} />
      <ErrorText error={messages.error} />
      {messages.data && list.length === 0 && <p class="muted">{t("messages.empty")}</p>}
      <ul class="messages" aria-label={t("messages.title")}>
        {list.map((m) => {
          const audio = `${base}/${seg(m.id)}/audio`;
          const who = m.callerName
            ? `${m.callerName} (${m.callerNumber || t("messages.unknown")})`
            : m.callerNumber || t("messages.unknown");
          return (
            <li key={m.id} class={`message ${m.folder}`} data-message={m.id}>
              <div class="message-head">
                {m.folder === "new" && <Badge kind="info">{t("messages.new")}</Badge>} <strong>{who}</strong>{" "}
                <span class="muted">
                  {fmt.dateTime(m.receivedAt)} · {fmt.duration(m.durationMs)}
                </span>
              </div>
              {/* biome-ignore lint/a11y/useMediaCaption: a voice message has no captions */}
              <audio
                controls
                preload="none"
                src={audio}
                aria-label={t("messages.play", { who })}
                onPlay={() => {
                  if (m.folder !== "new") return;
                  api.patch<VoicemailMessage>(`${base}/${seg(m.id)}`, { folder: "old" }).then(
                    () => messages.reload(),
                    (err: unknown) => console.warn("marking the message as heard failed", err),
                  );
                }}
              />
              <div class="row-actions">
                <a
                  href={audio}
                  download={`voicemail-${number}-${m.receivedAt.slice(0, 10)}.wav`}
                  class="button"
                >
                  {t("messages.download")}
                </a>
                <ActionButton
                  label={m.folder === "new" ? t("messages.markOld") : t("messages.markNew")}
                  onClick={async () => {
                    await api.patch(`${base}/${seg(m.id)}`, { folder: m.folder === "new" ? "old" : "new" });
                    messages.reload();
                  }}
                />
                <ActionButton
                  label={t("common.delete")}
                  class="danger"
                  ariaLabel={t("messages.deleteOf", { who })}
                  confirm={t("messages.confirmDelete")}
                  onClick={async () => {
                    await api.del(`${base}/${seg(m.id)}`);
                    messages.reload();
                  }}
                />
              </div>
            </li>
          );
        })}
      </ul>
    </Section>
  );
}

/** Whether each greeting is recorded: a HEAD-less probe by GET (404: none). */
async function greetingsPresent(base: string): Promise<Record<GreetingKind, boolean>> {
  const out = {} as Record<GreetingKind, boolean>;
  await Promise.all(
    GREETING_KINDS.map(async (k) => {
      const res = await fetch(`${base}/${k}`, {
        method: "GET",
        credentials: "same-origin",
        headers: { range: "bytes=0-0" },
      });
      out[k] = res.ok;
      await res.body?.cancel();
    }),
  );
  return out;
}

export function Greetings({ tenant, number }: { tenant: string; number: string }) {
  const { t } = useI18n();
  const base = `${extensionPath(tenant, number)}/voicemail/greetings`;
  const [rev, setRev] = useState(0);
  const present = useResource(() => greetingsPresent(base), [base, rev]);
  const version = present.data;
  const bump = () => setRev((n) => n + 1);
  return (
    <Section title={t("greetings.title")}>
      <p class="muted">{t("greetings.intro")}</p>
      <ErrorText error={present.error} />
      {GREETING_KINDS.map((k) => (
        <section key={k} class="greeting" aria-label={t(`greeting.${k}`)}>
          <h3>{t(`greeting.${k}`)}</h3>
          {version?.[k] ? (
            <div class="player">
              {/* biome-ignore lint/a11y/useMediaCaption: a recorded greeting has no captions */}
              <audio
                controls
                preload="none"
                src={`${base}/${k}?v=${rev}`}
                aria-label={t("greetings.play", { name: t(`greeting.${k}`) })}
              />
              <ActionButton
                label={t("common.delete")}
                class="danger"
                confirm={t("greetings.confirmDelete", { name: t(`greeting.${k}`) })}
                onClick={async () => {
                  await api.del(`${base}/${k}`);
                  bump();
                }}
              />
            </div>
          ) : (
            <p class="muted">{t("greetings.default")}</p>
          )}
          <div class="audio-tools">
            <Recorder
              label={t("greetings.recordOf", { name: t(`greeting.${k}`) })}
              onRecorded={async (wav) => {
                await api.put(`${base}/${k}`, { raw: wav, type: "audio/wav" });
                bump();
              }}
            />
            <AudioUpload
              label={t("greetings.upload")}
              accept="audio/wav,audio/x-wav,.wav"
              onFile={async (f) => {
                await api.put(`${base}/${k}`, { raw: f, type: "audio/wav" });
                bump();
              }}
            />
          </div>
        </section>
      ))}
    </Section>
  );
}
