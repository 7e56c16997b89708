// Building blocks shared by the screens: errors, form fields, status badges, tables.
import { ComponentChildren } from 'preact';
import { ApiError, FieldError } from '../api';
import { actionName, errorCodeText, fieldName, Lang, statusName, useT } from '../i18n';

/** An error as a reader understands it, in the chosen language: field errors and refusals
 * worded from their codes, other failures by their status. */
export function errorText(error: unknown, t: ReturnType<typeof useT>['t'], lang: Lang): string {
  if (!(error instanceof ApiError)) return String(error);
  const r = error.refusal;
  if (r?.kind === 'not_permitted') return t('refusal_not_permitted', { action: actionName(r.action, lang) });
  if (r?.kind === 'transition') return t('refusal_transition', { action: actionName(r.action, lang), status: statusName(r.status, lang) });
  if (r?.kind === 'clock_not_stopped') return t('refusal_clock_not_stopped');
  if (r?.kind === 'clock_already_stopped') return t('refusal_clock_already_stopped');
  if (r?.kind === 'extensions_used') return t('refusal_extensions_used', { allowed: r.allowed });
  if (error.errors.length > 0) return [t('error_invalid'), ...error.errors.map((e) => fieldErrorText(e, lang))].join(' — ');
  switch (error.status) {
    case 0:
      return t('error_network');
    case 401:
      return t('need_login');
    case 403:
      return t('forbidden');
    case 404:
      return t('error_not_found_item');
    case 409:
      return t('error_conflict');
    case 429:
      return t('error_rate_limited');
    default:
      return error.status >= 500 ? t('error_internal') : t('error_bad_request');
  }
}

/** One field error as "Field: what is wrong". */
export function fieldErrorText(e: FieldError, lang: Lang): string {
  return `${fieldName(e.field, lang)}: ${errorCodeText(e.code, lang)}`;
}

/** An error shown to the reader (see [`errorText`]). */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t, lang } = useT();
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {errorText(error, t, lang)}
    </p>
  );
}

/** A labelled form control with its hint and its error shown beside it. */
export function Field(props: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && !props.error && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** A request's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  const { lang } = useT();
  return <span class={`badge status-${status}`}>{statusName(status, lang)}</span>;
}

/** The loading notice. */
export function Loading() {
  const { t } = useT();
  return (
    <p class="muted" aria-live="polite">
      {t('loading')}
    </p>
  );
}

/** A titled block of a screen. */
export function Section(props: { title: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** A drop-down of `options` ([value, label]) led by `empty` (the empty value, e.g. "all")
 * when given. */
export function Choice(props: {
  id?: string;
  name?: string;
  value: string;
  options: [string, string][];
  empty?: string;
  onChange: (value: string) => void;
  invalid?: boolean;
  describedBy?: string;
}) {
  return (
    <select
      id={props.id}
      name={props.name ?? props.id}
      value={props.value}
      onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      aria-invalid={props.invalid}
      aria-describedby={props.describedBy}
    >
      {props.empty !== undefined && <option value="">{props.empty}</option>}
      {props.options.map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </select>
  );
}

/** One of a few `options` ([value, label]) as a row of radio buttons, the chosen one lit;
 * `legend` names the group for screen readers. */
export function Segmented<T extends string>(props: { name: string; legend: string; value: T; options: [T, string][]; onChange: (value: T) => void }) {
  return (
    <fieldset class="segmented">
      <legend class="visually-hidden">{props.legend}</legend>
      {props.options.map(([value, label]) => (
        <label key={value} class={props.value === value ? 'on' : ''}>
          <input type="radio" name={props.name} value={value} checked={props.value === value} onChange={() => props.onChange(value)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
