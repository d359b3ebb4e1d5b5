// The login page: username and password to POST /api/v1/session; a wrong
// login, a lockout (429 with Retry-After) or a server fault is said in words
// next to the form.
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { ErrorText, TextField } from "../components/ui.tsx";
import { asFailure } from "../hooks.ts";
import { LANGUAGE_NAMES, useI18n } from "../i18n/index.ts";
import { LANGUAGES, type Session } from "../types.ts";

export function LoginPage({ onLogin }: { onLogin(s: Session): void }) {
  const { t, lang, setLang } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="login">
      <div class="card login-card">
        <h1>{t("login.title")}</h1>
        <form
          aria-label={t("login.title")}
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            if (!username.trim() || !password) {
              setError(t("login.missing"));
              return;
            }
            setBusy(true);
            try {
              const session = await api.post<Session>(
                "/api/v1/session",
                { username: username.trim(), password },
                { expectUnauthorized: true },
              );
              onLogin(session);
            } catch (err) {
              const f = asFailure(err);
              setError(
                f.status === 401
                  ? t("login.wrong")
                  : f.status === 429
                    ? t("login.locked", { message: f.message })
                    : f.message,
              );
            } finally {
              setBusy(false);
            }
          }}
        >
          <TextField
            label={t("login.username")}
            value={username}
            onValue={setUsername}
            autocomplete="username"
            name="username"
            required
          />
          <TextField
            label={t("login.password")}
            type="password"
            value={password}
            onValue={setPassword}
            autocomplete="current-password"
            name="password"
            required
          />
          <div class="form-actions">
            <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
              {t("login.submit")}
            </button>
          </div>
          <ErrorText error={error} />
        </form>
        <p class="muted">{t("login.firstUser")}</p>
        <label class="inline">
          {t("nav.language")}{" "}
          <select
            value={lang}
            onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as never)}
          >
            {LANGUAGES.map((l) => (
              <option key={l} value={l} lang={l}>
                {LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
        </label>
      </div>
    </main>
  );
}
