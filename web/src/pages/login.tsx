// Staff sign-in.
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useT } from '../i18n';
import { navigate } from '../router';
import { signIn } from '../session';
import { ErrorMessage, Field } from '../ui/common';

/** Where a role starts after signing in. */
export function homeOf(role: string): string {
  return role === 'agency_staff' ? '/agency' : role === 'analyst' ? '/map' : '/console';
}

export function LoginPage({ next }: { next: string | null }) {
  const { t } = useT();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const user = await signIn(login.trim(), password);
      navigate(next && next.startsWith('/') ? next : homeOf(user.role), true);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('login_failed') : err);
    }
  };
  return (
    <form class="card login" onSubmit={submit} aria-label={t('login_title')}>
      <h1>{t('login_title')}</h1>
      <Field id="login" label={t('login_name')}>
        <input id="login" name="login" value={login} onInput={(e) => setLogin((e.target as HTMLInputElement).value)} autoComplete="username" required />
      </Field>
      <Field id="password" label={t('login_password')}>
        <input id="password" name="password" type="password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} autoComplete="current-password" required />
      </Field>
      <ErrorMessage error={error} />
      <button type="submit" class="primary">
        {t('login_submit')}
      </button>
    </form>
  );
}
