// The console: the session (GET /api/v1/session), the language, the live
// connection, and the portal of the logged-in role (provider, company
// administrator, extension user) with its pages.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, extensionPath, setCsrfToken, setSessionLostHandler, tenantPath } from "./api.ts";
import { PageBoundary } from "./components/ui.tsx";
import { LiveContext, type LiveHub, useLiveState } from "./hooks.ts";
import { I18nContext, LANGUAGE_NAMES, makeI18n, useI18n } from "./i18n/index.ts";
import { chooseLanguage, isLang } from "./lib/language.ts";
import { LiveConnection, type LiveNotice, type LiveState } from "./live.ts";
import { companyNav, companyPage } from "./pages/company/index.tsx";
import { LoginPage } from "./pages/login.tsx";
import { NotFound } from "./pages/not-found.tsx";
import { providerNav, providerPage } from "./pages/provider/index.tsx";
import { userNav, userPage } from "./pages/user/index.tsx";
import { Link, type NavItem, navigate, useLocation } from "./router.tsx";
import { type Extension, LANGUAGES, type Lang, type Session, type Tenant } from "./types.ts";

const LANGUAGE_KEY = "vpbx.language";

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    // Storage refused (private mode, a policy): the choice lasts for this page only.
    return null;
  }
}

/** Where each role starts. */
export function homeOf(s: Session): string {
  const u = s.user;
  if (u.role === "provider") return "/provider/tenants";
  if (u.role === "admin" && u.tenant) return `/company/${encodeURIComponent(u.tenant)}/extensions`;
  return "/me/forwarding";
}

/** The tenant whose pages are shown: the one in the URL (a provider), else the user's own. */
function tenantOfPage(path: string, session: Session | null | undefined): string | undefined {
  const m = /^\/company\/([^/]+)/.exec(path);
  if (m) {
    try {
      return decodeURIComponent(m[1]);
    } catch {
      // Not a name (a malformed escape): no company page matches it anyway.
      return undefined;
    }
  }
  if (session?.user.role === "provider") {
    const q = new URLSearchParams(location.search).get("tenant");
    return q ?? undefined;
  }
  return session?.user.tenant ?? undefined;
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [chosen, setChosen] = useState<string | null>(storedLanguage);
  const loc = useLocation();
  const pageTenant = tenantOfPage(loc.path, session);
  const [tenant, setTenant] = useState<Tenant | undefined>(undefined);
  const [extension, setExtension] = useState<Extension | undefined>(undefined);

  useEffect(() => {
    setSessionLostHandler(() => {
      setCsrfToken(undefined);
      setSession(null);
    });
    api.get<Session>("/api/v1/session", { expectUnauthorized: true }).then(
      (s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      },
      () => setSession(null),
    );
    return () => setSessionLostHandler(undefined);
  }, []);

  // The company shown (its language and time zone): an extension's user may not read it (then the browser's).
  useEffect(() => {
    setTenant(undefined);
    if (!session || !pageTenant) return;
    let current = true;
    // The provider reads any company; the others read their own through the list (a user may not read it by name).
    const read =
      session.user.role === "provider"
        ? api.get<Tenant>(tenantPath(pageTenant))
        : api.get<Tenant[]>("/api/v1/tenants").then((all) => all.find((t) => t.name === pageTenant));
    read.then(
      (t) => {
        if (current) setTenant(t);
      },
      (err: unknown) => console.warn("the company's language and time zone are unknown", err),
    );
    return () => {
      current = false;
    };
  }, [session, pageTenant]);

  useEffect(() => {
    setExtension(undefined);
    const u = session?.user;
    if (u?.role !== "user" || !u.tenant || !u.extension) return;
    api
      .get<Extension>(extensionPath(u.tenant, u.extension))
      .then(setExtension, (err: unknown) => console.warn("the extension's language is unknown", err));
  }, [session]);

  const lang: Lang = chooseLanguage({
    chosen,
    user: session?.user.language,
    extension: extension?.language,
    tenant: tenant?.language,
    browser: typeof navigator === "undefined" ? [] : navigator.languages,
  });
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const i18n = useMemo(
    () =>
      makeI18n(lang, tenant?.timezone, (l) => {
        try {
          localStorage.setItem(LANGUAGE_KEY, l);
        } catch {
          // Storage refused: the choice holds until the page is reloaded.
        }
        setChosen(l);
      }),
    [lang, tenant?.timezone],
  );

  useEffect(() => {
    if (session && (loc.path === "/" || loc.path === "/login")) navigate(homeOf(session), { replace: true });
  }, [session, loc.path]);

  let body: ComponentChildren;
  if (session === undefined) {
    body = (
      <main id="main" class="login">
        <p class="muted" role="status">
          {i18n.t("common.loading")}
        </p>
      </main>
    );
  } else if (session === null) {
    body = (
      <LoginPage
        onLogin={(s) => {
          setCsrfToken(s.csrfToken);
          setSession(s);
          // Back where the session was lost (a reload, an expiry), else the role's start.
          if (location.pathname === "/" || location.pathname === "/login")
            navigate(homeOf(s), { replace: true });
        }}
      />
    );
  } else {
    body = (
      <LiveProvider
        // The provider hears the company it looks at, else every company ("*"); the others, their own.
        tenant={session.user.role === "provider" ? (pageTenant ?? "*") : undefined}
        key={session.user.username}
      >
        <Portal
          session={session}
          tenant={tenant}
          onLogout={async () => {
            try {
              await api.del("/api/v1/session");
            } finally {
              setCsrfToken(undefined);
              setSession(null);
              navigate("/login", { replace: true });
            }
          }}
        />
      </LiveProvider>
    );
  }
  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}

/** One server-sent events connection for the page; pages subscribe to its notices. */
function LiveProvider({ tenant, children }: { tenant?: string; children: ComponentChildren }) {
  const listeners = useRef(new Set<(n: LiveNotice) => void>());
  const [state, setState] = useState<LiveState | "off">("off");
  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const url = `/api/v1/events${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ""}`;
    const conn = new LiveConnection({
      url,
      open: (u) => new EventSource(u),
      onNotice: (n) => {
        for (const l of listeners.current) l(n);
      },
      onState: setState,
    });
    conn.start();
    return () => conn.stop();
  }, [tenant]);
  const hub = useMemo<LiveHub>(
    () => ({
      subscribe(l) {
        listeners.current.add(l);
        return () => listeners.current.delete(l);
      },
      state,
    }),
    [state],
  );
  return <LiveContext.Provider value={hub}>{children}</LiveContext.Provider>;
}

function Portal({ session, tenant, onLogout }: { session: Session; tenant?: Tenant; onLogout(): void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const loc = useLocation();
  const u = session.user;
  const companyName = loc.path.startsWith("/company/") ? tenantOfPage(loc.path, session) : undefined;

  let nav: NavItem[] = [];
  let sub: { title: string; items: NavItem[] } | undefined;
  if (u.role === "provider") {
    nav = providerNav(t);
    if (companyName)
      sub = { title: t("nav.company", { name: companyName }), items: companyNav(t, companyName, tenant) };
  } else if (u.role === "admin" && u.tenant) {
    nav = companyNav(t, u.tenant, tenant);
  } else {
    nav = userNav(t);
  }

  const page = (u.role === "provider" ? providerPage(loc, session) : undefined) ??
    (u.role !== "user" ? companyPage(loc, session) : undefined) ??
    (u.role === "user" ? userPage(loc, session) : undefined) ?? <NotFound />;

  // After a change of page, the new page's title takes the focus (a screen reader hears where it is).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("page-title")?.focus();
  }, [loc.path]);

  const roleLabel = t(`role.${u.role}`);
  return (
    <div class="layout">
      <a class="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header class="top">
        <div class="brand">
          <span aria-hidden="true">☎</span> vpbx
        </div>
        <nav aria-label={t("nav.main")} class="main-nav">
          <ul>
            {nav.map((n) => (
              <li key={n.href}>
                <Link href={n.href}>{n.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <LiveBadge />
          <label class="inline">
            <span class="visually-hidden">{t("nav.language")}</span>
            <select
              value={i18n.lang}
              aria-label={t("nav.language")}
              onChange={(e) => {
                const v = (e.currentTarget as HTMLSelectElement).value;
                if (isLang(v)) i18n.setLang(v);
              }}
            >
              {LANGUAGES.map((l) => (
                <option key={l} value={l} lang={l}>
                  {LANGUAGE_NAMES[l]}
                </option>
              ))}
            </select>
          </label>
          <span class="user-name">
            {u.username}
            <span class="muted">
              {" "}
              · {roleLabel}
              {u.tenant ? ` · ${u.tenant}` : ""}
              {u.extension ? ` · ${u.extension}` : ""}
            </span>
          </span>
          <button type="button" onClick={onLogout}>
            {t("nav.logout")}
          </button>
        </div>
      </header>
      {sub && (
        <nav aria-label={sub.title} class="sub-nav">
          <span class="sub-title">{sub.title}</span>
          <ul>
            {sub.items.map((n) => (
              <li key={n.href}>
                <Link href={n.href}>{n.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        <PageBoundary key={loc.path}>{page}</PageBoundary>
      </main>
    </div>
  );
}

function LiveBadge() {
  const { t } = useI18n();
  const state = useLiveState();
  if (state === "off") return null;
  return (
    <span class={`live ${state}`} role="status" title={t(`live.${state}`)}>
      <span class="dot" aria-hidden="true" />
      <span class="live-text">{t(`live.${state}`)}</span>
    </span>
  );
}
