// Client-side navigation over the History API: the server answers every UI path with the same
// page, and this module tells the app which screen the address names.
import { Observable } from './state';

/** The current path and query of the page. */
export const location = new Observable<URL>(new URL(window.location.href));

/** Goes to `href` (a path on this site) without reloading the page. */
export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  location.set(new URL(window.location.href));
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => location.set(new URL(window.location.href)));

// Same-site links navigate inside the app; modified clicks and new tabs behave as usual.
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute('download') || link.origin !== window.location.origin) return;
  if (link.pathname.startsWith('/api/') || link.pathname.startsWith('/open311/')) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});

/** Matches `path` against a pattern such as `/console/requests/:id`; returns the parameters. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}
