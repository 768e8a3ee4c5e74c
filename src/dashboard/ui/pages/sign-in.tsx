import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api';
import { ErrorBox, useAction } from '../components';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <main class="signin">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => onSignedIn(await signIn(email, password)));
        }}
      >
        <h1>Herald</h1>
        <p class="muted">Sign in to your account's dashboard.</p>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <ErrorBox error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          No user yet? On the server: <code>herald users add you@example.com --account default</code>
        </p>
      </form>
    </main>
  );
}
