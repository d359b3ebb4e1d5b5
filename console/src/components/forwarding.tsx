// An extension's forwarding rules (the *72/*90/*52 of the phones): a
// target each (empty: off) and the no-answer delay. A phone's code changes
// them too: the "forwarding" notice of the events stream refetches them,
// unless the user is typing in the form.
import { useEffect, useState } from "preact/hooks";
import { api, extensionPath } from "../api.ts";
import { useLive, useResource } from "../hooks.ts";
import { problemText, useI18n } from "../i18n/index.ts";
import {
  type ForwardingForm as Fields,
  hasProblems,
  type Problems,
  validateForwarding,
} from "../lib/validate.ts";
import { FORWARDING_KINDS, type Forwarding } from "../types.ts";
import { Badge, ErrorText, Form, Loading, Section, TextField } from "./ui.tsx";

function fields(f: Forwarding): Fields {
  return {
    unconditional: f.unconditional ?? "",
    busy: f.busy ?? "",
    noAnswer: f.noAnswer ?? "",
    unreachable: f.unreachable ?? "",
    noAnswerSeconds: String(f.noAnswerSeconds),
  };
}

export function ForwardingSection({ tenant, number }: { tenant: string; number: string }) {
  const { t } = useI18n();
  const path = `${extensionPath(tenant, number)}/forwarding`;
  const fwd = useResource(() => api.get<Forwarding>(path), [path]);
  const [f, setF] = useState<Fields | undefined>(undefined);
  const [dirty, setDirty] = useState(false);
  const [problems, setProblems] = useState<Problems>({});
  useLive(
    ["forwarding"],
    () => fwd.reload(),
    (n) => n.extension === undefined || n.extension === number,
  );
  // A change from elsewhere (a phone's *72) replaces the form unless the user has typed in it.
  useEffect(() => {
    if (fwd.data && !dirty) setF(fields(fwd.data));
  }, [fwd.data]);
  const set = (k: keyof Fields) => (v: string) => {
    setDirty(true);
    setF({ ...(f as Fields), [k]: v });
  };
  return (
    <Section title={t("forwarding.title")}>
      <Loading when={fwd.loading && !fwd.data} />
      <ErrorText error={fwd.error} />
      {fwd.data && (
        <p class="forwarding-now" aria-live="polite" data-testid="forwarding-now">
          {FORWARDING_KINDS.map((k) => (
            <span key={k} class="fwd-now">
              {t(`forwarding.${k}`)}:{" "}
              {fwd.data?.[k] ? <Badge kind="warn">{fwd.data[k]}</Badge> : <Badge>{t("common.off")}</Badge>}
            </span>
          ))}
        </p>
      )}
      {f && (
        <Form
          label={t("forwarding.title")}
          submitLabel={t("common.save")}
          done={t("common.saved")}
          invalid={hasProblems(validateForwarding(f, number))}
          onInvalid={() => setProblems(validateForwarding(f, number))}
          onSubmit={async () => {
            setProblems({});
            const body: Record<string, string | number | null> = {
              noAnswerSeconds: Number(f.noAnswerSeconds),
            };
            for (const k of FORWARDING_KINDS) body[k] = f[k].trim() === "" ? null : f[k].trim();
            const saved = await api.put<Forwarding>(path, body);
            setDirty(false);
            fwd.set(saved);
            setF(fields(saved));
          }}
          extraButtons={
            dirty && (
              <button
                type="button"
                onClick={() => {
                  setDirty(false);
                  if (fwd.data) setF(fields(fwd.data));
                }}
              >
                {t("common.cancel")}
              </button>
            )
          }
        >
          <p class="muted">{t("forwarding.intro")}</p>
          <div class="grid">
            {FORWARDING_KINDS.map((k) => (
              <TextField
                key={k}
                label={t(`forwarding.${k}`)}
                hint={t(`forwardingHint.${k}`)}
                type="tel"
                name={`forwarding-${k}`}
                placeholder={t("forwarding.placeholder")}
                value={f[k]}
                onValue={set(k)}
                error={problemText(t, problems[k])}
              />
            ))}
            <TextField
              label={t("forwarding.noAnswerSeconds")}
              type="number"
              inputMode="numeric"
              min={5}
              max={300}
              value={f.noAnswerSeconds}
              onValue={set("noAnswerSeconds")}
              error={problemText(t, problems.noAnswerSeconds)}
            />
          </div>
        </Form>
      )}
    </Section>
  );
}
