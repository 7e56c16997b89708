// A citizen's view of a request: by its tracking token (with rating and reopening), or, for a
// request someone else filed and this citizen follows, by its number (read-only). Never shows
// contacts or staff comments: the server leaves them out.
import { useState } from 'preact/hooks';
import { ApiError, get, post, PublicRequest } from '../api';
import { eventName, formatTime, useT } from '../i18n';
import { agencyName, serviceName } from '../session';
import { ErrorMessage, Field, Loading, Section, StatusBadge } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';

const RATEABLE = ['answered', 'closed'];

export function TrackPage({ token, fresh }: { token: string; fresh: boolean }) {
  const { t } = useT();
  const loaded = useLoad(() => get<PublicRequest>(`/track/${encodeURIComponent(token)}`), [token]);
  if (loaded.error instanceof ApiError && loaded.error.status === 404) return <p class="error">{t('track_not_found')}</p>;
  if (!loaded.data) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading />;
  const request = loaded.data;
  return (
    <div class="track">
      {fresh && (
        <section class="card success" aria-label={t('portal_sent_title')} data-testid="sent">
          <h2>{t('portal_sent_title')}</h2>
          <p>
            {t('portal_sent_token')}: <code data-testid="token">{request.token}</code>
          </p>
          <p class="muted">{t('portal_sent_keep')}</p>
        </section>
      )}
      <RequestSummary request={request} />
      <CitizenActions request={request} token={token} onChange={loaded.reload} />
      <Timeline request={request} />
    </div>
  );
}

export function FollowedRequestPage({ id }: { id: string }) {
  const loaded = useLoad(() => get<PublicRequest>(`/public/requests/${encodeURIComponent(id)}`), [id]);
  if (!loaded.data) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading />;
  return (
    <div class="track">
      <RequestSummary request={loaded.data} />
      <Timeline request={loaded.data} />
    </div>
  );
}

function RequestSummary({ request }: { request: PublicRequest }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  return (
    <section class="card" aria-label={t('track_title', { id: request.id })}>
      <h1>{t('track_title', { id: request.id })}</h1>
      {request.duplicate_of && (
        <p class="notice" data-testid="merged-into">
          <a href={`/requests/${request.duplicate_of}`}>{t('track_merged', { id: request.duplicate_of })}</a>
        </p>
      )}
      <p>
        <strong>{serviceName(cat, request.service_code, lang)}</strong> · <StatusBadge status={request.status} />
      </p>
      {request.address && <p>{request.address}</p>}
      <p class="citizen-text">{request.text}</p>
      <dl class="facts">
        <dt>{t('col_agency')}</dt>
        <dd>{request.agency ? agencyName(cat, request.agency, lang) : '—'}</dd>
        <dt>{t('col_created')}</dt>
        <dd>{formatTime(request.created_at, lang)}</dd>
        <dt>{t('track_due')}</dt>
        <dd>{formatTime(request.due_at, lang)}</dd>
      </dl>
      {request.followers > 0 && <p data-testid="followers">{t('track_followers', { n: request.followers })}</p>}
      {request.last_answer && (
        <div class="answer" data-testid="answer">
          <h2>{t('track_answer')}</h2>
          <p>{request.last_answer}</p>
        </div>
      )}
    </section>
  );
}

function CitizenActions({ request, token, onChange }: { request: PublicRequest; token: string; onChange: () => void }) {
  const { t } = useT();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  if (!RATEABLE.includes(request.status)) return null;
  const act = async (action: string, body: object) => {
    setError(null);
    try {
      await post(`/track/${encodeURIComponent(token)}/${action}`, body);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="card" aria-label={t('track_rate')}>
      <h2>{t('track_rate')}</h2>
      {request.rating ? (
        <p data-testid="rated">{t('track_rated', { rating: request.rating })}</p>
      ) : (
        <div class="stars" role="group" aria-label={t('track_rate')}>
          {[1, 2, 3, 4, 5].map((n) => (
            <button key={n} type="button" onClick={() => act('rate', { rating: n })} aria-label={`${n} / 5`}>
              {'★'.repeat(n)}
            </button>
          ))}
        </div>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          act('reopen', { text: reason });
        }}
      >
        <Field id="reopen-reason" label={t('track_reopen_reason')}>
          <input id="reopen-reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} required />
        </Field>
        <button type="submit">{t('track_reopen')}</button>
      </form>
      <ErrorMessage error={error} />
    </section>
  );
}

function Timeline({ request }: { request: PublicRequest }) {
  const { t, lang } = useT();
  return (
    <Section title={t('track_history')}>
      <ol class="timeline">
        {request.timeline.map((e, i) => (
          <li key={i}>
            <time>{formatTime(e.at, lang)}</time> <strong>{eventName(e.kind, lang)}</strong>
            {e.text && <p>{e.text}</p>}
          </li>
        ))}
      </ol>
    </Section>
  );
}
