// The agency workspace: the agency's own open requests and deadlines, answering with
// templates, and its scorecard.
import { get, query, QueueCounts, RequestPage, ScorecardRow, SystemicProblem } from '../api';
import { useT } from '../i18n';
import { agencyName, me } from '../session';
import { useObservable } from '../state';
import { ErrorMessage, Loading, Section } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import { RequestPageView, RequestTable } from './console';
import { ScorecardTable } from './dashboards';
import { ProblemList } from './problems';

const OPEN = 'registered,routed,in_progress,intermediate_answer,reopened';

export function AgencyWorkspace() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const user = useObservable(me);
  const agency = user?.agency ?? '';
  const open = useLoad(() => get<RequestPage>(`/requests${query({ status: OPEN, agency, order: 'due', limit: 100 })}`), [agency]);
  const queues = useLoad(() => get<{ total: QueueCounts }>(`/queues${query({ agency })}`), [agency]);
  const scorecard = useLoad(() => get<{ rows: ScorecardRow[]; min_requests: number }>('/scorecards?by=agency'), []);
  const problems = useLoad(() => get<{ items: SystemicProblem[] }>(`/problems${query({ state: 'accepted' })}`), []);
  const own = scorecard.data?.rows.filter((r) => r.key === agency) ?? [];
  return (
    <div class="agency">
      <h1>
        {t('agency_title')}: {agencyName(cat, agency, lang)}
      </h1>
      {queues.data && (
        <p class="queue-counts">
          <span class="overdue">
            {t('col_overdue')}: {queues.data.total.overdue}
          </span>{' '}
          · {t('col_due_today')}: {queues.data.total.due_today} · {t('col_due_soon')}: {queues.data.total.due_soon}
        </p>
      )}
      <Section title={t('agency_queue')}>
        <ErrorMessage error={open.error} />
        {open.data ? <RequestTable items={open.data.items} showAgency={false} /> : <Loading />}
      </Section>
      {problems.data && problems.data.items.length > 0 && (
        <Section title={t('agency_problems')}>
          <ProblemList items={problems.data.items} />
        </Section>
      )}
      <Section title={t('agency_scorecard')}>
        <ErrorMessage error={scorecard.error} />
        {scorecard.data && <ScorecardTable rows={own} />}
        {scorecard.data && own.length === 0 && <p class="muted">{t('agency_no_scorecard')}</p>}
      </Section>
    </div>
  );
}

/** A request opened from the agency workspace: the request page with answer templates. */
export function AgencyRequest({ id }: { id: string }) {
  const { t } = useT();
  return <RequestPageView id={id} templates={[t('template_done'), t('template_planned'), t('template_not_ours')]} />;
}
