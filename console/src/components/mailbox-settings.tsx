// A mailbox's options (the extension's PATCH voicemail field), its PIN
// (set, or reset to a random one shown once) and the unlock of a remote
// access locked after wrong PINs.
import { useEffect, useState } from "preact/hooks";
import { api, extensionPath } from "../api.ts";
import { problemText, useI18n } from "../i18n/index.ts";
import { hasProblems, type Problems, validateMailbox } from "../lib/validate.ts";
import type { Extension, MailboxOptions } from "../types.ts";
import { ActionButton, Badge, CheckboxField, Form, Notice, Section, TextField } from "./ui.tsx";

export function MailboxSettings({
  tenant,
  extension,
  onChange,
}: {
  tenant: string;
  extension: Extension;
  onChange(e: Extension): void;
}) {
  const { t, fmt } = useI18n();
  const vm = extension.voicemail;
  const initial = () => ({
    enabled: vm?.enabled ?? false,
    email: vm?.email ?? "",
    deleteAfterEmail: vm?.deleteAfterEmail ?? false,
    remoteAccess: vm?.remoteAccess ?? false,
    skipPinOnOwnPhone: vm?.skipPinOnOwnPhone ?? false,
    maxMessageSeconds: String(vm?.maxMessageSeconds ?? 180),
    pin: "",
  });
  const [f, setF] = useState(initial);
  useEffect(() => setF(initial()), [extension]);
  const [problems, setProblems] = useState<Problems>({});
  const [pin, setPin] = useState<string>();
  const path = extensionPath(tenant, extension.number);
  return (
    <Section title={t("voicemail.settings")}>
      {vm?.remoteAccessLockedUntil && (
        <div class="notice warn">
          <p>{t("voicemail.lockedText", { when: fmt.dateTime(vm.remoteAccessLockedUntil) })}</p>
          <ActionButton
            label={t("voicemail.unlock")}
            onClick={async () => {
              const options = await api.post<MailboxOptions>(`${path}/voicemail/unlock`);
              onChange({ ...extension, voicemail: options });
            }}
          />
        </div>
      )}
      <Form
        label={t("voicemail.settings")}
        submitLabel={t("common.save")}
        done={t("common.saved")}
        invalid={hasProblems(validateMailbox(f, extension.number))}
        onInvalid={() => setProblems(validateMailbox(f, extension.number))}
        onSubmit={async () => {
          setProblems({});
          const voicemail: Record<string, unknown> = {
            enabled: f.enabled,
            email: f.email.trim() === "" ? null : f.email.trim(),
            deleteAfterEmail: f.deleteAfterEmail,
            remoteAccess: f.remoteAccess,
            skipPinOnOwnPhone: f.skipPinOnOwnPhone,
            maxMessageSeconds: Number(f.maxMessageSeconds),
          };
          if (f.pin) voicemail.pin = f.pin;
          const e = await api.patch<Extension>(path, { voicemail });
          setPin(e.voicemail?.pin);
          onChange(e);
        }}
      >
        <CheckboxField
          label={t("voicemail.enabled")}
          checked={f.enabled}
          onValue={(v) => setF({ ...f, enabled: v })}
        />
        <div class="grid">
          <TextField
            label={t("voicemail.email")}
            hint={t("voicemail.emailHint")}
            type="email"
            value={f.email}
            onValue={(v) => setF({ ...f, email: v })}
            error={problemText(t, problems.email)}
          />
          <TextField
            label={t("voicemail.maxMessageSeconds")}
            type="number"
            inputMode="numeric"
            value={f.maxMessageSeconds}
            onValue={(v) => setF({ ...f, maxMessageSeconds: v })}
            error={problemText(t, problems.maxMessageSeconds)}
          />
          <TextField
            label={t("voicemail.newPin")}
            hint={vm?.hasPin ? t("voicemail.pinSet") : t("voicemail.pinNone")}
            type="password"
            inputMode="numeric"
            autocomplete="new-password"
            value={f.pin}
            onValue={(v) => setF({ ...f, pin: v })}
            error={problemText(t, problems.pin)}
          />
        </div>
        <CheckboxField
          label={t("voicemail.deleteAfterEmail")}
          checked={f.deleteAfterEmail}
          onValue={(v) => setF({ ...f, deleteAfterEmail: v })}
        />
        <CheckboxField
          label={t("voicemail.remoteAccess")}
          hint={t("voicemail.remoteAccessHint")}
          checked={f.remoteAccess}
          onValue={(v) => setF({ ...f, remoteAccess: v })}
        />
        <CheckboxField
          label={t("voicemail.skipPin")}
          checked={f.skipPinOnOwnPhone}
          onValue={(v) => setF({ ...f, skipPinOnOwnPhone: v })}
        />
      </Form>
      <div class="inline-actions">
        <ActionButton
          label={t("voicemail.pinReset")}
          confirm={t("voicemail.confirmPinReset", { number: extension.number })}
          onClick={async () => {
            const r = await api.post<{ pin: string }>(`${path}/voicemail/pin-reset`);
            setPin(r.pin);
          }}
        />
        {vm?.hasPin ? (
          <Badge kind="ok">{t("voicemail.hasPin")}</Badge>
        ) : (
          <Badge>{t("voicemail.noPin")}</Badge>
        )}
      </div>
      {pin && (
        <Notice>
          {t("voicemail.newPinShown")} <code class="secret">{pin}</code>
        </Notice>
      )}
    </Section>
  );
}
