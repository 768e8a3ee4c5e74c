import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, signOut, useSession, type Session } from './api';
import { SignIn } from './pages/sign-in';
import { Overview } from './pages/overview';
import { Activity } from './pages/activity';
import { MessagePage } from './pages/message';
import { Inbox, InboxMessage } from './pages/inbox';
import { Suppressions } from './pages/suppressions';
import { ApiKeys } from './pages/api-keys';
import { Domains } from './pages/domains';
import { Webhooks } from './pages/webhooks';
import { Slos } from './pages/slos';
import './styles.css';
import 'uplot/dist/uPlot.min.css';

const NAV: [string, string][] = [
  ['overview', 'Overview'],
  ['activity', 'Activity'],
  ['inbox', 'Local inbox'],
  ['suppressions', 'Suppressions'],
  ['keys', 'API keys'],
  ['domains', 'Sending domains'],
  ['webhooks', 'Webhooks'],
  ['slos', 'SLOs'],
];

/** `#/activity?query=…` → ['activity'], URLSearchParams. Hash routes need no server-side fallback. */
function parseHash(hash: string): { parts: string[]; params: URLSearchParams } {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

function Route({ parts, params }: { parts: string[]; params: URLSearchParams }) {
  const [page = 'overview', id] = parts;
  switch (page) {
    case 'activity':
      return <Activity params={params} />;
    case 'messages':
      return id ? <MessagePage id={id} /> : <Activity params={params} />;
    case 'inbox':
      return id ? <InboxMessage id={id} /> : <Inbox />;
    case 'suppressions':
      return <Suppressions />;
    case 'keys':
      return <ApiKeys />;
    case 'domains':
      return <Domains />;
    case 'webhooks':
      return <Webhooks />;
    case 'slos':
      return <Slos />;
    default:
      return <Overview />;
  }
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [hash, setHash] = useState(location.hash);
  const [menuOpen, setMenuOpen] = useState(false);
  useSession(session ?? null, () => setSession(null));
  useEffect(() => {
    currentSession().then(setSession, () => setSession(null));
    const onHash = () => {
      setHash(location.hash);
      setMenuOpen(false);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  if (session === undefined) return <p class="muted center">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  const route = parseHash(hash);
  const current = route.parts[0] === 'messages' ? 'activity' : (route.parts[0] ?? 'overview');
  return (
    <div class="shell">
      <header class="topbar">
        <button class="menu-button" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <a class="brand" href="#/overview">
          Herald
        </a>
        <span class="who" title={`account ${session.account}`}>
          {session.email} · {session.account}
        </span>
        <button
          class="link"
          onClick={() =>
            signOut().finally(() => {
              setSession(null);
              location.hash = '';
            })
          }
        >
          Sign out
        </button>
      </header>
      <nav class={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Pages">
        {NAV.map(([key, label]) => (
          <a key={key} href={`#/${key}`} class={current === key ? 'active' : ''} aria-current={current === key ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <main class="content">
        <Route parts={route.parts} params={route.params} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
