// Client-side routing over the History API: the server answers index.html
// for any console path (src/api/console-static.ts), so a reload or a shared
// link opens the same page.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

const CHANGE = "vpbx:navigate";

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event(CHANGE));
}

/** One entry of a navigation bar. */
export interface NavItem {
  href: string;
  label: string;
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function read(): Location {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return loc;
}

/** The parameters of `pattern` ("/company/:tenant/extensions/:number") in `path`, or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        // A malformed escape in the address bar: no page matches it.
        return undefined;
      }
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

/** A link that changes the page without reloading it (a new tab still works: modifiers are left alone). */
export function Link(props: { href: string; children: ComponentChildren; exact?: boolean; class?: string }) {
  const { href, children, exact } = props;
  const { path } = useLocation();
  const target = href.split("?", 1)[0];
  const active = exact ? path === target : path === target || path.startsWith(`${target}/`);
  return (
    <a
      class={props.class}
      href={href}
      aria-current={active ? "page" : undefined}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
