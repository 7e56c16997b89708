// What staff can do with a request, on its page: the actions the server says are open to them
// now (by their role, the request's status and its deadline clock), each with a form of just
// the fields it takes, checked before it is sent; times are the region's.
import { useState } from 'preact/hooks';
import { ActionChoice, ApiError, get, post, Request } from '../api';
import { actionName, errorCodeText, MessageKey, useT } from '../i18n';
import { agencyChoices, serviceChoices } from '../session';
import { Choice, ErrorMessage, Field, Loading, Section } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';

/** The fields an action's form may have, as the API names them. */
type Values = Record<'text' | 'agency' | 'service' | 'due_at' | 'duplicate_of' | 'rating', string>;

const EMPTY: Values = { text: '', agency: '', service: '', due_at: '', duplicate_of: '', rating: '' };

/** How the text field is called for an action: an answer, a reason or a comment. */
function textLabel(action: string): MessageKey {
  if (action === 'answer' || action === 'intermediate-answer') return 'action_text_answer';
  if (['reject', 'reopen', 'pause-deadline', 'extend-deadline', 'mark-duplicate', 'route'].includes(action)) return 'action_text_reason';
  return 'action_text_comment';
}

/** A `datetime-local` value read as the region's time (UTC+3), as RFC 3339. */
function regionTime(local: string): string {
  return `${local.length === 16 ? `${local}:00` : local}+03:00`;
}

/** The request's actions: buttons for those open now, and the chosen one's form. */
export function ActionsPanel({ request, templates, onDone }: { request: Request; templates: string[]; onDone: () => void }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const actions = useLoad(() => get<ActionChoice[]>(`/requests/${request.id}/actions`), [request.id, request.updated_at]);
  const [chosen, setChosen] = useState<ActionChoice | null>(null);
  const [values, setValues] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<Partial<Values>>({});
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');

  const choose = (action: ActionChoice | null) => {
    setChosen(action);
    setValues(EMPTY);
    setErrors({});
    setError(null);
    setDone('');
  };
  const set = (field: keyof Values) => (value: string) => {
    setValues({ ...values, [field]: value });
    if (errors[field]) setErrors({ ...errors, [field]: undefined });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!chosen) return;
    const missing: Partial<Values> = {};
    for (const field of chosen.required as (keyof Values)[]) if (!values[field].trim()) missing[field] = errorCodeText('required', lang);
    if (Object.keys(missing).length > 0) {
      setErrors(missing);
      document.getElementById(`action-${Object.keys(missing)[0]}`)?.focus();
      return;
    }
    const body: Record<string, unknown> = {};
    const fields = [...chosen.required, ...chosen.optional] as (keyof Values)[];
    for (const field of fields.filter((f) => values[f].trim())) {
      const value = values[field].trim();
      body[field] = field === 'due_at' ? regionTime(value) : field === 'duplicate_of' || field === 'rating' ? Number(value) : value;
    }
    try {
      await post(`/requests/${request.id}/${chosen.action}`, body);
      const name = actionName(chosen.action, lang);
      choose(null);
      setDone(t('request_done', { action: name }));
      onDone();
    } catch (failure) {
      const named = failure instanceof ApiError ? failure.errors.filter((f) => fields.includes(f.field as keyof Values)) : [];
      if (failure instanceof ApiError && named.length === failure.errors.length && named.length > 0) {
        setErrors(Object.fromEntries(named.map((f) => [f.field, errorCodeText(f.code, lang)])));
      } else {
        setError(failure);
      }
    }
  };

  if (!actions.data) return <Section title={t('request_actions')}>{actions.error ? <ErrorMessage error={actions.error} /> : <Loading />}</Section>;
  const takes = (field: keyof Values) => !!chosen && (chosen.required.includes(field) || chosen.optional.includes(field));
  const label = (field: keyof Values, key: MessageKey) => `${t(key)}${chosen?.required.includes(field) ? ' *' : ''}`;
  return (
    <Section title={t('request_actions')} class="no-print">
      {actions.data.length === 0 && <p class="muted">{t('request_no_actions')}</p>}
      <div class="buttons" role="group" aria-label={t('request_actions')}>
        {actions.data.map((a) => (
          <button key={a.action} type="button" data-action={a.action} aria-pressed={chosen?.action === a.action} onClick={() => choose(a)}>
            {actionName(a.action, lang)}
          </button>
        ))}
      </div>
      {chosen && (
        <form class="actions" onSubmit={submit} noValidate aria-label={actionName(chosen.action, lang)}>
          {takes('text') && templates.length > 0 && (
            <div class="templates" role="group" aria-label={t('agency_templates')}>
              {templates.map((tpl) => (
                <button key={tpl} type="button" class="small" onClick={() => set('text')(tpl)}>
                  {tpl.slice(0, 40)}…
                </button>
              ))}
            </div>
          )}
          {takes('agency') && (
            <Field id="action-agency" label={label('agency', 'request_agency_pick')} error={errors.agency}>
              <Choice id="action-agency" value={values.agency} empty="—" options={agencyChoices(cat, lang)} onChange={set('agency')} invalid={!!errors.agency} />
            </Field>
          )}
          {takes('service') && (
            <Field id="action-service" label={label('service', 'action_service')} error={errors.service}>
              <Choice id="action-service" value={values.service} empty="—" options={serviceChoices(cat?.services, lang)} onChange={set('service')} invalid={!!errors.service} />
            </Field>
          )}
          {takes('duplicate_of') && (
            <Field id="action-duplicate_of" label={label('duplicate_of', 'action_duplicate_of')} error={errors.duplicate_of}>
              <input id="action-duplicate_of" type="number" min={1} value={values.duplicate_of} onInput={(e) => set('duplicate_of')((e.target as HTMLInputElement).value)} aria-invalid={!!errors.duplicate_of} />
            </Field>
          )}
          {takes('rating') && (
            <Field id="action-rating" label={label('rating', 'action_rating')} error={errors.rating}>
              <Choice id="action-rating" value={values.rating} empty="—" options={['1', '2', '3', '4', '5'].map((r) => [r, r])} onChange={set('rating')} invalid={!!errors.rating} />
            </Field>
          )}
          {takes('due_at') && (
            <Field id="action-due_at" label={label('due_at', 'request_new_due')} hint={t('action_due_hint')} error={errors.due_at}>
              <input id="action-due_at" type="datetime-local" value={values.due_at} onInput={(e) => set('due_at')((e.target as HTMLInputElement).value)} aria-invalid={!!errors.due_at} />
            </Field>
          )}
          {takes('text') && (
            <Field id="action-text" label={label('text', textLabel(chosen.action))} error={errors.text}>
              <textarea id="action-text" rows={3} value={values.text} onInput={(e) => set('text')((e.target as HTMLTextAreaElement).value)} aria-invalid={!!errors.text} />
            </Field>
          )}
          <div class="buttons">
            <button type="submit" class="primary">
              {t('action_do', { action: actionName(chosen.action, lang) })}
            </button>
            <button type="button" onClick={() => choose(null)}>
              {t('cancel')}
            </button>
          </div>
          <ErrorMessage error={error} />
        </form>
      )}
      {done && (
        <p class="success" role="status">
          {done}
        </p>
      )}
    </Section>
  );
}
