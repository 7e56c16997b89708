// The application frame: the header with navigation, language switch and session, and the
// screen the address names. Every staff screen checks the role before it asks for data.
import { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { Role } from './api';
import { Lang, setLang, useT } from './i18n';
import { location, match, navigate } from './router';
import { isCenterStaff, me, signOut } from './session';
import { useObservable } from './state';
import { AgencyRequest, AgencyWorkspace } from './pages/agency';
import { AlertsPage, QueuesPage, RequestList, RequestPageView, TriageQueue } from './pages/console';
import { ProblemPage, ProblemsPage } from './pages/problems';
import { Dashboards } from './pages/dashboards';
import { LoginPage } from './pages/login';
import { Portal } from './pages/portal';
import { SituationScreen } from './pages/situation';
import { FollowedRequestPage, TrackPage } from './pages/track';
import { Loading } from './ui/common';

function Header() {
  const { t, lang } = useT();
  const user = useObservable(me);
  const here = useObservable(location).pathname;
  const links: [string, Parameters<typeof t>[0]][] = [
    ['/', 'nav_portal'],
    ['/map', user ? 'nav_map' : 'nav_stats'],
  ];
  if (isCenterStaff(user) || user?.role === 'analyst') links.push(['/console', 'nav_console']);
  if (user?.role === 'agency_staff') links.push(['/agency', 'nav_agency']);
  if (user) links.push(['/dashboards', 'nav_dashboards']);
  const current = (href: string) => (href === '/' ? here === '/' : here.startsWith(href));
  return (
    <header class="top">
      <a href="/" class="brand">
        <span class="logo" aria-hidden="true">
          ▢
        </span>
        {t('app_name')}
        <small>{t('app_tagline')}</small>
      </a>
      <nav aria-label="main">
        {links.map(([href, key]) => (
          <a key={href} href={href} aria-current={current(href) ? 'page' : undefined}>
            {t(key)}
          </a>
        ))}
      </nav>
      <div class="session">
        <label class="lang">
          <span class="visually-hidden">{t('language')}</span>
          <select name="lang" value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)} aria-label={t('language')}>
            <option value="ru">Русский</option>
            <option value="en">English</option>
          </select>
        </label>
        {user ? (
          <>
            <span class="user" data-testid="user">
              {user.login}
            </span>
            <button type="button" class="link" onClick={() => signOut().then(() => navigate('/'))}>
              {t('nav_logout')}
            </button>
          </>
        ) : (
          <a href="/login">{t('nav_login')}</a>
        )}
      </div>
    </header>
  );
}

/** Shows `children` only to the roles named; sends others to sign in. */
function Guard({ roles, children }: { roles: Role[]; children: ComponentChildren }) {
  const { t } = useT();
  const user = useObservable(me);
  useEffect(() => {
    if (user === null) navigate(`/login?next=${encodeURIComponent(window.location.pathname)}`, true);
  }, [user]);
  if (user === undefined) return <Loading />;
  if (user === null) return null;
  if (!roles.includes(user.role)) return <p class="error">{t('forbidden')}</p>;
  return <>{children}</>;
}

const STAFF: Role[] = ['admin', 'operator', 'analyst', 'agency_staff'];
const CENTER: Role[] = ['admin', 'operator', 'analyst'];

function Screen({ url }: { url: URL }) {
  const { t } = useT();
  const path = url.pathname;
  let params: Record<string, string> | null;
  if (path === '/') return <Portal />;
  if (path === '/login') return <LoginPage next={url.searchParams.get('next')} />;
  if ((params = match('/track/:token', path))) return <TrackPage token={params.token} fresh={url.searchParams.has('new')} />;
  if ((params = match('/requests/:id', path))) return <FollowedRequestPage id={params.id} />;
  if (path === '/map') return <MapScreen />;
  if (path === '/console') return <Guard roles={CENTER}><RequestList /></Guard>;
  if (path === '/console/triage') return <Guard roles={['admin', 'operator']}><TriageQueue /></Guard>;
  if (path === '/console/queues') return <Guard roles={STAFF}><QueuesPage /></Guard>;
  if (path === '/console/alerts') return <Guard roles={CENTER}><AlertsPage /></Guard>;
  if (path === '/console/problems') return <Guard roles={CENTER}><ProblemsPage /></Guard>;
  if ((params = match('/console/problems/:id', path))) return <Guard roles={STAFF}><ProblemPage id={params.id} /></Guard>;
  if ((params = match('/console/requests/:id', path))) return <Guard roles={STAFF}><RequestPageView id={params.id} /></Guard>;
  if (path === '/agency') return <Guard roles={['agency_staff']}><AgencyWorkspace /></Guard>;
  if ((params = match('/agency/requests/:id', path))) return <Guard roles={['agency_staff']}><AgencyRequest id={params.id} /></Guard>;
  if (path === '/dashboards') return <Guard roles={STAFF}><Dashboards /></Guard>;
  return <p class="error">{t('not_found')}</p>;
}

/** The situation screen for staff, the public map for everyone else. */
function MapScreen() {
  const user = useObservable(me);
  if (user === undefined) return <Loading />;
  return <SituationScreen publicView={!user} />;
}

export function App() {
  const url = useObservable(location);
  const wide = url.pathname === '/map';
  return (
    <>
      <a class="skip" href="#main">
        ↓
      </a>
      <Header />
      <main id="main" class={wide ? 'wide' : ''}>
        <Screen url={url} />
      </main>
    </>
  );
}
